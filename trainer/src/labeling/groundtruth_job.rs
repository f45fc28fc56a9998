//! SageMaker Ground Truth bounding-box labeling jobs, the plan's option B, started and
//! followed from omni-trainer (`labeling start-groundtruth`, `labeling wait-groundtruth`;
//! `docs/labeling.md`). The output comes back through [`super::groundtruth_import`].
//!
//! [`plan`] checks everything that can be checked locally and says what goes where and what
//! it costs; [`start`] uploads the batch (its photos, `batch.json`), the input manifest, the
//! label categories (our six classes in class-id order) and the task template (instructions
//! in English and Spanish), then calls `CreateLabelingJob` with the plan's `HumanTaskConfig`
//! as defaults. A retried start of the same job name and batch finds the job and creates no
//! second one. [`wait`] follows `DescribeLabelingJob` to Completed, Failed or Stopped.
//!
//! S3 layout, under `s3://<bucket>/<prefix><batch>/`: `images/<file>`, `batch.json`, and per
//! job `<job>/input.manifest`, `<job>/label-categories.json`, `<job>/template.html`,
//! `<job>/output/` (Ground Truth writes `<job>/output/<job>/manifests/output/output.manifest`).

use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_sagemaker::operation::describe_labeling_job::DescribeLabelingJobOutput;
use aws_sdk_sagemaker::types::{
    AnnotationConsolidationConfig, ContentClassifier, HumanTaskConfig, LabelingJobDataAttributes,
    LabelingJobDataSource, LabelingJobInputConfig, LabelingJobOutputConfig,
    LabelingJobS3DataSource, LabelingJobStatus, PublicWorkforceTaskPrice, Tag, UiConfig, Usd,
};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::batch::Batch;
use crate::Progress;
use crate::aws::{Clients, aws_error, describe, is_not_found, require_bucket, s3_error};
use crate::dataset::DAMAGE_CLASSES;
use crate::error::{Result, TrainerError};
use crate::s3uri::S3Uri;
use crate::upload::{self, UploadOptions};
use crate::wait::Backoff;

/// The task template uploaded with every job (`crowd-bounding-box`, English and Spanish).
pub const TASK_TEMPLATE: &str = include_str!("groundtruth_template.html");

/// The pre-annotation and consolidation Lambdas of Ground Truth's built-in bounding-box task,
/// per region: `(region, PreHumanTaskLambdaArn, AnnotationConsolidationLambdaArn)`. AWS's
/// published table, as the SageMaker API reference (`HumanTaskConfig`,
/// `AnnotationConsolidationConfig`) lists it; taken from botocore 1.44.8's SageMaker service
/// model, whose documentation carries that table (the test `lambda_table_matches_botocore`
/// compares it with the installed botocore). A region it does not list is refused.
pub const BOUNDING_BOX_LAMBDAS: &[(&str, &str, &str)] = &[
    (
        "us-east-1",
        "arn:aws:lambda:us-east-1:432418664414:function:PRE-BoundingBox",
        "arn:aws:lambda:us-east-1:432418664414:function:ACS-BoundingBox",
    ),
    (
        "us-east-2",
        "arn:aws:lambda:us-east-2:266458841044:function:PRE-BoundingBox",
        "arn:aws:lambda:us-east-2:266458841044:function:ACS-BoundingBox",
    ),
    (
        "us-west-2",
        "arn:aws:lambda:us-west-2:081040173940:function:PRE-BoundingBox",
        "arn:aws:lambda:us-west-2:081040173940:function:ACS-BoundingBox",
    ),
    (
        "ca-central-1",
        "arn:aws:lambda:ca-central-1:918755190332:function:PRE-BoundingBox",
        "arn:aws:lambda:ca-central-1:918755190332:function:ACS-BoundingBox",
    ),
    (
        "eu-west-1",
        "arn:aws:lambda:eu-west-1:568282634449:function:PRE-BoundingBox",
        "arn:aws:lambda:eu-west-1:568282634449:function:ACS-BoundingBox",
    ),
    (
        "eu-west-2",
        "arn:aws:lambda:eu-west-2:487402164563:function:PRE-BoundingBox",
        "arn:aws:lambda:eu-west-2:487402164563:function:ACS-BoundingBox",
    ),
    (
        "eu-central-1",
        "arn:aws:lambda:eu-central-1:203001061592:function:PRE-BoundingBox",
        "arn:aws:lambda:eu-central-1:203001061592:function:ACS-BoundingBox",
    ),
    (
        "ap-northeast-1",
        "arn:aws:lambda:ap-northeast-1:477331159723:function:PRE-BoundingBox",
        "arn:aws:lambda:ap-northeast-1:477331159723:function:ACS-BoundingBox",
    ),
    (
        "ap-northeast-2",
        "arn:aws:lambda:ap-northeast-2:845288260483:function:PRE-BoundingBox",
        "arn:aws:lambda:ap-northeast-2:845288260483:function:ACS-BoundingBox",
    ),
    (
        "ap-south-1",
        "arn:aws:lambda:ap-south-1:565803892007:function:PRE-BoundingBox",
        "arn:aws:lambda:ap-south-1:565803892007:function:ACS-BoundingBox",
    ),
    (
        "ap-southeast-1",
        "arn:aws:lambda:ap-southeast-1:377565633583:function:PRE-BoundingBox",
        "arn:aws:lambda:ap-southeast-1:377565633583:function:ACS-BoundingBox",
    ),
    (
        "ap-southeast-2",
        "arn:aws:lambda:ap-southeast-2:454466003867:function:PRE-BoundingBox",
        "arn:aws:lambda:ap-southeast-2:454466003867:function:ACS-BoundingBox",
    ),
];

/// The public crowd (Amazon Mechanical Turk) workteam of the plan.
pub const PUBLIC_CROWD_WORKTEAM: &str =
    "arn:aws:sagemaker:us-east-1:394669845002:workteam/public-crowd/default";
/// The one region the plan uses the public crowd from.
pub const PUBLIC_CROWD_REGION: &str = "us-east-1";
/// The prices (thousandths of a US dollar) the public crowd takes for a bounding-box task
/// (`PublicWorkforceTaskPrice` in the SageMaker API reference).
pub const BOUNDING_BOX_PRICES_MILLS: &[u32] = &[
    36, 48, 60, 72, 120, 240, 360, 480, 600, 720, 840, 960, 1080, 1200,
];
/// The most seconds a task stays available to the Amazon Mechanical Turk workforce (12 h).
pub const MTURK_MAX_AVAILABILITY_S: i32 = 43_200;
/// The most seconds a task stays available to a private or vendor workforce (30 days).
pub const WORKTEAM_MAX_AVAILABILITY_S: i32 = 2_592_000;
/// The most seconds a worker may take on an image task (8 h).
pub const MAX_TASK_TIME_S: i32 = 28_800;
/// The plan's task availability (10 days).
pub const PLAN_AVAILABILITY_S: i32 = 864_000;
/// The plan's label attribute.
pub const DEFAULT_LABEL_ATTRIBUTE: &str = "labels";
/// Where batches go in the bucket.
pub const DEFAULT_PREFIX: &str = "labeling/";
/// `document-version` of a label category configuration file.
pub const CATEGORIES_VERSION: &str = "2018-11-28";
/// Job tags: the batch's name, its S3 folder, and a fingerprint of its photos.
pub const TAG_BATCH: &str = "omni:batch";
/// See [`TAG_BATCH`].
pub const TAG_BATCH_URI: &str = "omni:batch-uri";
/// See [`TAG_BATCH`].
pub const TAG_BATCH_SHA256: &str = "omni:batch-sha256";

/// The pre-annotation and consolidation Lambdas of the bounding-box task in `region`.
pub fn bounding_box_lambdas(region: &str) -> Result<(&'static str, &'static str)> {
    BOUNDING_BOX_LAMBDAS
        .iter()
        .find(|(r, _, _)| *r == region)
        .map(|(_, pre, acs)| (*pre, *acs))
        .ok_or_else(|| {
            let known: Vec<&str> = BOUNDING_BOX_LAMBDAS.iter().map(|(r, _, _)| *r).collect();
            TrainerError::Config(format!(
                "Ground Truth publishes no bounding-box Lambdas for region {region:?} (known: {}); run the job in one of those regions (--region)",
                known.join(", ")
            ))
        })
}

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
    /// SHA-256 over the batch's photos (tag [`TAG_BATCH_SHA256`]).
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

/// `DescribeLabelingJob` of `name`, or `None` when there is no such job.
pub async fn find(clients: &Clients, name: &str) -> Result<Option<DescribeLabelingJobOutput>> {
    match clients
        .sagemaker
        .describe_labeling_job()
        .labeling_job_name(name)
        .send()
        .await
    {
        Ok(out) => Ok(Some(out)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found() || is_not_found(&describe(s))) =>
        {
            Ok(None)
        }
        Err(e) => Err(aws_error("DescribeLabelingJob")(e)),
    }
}

/// A tag of a described job.
pub fn tag<'a>(job: &'a DescribeLabelingJobOutput, key: &str) -> Option<&'a str> {
    job.tags()
        .iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

/// Whether an existing job of the plan's name is this plan's job (same batch and photos);
/// an error naming what differs otherwise.
pub fn check_same_job(existing: &DescribeLabelingJobOutput, plan: &JobPlan) -> Result<()> {
    let manifest = existing
        .input_config()
        .and_then(|c| c.data_source())
        .and_then(|d| d.s3_data_source())
        .and_then(|s| s.manifest_s3_uri())
        .unwrap_or_default();
    let same_manifest = manifest == plan.manifest_uri;
    let same_photos = tag(existing, TAG_BATCH_SHA256).is_none_or(|t| t == plan.batch_sha256);
    if same_manifest && same_photos {
        return Ok(());
    }
    Err(TrainerError::Input(format!(
        "labeling job {} already exists for another batch ({}, input {manifest}); choose another --job-name",
        plan.job_name,
        tag(existing, TAG_BATCH).unwrap_or("not started by omni-trainer"),
    )))
}

/// What [`start`] did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Started {
    /// The job.
    pub job_name: String,
    /// Its ARN.
    pub arn: String,
    /// `false`: the job already existed for this batch (a retried start); nothing was sent.
    pub created: bool,
    /// Its status when last seen (`Initializing` for a new job).
    pub status: String,
    /// Photos uploaded (0 when they were all there already).
    pub uploaded: usize,
    /// Photos already in S3, unchanged.
    pub unchanged: usize,
}

fn existing_started(job: &DescribeLabelingJobOutput, plan: &JobPlan) -> Started {
    Started {
        job_name: plan.job_name.clone(),
        arn: job.labeling_job_arn().unwrap_or_default().to_owned(),
        created: false,
        status: job
            .labeling_job_status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        uploaded: 0,
        unchanged: 0,
    }
}

async fn put(clients: &Clients, uri: &str, body: Vec<u8>, content_type: &str) -> Result<()> {
    let uri = S3Uri::parse(uri)?;
    clients
        .s3
        .put_object()
        .bucket(&uri.bucket)
        .key(&uri.key)
        .content_type(content_type)
        .body(ByteStream::from(body))
        .send()
        .await
        .map_err(s3_error("PutObject", &uri.bucket))?;
    Ok(())
}

/// Uploads the batch and the job's inputs and creates the job; a job of the same name for
/// the same batch is recognised (returned with `created: false`), one for another batch is
/// an error. `progress` counts the photos' bytes.
pub async fn start(
    clients: &Clients,
    plan: &JobPlan,
    batch_dir: &std::path::Path,
    progress: &Progress<'_>,
) -> Result<Started> {
    if let Some(existing) = find(clients, &plan.job_name).await? {
        check_same_job(&existing, plan)?;
        return Ok(existing_started(&existing, plan));
    }
    let bucket = S3Uri::parse(&plan.batch_uri)?.bucket;
    require_bucket(clients, &bucket).await?;
    let images = S3Uri::parse(&plan.images_uri)?;
    let uploaded = upload::upload(
        clients,
        &batch_dir.join("images"),
        &images,
        &UploadOptions::default(),
        progress,
    )
    .await?;
    let batch_json = batch_dir.join(super::batch::BATCH_JSON);
    let bytes = std::fs::read(&batch_json).map_err(TrainerError::io(&batch_json))?;
    put(clients, &plan.batch_json_uri, bytes, "application/json").await?;
    put(
        clients,
        &plan.manifest_uri,
        input_manifest(plan).into_bytes(),
        "application/jsonlines",
    )
    .await?;
    put(
        clients,
        &plan.categories_uri,
        label_categories(plan).into_bytes(),
        "application/json",
    )
    .await?;
    put(
        clients,
        &plan.template_uri,
        TASK_TEMPLATE.as_bytes().to_vec(),
        "text/html; charset=utf-8",
    )
    .await?;
    let task = &plan.task;
    let mut human = HumanTaskConfig::builder()
        .workteam_arn(&plan.workteam_arn)
        .ui_config(
            UiConfig::builder()
                .ui_template_s3_uri(&plan.template_uri)
                .build(),
        )
        .pre_human_task_lambda_arn(&plan.pre_lambda)
        .task_title(&task.title)
        .task_description(&task.description)
        .number_of_human_workers_per_data_object(task.workers)
        .task_time_limit_in_seconds(task.time_limit_s)
        .task_availability_lifetime_in_seconds(plan.availability_s)
        .max_concurrent_task_count(task.max_concurrent)
        .annotation_consolidation_config(
            AnnotationConsolidationConfig::builder()
                .annotation_consolidation_lambda_arn(&plan.consolidation_lambda)
                .build(),
        );
    for keyword in &task.keywords {
        human = human.task_keywords(keyword);
    }
    if plan.public_crowd {
        let mills = task.price_mills as i32;
        human = human.public_workforce_task_price(
            PublicWorkforceTaskPrice::builder()
                .amount_in_usd(
                    Usd::builder()
                        .dollars(mills / 1000)
                        .cents(mills % 1000 / 10)
                        .tenth_fractions_of_a_cent(mills % 10)
                        .build(),
                )
                .build(),
        );
    }
    let mut input = LabelingJobInputConfig::builder().data_source(
        LabelingJobDataSource::builder()
            .s3_data_source(
                LabelingJobS3DataSource::builder()
                    .manifest_s3_uri(&plan.manifest_uri)
                    .build(),
            )
            .build(),
    );
    if task.free_of_pii || task.free_of_adult_content {
        let mut attributes = LabelingJobDataAttributes::builder();
        if task.free_of_pii {
            attributes = attributes
                .content_classifiers(ContentClassifier::FreeOfPersonallyIdentifiableInformation);
        }
        if task.free_of_adult_content {
            attributes = attributes.content_classifiers(ContentClassifier::FreeOfAdultContent);
        }
        input = input.data_attributes(attributes.build());
    }
    let tags = [
        (TAG_BATCH, plan.batch.as_str()),
        (TAG_BATCH_URI, plan.batch_uri.as_str()),
        (TAG_BATCH_SHA256, plan.batch_sha256.as_str()),
    ];
    let mut request = clients
        .sagemaker
        .create_labeling_job()
        .labeling_job_name(&plan.job_name)
        .label_attribute_name(&plan.label_attribute)
        .input_config(input.build())
        .output_config(
            LabelingJobOutputConfig::builder()
                .s3_output_path(&plan.output_uri)
                .build(),
        )
        .role_arn(&plan.role_arn)
        .label_category_config_s3_uri(&plan.categories_uri)
        .human_task_config(human.build());
    for (key, value) in tags {
        request = request.tags(Tag::builder().key(key).value(value).build());
    }
    match request.send().await {
        Ok(out) => Ok(Started {
            job_name: plan.job_name.clone(),
            arn: out.labeling_job_arn().unwrap_or_default().to_owned(),
            created: true,
            status: LabelingJobStatus::Initializing.as_str().to_owned(),
            uploaded: uploaded.uploaded,
            unchanged: uploaded.unchanged,
        }),
        // Created meanwhile (a start retried while the first was still on its way).
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use()) => {
            let existing = find(clients, &plan.job_name)
                .await?
                .ok_or_else(|| aws_error("CreateLabelingJob")(e))?;
            check_same_job(&existing, plan)?;
            Ok(existing_started(&existing, plan))
        }
        Err(e) => Err(aws_error("CreateLabelingJob")(e)),
    }
}

/// A job's state and counters, as `DescribeLabelingJob` gives them.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct JobProgress {
    /// The job.
    pub job_name: String,
    /// `LabelingJobStatus`.
    pub status: String,
    /// Objects labelled (by people or machine).
    pub labeled: i64,
    /// Of which by people.
    pub human_labeled: i64,
    /// Objects not labelled yet.
    pub unlabeled: i64,
    /// Objects that failed and will not be retried.
    pub failed: i64,
    /// `FailureReason`.
    pub failure_reason: Option<String>,
    /// Seconds since waiting began.
    pub elapsed_s: f64,
    /// Polls so far.
    pub polls: u32,
}

impl JobProgress {
    /// Every object the job has.
    pub fn total(&self) -> i64 {
        self.labeled + self.unlabeled + self.failed
    }

    fn of(job: &DescribeLabelingJobOutput, name: &str, started: Instant, polls: u32) -> Self {
        let counters = job.label_counters();
        let get = |f: fn(&aws_sdk_sagemaker::types::LabelCounters) -> Option<i32>| {
            counters.and_then(f).map_or(0, i64::from)
        };
        Self {
            job_name: name.to_owned(),
            status: job
                .labeling_job_status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            labeled: get(|c| c.total_labeled()),
            human_labeled: get(|c| c.human_labeled()),
            unlabeled: get(|c| c.unlabeled()),
            failed: get(|c| c.failed_non_retryable_error()),
            failure_reason: job.failure_reason().map(str::to_owned),
            elapsed_s: started.elapsed().as_secs_f64(),
            polls,
        }
    }
}

/// Follows `name` until it is Completed (returned with its description), or Failed or
/// Stopped (an error with the reason); `on_poll` sees every poll.
pub async fn wait(
    clients: &Clients,
    name: &str,
    backoff: &Backoff,
    mut on_poll: impl FnMut(&JobProgress),
) -> Result<(JobProgress, DescribeLabelingJobOutput)> {
    let started = Instant::now();
    let mut interval = backoff.initial;
    let mut last: Option<JobProgress> = None;
    let mut polls = 0;
    loop {
        polls += 1;
        let job = find(clients, name).await?.ok_or_else(|| {
            TrainerError::Input(format!(
                "no labeling job {name} in region {}",
                clients.region
            ))
        })?;
        let progress = JobProgress::of(&job, name, started, polls);
        on_poll(&progress);
        let reason = || {
            progress
                .failure_reason
                .clone()
                .unwrap_or_else(|| "no reason given".into())
        };
        match job.labeling_job_status() {
            Some(LabelingJobStatus::Completed) => return Ok((progress, job)),
            Some(LabelingJobStatus::Failed) => {
                return Err(TrainerError::Input(format!(
                    "labeling job {name} Failed: {}; nothing imported",
                    reason()
                )));
            }
            Some(LabelingJobStatus::Stopped) => {
                return Err(TrainerError::Input(format!(
                    "labeling job {name} Stopped ({} labelled, {} unlabelled): {}; nothing imported (its partial output manifest can be imported with `dataset import-groundtruth`)",
                    progress.labeled,
                    progress.unlabeled,
                    reason()
                )));
            }
            _ => {}
        }
        if started.elapsed() >= backoff.timeout {
            return Err(TrainerError::Timeout {
                what: format!("labeling job {name}"),
                status: progress.status,
                seconds: started.elapsed().as_secs(),
            });
        }
        let changed = last.as_ref().is_none_or(|l| {
            (&l.status, l.labeled, l.unlabeled, l.failed)
                != (
                    &progress.status,
                    progress.labeled,
                    progress.unlabeled,
                    progress.failed,
                )
        });
        interval = if changed {
            backoff.initial
        } else {
            backoff.next(interval)
        };
        last = Some(progress);
        let left = backoff.timeout.saturating_sub(started.elapsed());
        tokio::time::sleep(interval.min(left).max(Duration::from_millis(1))).await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn names_prices_and_regions() {
        assert!(is_sagemaker_name("omni-b7", 63));
        assert!(is_sagemaker_name("a--b", 63));
        for bad in ["", "-a", "a-", "a_b", "a b", &"a".repeat(64)] {
            assert!(!is_sagemaker_name(bad, 63), "{bad:?}");
        }
        assert_eq!(price_mills(0.12).unwrap(), 120);
        assert_eq!(price_mills(1.2).unwrap(), 1200);
        assert!(price_mills(0.13).is_err());
        assert!(price_mills(0.012).is_err(), "not a bounding-box price");
        let (pre, acs) = bounding_box_lambdas("us-east-1").unwrap();
        // The plan's own ARNs.
        assert_eq!(
            pre,
            "arn:aws:lambda:us-east-1:432418664414:function:PRE-BoundingBox"
        );
        assert_eq!(
            acs,
            "arn:aws:lambda:us-east-1:432418664414:function:ACS-BoundingBox"
        );
        let err = bounding_box_lambdas("af-south-1").unwrap_err().to_string();
        assert!(
            err.contains("af-south-1") && err.contains("eu-west-1"),
            "{err}"
        );
        for (region, pre, acs) in BOUNDING_BOX_LAMBDAS {
            assert!(pre.starts_with(&format!("arn:aws:lambda:{region}:")));
            assert_eq!(acs.replace("ACS-", "PRE-"), *pre);
        }
    }

    #[test]
    fn the_template_is_a_bounding_box_task_in_two_languages() {
        for needle in [
            "<crowd-bounding-box",
            "name=\"boundingBox\"",
            "{{ task.input.taskObject | grant_read_access }}",
            "{{ task.input.labels | to_json | escape }}",
            "<full-instructions",
            "<short-instructions>",
            "English",
            "Español",
        ] {
            assert!(TASK_TEMPLATE.contains(needle), "{needle}");
        }
        for class in DAMAGE_CLASSES {
            assert!(
                TASK_TEMPLATE.contains(&format!("<b>{class}</b>")),
                "{class}"
            );
        }
    }
}
