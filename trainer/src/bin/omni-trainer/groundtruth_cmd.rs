//! `labeling start-groundtruth` and `labeling wait-groundtruth`: a SageMaker Ground Truth
//! bounding-box labeling job (the plan's option B) from a batch to a merged data set
//! (`docs/labeling.md`).

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use omni_trainer::config::{AwsArgs, SettingsLayer};
use omni_trainer::labeling::groundtruth_import::{self, ImportOptions};
use omni_trainer::labeling::groundtruth_job::{
    self, DEFAULT_LABEL_ATTRIBUTE, DEFAULT_PREFIX, JobPlan, JobProgress, StartOptions, TaskOptions,
    Workforce,
};
use omni_trainer::wait::Backoff;
use omni_trainer::{TrainerError, aws};
use serde_json::json;

use crate::output::{bar, draw, print_json, runtime, settings};

/// The `HumanTaskConfig` of the job; the defaults are the plan's.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Task (HumanTaskConfig; defaults: the plan's)")]
pub struct TaskArgs {
    /// TaskTitle.
    #[arg(long, default_value_t = TaskOptions::default().title)]
    task_title: String,
    /// TaskDescription.
    #[arg(long, default_value_t = TaskOptions::default().description)]
    task_description: String,
    /// TaskKeywords (repeatable, at most 5), how public-crowd workers find the task.
    #[arg(long = "keyword")]
    keywords: Vec<String>,
    /// NumberOfHumanWorkersPerDataObject (1-9).
    #[arg(long, default_value_t = TaskOptions::default().workers)]
    workers: i32,
    /// TaskTimeLimitInSeconds: time a worker has for one photo (30-28800).
    #[arg(long, default_value_t = TaskOptions::default().time_limit_s)]
    task_time_limit_s: i32,
    /// TaskAvailabilityLifetimeInSeconds (default: the plan's 864000, or 43200 with the public
    /// crowd, which takes at most 12 hours).
    #[arg(long)]
    task_availability_s: Option<i32>,
    /// MaxConcurrentTaskCount: photos out to workers at once.
    #[arg(long, default_value_t = TaskOptions::default().max_concurrent)]
    max_concurrent_tasks: i32,
    /// PublicWorkforceTaskPrice per worker and photo, USD (public crowd; one of AWS's
    /// bounding-box prices: 0.036 … 1.200).
    #[arg(long, default_value_t = 0.12)]
    price_usd: f64,
    /// Declare the photos free of personally identifiable information (ContentClassifiers).
    #[arg(long)]
    free_of_pii: bool,
    /// Declare the photos free of adult content (ContentClassifiers).
    #[arg(long)]
    free_of_adult_content: bool,
}

/// `labeling start-groundtruth`.
#[derive(Args, Debug, Clone)]
pub struct StartArgs {
    /// The batch folder (from `labeling select`).
    batch: PathBuf,
    /// The labeling job's name (1-63 letters, digits and hyphens).
    #[arg(long)]
    job_name: String,
    /// Upload the photos and start the job. Without it the command prints what would go
    /// where, to whom, and the cost, and starts nothing.
    #[arg(long)]
    yes: bool,
    /// A private or vendor workteam ARN of the job's region (default: the public crowd,
    /// Amazon Mechanical Turk, from us-east-1 only).
    #[arg(long)]
    workteam: Option<String>,
    /// LabelAttributeName: the key of the labels in the output manifest.
    #[arg(long, default_value = DEFAULT_LABEL_ATTRIBUTE)]
    label_attribute: String,
    /// Key prefix of the batches in the bucket (<prefix><batch>/images/, …).
    #[arg(long, default_value = DEFAULT_PREFIX)]
    prefix: String,
    /// IAM role Ground Truth assumes to read the inputs and write the output (default: the
    /// settings' role_arn, the plan's role).
    #[arg(long, env = "OMNI_ROLE_ARN", hide_env_values = true)]
    role_arn: Option<String>,
    #[command(flatten)]
    task: TaskArgs,
    #[command(flatten)]
    aws: AwsArgs,
}

/// Polling of the job (labeling jobs take hours: the defaults poll slowly).
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Polling")]
pub struct LabelingPollArgs {
    /// First poll interval (and after a change).
    #[arg(long, env = "OMNI_LABELING_POLL_INITIAL", default_value = "30s", value_parser = humantime::parse_duration)]
    poll_initial: Duration,
    /// Longest poll interval.
    #[arg(long, env = "OMNI_LABELING_POLL_MAX", default_value = "5m", value_parser = humantime::parse_duration)]
    poll_max: Duration,
    /// Give up after this long (a job lasts at most about 30 days).
    #[arg(long, env = "OMNI_LABELING_TIMEOUT", default_value = "31days", value_parser = humantime::parse_duration)]
    timeout: Duration,
}

/// `labeling wait-groundtruth`.
#[derive(Args, Debug, Clone)]
pub struct WaitArgs {
    /// The labeling job's name.
    job_name: String,
    /// Also merge the labelled pool into this data set (as `dataset merge`).
    #[arg(long)]
    merge_into: Option<PathBuf>,
    /// The labelled pool to write (default: pool-<JOB_NAME>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// The batch folder the job labels (default: its copy in S3, downloaded).
    #[arg(long)]
    batch: Option<PathBuf>,
    /// Val fraction of a new data set (an existing one keeps its own).
    #[arg(long, default_value_t = 0.2)]
    val: f64,
    #[command(flatten)]
    poll: LabelingPollArgs,
    #[command(flatten)]
    aws: AwsArgs,
}

fn workforce_text(plan: &JobPlan) -> String {
    if plan.public_crowd {
        format!(
            "the PUBLIC CROWD (Amazon Mechanical Turk, {}): the {} photos are shown to anyone there who takes the task",
            plan.workteam_arn, plan.photos
        )
    } else {
        format!(
            "workteam {} (private or vendor): the photos are shown to its members",
            plan.workteam_arn
        )
    }
}

fn cost_text(plan: &JobPlan) -> String {
    match (plan.price_usd, plan.cost_usd) {
        (Some(price), Some(cost)) => format!(
            "{} photos × {} worker(s) × ${price:.3} = ${cost:.2} paid to the workers (Ground Truth's own per-object charge comes on top)",
            plan.photos, plan.task.workers
        ),
        _ => "no per-task worker price (a private team is your own people; a vendor bills through its AWS Marketplace listing); Ground Truth's own per-object charge applies".into(),
    }
}

fn print_plan(plan: &JobPlan, batch: &std::path::Path) {
    let t = &plan.task;
    println!(
        "labeling job {} in {}: batch {}, {} photos",
        plan.job_name, plan.region, plan.batch, plan.photos
    );
    let images = batch.join("images");
    let rows = [
        (
            "photos",
            format!("{} -> {}", images.display(), plan.images_uri),
        ),
        ("batch", plan.batch_json_uri.clone()),
        ("manifest", plan.manifest_uri.clone()),
        (
            "categories",
            format!("{}: {}", plan.categories_uri, plan.categories.join(", ")),
        ),
        (
            "template",
            format!(
                "{} (instructions in English and Spanish)",
                plan.template_uri
            ),
        ),
        ("output", plan.output_uri.clone()),
        ("role", plan.role_arn.clone()),
        ("workforce", workforce_text(plan)),
        (
            "task",
            format!(
                "{:?} / {:?}; {} worker(s) per photo, {} s per task, available {} s, at most {} at once",
                t.title,
                t.description,
                t.workers,
                t.time_limit_s,
                plan.availability_s,
                t.max_concurrent
            ),
        ),
        (
            "lambdas",
            format!("{}, {}", plan.pre_lambda, plan.consolidation_lambda),
        ),
        ("cost", cost_text(plan)),
    ];
    for (what, text) in rows {
        println!("  {what:<12}{text}");
    }
    for note in &plan.notes {
        println!("  {:<12}{note}", "note");
    }
}

/// Runs `labeling start-groundtruth`.
pub fn start(args: &StartArgs, global: &crate::Global) -> Result<(), TrainerError> {
    let json = global.json;
    let role = SettingsLayer {
        role_arn: args.role_arn.clone(),
        ..SettingsLayer::default()
    };
    let settings = settings(global, [role, args.aws.clone().into()])?;
    let t = &args.task;
    let task = TaskOptions {
        title: t.task_title.clone(),
        description: t.task_description.clone(),
        keywords: t.keywords.clone(),
        workers: t.workers,
        time_limit_s: t.task_time_limit_s,
        availability_s: t.task_availability_s,
        max_concurrent: t.max_concurrent_tasks,
        price_mills: groundtruth_job::price_mills(t.price_usd)?,
        free_of_pii: t.free_of_pii,
        free_of_adult_content: t.free_of_adult_content,
    };
    runtime()?.block_on(async {
        let clients = aws::connect(&settings).await?;
        let options = StartOptions {
            job_name: args.job_name.clone(),
            label_attribute: args.label_attribute.clone(),
            bucket: settings.bucket.clone(),
            prefix: args.prefix.clone(),
            role_arn: settings.role_arn.clone(),
            region: clients.region.clone(),
            workforce: args
                .workteam
                .clone()
                .map_or(Workforce::PublicCrowd, Workforce::Workteam),
            task,
        };
        let plan = groundtruth_job::plan(&args.batch, &options)?;
        if let Some(existing) = groundtruth_job::find(&clients, &plan.job_name).await? {
            groundtruth_job::check_same_job(&existing, &plan)?;
            let status = existing
                .labeling_job_status()
                .map_or("unknown", |s| s.as_str());
            if json {
                return print_json(&json!({"plan": plan, "started": false, "exists": true, "status": status}));
            }
            println!(
                "labeling job {} already exists for batch {} (status {status}); not created again. Follow it: omni-trainer labeling wait-groundtruth {}",
                plan.job_name, plan.batch, plan.job_name
            );
            return Ok(());
        }
        if json && !args.yes {
            print_json(&json!({"plan": plan, "started": false}))?;
        } else if !json {
            print_plan(&plan, &args.batch);
        }
        if !args.yes {
            return Err(TrainerError::Input(format!(
                "not started: nothing was uploaded; re-run with --yes to send the {} photos to {} for {} and start the job",
                plan.photos,
                plan.images_uri,
                if plan.public_crowd { "the public crowd" } else { "the workteam" }
            )));
        }
        let progress = bar(json, true);
        let started = groundtruth_job::start(&clients, &plan, &args.batch, &draw(&progress)).await;
        progress.finish_and_clear();
        let started = started?;
        if json {
            return print_json(&json!({"plan": plan, "started": started}));
        }
        if started.created {
            println!(
                "started labeling job {} ({}): {} photos uploaded, {} already there",
                started.job_name, started.arn, started.uploaded, started.unchanged
            );
        } else {
            println!(
                "labeling job {} already exists for batch {} (status {}); not created again",
                started.job_name, plan.batch, started.status
            );
        }
        println!(
            "follow it: omni-trainer labeling wait-groundtruth {} --merge-into DATASET",
            started.job_name
        );
        Ok(())
    })
}

fn progress_bar(json: bool) -> ProgressBar {
    if json {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} {elapsed} [{wide_bar}] {pos}/{len} {msg}")
    {
        bar.set_style(style);
    }
    bar
}

fn counts(p: &JobProgress) -> String {
    format!(
        "{}: {} labelled, {} unlabelled, {} failed",
        p.status, p.labeled, p.unlabeled, p.failed
    )
}

/// Runs `labeling wait-groundtruth`.
pub fn wait(args: &WaitArgs, global: &crate::Global) -> Result<(), TrainerError> {
    let json = global.json;
    let settings = settings(global, [args.aws.clone().into()])?;
    let backoff = Backoff {
        initial: args.poll.poll_initial,
        max: args.poll.poll_max.max(args.poll.poll_initial),
        factor: 1.5,
        timeout: args.poll.timeout,
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("pool-{}", args.job_name)));
    let at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    runtime()?.block_on(async {
        let clients = aws::connect(&settings).await?;
        let bar = progress_bar(json);
        let mut last = String::new();
        let waited = groundtruth_job::wait(&clients, &args.job_name, &backoff, |p| {
            bar.set_length(p.total().max(0) as u64);
            bar.set_position((p.labeled + p.failed).max(0) as u64);
            let line = counts(p);
            bar.set_message(line.clone());
            if !json && line != last {
                bar.suspend(|| eprintln!("[{:>6.0}s] {line}", p.elapsed_s));
                last = line;
            }
        })
        .await;
        bar.finish_and_clear();
        let (progress, job) = waited?;
        let imported = groundtruth_import::import(
            &clients,
            &job,
            ImportOptions {
                batch_dir: args.batch.as_deref(),
                out: &out,
                merge_into: args.merge_into.as_deref(),
                val: args.val,
                at: &at,
            },
        )
        .await?;
        if json {
            return print_json(&json!({"job": progress, "import": imported}));
        }
        println!("labeling job {} {}", progress.job_name, counts(&progress));
        println!(
            "{}: {} images ({} without damage), {} boxes from {}; {} failed and {} unlabelled objects left out",
            imported.pool.display(),
            imported.images,
            imported.negatives,
            imported.boxes,
            imported.output_manifest,
            imported.failed,
            imported.unlabelled
        );
        match &imported.merged {
            Some(m) if m.changed => println!(
                "{}: version {}: +{} train, +{} val ({} already in the data set)",
                m.dataset.display(),
                m.version,
                m.train,
                m.val,
                m.already
            ),
            Some(m) => println!(
                "{}: unchanged at version {} (all {} images already in the data set)",
                m.dataset.display(),
                m.version,
                m.already
            ),
            None => println!(
                "next: omni-trainer dataset merge {} --into DATASET{}",
                imported.pool.display(),
                args.batch
                    .as_ref()
                    .map(|b| format!(" --from-batch {}", b.display()))
                    .unwrap_or_default()
            ),
        }
        Ok(())
    })
}
