//! Issue 23's loop, joined: a reviewer reviews in the office's real web pages (the router
//! `omni-office serve` composes, served here on loopback; the inspection, its photos and
//! their cloud verdicts sent as a phone sends them, by the phone's own signed office
//! client), and `omni-trainer labeling import-reviewed` turns those reviews into YOLO labels
//! equal to the stored reviews and to what the forms posted; `dataset merge` and `dataset
//! validate` accept them.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use omni_core::cloud::office_client::{OfficeClient, OfficeConfig};
use omni_core::cloud::payload::Payload;
use omni_core::cloud::{CachedCredentials, ServiceUrl};
use omni_office::api::Auth;
use omni_office::report::ReportSettings;
use omni_office::store::Store;
use omni_office::store::embedded::{self, EmbeddedStore};
use omni_office::web::accounts::{Accounts, Role};
use omni_office::web::{self, WebConfig};
use omni_office::wire::{InspectionState, PutInspection, ReviewBox, VerdictSource};
use omni_protocol::{DAMAGE_CLASSES, Face};
use reqwest::StatusCode;
use reqwest::header::{LOCATION, SET_COOKIE};
use serde_json::{Value, json};

use crate::common;
use crate::labeling::{assert_close, read_labels};
use crate::reviewed::{cli_ok, lines, rbox};

const REGION: &str = "us-east-1";
const INSPECTION: &str = "insp-web";
const PAGE: &str = "/inspections/insp-web";
const PASSWORD: &str = "correct horse battery";

/// A photo the phone sends: its size, and its cloud verdict's boxes (class, x1, y1, x2, y2
/// in the photo's pixels).
struct Shot {
    id: &'static str,
    size: (u32, u32),
    boxes: &'static [(u32, f32, f32, f32, f32)],
}

/// Reviewed by changing box 1's class (dent → rust), deleting box 2 and drawing [`DRAWN`].
const DENT: Shot = Shot {
    id: "p-dent",
    size: (160, 120),
    boxes: &[
        (0, 16., 12., 64., 60.),
        (3, 80., 30., 150., 100.),
        (5, 10., 70., 40., 110.),
    ],
};
/// Reviewed keeping everything.
const SCRATCH: Shot = Shot {
    id: "p-scratch",
    size: (128, 96),
    boxes: &[(3, 8.0, 8.0, 60.0, 40.0), (2, 70.0, 50.0, 120.0, 90.0)],
};
/// The box drawn on `p-dent` (dirt), typed into the form as fractions.
const DRAWN: ReviewBox = rbox(1, [0.55, 0.6, 0.9, 0.95]);

impl Shot {
    /// The cloud verdict: an endpoint response, schema v1.
    fn response(&self) -> String {
        let detections: Vec<Value> = (self.boxes.iter())
            .map(|&(c, x1, y1, x2, y2)| {
                json!({"class_id": c, "label": DAMAGE_CLASSES[c as usize], "score": 0.8,
                    "box": {"x1": x1, "y1": y1, "x2": x2, "y2": y2}})
            })
            .collect();
        let model = json!({"name": "omni-yolo11n", "version": "1.0.0", "sha256": "cd".repeat(32)});
        let image = json!({"width": self.size.0, "height": self.size.1});
        json!({"schema_version": 1, "model": model, "image": image, "inference_ms": 12.5,
            "detections": detections})
        .to_string()
    }

    /// Verdict box `i` as fractions of the photo, with class `class_id`.
    fn fraction(&self, i: usize, class_id: u32) -> ReviewBox {
        let (_, x1, y1, x2, y2) = self.boxes[i];
        let (w, h) = (self.size.0 as f32, self.size.1 as f32);
        rbox(class_id, [x1 / w, y1 / h, x2 / w, y2 / h])
    }
}

/// A form: its action and its fields.
type Form = (String, Vec<(String, String)>);

/// A person's browser: each redirect checked rather than followed, cookies kept as a browser
/// keeps them (by hand: the workspace's reqwest is built without its cookie store).
struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: Vec<(String, String)>,
}

impl Browser {
    /// Sends `request` with the cookies; keeps the ones set. Status, `Location`, body.
    async fn send(&mut self, request: reqwest::RequestBuilder) -> (StatusCode, String, String) {
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        let response = request
            .header("cookie", cookie.join("; "))
            .send()
            .await
            .unwrap();
        for set in response.headers().get_all(SET_COOKIE) {
            let text = set.to_str().unwrap();
            let (name, value) = text.split(';').next().unwrap().split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != name);
            if !text.contains("Max-Age=0") {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
        let location = response
            .headers()
            .get(LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        let status = response.status();
        (
            status,
            location.unwrap_or_default(),
            response.text().await.unwrap(),
        )
    }

    async fn get(&mut self, path: &str) -> String {
        let url = format!("{}{path}", self.base);
        let (status, _, body) = self.send(self.http.get(url)).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }

    /// Submits `form` and expects a redirect to `to`.
    async fn submit(&mut self, (action, fields): Form, to: &str) {
        let request = self
            .http
            .post(format!("{}{action}", self.base))
            .form(&fields);
        let (status, location, body) = self.send(request).await;
        assert_eq!(
            (status, location.as_str()),
            (StatusCode::SEE_OTHER, to),
            "{action}: {body}"
        );
    }
}

/// The value of attribute `name` in an HTML tag.
fn attr(tag: &str, name: &str) -> Option<String> {
    let marker = format!(" {name}=\"");
    let at = tag.find(&marker)? + marker.len();
    Some(tag[at..at + tag[at..].find('"')?].replace("&amp;", "&"))
}

/// The page's form around `marker`: its action and what a browser submits untouched (hidden
/// and text inputs, checked radios, each select's selected or first option), in order.
fn form(page: &str, marker: &str) -> Form {
    let at = page
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in {page}"));
    let start = page[..=at].rfind("<form").unwrap();
    let html = &page[start..start + page[start..].find("</form>").unwrap()];
    let action = attr(&html[..html.find('>').unwrap()], "action").unwrap();
    let mut fields = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        rest = &rest[open..];
        let tag = &rest[..=rest.find('>').unwrap()];
        let checkable = matches!(attr(tag, "type").as_deref(), Some("radio" | "checkbox"));
        match (
            attr(tag, "name"),
            tag.starts_with("<input"),
            tag.starts_with("<select"),
        ) {
            (Some(name), true, _) if !checkable || tag.contains(" checked") => {
                fields.push((name, attr(tag, "value").unwrap_or_default()));
            }
            (Some(name), _, true) => {
                let options = &rest[..rest.find("</select>").unwrap()];
                let tags: Vec<&str> = (options.split("<option").skip(1))
                    .map(|o| &o[..o.find('>').unwrap()])
                    .collect();
                let chosen = tags.iter().find(|o| o.contains(" selected"));
                fields.push((name, attr(chosen.unwrap_or(&tags[0]), "value").unwrap()));
            }
            _ => {}
        }
        rest = &rest[tag.len()..];
    }
    (action, fields)
}

fn field<'a>(form: &'a Form, name: &str) -> &'a str {
    let found = form.1.iter().find(|(n, _)| n == name);
    &found.unwrap_or_else(|| panic!("no {name} in {form:?}")).1
}

fn set(form: &mut Form, name: &str, value: &str) {
    match form.1.iter_mut().find(|(n, _)| n == name) {
        Some(slot) => slot.1 = value.to_owned(),
        None => form.1.push((name.to_owned(), value.to_owned())),
    }
}

/// A phone sends the inspection, its photos and their cloud verdicts through the API;
/// `ana` signs in, reviews both photos and marks the inspection reviewed through the pages.
/// Each photo's id and bytes, and the boxes its posted form asks for.
async fn review_in_the_office(dir: &Path) -> Vec<(&'static str, Vec<u8>, Vec<ReviewBox>)> {
    // A reviewer, as `omni-office users add ana --role reviewer` adds one.
    let accounts = Accounts::open(dir).unwrap();
    accounts.add_user("ana", Role::Reviewer, PASSWORD).unwrap();
    // `omni-office serve`'s composition: the pages in front of the signed API, one listener.
    let credentials = omni_e2e::test_credentials(Some("phone-session"));
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir).unwrap());
    let reports: Arc<ReportSettings> = Default::default();
    let pages = WebConfig {
        store: store.clone(),
        accounts: Arc::new(accounts),
        secure_cookies: false,
        reports: reports.clone(),
    };
    let api = omni_office::AppConfig {
        store,
        auth: Some(Auth {
            credentials: credentials.clone(),
            region: REGION.into(),
        }),
        detector: None,
        url_key: embedded::url_key(dir).unwrap(),
        url_ttl: Duration::from_secs(60),
        reports,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = web::router(pages, omni_office::router(api));
    let server = tokio::spawn(web::serve(listener, app, async {
        let _ = stopped.await;
    }));

    // The phone, with its own office client.
    let config = OfficeConfig::new(ServiceUrl::parse(&base).unwrap(), REGION);
    let signer = Arc::new(CachedCredentials::fixed(credentials));
    let phone = OfficeClient::new(config, signer).unwrap();
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let inspection = PutInspection {
        container_number: "CSQU3054383".into(),
        inspector_id: "inspector-7".into(),
        created_at_ms: now_ms - 3_600_000,
        updated_at_ms: now_ms - 3_000_000,
        location: None,
        state: InspectionState::Closed,
        revision: 1,
        kind: None,
    };
    phone.put_inspection(INSPECTION, &inspection).await.unwrap();
    let mut photos = Vec::new();
    for (seed, shot) in [&DENT, &SCRATCH].into_iter().enumerate() {
        let bytes = common::jpeg(shot.size.0, shot.size.1, 70 + seed as u32);
        let (sent_size, original_size) = (shot.size, shot.size);
        let content_type = "image/jpeg";
        let payload = Payload {
            bytes: bytes.clone(),
            content_type,
            sent_size,
            original_size,
        };
        let upload = phone.upload_photo(INSPECTION, shot.id, &payload, Face::Whole, false);
        upload.await.unwrap();
        let response = shot.response();
        let cloud = VerdictSource::Cloud;
        let verdict = phone.put_verdict(INSPECTION, shot.id, cloud, &response);
        verdict.await.unwrap();
        photos.push((shot.id, bytes));
    }

    // The reviewer signs in through the sign-in form.
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    let (http, cookies) = (http.build().unwrap(), Vec::new());
    let mut ana = Browser {
        http,
        base,
        cookies,
    };
    let mut login = form(&ana.get("/login").await, "action=\"/login\"");
    set(&mut login, "user", "ana");
    set(&mut login, "password", PASSWORD);
    ana.submit(login, "/inspections").await;

    // p-dent: the form shows the cloud verdict; box 1 relabelled, box 2 deleted, one drawn.
    let mut dent = form(&ana.get(PAGE).await, "id=\"form-p-dent\"");
    assert_eq!(field(&dent, "base_revision"), "0");
    assert_eq!(
        field(&dent, "based_on"),
        format!("cloud:{}", "cd".repeat(32))
    );
    for (i, (class, ..)) in DENT.boxes.iter().enumerate() {
        assert_eq!(field(&dent, &format!("class_{i}")), class.to_string());
        assert_eq!(field(&dent, &format!("act_{i}")), "keep");
    }
    set(&mut dent, "class_0", "2");
    set(&mut dent, "act_1", "delete");
    let d = DRAWN;
    let typed = [d.class_id as f32, d.x1, d.y1, d.x2, d.y2];
    for (name, value) in ["new_class", "new_x1", "new_y1", "new_x2", "new_y2"]
        .iter()
        .zip(typed)
    {
        set(&mut dent, name, &value.to_string());
    }
    ana.submit(dent, &format!("{PAGE}#photo-p-dent")).await;

    // p-scratch: everything kept, as the page shows it.
    let scratch = form(&ana.get(PAGE).await, "id=\"form-p-scratch\"");
    ana.submit(scratch, &format!("{PAGE}#photo-p-scratch"))
        .await;

    // Marked reviewed: the page then shows the mark in its audit log, and no mark form.
    let mark = form(&ana.get(PAGE).await, "id=\"mark-reviewed\"");
    ana.submit(mark, &format!("{PAGE}#audit")).await;
    let page = ana.get(PAGE).await;
    assert!(page.contains("audit-mark") && !page.contains("id=\"mark-reviewed\""));

    // The server stops cleanly (graceful shutdown, no error).
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    let dent_boxes = vec![DENT.fraction(0, 2), DENT.fraction(2, 5), DRAWN];
    let scratch_boxes = vec![SCRATCH.fraction(0, 3), SCRATCH.fraction(1, 2)];
    let posted = photos.into_iter().zip([dent_boxes, scratch_boxes]);
    posted
        .map(|((id, bytes), boxes)| (id, bytes, boxes))
        .collect()
}

/// `omni-trainer ARGS` (split at spaces) in `cwd`, which must succeed: its stdout.
fn trainer(args: &str, cwd: &Path) -> String {
    cli_ok(&args.split(' ').collect::<Vec<_>>(), &[], cwd).0
}

#[test]
fn reviews_made_in_the_office_web_pages_become_labels_that_validate() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let office_dir = cwd.join("office-data");
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    let rt = rt.worker_threads(2).enable_all().build().unwrap();
    let posted = rt.block_on(review_in_the_office(&office_dir));
    let reviews = rt.block_on(async {
        let store = EmbeddedStore::open(&office_dir).unwrap();
        store.reviews(INSPECTION).await.unwrap()
    });

    let stdout = trainer(
        "--json labeling import-reviewed --office office-data --out reviewed",
        cwd,
    );
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    let counts = ["images", "inspections", "negatives"].map(|k| summary[k].as_u64());
    assert_eq!(counts, [Some(2), Some(1), Some(0)], "{summary}");
    assert_eq!(
        summary["skipped"].as_array().map(Vec::len),
        Some(0),
        "{summary}"
    );
    let pool = cwd.join("reviewed");
    for (id, bytes, boxes) in &posted {
        // The office holds one review of the photo, by ana: the labels are its boxes, and the
        // boxes the form asked for.
        let stored: Vec<_> = reviews.iter().filter(|r| r.photo_id == *id).collect();
        assert_eq!(stored.len(), 1, "{id}: {stored:?}");
        assert_eq!(
            (stored[0].revision, stored[0].reviewer.as_str()),
            (1, "ana")
        );
        let label = read_labels(&pool.join(format!("labels/{id}.txt")));
        assert_close(
            &label,
            &lines(&stored[0].boxes),
            1e-4,
            &format!("{id}: stored"),
        );
        assert_close(&label, &lines(boxes), 1e-4, &format!("{id}: posted"));
        let image = std::fs::read(pool.join(format!("images/{id}.jpg"))).unwrap();
        assert!(
            image == *bytes,
            "{id}: the pool's image is not the photo sent"
        );
    }
    // Spelled out for p-dent: the dent now rust, the scratch gone, the dirt box drawn at the
    // typed fractions (centre 0.725, 0.775; 0.35 × 0.35).
    let dent = read_labels(&pool.join("labels/p-dent.txt"));
    let classes: Vec<f64> = dent.iter().map(|l| l[0]).collect();
    assert_eq!(classes, [1.0, 2.0, 5.0], "{dent:?}");
    assert_close(
        &dent[..1],
        &[vec![1.0, 0.725, 0.775, 0.35, 0.35]],
        1e-4,
        "drawn",
    );

    // Merged into a data set that validates.
    common::small_dataset(&cwd.join("ds"), 4, 2);
    let merged = trainer(
        "dataset merge reviewed --into ds --from-batch reviewed",
        cwd,
    );
    assert!(merged.contains("version 2"), "{merged}");
    let valid = trainer("dataset validate ds", cwd);
    assert!(valid.trim_end().ends_with("ok"), "{valid}");
}
