//! 1000 queued photos through `omni sync` against an endpoint that fails 30% of the time,
//! drops 5% of the connections, restarts once, while the syncing process is killed with
//! SIGKILL mid-run: at the end every photo has exactly one cloud result.

#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::time::Duration;

use omni_core::detections::DetectionSource;
use omni_core::{OmniConfig, OmniCore, PhotoState};
use omni_e2e::{ENDPOINT_NAME, TestEndpoint, fill_store, test_credentials};

use crate::{idle_sync_report, kill_mid_run, omni_with_credentials as omni};
use omni_endpoint::{FaultConfig, ModelChoice};

const PHOTOS: u32 = 1000;

#[test]
fn chaos_run_ends_with_exactly_one_cloud_result_per_photo() {
    let dir = tempfile::tempdir().unwrap();
    let (inspector, ids) = fill_store(dir.path(), PHOTOS, 96, 64);
    // The CLI opens the data directory itself.
    drop(inspector);
    let creds = test_credentials(Some("chaos-token"));
    let endpoint = TestEndpoint::start(
        ModelChoice::Null,
        FaultConfig {
            error_rate: 0.3,
            drop_rate: 0.05,
            restart_after: Some(700),
            restart_downtime: Duration::from_millis(300),
            seed: 42,
            ..FaultConfig::default()
        },
        Some(creds.clone()),
    );
    let sync = |extra: &[&str]| {
        let mut cmd = omni(dir.path(), &creds);
        cmd.args([
            "sync",
            "--endpoint",
            &endpoint.url(),
            "--name",
            ENDPOINT_NAME,
            "--backoff-base-ms",
            "5",
            "--backoff-cap-ms",
            "200",
            "--throttle-base-ms",
            "5",
            "--give-up-after",
            "20",
            "--json",
        ])
        .args(extra);
        cmd
    };

    // First run: killed with SIGKILL once a third of the photos are answered.
    kill_mid_run(
        sync(&[]),
        "a third of the photos answered",
        Duration::from_secs(300),
        Duration::from_millis(20),
        || endpoint.stats().answered >= u64::from(PHOTOS) / 3,
    );
    let after_kill = endpoint.stats();

    // Second run, through the restart, to the end.
    let report = idle_sync_report(&sync(&[]).output().unwrap());
    assert_eq!(report["queue"]["synced"], u64::from(PHOTOS), "{report}");
    assert_eq!(report["queue"]["queued"], 0);
    assert_eq!(report["queue"]["failed"], 0);

    // A second store of a photo's cloud result is refused loudly by the store (not hidden
    // by the table's uniqueness rule): it would have stopped the run above with "results
    // cannot be stored" and a non-zero exit, so a clean idle run means none was attempted.
    let stats = endpoint.stats();
    let core = OmniCore::open(OmniConfig::new(dir.path())).unwrap();
    assert_eq!(core.integrity_check().unwrap(), vec!["ok".to_owned()]);
    for id in &ids {
        let photo = core.photo(*id).unwrap();
        assert_eq!(photo.photo.state, PhotoState::Synced);
        let cloud = photo
            .results
            .iter()
            .filter(|r| r.detections.source == DetectionSource::Cloud)
            .count();
        assert_eq!(cloud, 1, "photo {id} has {cloud} cloud results");
    }
    // The chaos really happened.
    assert_eq!(stats.restarts, 1, "{stats:?}");
    assert!(stats.dropped > 0 && !stats.errors.is_empty(), "{stats:?}");
    assert!(after_kill.answered < u64::from(PHOTOS));
    // Every photo was answered; answers lost to drops or the kill were asked again, and
    // those repeats are few.
    assert_eq!(stats.answered_photos, u64::from(PHOTOS));
    assert!(stats.duplicate_answers <= 10, "{stats:?}");
    // Retries are bounded: with 30% errors and 5% drops about 1.5 invocations per photo are
    // expected; a retry storm would be far above 2.
    assert!(
        stats.invocations < 2 * u64::from(PHOTOS),
        "too many invocations: {stats:?}"
    );
    eprintln!("chaos endpoint stats: {stats:?}");
}
