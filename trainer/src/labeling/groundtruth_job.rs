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

mod plan;
mod start;
mod wait;

pub use plan::{
    JobPlan, StartOptions, TaskOptions, Workforce, input_manifest, is_sagemaker_name,
    label_categories, plan, price_mills,
};
pub use start::{Started, check_same_job, find, start, tag};
pub use wait::{JobProgress, wait};

use crate::error::{Result, TrainerError};

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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::dataset::DAMAGE_CLASSES;

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
