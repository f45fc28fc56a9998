//! Crash safety: a child process captures photos in a loop and is killed with SIGKILL at
//! random moments; every acknowledged photo must survive, intact, with nothing half-written.

use crate::common;

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use omni_core::{InspectionFilter, PhotoState};

const CHILD_ENV: &str = "OMNI_CRASH_CHILD_DATA_DIR";
const KILLS: usize = 24;

/// The child side: run only by [`acknowledged_photos_survive_sigkill`], as a subprocess.
#[test]
#[ignore = "child process of acknowledged_photos_survive_sigkill"]
fn crash_child_capture_loop() {
    let dir = std::env::var(CHILD_ENV).expect("run by the crash-safety test");
    let inspector = common::open_inspector(Path::new(&dir));
    let inspection = common::create_inspection(&inspector, "CSQU3054383");
    let base = common::jpeg(320, 240, std::process::id());
    let mut rng = fastrand::Rng::new();
    let mut stdout = std::io::stdout().lock();
    loop {
        // A real JPEG header followed by a random body of random length: distinct content
        // and sizes from a few KB to ~1 MB, so kills land inside writes of every size.
        let mut bytes = base.clone();
        let start = bytes.len();
        bytes.resize(start + rng.usize(0..1_000_000), 0);
        rng.fill(&mut bytes[start..]);
        let photo = common::add_whole_photo(&inspector, inspection.id, &bytes).expect("add");
        writeln!(stdout, "ACK {} {}", photo.id, photo.sha256).expect("stdout");
        stdout.flush().expect("flush");
    }
}

#[test]
fn acknowledged_photos_survive_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let seed = fastrand::u64(..);
    let mut rng = fastrand::Rng::with_seed(seed);
    eprintln!("crash-safety seed {seed}");
    let mut acknowledged: HashMap<String, String> = HashMap::new();
    for round in 0..KILLS {
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--ignored",
                "--exact",
                "crash_safety::crash_child_capture_loop",
                "--nocapture",
            ])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Let it get going (first ACK), then kill at a random moment.
        let started = Instant::now();
        let mut acks_this_round = 0;
        while acks_this_round == 0 && started.elapsed() < Duration::from_secs(30) {
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(50)) {
                acks_this_round += record(&line, &mut acknowledged);
            }
        }
        assert!(
            acks_this_round > 0,
            "round {round}: child acknowledged nothing"
        );
        std::thread::sleep(Duration::from_millis(rng.u64(0..250)));
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        reader.join().expect("reader");
        for line in rx.try_iter() {
            record(&line, &mut acknowledged);
        }
        verify(dir.path(), &acknowledged, round);
    }
    eprintln!(
        "{} photos acknowledged over {KILLS} kills",
        acknowledged.len()
    );
}

/// Records an `ACK <id> <sha>` line; returns 1 if it was one.
fn record(line: &str, acknowledged: &mut HashMap<String, String>) -> usize {
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("ACK"), Some(id), Some(sha), None) if sha.len() == 64 => {
            acknowledged.insert(id.to_owned(), sha.to_owned());
            1
        }
        _ => 0,
    }
}

fn verify(dir: &Path, acknowledged: &HashMap<String, String>, round: usize) {
    let inspector = common::open_inspector(dir);
    let report = inspector.open_report();
    assert!(
        report.missing_files.is_empty(),
        "round {round}: rows without files: {:?}",
        report.missing_files
    );
    assert_eq!(
        inspector.integrity_check().expect("check"),
        vec!["ok"],
        "round {round}"
    );
    let mut rows = HashMap::new();
    for summary in inspector
        .list_inspections(&InspectionFilter::default())
        .expect("list")
    {
        for p in inspector
            .inspection(summary.inspection.id)
            .expect("detail")
            .photos
        {
            assert_eq!(p.photo.state, PhotoState::Queued, "round {round}");
            let bytes = fs::read(inspector.photo_path(&p.photo)).expect("every row has its file");
            assert_eq!(
                common::sha256_hex(&bytes),
                p.photo.sha256,
                "round {round}: file intact"
            );
            rows.insert(p.photo.id.to_string(), p.photo.sha256);
        }
    }
    for (id, sha) in acknowledged {
        assert_eq!(
            rows.get(id),
            Some(sha),
            "round {round}: acknowledged photo {id} lost"
        );
    }
    // Files only: a capture killed between its rename and its commit (never acknowledged)
    // is quarantined in photos/orphans/, not deleted.
    let files = fs::read_dir(dir.join("photos"))
        .expect("ls")
        .filter(|e| e.as_ref().is_ok_and(|e| e.path().is_file()))
        .count();
    assert_eq!(
        files,
        rows.len(),
        "round {round}: orphan or temp files left"
    );
}
