//! Every `omni-trainer` command the README and `docs/` show, run as a reader would type it,
//! through the real binary, in one working directory and in the pages' order: the labeling
//! loop from a phone store and from the office's embedded store (select, the three exports,
//! the three imports, merge; the office's reviews imported and merged), then upload, train,
//! publish and deploy against moto (S3 and SageMaker) on 127.0.0.1. SageMaker's own part
//! (the training container writing model.tar.gz, the endpoint's answer) is played by the
//! test. A page showing a command this test does not run (or the reverse) fails it; before
//! the clap id clash was fixed, the first export panicked here.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use omni_e2e::doc_commands::DocRun;
use omni_office::store::embedded::EmbeddedStore;
use serde_json::Value;

use crate::common;

/// The exported tasks, "labelled" in Label Studio: each accepts the model's boxes but the
/// first (background) and the second (one box moved and relabelled).
fn label_studio_export(tasks_file: &Path, out: &Path) {
    let tasks: Vec<Value> = serde_json::from_slice(&std::fs::read(tasks_file).unwrap()).unwrap();
    let labelled = crate::labeling::labelled_export(&tasks);
    std::fs::write(out, serde_json::to_vec_pretty(&labelled).unwrap()).unwrap();
}

/// Roboflow's download of a version generated from the uploaded folder: the same files, a
/// third of the images (and their labels) moved to `valid/` (Roboflow's train/valid split).
fn roboflow_version(upload: &Path) -> std::path::PathBuf {
    fn copy(from: &Path, to: &Path) {
        for entry in std::fs::read_dir(from).unwrap() {
            let path = entry.unwrap().path();
            let target = to.join(path.file_name().unwrap());
            if path.is_dir() {
                copy(&path, &target);
            } else {
                common::write(&target, std::fs::read(&path).unwrap());
            }
        }
    }
    fn to_valid(version: &Path, kind: &str, name: &str) {
        let from = version.join("train").join(kind).join(name);
        if from.exists() {
            common::write(
                &version.join("valid").join(kind).join(name),
                std::fs::read(&from).unwrap(),
            );
            std::fs::remove_file(from).unwrap();
        }
    }
    let version = upload.with_file_name("rf-version");
    copy(upload, &version);
    let mut images: Vec<_> = std::fs::read_dir(version.join("train/images"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    images.sort();
    for image in images.iter().step_by(3) {
        let stem = image.file_stem().unwrap().to_str().unwrap();
        to_valid(&version, "labels", &format!("{stem}.txt"));
        to_valid(
            &version,
            "images",
            image.file_name().unwrap().to_str().unwrap(),
        );
    }
    version
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_trainer_command_runs() {
    // Without the venv: a failure, or a skip under OMNI_SKIP_PYTHON_TESTS.
    let Some(python) = common::test_python() else {
        return;
    };
    let Some(moto) = common::shared_moto() else {
        return;
    };
    let (settings, clients) = common::moto_bucket(moto, "docs").await;
    let cwd = tempfile::tempdir().unwrap();
    let dir = cwd.path();
    let mut docs = DocRun::new(
        "omni-trainer",
        Path::new(env!("CARGO_BIN_EXE_omni-trainer")),
        dir,
    );
    for (name, value) in common::cli_env(&moto.url(), &settings.bucket) {
        docs.env(&name, &value);
    }
    docs.env("OMNI_ROLE_ARN", &settings.role_arn)
        .env_remove("OMNI_TRAINER_CONFIG")
        .env_remove("OMNI_SIGNING_KEY");
    let (ok, _, stderr) = common::cli(&["keygen", "--out", "edge-signing.key"], &[], dir);
    assert!(ok, "{stderr}");
    docs.env(
        "OMNI_SIGNING_KEY_FILE",
        &dir.join("edge-signing.key").display().to_string(),
    );

    // docs/trainer.md.
    let help = docs.run("omni-trainer --help", &[]);
    assert!(
        help.contains("labeling") && help.contains("publish"),
        "{help}"
    );

    // The stores photos are selected from: a phone's and the office's.
    drop(crate::labeling::phone_store(&dir.join("omni-data")));
    {
        let office = EmbeddedStore::open(&dir.join("office-data")).unwrap();
        crate::labeling::fill_office(&office).await;
    }
    // The yard's current data set `ds`, versioned by an earlier round's merge.
    let earlier = tempfile::tempdir().unwrap();
    for i in 0..6u32 {
        common::write(
            &earlier.path().join(format!("images/earlier{i}.jpg")),
            common::jpeg(64, 48, 500 + i),
        );
        common::write(
            &earlier.path().join(format!("labels/earlier{i}.txt")),
            format!("{} 0.5 0.5 0.25 0.25\n", i % 6),
        );
    }
    omni_trainer::dataset::merge::merge(
        earlier.path(),
        &dir.join("ds"),
        None,
        0.2,
        "2026-11-28T00:00:00Z",
    )
    .unwrap();

    // docs/labeling.md: select, then the three exports of the batch.
    let selected = docs.run(
        "omni-trainer labeling select --office office-data --out batches --name b7 --dataset ds --max 50 --seed 7",
        &[],
    );
    assert!(selected.contains("photos chosen"), "{selected}");
    let batch = dir.join("batches/b7");
    let chosen = count_files(&batch.join("images"));
    assert!(chosen > 0, "{selected}");
    let ls = docs.run(
        "omni-trainer labeling export-labelstudio batches/b7 --out ls/ --url-prefix '/data/local-files/?d=b7/images/'",
        &[],
    );
    assert!(ls.contains(&format!("{chosen} tasks")), "{ls}");
    docs.run(
        "omni-trainer labeling export-roboflow batches/b7 --out rf-upload/",
        &[],
    );
    assert_eq!(count_files(&dir.join("rf-upload/train/images")), chosen);
    docs.run(
        "omni-trainer labeling export-groundtruth batches/b7 --s3-prefix s3://bucket/labeling/b7/ --out b7.manifest",
        &[],
    );

    // The labeling tools' answers: Label Studio's JSON export of the tasks, Roboflow's
    // export of the uploaded folder (zipped, as downloads are), Ground Truth's output
    // manifest (the pre-annotations accepted as they are).
    label_studio_export(&dir.join("ls/tasks.json"), &dir.join("export.json"));
    crate::dataset::zip_export(
        &roboflow_version(&dir.join("rf-upload")),
        &dir.join("export.zip"),
        |_| {},
    );
    std::fs::copy(dir.join("b7.manifest"), dir.join("output.manifest")).unwrap();

    // The three imports (one of them in practice; each in turn here).
    let pool = dir.join("pool-b7");
    for import in [
        "omni-trainer labeling import-labelstudio export.json --images batches/b7/images --out pool-b7",
        "omni-trainer dataset import-roboflow export.zip --out pool-b7",
        "omni-trainer dataset import-groundtruth output.manifest --images batches/b7/images --out pool-b7",
    ] {
        if pool.exists() {
            std::fs::remove_dir_all(&pool).unwrap();
        }
        let imported = docs.run(import, &[]);
        assert!(imported.contains("pool-b7"), "{import}: {imported}");
    }
    let merged = docs.run(
        "omni-trainer dataset merge pool-b7 --into ds --from-batch batches/b7",
        &[],
    );
    assert!(merged.contains("version 2"), "{merged}");
    // The office's reviews as labels: reviewed photos (and one not marked reviewed) added
    // to the same office, imported and merged.
    let office = {
        let store = EmbeddedStore::open(&dir.join("office-data")).unwrap();
        crate::reviewed::fill(&store).await
    };
    let imported = docs.run(
        "omni-trainer labeling import-reviewed --office office-data --since 2026-11-01 --out reviewed-nov",
        &[],
    );
    assert!(
        imported.contains("reviewed-nov: 3 reviewed photos (1 without damage), 4 boxes"),
        "{imported}"
    );
    crate::reviewed::assert_pool(
        &dir.join("reviewed-nov"),
        &office,
        &["p-dent", "p-clean", "p-bad"],
    );
    let merged = docs.run(
        "omni-trainer dataset merge reviewed-nov --into ds --from-batch reviewed-nov",
        &[],
    );
    assert!(merged.contains("version 3: +"), "{merged}");
    let uploaded = docs.run("omni-trainer dataset upload ds", &[]);
    assert!(uploaded.contains("uploaded"), "{uploaded}");

    // README: from the phone, a Roboflow export into a data set, then train, publish, deploy.
    let selected = docs.run(
        "omni-trainer labeling select --phone omni-data --out batches --max 50",
        &[],
    );
    assert!(selected.contains("photos chosen"), "{selected}");
    docs.run(
        "omni-trainer dataset import-roboflow export.zip --out dataset",
        &[],
    );
    let valid = docs.run("omni-trainer dataset validate dataset", &[]);
    assert!(valid.trim_end().ends_with("ok"), "{valid}");
    docs.run("omni-trainer dataset upload dataset", &[]);
    // SageMaker through a stand-in in front of moto: the job stays in progress until its
    // container has written model.tar.gz, which the test does once the job exists.
    let states = common::Server::start(&python, "job_states.py", &["--proxy", &moto.url()]);
    docs.env("OMNI_SAGEMAKER_ENDPOINT_URL", &states.url());
    let mut training = docs
        .command("omni-trainer train --wait", &[])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let job = loop {
        let jobs = clients.sagemaker.list_training_jobs().send().await.unwrap();
        if let Some(job) = jobs
            .training_job_summaries()
            .iter()
            .find_map(|j| j.training_job_name())
        {
            break job.to_owned();
        }
        if let Some(status) = training.try_wait().unwrap() {
            let out = training.wait_with_output().unwrap();
            panic!(
                "train --wait ended ({status}) before a job existed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    crate::sagemaker::complete_job(&clients, &job, 0.33).await;
    let trained = tokio::task::spawn_blocking(move || training.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&trained.stdout);
    assert!(
        trained.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&trained.stderr)
    );
    assert!(
        stdout.contains(&format!("started training job {job}")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("training job {job} Completed")),
        "{stdout}"
    );
    assert!(stdout.contains("mAP50-95 0.3300"), "{stdout}");
    let published = docs.run(
        "omni-trainer publish JOB --data dataset",
        &[("JOB", job.as_str())],
    );
    assert!(published.contains("edge/latest.json"), "{published}");
    // SageMaker's part: the new endpoint's answer to the smoke invocation.
    crate::sagemaker::queue_endpoint_results(
        &moto.url(),
        &crate::sagemaker::handler_response(&python),
        1,
    );
    let deployed = docs.run("omni-trainer deploy JOB", &[("JOB", job.as_str())]);
    assert!(deployed.contains("InService"), "{deployed}");
    assert!(deployed.contains("smoke test"), "{deployed}");

    // docs/labeling.md's Ground Truth job (option B): run by groundtruth_job.rs against its
    // CreateLabelingJob stand-in.
    docs.finish_with(crate::groundtruth_job::DOC_COMMANDS);
}
