//! The plan's option B, a SageMaker Ground Truth labeling job, through the real binary:
//! `labeling start-groundtruth` → `labeling wait-groundtruth` → import → `dataset merge`,
//! against moto plus a stand-in of `CreateLabelingJob` / `DescribeLabelingJob`
//! (`tests/servers/groundtruth_jobs.py`: each request validated with botocore's own service
//! model, the job moved through its states, a real output manifest written into moto's S3).
//!
//! These tests need the test venv (`OMNI_TEST_PYTHON`, botocore, moto and Pillow in it);
//! without it they fail, unless `OMNI_SKIP_GROUNDTRUTH_TESTS` is set.

#![allow(clippy::unwrap_used)]

mod job;
mod refusals;
mod stand_in;

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
