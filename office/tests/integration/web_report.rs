//! The EIR on the office's inspection page, over plain HTTP against `omni-office serve` (real
//! SQLite): a closed inspection's page shows the stored report's damage lines (the same as
//! `GET /v1/inspections/{id}/report` and the store hold) in English and Spanish, an open one
//! says the report comes when it is closed, one being written says so at once (the PDF is 202)
//! until the writer stores it, the PDF download reads back with pdftotext, an unsigned
//! download goes to sign-in, and a hostile stored report renders as text.

use omni_office::store::Store;
use omni_office::store::embedded::EmbeddedStore;
use omni_office::wire::InspectionState;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE};

use crate::common::{CONTAINER, Client, inspection, jpeg};
use crate::report::{key, pdftotext, written};
use crate::web_common::{Browser, Office, PASSWORD, Page, response, seed};

const T0: i64 = 1_765_000_000_000;

/// Sends inspection `id` (gate-in) at `revision` in `state`.
async fn put(phone: &Client, id: &str, revision: u64, state: InspectionState) {
    let mut put = inspection(CONTAINER, T0, revision);
    put.kind = Some("gate-in".into());
    put.state = state;
    let answer = phone.put_inspection(id, &put).await;
    assert!(answer.status == 200 || answer.status == 201, "{answer:?}");
}

/// Inspection `id`, gate-in, closed at revision 2: a door photo with two dents (one large)
/// and a front photo with rust, as the phone sends them (faces in `x-omni-photo-face`); back
/// once the office's background writer stored its report.
pub async fn closed_with_damage(phone: &Client, id: &str) {
    open_with_damage(phone, id).await;
    put(phone, id, 2, InspectionState::Closed).await;
    written(phone, id).await;
}

/// [`closed_with_damage`]'s inspection, still open at revision 1.
async fn open_with_damage(phone: &Client, id: &str) {
    put(phone, id, 1, InspectionState::Open).await;
    for (photo, face, seed, boxes) in [
        (
            "door",
            "D",
            1,
            vec![
                (0, 0.9, 1.0, 2.0, 40.0, 40.0),
                (0, 0.6, 50.0, 10.0, 54.0, 14.0),
            ],
        ),
        ("front", "F", 2, vec![(2, 0.8, 5.0, 5.0, 20.0, 20.0)]),
    ] {
        let answer = phone.put_photo_face(id, photo, &jpeg(seed), face).await;
        assert_eq!(answer.status, 201, "{answer:?}");
        let path = format!("/v1/inspections/{id}/photos/{photo}/verdicts/edge");
        let verdict = response("omni-yolo11n-f16", &boxes);
        assert_eq!(phone.put_json(&path, &verdict).await.status, 201);
    }
}

async fn signed_in(office: &Office, user: &str) -> Browser {
    let mut browser = Browser::new(office);
    let answer = browser.sign_in(user, PASSWORD).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    browser
}

/// A page in the language `accept_language` asks for.
async fn page_in(browser: &mut Browser, path: &str, accept_language: &str) -> Page {
    let request = browser
        .http
        .get(format!("{}{path}", browser.base))
        .header("accept-language", accept_language);
    browser.send(request).await
}

/// A download's status, headers and bytes (a PDF is not text).
async fn download(
    browser: &Browser,
    path: &str,
    accept_language: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let request = browser
        .http
        .get(format!("{}{path}", browser.base))
        .header("accept-language", accept_language);
    let answer = browser.with_cookies(request).send().await.unwrap();
    let (status, headers) = (answer.status(), answer.headers().clone());
    (status, headers, answer.bytes().await.unwrap().to_vec())
}

/// Text as askama writes it into a page.
fn escaped(text: &str) -> String {
    text.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// The report section of a page.
fn section(body: &str) -> &str {
    let start = body
        .find("<section class=\"report\" id=\"report\">")
        .expect("a report section");
    let end = start + body[start..].find("</section>").unwrap();
    &body[start..end]
}

/// The damage line rows of a report section.
fn rows(section: &str) -> Vec<&str> {
    section
        .split("<tr class=\"eir-line\">")
        .skip(1)
        .map(|r| &r[..r.find("</tr>").unwrap()])
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_inspection_shows_its_stored_eir_in_the_readers_language() {
    let office = Office::start();
    let phone = office.phone();
    seed(&phone).await;
    closed_with_damage(&phone, "i-eir").await;
    let mut viewer = signed_in(&office, "luis").await;

    // The close wrote the report in the background; the page shows the stored one.
    let page = page_in(&mut viewer, "/inspections/i-eir", "en-GB,en;q=0.9").await;
    assert_eq!(page.status, StatusCode::OK);
    let en = section(&page.body);
    assert!(en.contains("Inspection report (EIR)"));
    let stored = EmbeddedStore::open(office.dir())
        .unwrap()
        .report("i-eir", key(2, 0))
        .await
        .unwrap()
        .expect("the report of revision 2 is stored");
    let stored: serde_json::Value = serde_json::from_str(&stored).unwrap();
    let api = phone.get("/v1/inspections/i-eir/report").await;
    assert_eq!(api.status, 200, "{api:?}");
    let eir = api.json();
    assert_eq!(eir, stored, "the API reads the stored report");

    let lines = eir["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 3);
    let shown = rows(en);
    assert_eq!(shown.len(), lines.len(), "one row per damage line");
    for (row, line) in shown.iter().zip(lines) {
        let cell = |class: &str, value: &serde_json::Value| {
            let value = value.as_str().unwrap_or("—");
            format!("class=\"{class}\">{}<", escaped(value))
        };
        assert!(
            row.contains(&format!("<td>{}</td>", line["number"])),
            "{row}"
        );
        let photo = escaped(line["photo_id"].as_str().unwrap());
        assert!(row.contains(&format!(">{photo}</a>")), "{row}");
        assert!(
            row.contains(&format!(">{}</td>", line["face"].as_str().unwrap())),
            "{row}"
        );
        assert!(
            row.contains(&cell("location mono", &line["location"])),
            "{row}"
        );
        assert!(
            row.contains(&cell("damage-code mono", &line["damage_code"])),
            "{row}"
        );
        assert!(
            row.contains(&cell("repair-code mono", &line["repair_code"])),
            "{row}"
        );
        assert!(
            row.contains(&format!(">{}<", line["severity"].as_str().unwrap())),
            "{row}"
        );
    }
    assert!(en.contains(&escaped(eir["verdict"]["reason"]["en"].as_str().unwrap())));
    assert!(en.contains(&escaped(eir["narrative"]["en"].as_str().unwrap())));
    assert!(en.contains("NOT FIT"), "a large dent: not fit");
    assert!(en.contains("deterministic rules"));
    assert!(
        en.contains("id=\"faces-missing\">L (left side), R (right side), T (roof), I (interior)<"),
        "{en}"
    );
    assert!(en.contains("href=\"/inspections/i-eir/report.pdf\""));

    // Spanish by Accept-Language: the same lines, the Spanish texts of the stored report.
    let page = page_in(&mut viewer, "/inspections/i-eir", "es-ES,es;q=0.9,en;q=0.5").await;
    let es = section(&page.body);
    assert!(es.contains("Informe de inspección (EIR)"));
    assert!(es.contains("NO APTO"));
    assert!(es.contains(&escaped(eir["narrative"]["es"].as_str().unwrap())));
    assert!(es.contains(&escaped(eir["verdict"]["reason"]["es"].as_str().unwrap())));
    assert!(es.contains("reglas deterministas") && es.contains("grave"));
    assert_eq!(rows(es).len(), 3);
    for line in lines {
        assert!(es.contains(&escaped(line["damage"]["es"].as_str().unwrap())));
    }
    // Still one report: the page read the stored one.
    assert_eq!(phone.get("/v1/inspections/i-eir/report").await.json(), eir);

    // A reviewer sees it too; an open inspection says the report comes when it is closed.
    let mut reviewer = signed_in(&office, "ana").await;
    let page = page_in(&mut reviewer, "/inspections/i-damaged", "en").await;
    let open = section(&page.body);
    assert!(open.contains("The report comes when the inspection is closed."));
    assert!(!open.contains("report.pdf"));
    let page = page_in(&mut reviewer, "/inspections/i-damaged", "es").await;
    assert!(section(&page.body).contains("El informe estará disponible cuando se cierre"));
    assert_eq!(
        EmbeddedStore::open(office.dir())
            .unwrap()
            .report("i-damaged", key(1, 0))
            .await
            .unwrap(),
        None
    );
    // A closed inspection without a kind says why it has no report.
    let page = page_in(&mut reviewer, "/inspections/i-sound", "en").await;
    assert!(section(&page.body).contains("This inspection has no kind"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pdf_downloads_for_signed_in_people_only() {
    let office = Office::start();
    let phone = office.phone();
    seed(&phone).await;
    closed_with_damage(&phone, "i-eir").await;

    // Unsigned: to the sign-in page, no PDF.
    let (status, headers, _) = download(
        &Browser::new(&office),
        "/inspections/i-eir/report.pdf",
        "en",
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers["location"], "/login");

    let viewer = signed_in(&office, "luis").await;
    let eir = phone.get("/v1/inspections/i-eir/report").await.json();
    let dir = tempfile::tempdir().unwrap();
    for (lang, words) in [("en", "NOT FIT"), ("es", "NO APTO")] {
        let (status, headers, bytes) =
            download(&viewer, "/inspections/i-eir/report.pdf", lang).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[CONTENT_TYPE], "application/pdf");
        let number = eir["header"]["eir_number"].as_str().unwrap();
        assert_eq!(
            headers[CONTENT_DISPOSITION].to_str().unwrap(),
            format!(
                "attachment; filename=\"{number}-{}.pdf\"",
                lang.to_uppercase()
            )
        );
        assert!(bytes.starts_with(b"%PDF-"));
        let path = dir.path().join(format!("eir-{lang}.pdf"));
        std::fs::write(&path, &bytes).unwrap();
        let Some(text) = pdftotext(&path) else {
            return;
        };
        assert!(text.contains(CONTAINER), "{text}");
        assert!(text.contains(words), "{text}");
        for line in eir["lines"].as_array().unwrap() {
            assert!(
                text.contains(line["repair_code"].as_str().unwrap()),
                "{text}"
            );
            assert!(text.contains(line["location"].as_str().unwrap()), "{text}");
            if let Some(code) = line["damage_code"].as_str() {
                assert!(text.contains(code), "{text}");
            }
        }
    }

    // An open inspection has no PDF yet (409, nothing stored); an unknown one is 404.
    let (status, _, body) = download(&viewer, "/inspections/i-damaged/report.pdf", "en").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(String::from_utf8_lossy(&body).contains("comes when the inspection is closed"));
    let (status, _, _) = download(&viewer, "/inspections/nope/report.pdf", "en").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_stored_report_renders_as_text() {
    let office = Office::start();
    let phone = office.phone();
    closed_with_damage(&phone, "i-eir").await;
    let mut eir = phone.get("/v1/inspections/i-eir/report").await.json();
    // i-bad's key claimed (as a writer holds it) before the close, so that its background
    // writer stays out and the hostile report below is the one stored.
    open_with_damage(&phone, "i-bad").await;
    let store = EmbeddedStore::open(office.dir()).unwrap();
    let now = omni_protocol::Timestamp::now().as_millis();
    assert!(
        store
            .claim_report("i-bad", key(2, 0), 0, now)
            .await
            .unwrap()
    );
    put(&phone, "i-bad", 2, InspectionState::Closed).await;

    // What a compromised writer or a hostile model could have stored for i-bad.
    let script = "<script>alert(\"x\")</script>";
    eir["header"]["inspection_id"] = "i-bad".into();
    eir["header"]["container_number"] = script.into();
    eir["header"]["eir_number"] = format!("EIR-{script}\r\n\"; x=../../ÉVIL-R2").into();
    eir["narrative"]["en"] = format!("{script}{}", "n".repeat(10_000)).into();
    eir["verdict"]["reason"]["en"] = format!("<img src=x onerror=alert(1)>{script}").into();
    eir["lines"][0]["photo_id"] = format!("\"><svg onload=alert(1)>{script}").into();
    eir["lines"][0]["repair"]["en"] = script.into();
    eir["written_by"]["fallback_reason"] = script.into();
    let put = store
        .put_report("i-bad", key(2, 0), &serde_json::to_string(&eir).unwrap())
        .await
        .unwrap();
    assert_eq!(put, omni_office::store::Put::Created);

    let mut viewer = signed_in(&office, "luis").await;
    let page = page_in(&mut viewer, "/inspections/i-bad", "en").await;
    assert_eq!(page.status, StatusCode::OK);
    let report = section(&page.body);
    assert!(!page.body.contains("<script"), "{report}");
    assert!(!page.body.contains("<img src=x") && !page.body.contains("<svg onload"));
    assert!(
        report.contains("&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;"),
        "{report}"
    );
    assert!(report.contains("id=\"fallback\">&#60;script&#62;"));
    // The narrative is cut to its bound (2,000 characters and an ellipsis).
    let at = report.find("id=\"narrative\">").unwrap() + 15;
    let narrative = &report[at..at + report[at..].find("</p>").unwrap()];
    assert!(narrative.ends_with('…'), "{narrative}");
    assert!(narrative.chars().count() < 2_100, "{}", narrative.len());

    // The PDF's file name keeps only capitals, digits and dashes.
    let (status, headers, _) = download(&viewer, "/inspections/i-bad/report.pdf", "en").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[CONTENT_DISPOSITION].to_str().unwrap(),
        "attachment; filename=\"EIR-VIL-R2-EN.pdf\""
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_being_written_is_said_at_once_and_shown_once_stored() {
    let office = Office::start();
    let phone = office.phone();
    closed_with_damage(&phone, "i-eir").await;
    // A review of the front photo (it confirms the rust): a new review state, whose report a
    // writer holds, claimed 295 s ago (a claim is taken over at 300 s).
    let store = EmbeddedStore::open(office.dir()).unwrap();
    let review = omni_office::wire::Review {
        inspection_id: "i-eir".into(),
        photo_id: "front".into(),
        revision: 1,
        reviewer: "ana".into(),
        reviewed_at_ms: T0,
        based_on: Some(omni_office::wire::VerdictRef {
            source: omni_office::wire::VerdictSource::Edge,
            model_sha256: "ab".repeat(32),
        }),
        boxes: vec![omni_office::wire::ReviewBox {
            class_id: 2,
            x1: 5.0 / 64.0,
            y1: 5.0 / 48.0,
            x2: 20.0 / 64.0,
            y2: 20.0 / 48.0,
        }],
        changes: vec![omni_office::wire::ReviewChange::Accepted {
            box_index: 0,
            class_id: 2,
        }],
    };
    let now = omni_protocol::Timestamp::now().as_millis();
    store.put_review(&review).await.unwrap();
    assert!(
        store
            .claim_report("i-eir", key(2, 1), 0, now - 295_000)
            .await
            .unwrap()
    );

    // While it is held: the page says so at once, in both languages; the PDF is 202.
    let mut viewer = signed_in(&office, "luis").await;
    let started = std::time::Instant::now();
    let page = page_in(&mut viewer, "/inspections/i-eir", "en").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        section(&page.body).contains("The report is being written. Reload the page in a moment."),
        "{}",
        section(&page.body)
    );
    assert!(rows(section(&page.body)).is_empty());
    let page = page_in(&mut viewer, "/inspections/i-eir", "es").await;
    assert!(section(&page.body).contains("El informe se está redactando"));
    let (status, headers, body) = download(&viewer, "/inspections/i-eir/report.pdf", "en").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(headers["retry-after"], "2");
    assert!(String::from_utf8_lossy(&body).contains("The report is being written"));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "the claim was still fresh for these checks: rerun on a less loaded machine"
    );

    // Once the claim is stale, the next view takes it over and the report of the reviewed
    // state appears; the report of the unreviewed state stays.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let shown = loop {
        let page = page_in(&mut viewer, "/inspections/i-eir", "en").await;
        if !rows(section(&page.body)).is_empty() {
            break page.body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no report after the claim went stale"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let eir = phone.get("/v1/inspections/i-eir/report").await.json();
    assert_eq!(eir["header"]["reviews"], 1);
    assert!(section(&shown).contains(&escaped(eir["header"]["eir_number"].as_str().unwrap())));
    assert_eq!(eir["lines"][2]["cites"]["reviewer"], "ana");
    assert!(section(&shown).contains("ana"));
    assert!(store.report("i-eir", key(2, 0)).await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_review_through_the_form_writes_the_new_report_with_no_one_asking() {
    let office = Office::start();
    let phone = office.phone();
    closed_with_damage(&phone, "i-eir").await;
    let mut ana = signed_in(&office, "ana").await;
    let page = ana.get("/inspections/i-eir").await;
    assert_eq!(page.status, StatusCode::OK);
    // The door photo's form (the first): the large dent becomes rust, the small one goes.
    let hidden = |name| crate::web_review::hidden(&page, name).unwrap();
    let form = [
        ("csrf", page.csrf()),
        ("base_revision", hidden("base_revision")),
        ("based_on", hidden("based_on")),
        ("act_0", "keep".into()),
        ("class_0", "2".into()),
        ("act_1", "delete".into()),
        ("class_1", "0".into()),
    ];
    let saved = ana
        .post("/inspections/i-eir/photos/door/review", &form[..])
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);

    // Nobody asks for the report: the review's writer stores it.
    let store = EmbeddedStore::open(office.dir()).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let stored = loop {
        if let Some(json) = store.report("i-eir", key(2, 1)).await.unwrap() {
            break json;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no report 30 s after the review"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let eir: serde_json::Value = serde_json::from_str(&stored).unwrap();
    let lines = eir["lines"].as_array().unwrap();
    let ids: Vec<&str> = lines
        .iter()
        .map(|l| l["damage_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["door/d0", "front/d0"]);
    assert_eq!(lines[0]["class"], "rust");
    assert_eq!(lines[0]["cites"]["reviewer"], "ana");
}
