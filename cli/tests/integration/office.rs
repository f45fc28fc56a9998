//! `omni sync --office` against the embedded yard office on 127.0.0.1 (detection on upload
//! through `omni-endpoint`) behind a proxy that drops 30% of the connections and answers 5xx
//! to 20% of the requests; the syncing process is killed with SIGKILL mid-upload and the
//! office restarts: at the end every inspection, photo and verdict is on the office exactly
//! once and the phone has lost nothing.

#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::path::Path;
use std::time::Duration;

use omni_core::cloud::Credentials;
use omni_core::{
    ContainerNumber, Inspector, InspectorConfig, NewInspection, PhotoState, bundled_model,
};
use omni_e2e::fault_proxy::{FaultProxy, ProxyFaults};
use omni_e2e::{
    TestEndpoint, add_photo_now, fill_store, json_output, office_inspections, sha256_hex,
    test_credentials,
};
use omni_endpoint::ModelChoice;
use omni_office::wire::DetectStatus;

use crate::{idle_sync_report, kill_mid_run, omni_with_credentials as omni, success_json};

// The office server of the e2e tests (one copy; this test uses part of it).
#[allow(dead_code)]
use omni_e2e::office_server::Office;

/// `omni sync --office <url> --json` on `phone`, signing with `creds`; it must succeed.
fn sync_to(phone: &Path, creds: &Credentials, url: &str) -> serde_json::Value {
    let output = omni(phone, creds)
        .args(["sync", "--office", url, "--json"])
        .output()
        .unwrap();
    success_json(&output)
}

/// Photos whose detection on upload has not ended.
fn pending_detections(office: &Office) -> usize {
    office_inspections(office)
        .iter()
        .map(|s| {
            office
                .block_on(office.store.photos(&s.inspection.id))
                .unwrap()
                .iter()
                .filter(|p| p.detect_status == DetectStatus::Pending)
                .count()
        })
        .sum()
}

/// Readable photos per inspection. Each dropped connection pauses the queue for the CLI's
/// default network pause (0.5 to 1 s): more photos make a slower test, not a stronger one.
const PER_INSPECTION: usize = 5;
/// All photos: the readable ones and the truncated one.
const PHOTOS: u64 = 3 * PER_INSPECTION as u64 + 1;

/// 3 inspections taken offline, 16 photos (one a truncated JPEG the endpoint refuses), edge
/// verdicts for the readable ones; two inspections closed.
fn offline_phone(dir: &Path) {
    let inspector = Inspector::open(dir, InspectorConfig::default()).unwrap();
    let edge = bundled_model::detector(&Default::default()).unwrap();
    for (n, number) in ["CSQU3054383", "MSCU1234566", "CSQU3054383"]
        .into_iter()
        .enumerate()
    {
        let inspection = inspector
            .create_inspection(NewInspection::new(ContainerNumber::parse(number).unwrap()))
            .unwrap();
        for i in 0..PER_INSPECTION {
            let seed = u32::try_from(n * 100 + i).unwrap();
            add_photo_now(&inspector, inspection.id, &omni_e2e::jpeg(96, 64, seed)).unwrap();
        }
        if n == 1 {
            add_photo_now(&inspector, inspection.id, &omni_e2e::truncated_jpeg(99)).unwrap();
        } else {
            inspector.close_inspection(inspection.id).unwrap();
        }
    }
    let sha = bundled_model::manifest().unwrap().sha256;
    for photo in inspector.pending_detection(&sha, 1000).unwrap() {
        inspector.detect_photo(&edge, photo.id).unwrap();
    }
}

#[test]
fn killed_sync_through_faults_and_an_office_restart_delivers_everything_once() {
    let phone = tempfile::tempdir().unwrap();
    let office_dir = tempfile::tempdir().unwrap();
    offline_phone(phone.path());
    let creds = test_credentials(Some("office-token"));
    let endpoint = TestEndpoint::accepting(ModelChoice::Bundled, &creds);
    let mut office = Office::start(office_dir.path(), &creds, &endpoint.url(), &creds);
    let proxy = FaultProxy::start(
        office.addr,
        ProxyFaults {
            drop_rate: 0.3,
            error_rate: 0.2,
            seed: 7,
        },
    );
    let sync = || {
        let mut cmd = omni(phone.path(), &creds);
        cmd.args([
            "sync",
            "--office",
            &proxy.url(),
            "--backoff-base-ms",
            "5",
            "--backoff-cap-ms",
            "100",
            "--give-up-after",
            "100",
            "--json",
        ]);
        cmd
    };

    // First run: killed with SIGKILL mid-upload.
    kill_mid_run(
        sync(),
        "six requests forwarded to the office",
        Duration::from_secs(120),
        Duration::from_millis(2),
        || proxy.stats().forwarded >= 6,
    );
    let on_office_at_kill = office_inspections(&office)
        .iter()
        .map(|s| s.photo_count)
        .sum::<u64>();
    assert!(
        on_office_at_kill < 40,
        "killed before the end: {on_office_at_kill}"
    );

    // The office restarts on the same data directory (another port), once the detections
    // it started finished: a crash during one leaves the photo `pending` for good (the
    // office does not resume detections; the phone gives up on it after its attempts).
    omni_e2e::wait_until(
        "the office's detections to end",
        Duration::from_secs(30),
        Duration::from_millis(10),
        || pending_detections(&office) == 0,
    );
    drop(office);
    office = Office::start(office_dir.path(), &creds, &endpoint.url(), &creds);
    proxy.set_upstream(office.addr);

    // Second run to the end.
    let report = idle_sync_report(&sync().output().unwrap());
    assert_eq!(report["queue"]["queued"], 0, "{report}");
    assert_eq!(report["queue"]["synced"], PHOTOS - 1, "{report}");
    assert_eq!(report["queue"]["failed"], 1, "the refused photo: {report}");
    for pending in [
        "inspections_pending",
        "photos_pending",
        "verdicts_pending",
        "wedged",
    ] {
        assert_eq!(report["office"][pending], 0, "{pending}: {report}");
    }

    // The office has exactly the phone's inspections, photos and verdicts.
    let phone_store = Inspector::open(phone.path(), InspectorConfig::default()).unwrap();
    let inspections = phone_store
        .list_inspections(&omni_core::InspectionFilter::default())
        .unwrap();
    let listed = office_inspections(&office);
    assert_eq!(listed.len(), 3);
    for summary in &inspections {
        let detail = phone_store.inspection(summary.inspection.id).unwrap();
        let id = detail.inspection.id.to_string();
        let on_office = listed.iter().find(|s| s.inspection.id == id).unwrap();
        assert_eq!(on_office.inspection.revision, detail.office.revision);
        assert_eq!(on_office.photo_count, detail.photos.len() as u64);
        let photos = office.block_on(office.store.photos(&id)).unwrap();
        let verdicts = office.block_on(office.store.verdicts(&id)).unwrap();
        assert_eq!(photos.len(), detail.photos.len(), "each photo once");
        for p in &detail.photos {
            let pid = p.photo.id.to_string();
            let stored = photos.iter().find(|s| s.photo.id == pid).unwrap();
            let bytes = office
                .block_on(office.store.photo_bytes(&stored.photo))
                .unwrap();
            assert_eq!(sha256_hex(&bytes), p.photo.sha256, "bytes identical");
            let count = |source: &str| {
                verdicts
                    .iter()
                    .filter(|v| v.photo_id == pid && v.source.as_str() == source)
                    .count()
            };
            let expected = usize::from(p.photo.state == PhotoState::Synced);
            assert_eq!(
                (count("edge"), count("cloud")),
                (expected, expected),
                "{pid}"
            );
            assert_eq!(p.verdicts_on_office as usize, 2 * expected);
        }
    }
    let stats = proxy.stats();
    assert!(
        stats.dropped_before + stats.dropped_after > 0 && stats.errors > 0,
        "{stats:?}"
    );
    eprintln!(
        "office fault proxy: {stats:?}; endpoint: {:?}",
        endpoint.stats()
    );
    drop(phone_store);

    // `omni stats` and `show` report the office's acknowledgement.
    let stats = omni(phone.path(), &creds)
        .args(["stats", "--json"])
        .output()
        .unwrap();
    let stats = json_output(&stats);
    assert_eq!(stats["office"]["photos_acknowledged"], PHOTOS, "{stats}");
    assert_eq!(stats["office"]["inspections_acknowledged"], 3, "{stats}");
    let show = omni(phone.path(), &creds)
        .args(["show", &inspections[0].inspection.id.to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&show.stdout);
    assert!(text.contains("acknowledged"), "{text}");
}

#[test]
fn an_insecure_office_url_is_one_clear_error() {
    let phone = tempfile::tempdir().unwrap();
    let creds = test_credentials(None);
    let output = omni(phone.path(), &creds)
        .args(["sync", "--office", "http://office.example.com"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("omni: error:"), "{stderr}");
}

/// An inspection of CSQU3054383 (of `kind`) with `photos` photos and their edge verdicts,
/// closed on a phone that has not synced.
fn closed_offline(dir: &Path, kind: Option<&str>, photos: u32) -> omni_core::Inspection {
    let inspector = Inspector::open(dir, InspectorConfig::default()).unwrap();
    let edge = bundled_model::detector(&Default::default()).unwrap();
    let inspection = inspector
        .create_inspection(NewInspection {
            kind: kind.map(str::to_owned),
            ..NewInspection::new(ContainerNumber::parse("CSQU3054383").unwrap())
        })
        .unwrap();
    for seed in 0..photos {
        let photo =
            add_photo_now(&inspector, inspection.id, &omni_e2e::jpeg(96, 64, seed)).unwrap();
        inspector.detect_photo(&edge, photo.id).unwrap();
    }
    inspector.close_inspection(inspection.id).unwrap();
    inspection
}

/// `omni sync --office` to an office without detection on upload (`omni-office serve` with
/// no endpoint): every photo is archived there (status none, with the office's reason), the
/// edge verdicts are delivered, none fails, and the phone keeps its edge verdicts.
#[test]
fn an_office_without_detection_archives_every_photo_and_fails_none() {
    let phone = tempfile::tempdir().unwrap();
    let office_dir = tempfile::tempdir().unwrap();
    let inspection = closed_offline(phone.path(), None, 4);
    let creds = test_credentials(Some("office-token"));
    let office = Office::start_without_detection(office_dir.path(), &creds);
    let report = sync_to(phone.path(), &creds, &office.url());
    assert_eq!(report["archived"], 4, "{report}");
    assert_eq!(report["failed"], 0, "{report}");
    assert_eq!(report["queue"]["failed"], 0, "{report}");
    assert_eq!(report["queue"]["queued"], 0, "{report}");

    let id = inspection.id.to_string();
    let photos = office.block_on(office.store.photos(&id)).unwrap();
    assert_eq!(photos.len(), 4);
    for photo in &photos {
        assert_eq!(photo.detect_status, DetectStatus::None);
        assert_eq!(
            photo.detect_error.as_deref(),
            Some(omni_office::api::NO_DETECTOR)
        );
    }
    let verdicts = office.block_on(office.store.verdicts(&id)).unwrap();
    assert_eq!(verdicts.len(), 4, "one edge verdict per photo");
    assert!(
        verdicts
            .iter()
            .all(|v| v.source == omni_office::wire::VerdictSource::Edge)
    );

    // The phone: every photo out of the queue, its edge verdict standing, the reason shown.
    let shown = omni(phone.path(), &creds)
        .args(["show", &id, "--json"])
        .output()
        .unwrap();
    let shown = json_output(&shown);
    for photo in shown["photos"].as_array().unwrap() {
        assert_eq!(photo["state"], "synced", "{photo}");
        assert!(
            photo["last_error"]
                .as_str()
                .is_some_and(|e| e.contains("not configured")),
            "{photo}"
        );
    }
    // A second run has nothing left to send.
    let again = sync_to(phone.path(), &creds, &office.url());
    assert_eq!(again["requests"], 0, "{again}");
}

/// A refusal that is about the office, not the photo (a base URL the office does not serve,
/// a key it does not know), pauses the lane with the office's message and fails no photo.
#[test]
fn a_refusal_about_the_office_pauses_and_fails_no_photo() {
    let phone = tempfile::tempdir().unwrap();
    let office_dir = tempfile::tempdir().unwrap();
    // The CLI opens the data directory itself.
    drop(fill_store(phone.path(), 3, 64, 48));
    let creds = test_credentials(Some("office-token"));
    let office = Office::start_without_detection(office_dir.path(), &creds);
    let stranger = Credentials {
        access_key_id: "AKIDSTRANGER".into(),
        secret_access_key: "not-the-office-secret".into(),
        session_token: None,
        expires_at: None,
    };
    for (url, who, what) in [
        (
            format!("{}/not-the-office", office.url()),
            &creds,
            "office refused the requests",
        ),
        (office.url(), &stranger, "office unreachable"),
    ] {
        let output = omni(phone.path(), who)
            .args(["sync", "--office", &url, "--give-up-after", "2"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{url}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(what), "{url}: {stderr}");
        let stats = omni(phone.path(), &creds)
            .args(["stats", "--json"])
            .output()
            .unwrap();
        let stats = json_output(&stats);
        assert_eq!(stats["photos"]["failed"], 0, "{url}: {stats}");
        assert_eq!(stats["photos"]["queued"], 3, "{url}: {stats}");
    }
    assert!(
        office_inspections(&office).is_empty(),
        "nothing reached the office"
    );
}

/// `omni sync --office` reads the verdict on the box of a closed inspection once the office
/// has it whole; `omni show` prints it (and `--json` carries it), as the office's report says.
#[test]
fn show_prints_the_verdict_on_the_box_from_the_offices_report() {
    let phone = tempfile::tempdir().unwrap();
    let office_dir = tempfile::tempdir().unwrap();
    let inspection = closed_offline(phone.path(), Some("gate-in"), 1);
    let creds = test_credentials(Some("office-token"));
    let office = Office::start_without_detection(office_dir.path(), &creds);
    let id = inspection.id.to_string();
    let shown = |json: bool| {
        let mut args = vec!["show", id.as_str()];
        if json {
            args.push("--json");
        }
        let output = omni(phone.path(), &creds).args(args).output().unwrap();
        assert!(output.status.success(), "{output:?}");
        output
    };
    let before = json_output(&shown(true));
    assert_eq!(before["box_verdict"], serde_json::Value::Null, "{before}");

    sync_to(phone.path(), &creds, &office.url());
    let (status, eir) = office.get_json(&creds, &format!("/v1/inspections/{id}/report"));
    assert_eq!(status, 200, "{eir}");
    let after = json_output(&shown(true));
    let verdict = &after["box_verdict"];
    assert_eq!(verdict["status"], eir["verdict"]["status"], "{after}");
    assert_eq!(verdict["reason"], eir["verdict"]["reason"], "{after}");
    assert_eq!(
        verdict["eir_number"], eir["header"]["eir_number"],
        "{after}"
    );
    assert_eq!(verdict["report_revision"], eir["header"]["revision"]);
    assert_eq!(verdict["revision"], 2);
    assert_eq!(
        verdict["damage_lines"],
        eir["lines"].as_array().unwrap().len()
    );
    let text = String::from_utf8(shown(false).stdout).unwrap();
    let status = eir["verdict"]["status"].as_str().unwrap().replace('_', " ");
    let eir_number = eir["header"]["eir_number"].as_str().unwrap();
    assert!(
        text.lines().any(|l| l.trim_start().starts_with("verdict")
            && l.contains(&status)
            && l.contains(eir_number)),
        "{text}"
    );
}
