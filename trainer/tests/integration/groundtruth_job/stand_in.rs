//! The SageMaker stand-in checked against boto3, the Lambda ARN table against botocore, and `--help`.

use super::*;

/// The stand-in is no rubber stamp: requests boto3 or SageMaker would refuse are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stand_in_refuses_what_boto3_and_sagemaker_refuse() {
    use aws_sdk_sagemaker::types::{
        AnnotationConsolidationConfig, HumanTaskConfig, LabelingJobDataSource,
        LabelingJobInputConfig, LabelingJobOutputConfig, LabelingJobS3DataSource, UiConfig,
    };
    let Some(f) = Fixture::new("gt-refuse", &[]).await else {
        return;
    };
    let (b, clients) = (&f.bucket, &f.clients);
    let task = |workers: i32, pre: &str, title: Option<&str>| {
        HumanTaskConfig::builder()
            .workteam_arn("arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/t")
            .ui_config(
                UiConfig::builder()
                    .ui_template_s3_uri(format!("s3://{b}/t.html"))
                    .build(),
            )
            .pre_human_task_lambda_arn(pre)
            .set_task_title(title.map(str::to_owned))
            .task_description("d")
            .number_of_human_workers_per_data_object(workers)
            .task_time_limit_in_seconds(600)
            .annotation_consolidation_config(
                AnnotationConsolidationConfig::builder()
                    .annotation_consolidation_lambda_arn(PLAN_ACS)
                    .build(),
            )
            .build()
    };
    let create = |name: &str, task: HumanTaskConfig| {
        clients
            .sagemaker
            .create_labeling_job()
            .labeling_job_name(name)
            .label_attribute_name("labels")
            .input_config(
                LabelingJobInputConfig::builder()
                    .data_source(
                        LabelingJobDataSource::builder()
                            .s3_data_source(
                                LabelingJobS3DataSource::builder()
                                    .manifest_s3_uri(format!("s3://{b}/m"))
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .output_config(
                LabelingJobOutputConfig::builder()
                    .s3_output_path(format!("s3://{b}/o/"))
                    .build(),
            )
            .role_arn(PLAN_ROLE)
            .human_task_config(task)
            .send()
    };
    let refused = |r: Result<_, aws_sdk_sagemaker::error::SdkError<_>>| {
        let e = r.expect_err("accepted");
        omni_trainer::aws::describe(&e.into_service_error())
    };
    let m = refused(create("refuse-a", task(0, PLAN_PRE, Some("t"))).await);
    assert!(
        m.starts_with("ValidationException")
            && m.contains(
                "HumanTaskConfig.NumberOfHumanWorkersPerDataObject, value: 0, valid min value: 1"
            ),
        "{m}"
    );
    let m = refused(create("refuse-b", task(1, PLAN_PRE, None)).await);
    assert!(
        m.contains("Missing required parameter in HumanTaskConfig: \"TaskTitle\""),
        "{m}"
    );
    let m = refused(create("refuse_c", task(1, PLAN_PRE, Some("t"))).await);
    assert!(
        m.contains("LabelingJobName: 'refuse_c' does not match the pattern"),
        "{m}"
    );
    let m = refused(create("refuse-d", task(10, PLAN_PRE, Some("t"))).await);
    assert!(
        m.contains("NumberOfHumanWorkersPerDataObject: 10, at most 9"),
        "{m}"
    );
    let other = "arn:aws:lambda:eu-west-1:568282634449:function:PRE-BoundingBox";
    let m = refused(create("refuse-e", task(1, other, Some("t"))).await);
    assert!(
        m.contains("is not the bounding-box Lambda of us-east-1"),
        "{m}"
    );
    // A valid one is taken, and a second of the same name is ResourceInUse.
    create("refuse-f", task(1, PLAN_PRE, Some("t")))
        .await
        .unwrap();
    let e = create("refuse-f", task(1, PLAN_PRE, Some("t")))
        .await
        .unwrap_err();
    assert!(e.into_service_error().is_resource_in_use());
}

/// The per-region Lambda table and the price list are AWS's, as botocore's SageMaker model
/// documents them.
#[test]
fn lambda_table_matches_botocore() {
    let Some(python) = python() else {
        return;
    };
    let script = r#"
import json, re
from botocore.session import get_session
m = get_session().get_service_model("sagemaker")
pre = m.shape_for("HumanTaskConfig").members["PreHumanTaskLambdaArn"].documentation
acs = m.shape_for("AnnotationConsolidationConfig").members["AnnotationConsolidationLambdaArn"].documentation
def table(doc, kind):
    return {r: f"arn:aws:lambda:{r}:{a}:function:{kind}-BoundingBox"
            for r, a in re.findall(r"arn:aws:lambda:([a-z0-9-]+):(\d{12}):function:" + kind + r"-BoundingBox\b", doc)}
price = m.shape_for("PublicWorkforceTaskPrice").documentation
section = price.split("bounding box tasks", 1)[1].split("Use one of the following", 1)[0]
print(json.dumps({"pre": table(pre, "PRE"), "acs": table(acs, "ACS"),
                  "prices": sorted(round(float(p) * 1000) for p in re.findall(r"\d+\.\d{3}", section))}))
"#;
    let out: Value = serde_json::from_str(&common::python_c(&python, script, &[])).unwrap();
    let ours_pre: BTreeMap<&str, &str> = BOUNDING_BOX_LAMBDAS
        .iter()
        .map(|(r, p, _)| (*r, *p))
        .collect();
    let ours_acs: BTreeMap<&str, &str> = BOUNDING_BOX_LAMBDAS
        .iter()
        .map(|(r, _, a)| (*r, *a))
        .collect();
    let theirs =
        |k: &str| -> BTreeMap<String, String> { serde_json::from_value(out[k].clone()).unwrap() };
    let as_owned = |m: BTreeMap<&str, &str>| -> BTreeMap<String, String> {
        m.into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    };
    assert_eq!(as_owned(ours_pre), theirs("pre"));
    assert_eq!(as_owned(ours_acs), theirs("acs"));
    assert_eq!(BOUNDING_BOX_LAMBDAS.len(), 12);
    let prices: Vec<u32> = serde_json::from_value(out["prices"].clone()).unwrap();
    assert_eq!(prices, BOUNDING_BOX_PRICES_MILLS);
}

#[test]
fn groundtruth_commands_have_help() {
    let dir = tempfile::tempdir().unwrap();
    for (args, needle) in [
        (
            vec!["labeling", "start-groundtruth", "--help"],
            "--workteam",
        ),
        (
            vec!["labeling", "wait-groundtruth", "--help"],
            "--merge-into",
        ),
    ] {
        let (ok, stdout, _) = common::cli(&args, &[], dir.path());
        assert!(
            ok && stdout.contains("Usage") && stdout.contains(needle),
            "{args:?}: {stdout}"
        );
    }
}
