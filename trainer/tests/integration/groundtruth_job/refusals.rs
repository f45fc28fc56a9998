//! Bad input refused with one line and nothing merged; failed objects left out.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_one_line_and_nothing_merged() {
    let Some(f) = Fixture::new("gt-bad", &[("b1", 3, 400), ("empty", 0, 0)]).await else {
        return;
    };
    let (env, dir, clients, bucket) = (&f.env, f.dir(), &f.clients, &f.bucket);
    let start = |extra: &[&str]| {
        let mut args = vec!["labeling", "start-groundtruth"];
        args.extend_from_slice(extra);
        run(&args, env, dir)
    };
    let long = format!("--job-name={}", "a".repeat(64));
    let name_rule = ["--job-name", "1 to 63 letters, digits and hyphens"];
    let refusals: [(&str, &[&str], &[&str]); 11] = [
        (
            "batches/empty",
            &[],
            &["batches/empty: the batch has no photos; nothing to label"],
        ),
        (
            "batches/b1",
            &["--region", "af-south-1"],
            &[
                "no bounding-box Lambdas for region \"af-south-1\"",
                "known: us-east-1, us-east-2",
            ],
        ),
        (
            "batches/b1",
            &["--region", "eu-west-1"],
            &["public crowd", "us-east-1 only", "--workteam"],
        ),
        (
            "batches/b1",
            &[
                "--region",
                "eu-west-1",
                "--workteam",
                "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/t",
            ],
            &["is in us-east-1, the job in eu-west-1"],
        ),
        ("batches/b1", &["--job-name=omni_b1"], &name_rule),
        ("batches/b1", &["--job-name=-omni"], &name_rule),
        ("batches/b1", &["--job-name=omni-"], &name_rule),
        ("batches/b1", &[long.as_str()], &name_rule),
        (
            "batches/b1",
            &["--price-usd", "0.13"],
            &["--price-usd 0.13", "0.120"],
        ),
        (
            "batches/b1",
            &["--task-availability-s", "864000"],
            &[
                "--task-availability-s 864000",
                "12 hours at most with the public crowd",
            ],
        ),
        ("batches/b1", &["--workers", "10"], &["--workers 10"]),
    ];
    for (batch, extra, needles) in refusals {
        // A job name of its own unless the case is about the name.
        let mut args = vec![batch, "--yes"];
        if !extra.iter().any(|a| a.starts_with("--job-name")) {
            args.extend(["--job-name", "omni-b1"]);
        }
        args.extend_from_slice(extra);
        assert_refused(start(&args), needles);
    }
    assert!(
        keys(clients, bucket).await.is_empty(),
        "a refused start sent something"
    );

    // A data set already there, to see that nothing is merged into it.
    let ds = dir.join("ds");
    let earlier = dir.join("earlier");
    common::write(&earlier.join("images/e0.jpg"), common::jpeg(64, 48, 999));
    common::write(&earlier.join("labels/e0.txt"), "0 0.5 0.5 0.25 0.25\n");
    omni_trainer::dataset::merge::merge(&earlier, &ds, None, 0.2, "2026-12-01T00:00:00Z").unwrap();
    let before = std::fs::read(ds.join(DATASET_JSON)).unwrap();

    for (name, needles) in [
        (
            "omni-b1-fail",
            vec![
                "labeling job omni-b1-fail Failed: ClientError: Access Denied",
                "nothing imported",
            ],
        ),
        (
            "omni-b1-stop",
            vec!["labeling job omni-b1-stop Stopped", "nothing imported"],
        ),
        (
            "omni-b1-badclass",
            vec![
                "output.manifest:1: source-ref",
                "class \"corrosion\" (class_id 6) is not one of the job's label categories (dent, dirt, rust, scratch, spoiled, mold)",
                "nothing imported",
            ],
        ),
    ] {
        let (ok, stdout, stderr) = start(&["batches/b1", "--job-name", name, "--yes"]);
        assert!(ok, "{stdout}{stderr}");
        // --json: no progress lines, so stderr is the one error line.
        let refused = run(
            &[
                "labeling",
                "wait-groundtruth",
                name,
                "--merge-into",
                "ds",
                "--json",
            ],
            env,
            dir,
        );
        assert_eq!(refused.2.lines().count(), 1, "{}", refused.2);
        assert_refused(refused, &needles);
        // Without --json: progress lines, then the same one error line last.
        assert_refused(
            run(
                &["labeling", "wait-groundtruth", name, "--merge-into", "ds"],
                env,
                dir,
            ),
            &needles,
        );
        assert!(
            !dir.join(format!("pool-{name}")).exists(),
            "{name}: a pool was written"
        );
        assert_eq!(
            std::fs::read(ds.join(DATASET_JSON)).unwrap(),
            before,
            "{name}"
        );
    }
    assert_refused(
        run(&["labeling", "wait-groundtruth", "omni-nowhere"], env, dir),
        &["no labeling job omni-nowhere in region us-east-1"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_objects_are_left_out() {
    let Some(f) = Fixture::new("gt-partial", &[("p1", 4, 500)]).await else {
        return;
    };
    let (env, dir, clients, batch) = (&f.env, f.dir(), &f.clients, f.batch("p1"));
    let (ok, stdout, stderr) = run(
        &[
            "labeling",
            "start-groundtruth",
            "batches/p1",
            "--job-name",
            "omni-p1-partial",
            "--yes",
            "--workers",
            "3",
            "--price-usd",
            "0.24",
            "--keyword",
            "container damage",
            "--free-of-pii",
        ],
        env,
        dir,
    );
    assert!(ok, "{stderr}");
    assert_has(&stdout, &["4 photos × 3 worker(s) × $0.240 = $2.88"]);
    // The photos from the batch's copy in S3 (no --batch): the job is followed elsewhere.
    let elsewhere = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = run(
        &[
            "labeling",
            "wait-groundtruth",
            "omni-p1-partial",
            "--out",
            "pool",
            "--json",
        ],
        env,
        elsewhere.path(),
    );
    assert!(ok, "{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["job"]["status"], "Completed");
    assert_eq!(
        (v["job"]["labeled"].as_i64(), v["job"]["failed"].as_i64()),
        (Some(3), Some(1))
    );
    let import = &v["import"];
    assert_eq!(
        (
            import["images"].as_u64(),
            import["failed"].as_u64(),
            import["unlabelled"].as_u64()
        ),
        (Some(3), Some(1), Some(0))
    );
    assert_eq!(import["batch"], "p1");
    assert_eq!(assert_pool(&elsewhere.path().join("pool"), &batch), 3);
    // The failed photo (the last) is not in the pool, not even as "no damage".
    let last = &Batch::load(&batch).unwrap().photos[3].sha256;
    assert!(!index_by_sha(&batch).is_empty());
    for entry in std::fs::read_dir(elsewhere.path().join("pool/images")).unwrap() {
        let sha = hex(&Sha256::digest(
            std::fs::read(entry.unwrap().path()).unwrap(),
        ));
        assert_ne!(&sha, last);
    }
    // The request carried the overrides.
    let job = clients
        .sagemaker
        .describe_labeling_job()
        .labeling_job_name("omni-p1-partial")
        .send()
        .await
        .unwrap();
    let task = job.human_task_config().unwrap();
    assert_eq!(task.number_of_human_workers_per_data_object(), Some(3));
    assert_eq!(task.task_keywords(), ["container damage"]);
    assert_eq!(price(task), (0, 24, 0));
    let classifiers = job
        .input_config()
        .and_then(|c| c.data_attributes())
        .map(|a| {
            a.content_classifiers()
                .iter()
                .map(|c| c.as_str().to_owned())
                .collect::<Vec<_>>()
        });
    assert_eq!(
        classifiers,
        Some(vec!["FreeOfPersonallyIdentifiableInformation".to_owned()])
    );
}
