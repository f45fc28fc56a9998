//! [`plan`]: a job's options checked against its batch, locally, into what goes where, to
//! whom and at what cost.

use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{
    BOUNDING_BOX_PRICES_MILLS, CATEGORIES_VERSION, MAX_TASK_TIME_S, MTURK_MAX_AVAILABILITY_S,
    PLAN_AVAILABILITY_S, PUBLIC_CROWD_REGION, PUBLIC_CROWD_WORKTEAM, WORKTEAM_MAX_AVAILABILITY_S,
    bounding_box_lambdas,
};
use crate::dataset::DAMAGE_CLASSES;
use crate::error::{Result, TrainerError};
use crate::labeling::batch::Batch;

/// Who labels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "arn")]
pub enum Workforce {
    /// The public crowd (Amazon Mechanical Turk), the plan's choice; us-east-1 only.
    PublicCrowd,
    /// A private or vendor workteam of the job's region.
    Workteam(String),
}

/// The `HumanTaskConfig` values; [`Default`] is the plan's.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaskOptions {
    /// `TaskTitle`.
    pub title: String,
    /// `TaskDescription`.
    pub description: String,
    /// `TaskKeywords` (none in the plan).
    pub keywords: Vec<String>,
    /// `NumberOfHumanWorkersPerDataObject`.
    pub workers: i32,
    /// `TaskTimeLimitInSeconds`.
    pub time_limit_s: i32,
    /// `TaskAvailabilityLifetimeInSeconds`; `None`: the plan's 10 days, or the public crowd's
    /// 12-hour maximum (the plan's value is more than the public crowd takes).
    pub availability_s: Option<i32>,
    /// `MaxConcurrentTaskCount`.
    pub max_concurrent: i32,
    /// `PublicWorkforceTaskPrice` in thousandths of a US dollar (public crowd only).
    pub price_mills: u32,
    /// Declares the photos free of personally identifiable information (`ContentClassifiers`).
    pub free_of_pii: bool,
    /// Declares the photos free of adult content (`ContentClassifiers`).
    pub free_of_adult_content: bool,
}

impl Default for TaskOptions {
    fn default() -> Self {
        Self {
            title: "Etiquetar daños en contenedores".into(),
            description: "Dibuja cajitas sobre daños visibles".into(),
            keywords: Vec::new(),
            workers: 1,
            time_limit_s: 600,
            availability_s: None,
            max_concurrent: 10,
            price_mills: 120,
            free_of_pii: false,
            free_of_adult_content: false,
        }
    }
}

/// A job to start.
#[derive(Clone, Debug, PartialEq)]
pub struct StartOptions {
    /// `LabelingJobName`.
    pub job_name: String,
    /// `LabelAttributeName`.
    pub label_attribute: String,
    /// The bucket everything is uploaded to.
    pub bucket: String,
    /// Key prefix of the batches in the bucket (`labeling/`).
    pub prefix: String,
    /// `RoleArn`: the role Ground Truth assumes (reads the inputs, writes the output).
    pub role_arn: String,
    /// The job's region.
    pub region: String,
    /// Who labels.
    pub workforce: Workforce,
    /// The task.
    pub task: TaskOptions,
}

/// What a job will do, checked: what goes where, to whom, and what it costs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JobPlan {
    /// The job's name.
    pub job_name: String,
    /// Its region.
    pub region: String,
    /// The batch's name.
    pub batch: String,
    /// Photos to label.
    pub photos: usize,
    /// SHA-256 over the batch's photos (tag [`super::TAG_BATCH_SHA256`]).
    pub batch_sha256: String,
    /// Where the photos go.
    pub images_uri: String,
    /// Where `batch.json` goes.
    pub batch_json_uri: String,
    /// The batch's folder in S3.
    pub batch_uri: String,
    /// The input manifest.
    pub manifest_uri: String,
    /// The label categories file.
    pub categories_uri: String,
    /// The label categories, in class-id order.
    pub categories: Vec<String>,
    /// The task template.
    pub template_uri: String,
    /// `S3OutputPath`.
    pub output_uri: String,
    /// `LabelAttributeName`.
    pub label_attribute: String,
    /// `RoleArn`.
    pub role_arn: String,
    /// `WorkteamArn`.
    pub workteam_arn: String,
    /// Whether that is the public crowd.
    pub public_crowd: bool,
    /// `PreHumanTaskLambdaArn`.
    pub pre_lambda: String,
    /// `AnnotationConsolidationLambdaArn`.
    pub consolidation_lambda: String,
    /// The task (availability resolved).
    pub task: TaskOptions,
    /// `TaskAvailabilityLifetimeInSeconds`.
    pub availability_s: i32,
    /// The price per task, USD (public crowd).
    pub price_usd: Option<f64>,
    /// photos × workers × price, USD (public crowd).
    pub cost_usd: Option<f64>,
    /// Where the plan's values had to change, and why.
    pub notes: Vec<String>,
    /// The photos' file names, in batch order.
    #[serde(skip)]
    pub files: Vec<String>,
}

/// Whether `s` matches SageMaker's name pattern `[a-zA-Z0-9](-*[a-zA-Z0-9])*` with at most
/// `max` characters.
pub fn is_sagemaker_name(s: &str, max: usize) -> bool {
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= max
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
}

/// `--price-usd` in thousandths of a dollar, refused unless it is a bounding-box price.
pub fn price_mills(usd: f64) -> Result<u32> {
    let mills = (usd * 1000.0).round();
    let listed = BOUNDING_BOX_PRICES_MILLS
        .iter()
        .any(|p| f64::from(*p) == mills && (usd * 1000.0 - mills).abs() < 1e-6);
    if !listed {
        let known: Vec<String> = BOUNDING_BOX_PRICES_MILLS
            .iter()
            .map(|p| format!("{:.3}", f64::from(*p) / 1000.0))
            .collect();
        return Err(TrainerError::Config(format!(
            "--price-usd {usd}: the public crowd takes one of these prices for a bounding-box task: {}",
            known.join(", ")
        )));
    }
    Ok(mills as u32)
}

fn bad(message: String) -> TrainerError {
    TrainerError::Config(message)
}

fn check_range(what: &str, value: i32, low: i32, high: i32, why: &str) -> Result<()> {
    if (low..=high).contains(&value) {
        Ok(())
    } else {
        Err(bad(format!(
            "{what} {value}: must be in {low}..={high}{why}"
        )))
    }
}

fn check_task(task: &TaskOptions) -> Result<()> {
    let chars = |s: &str| s.chars().count();
    if !(1..=128).contains(&chars(&task.title)) {
        return Err(bad("--task-title must have 1 to 128 characters".into()));
    }
    if !(1..=255).contains(&chars(&task.description)) {
        return Err(bad(
            "--task-description must have 1 to 255 characters".into()
        ));
    }
    if task.keywords.len() > 5 {
        return Err(bad("at most 5 --keyword".into()));
    }
    for k in &task.keywords {
        let ok = (1..=30).contains(&k.len())
            && k.split(' ')
                .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphanumeric()));
        if !ok {
            return Err(bad(format!(
                "--keyword {k:?}: 1 to 30 letters and digits, words separated by one space"
            )));
        }
    }
    check_range("--workers", task.workers, 1, 9, "")?;
    check_range(
        "--task-time-limit-s",
        task.time_limit_s,
        30,
        MAX_TASK_TIME_S,
        " (8 hours at most for image tasks)",
    )?;
    check_range("--max-concurrent-tasks", task.max_concurrent, 1, 5000, "")
}

/// Checks `options` against the batch in `batch_dir` and says what the job will do; nothing
/// is sent anywhere.
pub fn plan(batch_dir: &std::path::Path, options: &StartOptions) -> Result<JobPlan> {
    if !is_sagemaker_name(&options.job_name, 63) {
        return Err(bad(format!(
            "--job-name {:?}: SageMaker job names are 1 to 63 letters, digits and hyphens, starting and ending with a letter or digit",
            options.job_name
        )));
    }
    let attr = &options.label_attribute;
    if !is_sagemaker_name(attr, 127) || attr.ends_with("-metadata") || attr.ends_with("-ref") {
        return Err(bad(format!(
            "--label-attribute {attr:?}: 1 to 127 letters, digits and hyphens, not ending in -metadata or -ref"
        )));
    }
    let prefix = &options.prefix;
    if prefix.starts_with('/')
        || !(prefix.is_empty() || prefix.ends_with('/'))
        || !prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-/".contains(&b))
    {
        return Err(bad(format!(
            "--prefix {prefix:?}: letters, digits, . _ - and /, ending with / and not starting with it"
        )));
    }
    if !options.role_arn.starts_with("arn:aws") || !options.role_arn.contains(":role/") {
        return Err(bad(format!(
            "role_arn {:?} is not an IAM role ARN",
            options.role_arn
        )));
    }
    check_task(&options.task)?;
    let batch = Batch::load(batch_dir)?;
    if batch.photos.is_empty() {
        return Err(TrainerError::Input(format!(
            "{}: the batch has no photos; nothing to label",
            batch_dir.display()
        )));
    }
    if !batch
        .name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        return Err(TrainerError::Input(format!(
            "{}: batch name {:?} is not usable in S3 keys and job tags (letters, digits, . _ -)",
            batch_dir.display(),
            batch.name
        )));
    }
    for photo in &batch.photos {
        let path = batch_dir.join("images").join(&photo.file);
        if !path.is_file() {
            return Err(TrainerError::Input(format!(
                "{}: photo of batch.json missing",
                path.display()
            )));
        }
    }
    let region = options.region.as_str();
    let (pre, acs) = bounding_box_lambdas(region)?;
    let mut notes = Vec::new();
    let (workteam_arn, public_crowd) = match &options.workforce {
        Workforce::Workteam(arn) if arn != PUBLIC_CROWD_WORKTEAM => {
            let parts: Vec<&str> = arn.split(':').collect();
            if parts.len() < 6
                || !parts[0].starts_with("arn")
                || parts[2] != "sagemaker"
                || !parts[5].starts_with("workteam/")
            {
                return Err(bad(format!(
                    "--workteam {arn:?} is not a SageMaker workteam ARN (arn:aws:sagemaker:<region>:<account>:workteam/…)"
                )));
            }
            if parts[3] != region {
                return Err(bad(format!(
                    "--workteam {arn:?} is in {}, the job in {region}: a job uses a workteam of its own region",
                    parts[3]
                )));
            }
            (arn.clone(), false)
        }
        _ => {
            if region != PUBLIC_CROWD_REGION {
                return Err(bad(format!(
                    "the public crowd (Amazon Mechanical Turk) is used from {PUBLIC_CROWD_REGION} only (the plan's region), not {region}: use --region {PUBLIC_CROWD_REGION}, or a private or vendor workteam of {region} with --workteam ARN"
                )));
            }
            (PUBLIC_CROWD_WORKTEAM.to_owned(), true)
        }
    };
    let availability_s = match (options.task.availability_s, public_crowd) {
        (Some(s), true) => {
            check_range(
                "--task-availability-s",
                s,
                60,
                MTURK_MAX_AVAILABILITY_S,
                " (12 hours at most with the public crowd)",
            )?;
            s
        }
        (Some(s), false) => {
            check_range(
                "--task-availability-s",
                s,
                60,
                WORKTEAM_MAX_AVAILABILITY_S,
                " (30 days at most)",
            )?;
            s
        }
        (None, true) => {
            notes.push(format!(
                "task availability {MTURK_MAX_AVAILABILITY_S} s (12 h), not the plan's {PLAN_AVAILABILITY_S} s (10 days): the public crowd takes at most 12 hours"
            ));
            MTURK_MAX_AVAILABILITY_S
        }
        (None, false) => PLAN_AVAILABILITY_S,
    };
    let (price_usd, cost_usd) = if public_crowd {
        let price = f64::from(price_mills(f64::from(options.task.price_mills) / 1000.0)?) / 1000.0;
        let cost = batch.photos.len() as f64 * f64::from(options.task.workers) * price;
        (Some(price), Some(cost))
    } else {
        (None, None)
    };
    let mut digest = Sha256::new();
    for photo in &batch.photos {
        digest.update(format!("{}:{}\n", photo.file, photo.sha256));
    }
    let s3 = |key: String| format!("s3://{}/{key}", options.bucket);
    let base = format!("{prefix}{}/", batch.name);
    let job_dir = format!("{base}{}/", options.job_name);
    Ok(JobPlan {
        job_name: options.job_name.clone(),
        region: region.to_owned(),
        batch: batch.name.clone(),
        photos: batch.photos.len(),
        batch_sha256: crate::dataset::hex(&digest.finalize()),
        images_uri: s3(format!("{base}images/")),
        batch_json_uri: s3(format!("{base}batch.json")),
        batch_uri: s3(base.clone()),
        manifest_uri: s3(format!("{job_dir}input.manifest")),
        categories_uri: s3(format!("{job_dir}label-categories.json")),
        categories: DAMAGE_CLASSES.iter().map(|c| (*c).to_owned()).collect(),
        template_uri: s3(format!("{job_dir}template.html")),
        output_uri: s3(format!("{job_dir}output/")),
        label_attribute: attr.clone(),
        role_arn: options.role_arn.clone(),
        workteam_arn,
        public_crowd,
        pre_lambda: pre.to_owned(),
        consolidation_lambda: acs.to_owned(),
        task: options.task.clone(),
        availability_s,
        price_usd,
        cost_usd,
        notes,
        files: batch.photos.iter().map(|p| p.file.clone()).collect(),
    })
}

/// The input manifest: one `source-ref` per photo.
pub fn input_manifest(plan: &JobPlan) -> String {
    plan.files
        .iter()
        .map(|f| json!({"source-ref": format!("{}{f}", plan.images_uri)}).to_string() + "\n")
        .collect()
}

/// The label category configuration file: our classes in class-id order.
pub fn label_categories(plan: &JobPlan) -> String {
    let labels: Vec<_> = plan
        .categories
        .iter()
        .map(|c| json!({"label": c}))
        .collect();
    json!({"document-version": CATEGORIES_VERSION, "labels": labels}).to_string()
}
