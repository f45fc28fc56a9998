//! The verdict on the box read back by the phone (issue 24): capture → sync → close → sync
//! to the embedded office, which writes the report (EIR) in the background (202 until then)
//! → the phone's office lane stores the report's verdict once → the front door returns what
//! the office's report says. And bad report bodies from a server (malformed, oversized, an
//! unknown verdict) are typed errors that store nothing.

#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use omni_core::cloud::office_client::OfficeConfig;
use omni_core::cloud::{ServiceUrl, StaticCredentialsProvider};
use omni_core::sync::{StopReason, SyncConfig, SyncEvent};
use omni_core::{
    ApiError, BoxVerdictStatus, CloudConfig, CloudTarget, ContainerNumber, Face, NewInspection,
    OmniConfig, OmniCore, Timestamp,
};
use omni_e2e::REGION;
use omni_e2e::office_server::office_credentials;

use crate::sync_engine::{Recorder, runtime};

/// The phone's front door on `dir`, syncing to the office at `url`.
fn phone(dir: &Path, url: &str, sync: SyncConfig) -> OmniCore {
    let mut config = OmniConfig::new(dir);
    config.cloud = Some(CloudConfig {
        target: CloudTarget::Office(OfficeConfig::new(ServiceUrl::parse(url).unwrap(), REGION)),
        credentials: Arc::new(StaticCredentialsProvider(office_credentials())),
    });
    config.sync = sync;
    OmniCore::open(config).unwrap()
}

/// A new gate-in inspection of CSQU3054383.
fn gate_in(core: &OmniCore) -> omni_core::Inspection {
    core.create_inspection(NewInspection {
        container_number: ContainerNumber::parse("CSQU3054383").unwrap(),
        inspector_id: Some("inspector-7".into()),
        location: None,
        notes: None,
        kind: Some("gate-in".into()),
    })
    .unwrap()
}

/// A gate-in inspection closed on a phone without a cloud (its id is needed to script the
/// tiny server before the phone syncs).
fn closed_offline(dir: &Path) -> omni_core::InspectionId {
    let core = OmniCore::open(OmniConfig::new(dir)).unwrap();
    let inspection = gate_in(&core);
    core.close_inspection(inspection.id).unwrap();
    inspection.id
}

#[test]
fn the_phone_reads_the_verdict_on_the_box_once_the_office_has_written_the_report() {
    let phone_dir = tempfile::tempdir().unwrap();
    let office_dir = tempfile::tempdir().unwrap();
    let endpoint = crate::office::bundled_endpoint();
    let office = crate::office::start_office(office_dir.path(), &endpoint);
    let core = phone(
        phone_dir.path(),
        &office.url(),
        omni_e2e::fast_sync_config(50),
    );
    let events = Arc::new(Recorder::default());
    core.set_sync_listener(events.clone()).unwrap();
    let inspection = gate_in(&core);
    let now = Timestamp::now();
    for (seed, face) in [(1, Face::Door), (2, Face::Left)] {
        core.add_photo(inspection.id, &omni_e2e::jpeg(640, 480, seed), now, face)
            .unwrap();
    }
    // Open: photos and their cloud verdicts reach the office; no report is asked for.
    let first = runtime().block_on(core.sync_until_idle()).unwrap();
    assert_eq!(
        (first.synced, &first.stopped),
        (2, &StopReason::Idle),
        "{first:?}"
    );
    assert_eq!(core.box_verdict(inspection.id).unwrap(), None);

    // Closed: the office starts writing the report when it gets the closed revision; the
    // phone asks for it after that, is told 202 while it is being written (or gets it at
    // once), and stores it.
    core.close_inspection(inspection.id).unwrap();
    let started = std::time::Instant::now();
    let second = runtime().block_on(core.sync_until_idle()).unwrap();
    assert_eq!(second.stopped, StopReason::Idle, "{second:?}");
    let stored = core
        .box_verdict(inspection.id)
        .unwrap()
        .expect("the verdict on the box is stored");
    eprintln!(
        "report read after {:?}: {} answer(s) 202 first ({second:?})",
        started.elapsed(),
        second.retried
    );

    // Equal to what the office's GET answers.
    let (status, eir) = office.get_json(
        &office_credentials(),
        &format!("/v1/inspections/{}/report", inspection.id),
    );
    assert_eq!(status, 200, "{eir}");
    assert_eq!(stored.eir_number, eir["header"]["eir_number"]);
    assert_eq!(u64::from(stored.report_revision), eir["header"]["revision"]);
    assert_eq!(stored.revision, 2, "read for the closed revision");
    assert_eq!(
        serde_json::to_value(stored.status).unwrap(),
        eir["verdict"]["status"]
    );
    assert_eq!(stored.reason.en, eir["verdict"]["reason"]["en"]);
    assert_eq!(stored.reason.es, eir["verdict"]["reason"]["es"]);
    assert_eq!(
        stored.damage_lines as usize,
        eir["lines"].as_array().unwrap().len()
    );
    // The inspection's detail carries it too, and the listener heard of it once.
    assert_eq!(
        core.inspection(inspection.id).unwrap().box_verdict,
        Some(stored.clone())
    );
    let heard: Vec<_> = events
        .0
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            SyncEvent::BoxVerdict {
                inspection_id,
                status,
                eir_number,
            } => Some((*inspection_id, *status, eir_number.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        heard,
        [(inspection.id, stored.status, stored.eir_number.clone())]
    );

    // Stored once: the next sync asks nothing.
    let again = runtime().block_on(core.sync_until_idle()).unwrap();
    assert_eq!((again.requests, again.stopped), (0, StopReason::Idle));
    assert_eq!(core.box_verdict(inspection.id).unwrap(), Some(stored));
    let unknown = core
        .box_verdict(omni_core::InspectionId::new())
        .unwrap_err();
    assert!(matches!(unknown, ApiError::NotFound { .. }), "{unknown:?}");
}

/// A tiny office on 127.0.0.1 that acknowledges inspections and answers report requests with
/// `report` (200) after `pending` answers 202 `ReportPendingException`: the one place a server
/// sends what the real office never would, or at a time the test chooses.
struct BadReportOffice {
    url: String,
    report_requests: Arc<Mutex<u32>>,
}

impl BadReportOffice {
    fn start(report: Vec<u8>, pending: u32) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let report_requests = Arc::new(Mutex::new(0));
        let counter = report_requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (line, body) = read_request(&stream);
                let mut status = "200 OK";
                let answer = if line.starts_with("PUT ") {
                    echo_inspection(&body)
                } else if line.contains("/report ") {
                    let mut asked = counter.lock().unwrap();
                    *asked += 1;
                    if *asked <= pending {
                        status = "202 Accepted\r\nretry-after: 0\r\nx-amzn-errortype: ReportPendingException";
                        b"{\"message\":\"the report is being written\"}".to_vec()
                    } else {
                        report.clone()
                    }
                } else {
                    b"{}".to_vec()
                };
                let mut stream = stream;
                let head = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    answer.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&answer);
            }
        });
        Self {
            url,
            report_requests,
        }
    }
}

/// The request line and body of one HTTP/1.1 request.
fn read_request(stream: &std::net::TcpStream) -> (String, Vec<u8>) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let mut length = 0;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).unwrap();
        if header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    (line, body)
}

/// The office's answer to `PUT /v1/inspections/{id}`: what was sent, as stored.
fn echo_inspection(body: &[u8]) -> Vec<u8> {
    let mut inspection: serde_json::Value = serde_json::from_slice(body).unwrap();
    inspection["id"] = "echo".into();
    inspection["received_at_ms"] = 1.into();
    serde_json::to_vec(&inspection).unwrap()
}

/// A bad report body made from a valid one.
type BadBody = fn(String) -> Vec<u8>;

#[test]
fn a_malformed_oversized_or_unknown_verdict_report_is_refused_and_stores_nothing() {
    let valid = |id: &str, status: &str| {
        format!(
            r#"{{"schema_version":1,"header":{{"eir_number":"EIR-9","inspection_id":"{id}","revision":2}},
            "lines":[],"verdict":{{"status":"{status}","reason":{{"en":"ok","es":"bien"}}}}}}"#
        )
    };
    let cases: [(&str, BadBody); 3] = [
        ("malformed", |_| {
            b"{\"schema_version\":1,\"header\":".to_vec()
        }),
        ("oversized", |good| {
            let mut big = good.into_bytes();
            big.extend(std::iter::repeat_n(b' ', 1 << 20));
            big
        }),
        ("unknown verdict", |good| {
            good.replace("\"sound\"", "\"scrap\"").into_bytes()
        }),
    ];
    for (name, body) in cases {
        let dir = tempfile::tempdir().unwrap();
        let id = closed_offline(dir.path());
        let server = BadReportOffice::start(body(valid(&id.to_string(), "sound")), 0);
        let sync = SyncConfig {
            max_attempts: 2,
            ..omni_e2e::fast_sync_config(50)
        };
        let core = phone(dir.path(), &server.url, sync);
        let report = runtime().block_on(core.sync_until_idle()).unwrap();
        assert_eq!(report.stopped, StopReason::Idle, "{name}: {report:?}");
        assert_eq!(
            *server.report_requests.lock().unwrap(),
            2,
            "{name}: asked max_attempts times"
        );
        assert_eq!(
            core.box_verdict(id).unwrap(),
            None,
            "{name}: nothing stored"
        );
        let stats = core.stats().unwrap();
        assert_eq!(stats.office.wedged, 1, "{name}: the read is wedged");
        assert_eq!(stats.office.inspections_pending, 0, "{name}");
        // Nothing else changed: the inspection is as it was, and a retry asks again.
        assert!(core.inspection(id).unwrap().inspection.closed_at.is_some());
        assert_eq!(core.retry_failed(None).unwrap(), 1, "{name}");
    }
}

#[test]
fn a_valid_report_after_two_202_answers_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let id = closed_offline(dir.path());
    let body = format!(
        r#"{{"schema_version":1,"header":{{"eir_number":"EIR-9","inspection_id":"{id}","revision":2}},
        "lines":[{{}},{{}}],"verdict":{{"status":"not_fit","reason":{{"en":"holed","es":"perforado"}}}}}}"#
    );
    let server = BadReportOffice::start(body.into_bytes(), 2);
    let core = phone(dir.path(), &server.url, omni_e2e::fast_sync_config(50));
    let report = runtime().block_on(core.sync_until_idle()).unwrap();
    assert_eq!((report.retried, report.stopped), (2, StopReason::Idle));
    let stored = core.box_verdict(id).unwrap().expect("stored");
    assert_eq!(
        (
            stored.status,
            stored.damage_lines,
            stored.eir_number.as_str()
        ),
        (BoxVerdictStatus::NotFit, 2, "EIR-9")
    );
    assert_eq!(
        *server.report_requests.lock().unwrap(),
        3,
        "two 202 answers, then 200"
    );
    assert_eq!(core.stats().unwrap().office.wedged, 0);
}
