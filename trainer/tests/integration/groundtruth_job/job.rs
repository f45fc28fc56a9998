//! A labeling job through the documented commands (option B of the plan), and a retried start.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn option_b_through_the_documented_commands() {
    let Some(f) = Fixture::new("gt-docs", &[("b7", 5, 100)]).await else {
        return;
    };
    let (bucket, clients, dir, batch) = (&f.bucket, &f.clients, f.dir(), f.batch("b7"));
    // Each line as docs/labeling.md shows it, checked to be there, run as a reader types it.
    let shown = documented("omni-trainer");
    let mut ran = BTreeSet::new();
    let mut command = |text: &'static str| {
        assert!(
            shown
                .iter()
                .any(|c| c.text == text && c.page == "docs/labeling.md" && c.env.is_empty()),
            "docs/labeling.md does not show {text:?}"
        );
        ran.insert(text);
        std::process::Command::new(env!("CARGO_BIN_EXE_omni-trainer"))
            .args(argv(text, &[], dir))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(f.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(dir)
            .output()
            .unwrap()
    };

    // 1. The plan, and nothing sent.
    let preview = command(DOC_COMMANDS[0]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&preview.stdout).into_owned(),
        String::from_utf8_lossy(&preview.stderr).into_owned(),
    );
    assert_eq!(preview.status.code(), Some(1), "{}", output_text(&preview));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("omni-trainer: error: not started: nothing was uploaded"),
        "{stderr}"
    );
    for needle in [
        "labeling job omni-b7 in us-east-1: batch b7, 5 photos",
        &format!("s3://{bucket}/labeling/b7/images/"),
        &format!("s3://{bucket}/labeling/b7/omni-b7/input.manifest"),
        "dent, dirt, rust, scratch, spoiled, mold",
        "instructions in English and Spanish",
        "the PUBLIC CROWD (Amazon Mechanical Turk",
        "5 photos × 1 worker(s) × $0.120 = $0.60",
        PLAN_PRE,
        PLAN_ACS,
        PLAN_ROLE,
        "not the plan's 864000 s",
    ] {
        assert!(stdout.contains(needle), "{needle:?} not in {stdout}");
    }
    assert!(keys(clients, bucket).await.is_empty());

    // 2. Started; started again: the same job, none added.
    let stdout = succeeded(command(DOC_COMMANDS[1]));
    assert_has(
        &stdout,
        &["started labeling job omni-b7 (arn:aws:sagemaker:us-east-1:"],
    );
    assert_has(&stdout, &["5 photos uploaded"]);
    let stdout = succeeded(command(DOC_COMMANDS[1]));
    // (Its DescribeLabelingJob moved the stand-in's job one step: Initializing.)
    assert_has(
        &stdout,
        &[
            "labeling job omni-b7 already exists for batch b7 (status Initializing); not created again",
        ],
    );
    // What was uploaded: the batch, the manifest, the categories, the template.
    let mut uploaded = keys(clients, bucket).await;
    uploaded.sort();
    let mut want: Vec<String> = (0..5)
        .map(|i| format!("labeling/b7/images/b7-photo-{i:02}.jpg"))
        .collect();
    want.extend(
        [
            "labeling/b7/batch.json",
            "labeling/b7/omni-b7/input.manifest",
            "labeling/b7/omni-b7/label-categories.json",
            "labeling/b7/omni-b7/template.html",
        ]
        .map(str::to_owned),
    );
    want.sort();
    assert_eq!(uploaded, want);
    let manifest =
        String::from_utf8(object(clients, bucket, "labeling/b7/omni-b7/input.manifest").await)
            .unwrap();
    let refs: Vec<Value> = manifest
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(refs.len(), 5);
    assert_eq!(
        refs[0],
        serde_json::json!({"source-ref": format!("s3://{bucket}/labeling/b7/images/b7-photo-00.jpg")})
    );
    let categories: Value = serde_json::from_slice(
        &object(clients, bucket, "labeling/b7/omni-b7/label-categories.json").await,
    )
    .unwrap();
    let labels: Vec<&str> = categories["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, DAMAGE_CLASSES);
    assert_eq!(categories["document-version"], "2018-11-28");
    let template =
        String::from_utf8(object(clients, bucket, "labeling/b7/omni-b7/template.html").await)
            .unwrap();
    assert!(template.contains("English") && template.contains("Español"));

    // 3. Followed to Completed, imported, merged.
    let waited = command(DOC_COMMANDS[2]);
    assert!(waited.status.success(), "{}", output_text(&waited));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&waited.stdout),
        String::from_utf8_lossy(&waited.stderr),
    );
    for needle in [
        "InProgress: 2 labelled, 3 unlabelled, 0 failed",
        "InProgress: 4 labelled, 1 unlabelled, 0 failed",
        "Completed: 5 labelled, 0 unlabelled, 0 failed",
    ] {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
    assert_has(
        &stdout,
        &["pool-omni-b7: 5 images (1 without damage), 5 boxes"],
    );
    let ds = dir.join("ds");
    let manifest = DatasetManifest::load(&ds).unwrap().unwrap();
    assert_eq!(manifest.images.len(), 5);
    assert_eq!(manifest.batches, ["b7"]);
    let index = index_by_sha(&batch);
    for (key, entry) in &manifest.images {
        assert_eq!(entry.batch.as_deref(), Some("b7"));
        assert_eq!(entry.source, "office:office-data");
        let i = index[&entry.sha256];
        assert_eq!(entry.photo_id, Some(format!("b7-photo-{i:02}")));
        assert_labels(&label_path_for(&ds.join(key)), i);
    }
    assert_eq!(assert_pool(&dir.join("pool-omni-b7"), &batch), 5);

    // The request held the plan's values (as SageMaker echoes them back).
    let job = clients
        .sagemaker
        .describe_labeling_job()
        .labeling_job_name("omni-b7")
        .send()
        .await
        .unwrap();
    assert_eq!(job.label_attribute_name(), Some("labels"));
    assert_eq!(job.role_arn(), Some(PLAN_ROLE));
    assert_eq!(
        job.label_category_config_s3_uri(),
        Some(format!("s3://{bucket}/labeling/b7/omni-b7/label-categories.json").as_str())
    );
    assert_eq!(
        job.output_config().and_then(|o| o.s3_output_path()),
        Some(format!("s3://{bucket}/labeling/b7/omni-b7/output/").as_str())
    );
    let task = job.human_task_config().unwrap();
    assert_eq!(task.workteam_arn(), Some(PUBLIC_CROWD));
    assert_eq!(task.pre_human_task_lambda_arn(), Some(PLAN_PRE));
    assert_eq!(
        task.annotation_consolidation_config()
            .and_then(|c| c.annotation_consolidation_lambda_arn()),
        Some(PLAN_ACS)
    );
    assert_eq!(task.task_title(), Some("Etiquetar daños en contenedores"));
    assert_eq!(
        task.task_description(),
        Some("Dibuja cajitas sobre daños visibles")
    );
    assert_eq!(task.number_of_human_workers_per_data_object(), Some(1));
    assert_eq!(task.task_time_limit_in_seconds(), Some(600));
    assert_eq!(task.task_availability_lifetime_in_seconds(), Some(43_200));
    assert_eq!(task.max_concurrent_task_count(), Some(10));
    assert_eq!(price(task), (0, 12, 0));
    assert!(task.task_keywords().is_empty());

    // With a private workteam in another region, the labels looked at before the merge.
    let stdout = succeeded(command(DOC_COMMANDS[3]));
    assert_has(&stdout, &["labeling job omni-b7-yard in eu-west-1"]);
    assert_has(
        &stdout,
        &["workteam arn:aws:sagemaker:eu-west-1:123456789012:workteam/private-crowd/yard-team"],
    );
    assert_has(&stdout, &["no per-task worker price"]);
    assert_has(&stdout, &["0 photos uploaded, 5 already there"]);
    let stdout = succeeded(command(DOC_COMMANDS[4]));
    assert_has(
        &stdout,
        &["next: omni-trainer dataset merge pool-b7-yard --into DATASET --from-batch batches/b7"],
    );
    assert_eq!(assert_pool(&dir.join("pool-b7-yard"), &batch), 5);
    let before = std::fs::read(ds.join(DATASET_JSON)).unwrap();
    let stdout = succeeded(command(DOC_COMMANDS[5]));
    assert_has(&stdout, &["unchanged"]);
    assert_eq!(std::fs::read(ds.join(DATASET_JSON)).unwrap(), before);
    let yard_job = {
        let conf = clients
            .sagemaker
            .config()
            .to_builder()
            .region(aws_sdk_sagemaker::config::Region::new("eu-west-1"))
            .build();
        aws_sdk_sagemaker::Client::from_conf(conf)
            .describe_labeling_job()
            .labeling_job_name("omni-b7-yard")
            .send()
            .await
            .unwrap()
    };
    let task = yard_job.human_task_config().unwrap();
    assert_eq!(
        task.pre_human_task_lambda_arn(),
        Some("arn:aws:lambda:eu-west-1:568282634449:function:PRE-BoundingBox")
    );
    assert!(task.public_workforce_task_price().is_none());
    assert_eq!(task.task_availability_lifetime_in_seconds(), Some(864_000));

    assert_eq!(ran, DOC_COMMANDS.iter().copied().collect::<BTreeSet<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_start_creates_no_second_job() {
    let Some(f) = Fixture::new("gt-retry", &[("r1", 3, 200), ("r2", 2, 300)]).await else {
        return;
    };
    let (env, dir) = (&f.env, f.dir());
    // Two starts at once: one creates the job, the other finds it (before creating, or on
    // CreateLabelingJob's ResourceInUse).
    let spawn = || {
        let env = env.clone();
        let dir = dir.to_owned();
        std::thread::spawn(move || {
            run(
                &[
                    "labeling",
                    "start-groundtruth",
                    "batches/r1",
                    "--job-name",
                    "omni-retry",
                    "--yes",
                ],
                &env,
                &dir,
            )
        })
    };
    let (a, b) = (spawn(), spawn());
    let outs = [a.join().unwrap(), b.join().unwrap()];
    for (ok, stdout, stderr) in &outs {
        assert!(ok, "{stdout}{stderr}");
    }
    let created = outs
        .iter()
        .filter(|(_, o, _)| o.contains("started labeling job omni-retry"))
        .count();
    let found = outs
        .iter()
        .filter(|(_, o, _)| {
            o.contains("already exists for batch r1") && o.contains("not created again")
        })
        .count();
    assert_eq!((created, found), (1, 1), "{outs:?}");
    // The same name on another batch is refused.
    assert_refused(
        run(
            &[
                "labeling",
                "start-groundtruth",
                "batches/r2",
                "--job-name",
                "omni-retry",
                "--yes",
            ],
            env,
            dir,
        ),
        &[
            "labeling job omni-retry already exists for another batch (r1",
            "choose another --job-name",
        ],
    );
    // --json: the retried start says so.
    let (ok, stdout, stderr) = run(
        &[
            "labeling",
            "start-groundtruth",
            "batches/r1",
            "--job-name",
            "omni-retry",
            "--json",
        ],
        env,
        dir,
    );
    assert!(ok, "{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (v["exists"].as_bool(), v["started"].as_bool()),
        (Some(true), Some(false))
    );
}
