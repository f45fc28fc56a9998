//! The plan's option B, a SageMaker Ground Truth labeling job, through the real binary:
//! `labeling start-groundtruth` → `labeling wait-groundtruth` → import → `dataset merge`,
//! against moto plus a stand-in of `CreateLabelingJob` / `DescribeLabelingJob`
//! (`tests/servers/groundtruth_jobs.py`: each request validated with botocore's own service
//! model, the job moved through its states, a real output manifest written into moto's S3).
//!
//! These tests need the test venv (`OMNI_TEST_PYTHON`, botocore, moto and Pillow in it);
//! without it they fail, unless `OMNI_SKIP_GROUNDTRUTH_TESTS` is set.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;

use omni_e2e::doc_commands::{argv, documented};
use omni_trainer::aws::Clients;
use omni_trainer::dataset::merge::{DATASET_JSON, DatasetManifest};
use omni_trainer::dataset::{DAMAGE_CLASSES, hex, label_path_for};
use omni_trainer::labeling::batch::{BATCH_FORMAT, BATCH_JSON, Batch, BatchPhoto};
use omni_trainer::labeling::groundtruth_job::{BOUNDING_BOX_LAMBDAS, BOUNDING_BOX_PRICES_MILLS};
use omni_trainer::labeling::select::SelectOptions;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::common::{self, Server};

/// Every `omni-trainer` command line `docs/labeling.md` shows for option B, verbatim; each
/// is run through the binary by `option_b_through_the_documented_commands`.
pub const DOC_COMMANDS: &[&str] = &[
    "omni-trainer labeling start-groundtruth batches/b7 --job-name omni-b7",
    "omni-trainer labeling start-groundtruth batches/b7 --job-name omni-b7 --yes",
    "omni-trainer labeling wait-groundtruth omni-b7 --merge-into ds",
    "omni-trainer labeling start-groundtruth batches/b7 --job-name omni-b7-yard --region eu-west-1 --workteam arn:aws:sagemaker:eu-west-1:123456789012:workteam/private-crowd/yard-team --yes",
    "omni-trainer labeling wait-groundtruth omni-b7-yard --region eu-west-1 --batch batches/b7 --out pool-b7-yard",
    "omni-trainer dataset merge pool-b7-yard --into ds --from-batch batches/b7",
];

/// The plan's values (seed plan, "Opción B").
const PLAN_ROLE: &str = "arn:aws:iam::472661249377:role/OmniInspectorSageMakerRole";
const PUBLIC_CROWD: &str = "arn:aws:sagemaker:us-east-1:394669845002:workteam/public-crowd/default";
const PLAN_PRE: &str = "arn:aws:lambda:us-east-1:432418664414:function:PRE-BoundingBox";
const PLAN_ACS: &str = "arn:aws:lambda:us-east-1:432418664414:function:ACS-BoundingBox";

/// The test venv's Python; a missing venv fails the test unless `OMNI_SKIP_GROUNDTRUTH_TESTS`
/// (or `OMNI_SKIP_PYTHON_TESTS`) is set, where it is skipped with a note.
fn python() -> Option<PathBuf> {
    omni_e2e::needs::test_python_or_skip(&["OMNI_SKIP_GROUNDTRUTH_TESTS"])
}

/// moto with the labeling-job stand-in, one per test binary.
fn server() -> Option<&'static Server> {
    static SERVER: std::sync::OnceLock<Server> = std::sync::OnceLock::new();
    let python = python()?;
    Some(SERVER.get_or_init(|| Server::start(&python, "groundtruth_jobs.py", &[])))
}

/// A photo's pixel size in the fixture batches.
fn size(i: usize) -> (u32, u32) {
    (64 + 8 * i as u32, 48 + 4 * i as u32)
}

/// A batch folder `root/batches/<name>` of `n` photos, as `labeling select` writes it.
fn make_batch(root: &Path, name: &str, n: usize, seed: u32) -> PathBuf {
    let dir = root.join("batches").join(name);
    let mut photos = Vec::new();
    for i in 0..n {
        let (w, h) = size(i);
        let bytes = common::jpeg(w, h, seed + i as u32);
        let id = format!("{name}-photo-{i:02}");
        let file = format!("{id}.jpg");
        common::write(&dir.join("images").join(&file), &bytes);
        photos.push(BatchPhoto {
            file,
            photo_id: id,
            inspection_id: format!("insp-{i}"),
            container: "CSQU 305438-3".into(),
            taken_at_ms: 1_700_000_000_000 + i as i64,
            sha256: hex(&Sha256::digest(&bytes)),
            width: w,
            height: h,
            dhash: "0000000000000000".into(),
            reasons: Vec::new(),
            edge: None,
            cloud: None,
            review: None,
        });
    }
    std::fs::create_dir_all(dir.join("images")).unwrap();
    let batch = Batch {
        format: BATCH_FORMAT,
        name: name.into(),
        created_at: "2026-12-01T00:00:00Z".into(),
        source: "office:office-data".into(),
        options: SelectOptions::default(),
        scanned: n as u64,
        skipped_known: 0,
        candidates: BTreeMap::new(),
        thinned: Vec::new(),
        photos,
    };
    std::fs::write(
        dir.join(BATCH_JSON),
        serde_json::to_vec_pretty(&batch).unwrap(),
    )
    .unwrap();
    dir
}

/// The YOLO lines the stand-in's "workers" give photo `i` (see groundtruth_jobs.py), derived
/// here independently: `(class, cx, cy, w, h)`.
fn expected_labels(i: usize) -> Vec<(u32, f64, f64, f64, f64)> {
    let (w, h) = size(i);
    let mut boxes = vec![((i % 6) as u32, w / 10, h / 5, w / 2, 2 * h / 5)];
    if i % 4 == 2 {
        boxes.push((((i + 3) % 6) as u32, w / 2, h / 2, w / 3, h / 3));
    }
    if i % 4 == 3 {
        boxes.clear();
    }
    let (fw, fh) = (f64::from(w), f64::from(h));
    boxes
        .into_iter()
        .map(|(c, l, t, bw, bh)| {
            let (l, t, bw, bh) = (f64::from(l), f64::from(t), f64::from(bw), f64::from(bh));
            (
                c,
                (l + bw / 2.0) / fw,
                (t + bh / 2.0) / fh,
                bw / fw,
                bh / fh,
            )
        })
        .collect()
}

fn read_labels(path: &Path) -> Vec<(u32, f64, f64, f64, f64)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Vec<&str> = l.split_whitespace().collect();
            (
                v[0].parse().unwrap(),
                v[1].parse().unwrap(),
                v[2].parse().unwrap(),
                v[3].parse().unwrap(),
                v[4].parse().unwrap(),
            )
        })
        .collect()
}

fn assert_labels(path: &Path, i: usize) {
    let (got, want) = (read_labels(path), expected_labels(i));
    assert_eq!(
        got.len(),
        want.len(),
        "{}: {got:?} vs {want:?}",
        path.display()
    );
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.0, w.0, "{}", path.display());
        for (a, b) in [(g.1, w.1), (g.2, w.2), (g.3, w.3), (g.4, w.4)] {
            assert!((a - b).abs() < 1e-5, "{}: {g:?} vs {w:?}", path.display());
        }
    }
}

/// The photo index of each batch photo by SHA-256.
fn index_by_sha(batch: &Path) -> BTreeMap<String, usize> {
    Batch::load(batch)
        .unwrap()
        .photos
        .iter()
        .enumerate()
        .map(|(i, p)| (p.sha256.clone(), i))
        .collect()
}

/// Checks every image of a pool (`images/` + `labels/`) against the stand-in's labels.
fn assert_pool(pool: &Path, batch: &Path) -> usize {
    let index = index_by_sha(batch);
    let mut n = 0;
    for entry in std::fs::read_dir(pool.join("images")).unwrap() {
        let image = entry.unwrap().path();
        let sha = hex(&Sha256::digest(std::fs::read(&image).unwrap()));
        assert_labels(&label_path_for(&image), index[&sha]);
        n += 1;
    }
    n
}

/// The CLI's environment: test credentials, the server, fast polling.
fn env(server: &Server, bucket: &str) -> Vec<(String, String)> {
    let mut env = common::cli_env(&server.url(), bucket);
    for (k, v) in [
        ("OMNI_LABELING_POLL_INITIAL", "10ms"),
        ("OMNI_LABELING_POLL_MAX", "20ms"),
        ("OMNI_LABELING_TIMEOUT", "60s"),
    ] {
        env.push((k.into(), v.into()));
    }
    env
}

fn run(args: &[&str], env: &[(String, String)], cwd: &Path) -> (bool, String, String) {
    common::cli(args, env, cwd)
}

/// An error run: exit 1 and, on stderr, exactly one line `omni-trainer: error: …`
/// containing each of `needles`.
fn assert_refused(out: (bool, String, String), needles: &[&str]) -> String {
    let (ok, stdout, stderr) = out;
    assert!(!ok, "accepted: {stdout}{stderr}");
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("omni-trainer: error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert_eq!(stderr.lines().last(), Some(errors[0]), "{stderr}");
    for needle in needles {
        assert!(errors[0].contains(needle), "{needle:?} not in {stderr}");
    }
    errors[0].to_owned()
}

async fn keys(clients: &Clients, bucket: &str) -> Vec<String> {
    let listed = clients
        .s3
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

async fn object(clients: &Clients, bucket: &str, key: &str) -> Vec<u8> {
    let out = clients
        .s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{key}: {e:?}"));
    out.body.collect().await.unwrap().into_bytes().to_vec()
}

/// A task's `PublicWorkforceTaskPrice`: dollars, cents, tenths of a cent.
fn price(task: &aws_sdk_sagemaker::types::HumanTaskConfig) -> (i32, i32, i32) {
    let usd = task
        .public_workforce_task_price()
        .and_then(|p| p.amount_in_usd())
        .unwrap();
    let get = |v: Option<i32>| v.unwrap();
    (
        get(usd.dollars()),
        get(usd.cents()),
        get(usd.tenth_fractions_of_a_cent()),
    )
}

/// The stdout of a run that must have succeeded.
fn succeeded(out: Output) -> String {
    assert!(out.status.success(), "{}", output_text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn assert_has(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "{needle:?} not in {text}");
    }
}

fn output_text(out: &Output) -> String {
    format!(
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A test's bucket on the server, its working directory with the batches `(name, photos,
/// seed)` under `batches/`, and the CLI's environment; `None` when skipped.
struct Fixture {
    bucket: String,
    clients: Clients,
    cwd: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Fixture {
    async fn new(tag: &str, batches: &[(&str, usize, u32)]) -> Option<Self> {
        let server = server()?;
        let (settings, clients) = common::moto_bucket(server, tag).await;
        let cwd = tempfile::tempdir().unwrap();
        for (name, n, seed) in batches {
            make_batch(cwd.path(), name, *n, *seed);
        }
        Some(Self {
            env: env(server, &settings.bucket),
            bucket: settings.bucket,
            clients,
            cwd,
        })
    }

    fn dir(&self) -> &Path {
        self.cwd.path()
    }

    fn batch(&self, name: &str) -> PathBuf {
        self.dir().join("batches").join(name)
    }
}

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
