//! [`start`]: the batch and the job's inputs uploaded, `CreateLabelingJob` called once per
//! job name and batch (a retried start finds the job it created).

use aws_sdk_sagemaker::operation::describe_labeling_job::DescribeLabelingJobOutput;
use aws_sdk_sagemaker::types::{
    AnnotationConsolidationConfig, ContentClassifier, HumanTaskConfig, LabelingJobDataAttributes,
    LabelingJobDataSource, LabelingJobInputConfig, LabelingJobOutputConfig,
    LabelingJobS3DataSource, LabelingJobStatus, PublicWorkforceTaskPrice, Tag, UiConfig, Usd,
};
use serde::Serialize;

use super::{
    JobPlan, TAG_BATCH, TAG_BATCH_SHA256, TAG_BATCH_URI, TASK_TEMPLATE, input_manifest,
    label_categories,
};
use crate::Progress;
use crate::aws::{Clients, aws_error, describe, is_not_found, require_bucket};
use crate::error::{Result, TrainerError};
use crate::s3uri::S3Uri;
use crate::upload::{self, UploadOptions};

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
    crate::aws::put_object(clients, &uri.bucket, &uri.key, body, content_type).await
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
    let batch_json = batch_dir.join(crate::labeling::batch::BATCH_JSON);
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
