//! The review step over plain HTTP against `omni-office serve`: a reviewer's review stored
//! (as the store holds it) and shown in the audit log and the review layer; a viewer's
//! review, a form without its token and an unsigned one refused with nothing stored; a stale
//! review a conflict with the first standing; bad input refused with its reason and nothing
//! stored; the reviewed mark set once; the list's reviewed and inspector filters.

use omni_office::store::Store;
use omni_office::store::embedded::EmbeddedStore;
use omni_office::wire::{Review, ReviewChange, VerdictSource};
use reqwest::StatusCode;

use crate::common::{inspection, jpeg};
use crate::web_common::{Browser, HOSTILE_INSPECTOR, Office, PASSWORD, Page, response, seed};

const FORM: &str = "/inspections/i-damaged/photos/p1/review";

/// The office's store, opened beside the server: what it really holds.
async fn stored_reviews(office: &Office, id: &str) -> Vec<Review> {
    let store = EmbeddedStore::open(office.dir()).unwrap();
    store.reviews(id).await.unwrap()
}

/// The value of the hidden field `name` in a page's review form (`None`: no such field).
pub(crate) fn hidden(page: &Page, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let at = page.body.find(&marker)? + marker.len();
    let rest = &page.body[at..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// The boxes drawn in the review layer.
fn review_boxes(body: &str) -> usize {
    let Some(start) = body.find("class=\"layer layer-review\"") else {
        return 0;
    };
    let end = start + body[start..].find("</svg>").unwrap();
    body[start..end].matches("<rect").count()
}

/// A signed-in reviewer (or viewer) at the damaged inspection's page.
async fn at_inspection(office: &Office, user: &str) -> (Browser, Page) {
    let mut browser = Browser::new(office);
    let signed = browser.sign_in(user, PASSWORD).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    let page = browser.get("/inspections/i-damaged").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    (browser, page)
}

/// The form's token and starting point, then `fields`.
fn form<'a>(page: &Page, fields: &[(&'a str, &'a str)]) -> Vec<(String, String)> {
    let mut all = vec![
        ("csrf".to_owned(), page.csrf()),
        (
            "base_revision".to_owned(),
            hidden(page, "base_revision").unwrap(),
        ),
        ("based_on".to_owned(), hidden(page, "based_on").unwrap()),
    ];
    all.extend(
        fields
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
    );
    all
}

/// The cloud verdict's 3 boxes (dent, rust, scratch): box 1 becomes rust, box 2 stays, box 3
/// is deleted, and a rust box is drawn (typed in percent).
const FIRST_REVIEW: &[(&str, &str)] = &[
    ("act_0", "keep"),
    ("class_0", "2"),
    ("act_1", "keep"),
    ("class_1", "2"),
    ("act_2", "delete"),
    ("class_2", "3"),
    ("new_class", "2"),
    ("new_x1", "50%"),
    ("new_y1", "0.5"),
    ("new_x2", "75%"),
    ("new_y2", "0,9"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewers_review_is_stored_drawn_and_logged() {
    let office = Office::start();
    seed(&office.phone()).await;
    let (mut ana, page) = at_inspection(&office, "ana").await;
    // The form starts from the cloud verdict (readable, 3 boxes), revision 0.
    assert!(page.body.contains("id=\"form-p1\""), "{}", page.body);
    assert_eq!(hidden(&page, "base_revision").unwrap(), "0");
    assert_eq!(
        hidden(&page, "based_on").unwrap(),
        format!("cloud:{}", "ab".repeat(32))
    );
    assert_eq!(page.body.matches("class=\"review-row\"").count(), 3);
    assert!(page.body.contains("<script src=\"/static/review.js\""));
    assert_eq!(review_boxes(&page.body), 0);

    let saved = ana.post(FORM, &form(&page, FIRST_REVIEW)).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(saved.location(), "/inspections/i-damaged#photo-p1");

    // What the store holds: revision 1 by ana, from the cloud verdict, boxes as fractions.
    let reviews = stored_reviews(&office, "i-damaged").await;
    assert_eq!(reviews.len(), 1, "{reviews:?}");
    let first = &reviews[0];
    assert_eq!((first.revision, first.reviewer.as_str()), (1, "ana"));
    let based_on = first.based_on.as_ref().unwrap();
    assert_eq!(based_on.source, VerdictSource::Cloud);
    assert_eq!(based_on.model_sha256, "ab".repeat(32));
    let classes: Vec<u32> = first.boxes.iter().map(|b| b.class_id).collect();
    assert_eq!(classes, [2, 2, 2]);
    // Cloud box 1 was (2, 3)–(21, 30) on 64×48.
    let b = first.boxes[0];
    let want = [2.0 / 64.0, 3.0 / 48.0, 21.0 / 64.0, 30.0 / 48.0];
    for (got, want) in [b.x1, b.y1, b.x2, b.y2].iter().zip(want) {
        assert!((got - want).abs() < 1e-5, "{b:?}");
    }
    let drawn = first.boxes[2];
    assert_eq!(
        (drawn.x1, drawn.y1, drawn.x2, drawn.y2),
        (0.5, 0.5, 0.75, 0.9)
    );
    assert_eq!(
        first.changes,
        [
            ReviewChange::Reclassified {
                box_index: 0,
                from: 0,
                to: 2
            },
            ReviewChange::Accepted {
                box_index: 1,
                class_id: 2
            },
            ReviewChange::Deleted {
                box_index: 2,
                class_id: 3
            },
            ReviewChange::Drawn { class_id: 2 },
        ]
    );

    // The page: the review layer first, as many boxes as stored, the audit log in words.
    let page = ana.get("/inspections/i-damaged").await;
    assert!(
        page.body.contains("id=\"review-p1\" checked"),
        "{}",
        page.body
    );
    assert_eq!(review_boxes(&page.body), first.boxes.len());
    for words in [
        "box 1: dent → rust",
        "box 2 accepted (rust)",
        "box 3 deleted (scratch)",
        "drew a rust box",
        "Review 1 (started from the verdict: Cloud)",
    ] {
        assert!(page.body.contains(words), "{words}: {}", page.body);
    }
    assert_eq!(page.body.matches("class=\"audit-entry\"").count(), 1);
    // The next review starts from this one.
    assert_eq!(hidden(&page, "base_revision").unwrap(), "1");
    assert_eq!(hidden(&page, "based_on").unwrap(), "");
    let spanish = ana
        .http
        .get(format!("{}/inspections/i-damaged", office.url))
        .header("accept-language", "es");
    let spanish = ana.send(spanish).await;
    assert!(
        spanish.body.contains("caja 1: abolladura → óxido"),
        "{}",
        spanish.body
    );

    // A second review: the drawn box deleted.
    let second = form(
        &page,
        &[("act_0", "keep"), ("act_1", "keep"), ("act_2", "delete")],
    );
    let saved = ana.post(FORM, &second).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    // The same form sent again (a double click): its first copy stands, nothing added.
    let again = ana.post(FORM, &second).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    let reviews = stored_reviews(&office, "i-damaged").await;
    assert_eq!(reviews.len(), 2, "{reviews:?}");
    assert_eq!(reviews[1].revision, 2);
    assert!(reviews[1].based_on.is_none());
    assert_eq!(reviews[1].boxes.len(), 2);
    assert_eq!(
        reviews[1].changes[2],
        ReviewChange::Deleted {
            box_index: 2,
            class_id: 2
        }
    );
    let page = ana.get("/inspections/i-damaged").await;
    assert_eq!(review_boxes(&page.body), 2);
    // The container's history counts the boxes the photo shows now: the review's.
    let history = ana.get("/containers/CSQU3054383").await;
    assert!(
        history.body.contains("<span class=\"box-count\">2</span>"),
        "{}",
        history.body
    );
    let log = &page.body[page.body.find("id=\"audit\"").unwrap()..];
    let (one, two) = (log.find("Review 1").unwrap(), log.find("Review 2").unwrap());
    assert!(one < two, "oldest first: {log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_a_forged_form_and_a_stranger_store_nothing() {
    let office = Office::start();
    seed(&office.phone()).await;
    let (mut luis, page) = at_inspection(&office, "luis").await;
    // A viewer sees no form, no script.
    assert!(!page.body.contains("id=\"form-p1\""), "{}", page.body);
    assert!(!page.body.contains("id=\"mark-reviewed\""));
    assert!(!page.body.contains("review.js"));
    // Even with the session's own token and a well-formed body: refused.
    let mut fields = vec![
        ("csrf".to_owned(), page.csrf()),
        ("base_revision".to_owned(), "0".to_owned()),
        ("based_on".to_owned(), format!("cloud:{}", "ab".repeat(32))),
    ];
    for i in 0..3 {
        fields.push((format!("act_{i}"), "delete".to_owned()));
    }
    let refused = luis.post(FORM, &fields).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.body.contains("You may not do this."));
    let mark = luis
        .post(
            "/inspections/i-damaged/reviewed",
            &[("csrf".to_owned(), page.csrf())],
        )
        .await;
    assert_eq!(mark.status, StatusCode::FORBIDDEN);

    // A reviewer's form without its token, or with another: refused.
    let (mut ana, page) = at_inspection(&office, "ana").await;
    let good = form(&page, FIRST_REVIEW);
    let without: Vec<_> = good.iter().filter(|(n, _)| n != "csrf").cloned().collect();
    let mut forged = without.clone();
    forged.push(("csrf".to_owned(), "0".repeat(64)));
    for fields in [&without, &forged] {
        let page = ana.post(FORM, fields).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
        assert!(page.body.contains("expired"), "{}", page.body);
    }
    // Nobody signed in: the sign-in page.
    let mut stranger = Browser::new(&office);
    let page = stranger.post(FORM, &good).await;
    assert_eq!(page.location(), "/login");

    assert!(stored_reviews(&office, "i-damaged").await.is_empty());
    let store = EmbeddedStore::open(office.dir()).unwrap();
    let summary = store.inspection("i-damaged").await.unwrap().unwrap();
    assert_eq!(summary.reviewed_at_ms, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_review_is_a_conflict_and_the_first_stands() {
    let office = Office::start();
    seed(&office.phone()).await;
    let (mut ana, ana_page) = at_inspection(&office, "ana").await;
    let (mut eva, eva_page) = at_inspection(&office, "eva").await;
    // Both opened the page at revision 0; ana saves first.
    let saved = ana.post(FORM, &form(&ana_page, FIRST_REVIEW)).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let all_kept = [("act_0", "keep"), ("act_1", "keep"), ("act_2", "keep")];
    let late = eva.post(FORM, &form(&eva_page, &all_kept)).await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.body);
    assert!(
        late.body.contains("Somebody else reviewed this photo"),
        "{}",
        late.body
    );
    assert!(
        late.body
            .contains("href=\"/inspections/i-damaged#photo-p1\""),
        "a link to reload: {}",
        late.body
    );
    let reviews = stored_reviews(&office, "i-damaged").await;
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0].reviewer, "ana");
    // Reloaded, eva reviews on top of ana's review.
    let page = eva.get("/inspections/i-damaged").await;
    let saved = eva.post(FORM, &form(&page, &all_kept)).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let reviews = stored_reviews(&office, "i-damaged").await;
    assert_eq!(
        reviews
            .iter()
            .map(|r| (r.revision, r.reviewer.as_str()))
            .collect::<Vec<_>>(),
        [(1, "ana"), (2, "eva")]
    );
}

/// A refused form: what it is, its fields, the answer's status and the reason it shows.
type Case = (
    &'static str,
    Vec<(String, String)>,
    StatusCode,
    &'static str,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_review_input_is_refused_with_its_reason_and_nothing_stored() {
    let office = Office::start();
    seed(&office.phone()).await;
    let (mut ana, page) = at_inspection(&office, "ana").await;
    let kept = [("act_0", "keep"), ("act_1", "keep"), ("act_2", "keep")];
    let added = |x1: &'static str, x2: &'static str, class: &'static str| {
        let mut f = kept.to_vec();
        f.extend([
            ("new_class", class),
            ("new_x1", x1),
            ("new_y1", "0.1"),
            ("new_x2", x2),
            ("new_y2", "0.3"),
        ]);
        form(&page, &f)
    };
    let mut many = form(&page, &kept);
    for _ in 0..301 {
        for (n, v) in [
            ("new_class", "1"),
            ("new_x1", "0.1"),
            ("new_y1", "0.1"),
            ("new_x2", "0.2"),
            ("new_y2", "0.2"),
        ] {
            many.push((n.to_owned(), v.to_owned()));
        }
    }
    let mut class_nine = form(&page, &kept);
    class_nine.push(("class_1".to_owned(), "9".to_owned()));
    let cases: Vec<Case> = vec![
        (
            "class 9",
            class_nine,
            StatusCode::BAD_REQUEST,
            "unknown class &#34;9&#34;",
        ),
        (
            "drawn class 9",
            added("0.1", "0.2", "9"),
            StatusCode::BAD_REQUEST,
            "unknown class",
        ),
        (
            "x2 < x1",
            added("0.6", "0.2", "1"),
            StatusCode::BAD_REQUEST,
            "left &#60; right",
        ),
        (
            "5.0",
            added("0.1", "5.0", "1"),
            StatusCode::BAD_REQUEST,
            "in [0, 1]",
        ),
        (
            "not a number",
            added("left", "0.2", "1"),
            StatusCode::BAD_REQUEST,
            "not a number",
        ),
        (
            "301 boxes",
            many,
            StatusCode::BAD_REQUEST,
            "at most 300 boxes",
        ),
        (
            "no choice",
            form(&page, &kept[..2]),
            StatusCode::BAD_REQUEST,
            "box 3: keep or delete?",
        ),
        (
            "an unknown box",
            form(&page, &[&kept[..], &[("act_3", "keep")][..]].concat()),
            StatusCode::BAD_REQUEST,
            "names box 4",
        ),
    ];
    for (what, fields, status, reason) in cases {
        let answer = ana.post(FORM, &fields).await;
        assert_eq!(answer.status, status, "{what}: {}", answer.body);
        assert!(answer.body.contains("id=\"message\""), "{what}");
        assert!(answer.body.contains(reason), "{what}: {}", answer.body);
    }
    // In the reader's language.
    let mut class_nine = form(&page, &kept);
    class_nine.push(("class_0".to_owned(), "9".to_owned()));
    let spanish = ana
        .http
        .post(format!("{}{FORM}", office.url))
        .header("accept-language", "es")
        .form(&class_nine);
    let spanish = ana.send(spanish).await;
    assert_eq!(spanish.status, StatusCode::BAD_REQUEST);
    assert!(
        spanish
            .body
            .contains("La revisión no se guardó: clase desconocida &#34;9&#34;"),
        "{}",
        spanish.body
    );
    // Too large to read at all: 10,000 boxes, a 1 MB field.
    let mut huge = form(&page, &kept);
    for _ in 0..10_000 {
        huge.push(("new_class".to_owned(), "1".to_owned()));
    }
    let mut megabyte = form(&page, &kept);
    megabyte.push(("new_x1".to_owned(), "9".repeat(1 << 20)));
    for (what, fields) in [("10,000 boxes", huge), ("1 MB field", megabyte)] {
        let answer = ana.post(FORM, &fields).await;
        assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE, "{what}");
        assert!(answer.body.contains("too large"), "{what}: {}", answer.body);
        assert!(answer.body.len() < 20_000, "{what}: nothing echoed");
    }
    assert!(stored_reviews(&office, "i-damaged").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reviewed_mark_is_set_once_and_the_list_filters_on_it() {
    let office = Office::start();
    let phone = office.phone();
    seed(&phone).await;
    let (mut ana, page) = at_inspection(&office, "ana").await;
    assert!(page.body.contains("id=\"mark-reviewed\""));
    let mark = [("csrf".to_owned(), page.csrf())];
    let marked = ana.post("/inspections/i-damaged/reviewed", &mark).await;
    assert_eq!(marked.status, StatusCode::SEE_OTHER, "{}", marked.body);
    assert_eq!(marked.location(), "/inspections/i-damaged#audit");
    // A second reviewer's mark changes nothing: the first stands.
    let (mut eva, page) = at_inspection(&office, "eva").await;
    assert!(
        !page.body.contains("id=\"mark-reviewed\""),
        "already marked"
    );
    let again = eva
        .post(
            "/inspections/i-damaged/reviewed",
            &[("csrf".to_owned(), page.csrf())],
        )
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let store = EmbeddedStore::open(office.dir()).unwrap();
    let summary = store.inspection("i-damaged").await.unwrap().unwrap();
    assert_eq!(summary.reviewed_by.as_deref(), Some("ana"));
    let page = eva.get("/inspections/i-damaged").await;
    assert!(
        page.body.contains("marked the inspection reviewed"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("Marked reviewed by <b class=\"who\">ana</b>")
    );
    // A review after the mark follows it in the log (time order).
    let saved = eva.post(FORM, &form(&page, FIRST_REVIEW)).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let page = eva.get("/inspections/i-damaged").await;
    let log = &page.body[page.body.find("id=\"audit\"").unwrap()..];
    let mark_at = log.find("marked the inspection reviewed").unwrap();
    assert!(mark_at < log.find("Review 1").unwrap(), "{log}");
    // Without its token, on another inspection: refused, not marked.
    let forged = eva
        .post(
            "/inspections/i-sound/reviewed",
            &[("csrf".to_owned(), "0".repeat(64))],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let missing = eva
        .post(
            "/inspections/i-nothing/reviewed",
            &[("csrf".to_owned(), page.csrf())],
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    // The list: reviewed yes/no, an inspector (even a hostile one), and a bad value.
    let ids = Page::inspection_ids;
    let yes = eva.get("/inspections?reviewed=yes").await;
    assert_eq!(ids(&yes), ["i-damaged"]);
    assert!(yes.body.contains("✓ Reviewed"), "{}", yes.body);
    assert_eq!(ids(&eva.get("/inspections?reviewed=no").await), ["i-sound"]);
    let hostile: String =
        url::form_urlencoded::byte_serialize(HOSTILE_INSPECTOR.as_bytes()).collect();
    let by_hostile = eva.get(&format!("/inspections?inspector={hostile}")).await;
    assert_eq!(ids(&by_hostile), ["i-damaged"]);
    assert!(!by_hostile.body.contains("<script"), "{}", by_hostile.body);
    assert!(ids(&eva.get("/inspections?inspector=nobody").await).is_empty());
    let bad = eva.get("/inspections?reviewed=maybe").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let long = eva
        .get(&format!("/inspections?inspector={}", "x".repeat(5000)))
        .await;
    assert_eq!(long.status, StatusCode::BAD_REQUEST);
    assert!(long.body.len() < 20_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_model_name_renders_as_text_on_the_review_pages() {
    let office = Office::start();
    let phone = office.phone();
    let put = inspection("CSQU3054383", 1_764_900_000_000, 1);
    assert_eq!(phone.put_inspection("i-x", &put).await.status, 201);
    assert_eq!(
        phone.put_photo("i-x", "p1", &jpeg(3), None).await.status,
        201
    );
    let hostile = "<script>alert(1)</script>";
    let verdict = response(hostile, &[(1, 0.5, 2.0, 2.0, 30.0, 30.0)]);
    let put = phone
        .put_json("/v1/inspections/i-x/photos/p1/verdicts/cloud", &verdict)
        .await;
    assert_eq!(put.status, 201, "{put:?}");
    let mut ana = Browser::new(&office);
    ana.sign_in("ana", PASSWORD).await;
    let page = ana.get("/inspections/i-x").await;
    assert!(
        page.body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{}",
        page.body
    );
    let saved = ana
        .post(
            "/inspections/i-x/photos/p1/review",
            &form(&page, &[("act_0", "keep")]),
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let page = ana.get("/inspections/i-x").await;
    assert!(!page.body.contains("<script>alert"), "{}", page.body);
    assert!(page.body.contains("box 1 accepted (dirt)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_without_a_verdict_is_reviewed_by_drawing_and_the_script_is_served() {
    let office = Office::start();
    let phone = office.phone();
    let put = inspection("MSCU1234566", 1_764_900_000_000, 1);
    assert_eq!(phone.put_inspection("i-bare", &put).await.status, 201);
    assert_eq!(
        phone.put_photo("i-bare", "p1", &jpeg(4), None).await.status,
        201
    );
    let mut ana = Browser::new(&office);
    ana.sign_in("ana", PASSWORD).await;
    let page = ana.get("/inspections/i-bare").await;
    // No verdict: no box to keep, the add-a-box fields only, nothing to start from.
    assert_eq!(page.body.matches("class=\"review-row\"").count(), 0);
    assert_eq!(hidden(&page, "based_on").unwrap(), "");
    let drawn = [
        ("new_class", "5"),
        ("new_x1", "0.1"),
        ("new_y1", "0.2"),
        ("new_x2", "0.3"),
        ("new_y2", "0.4"),
    ];
    let saved = ana
        .post("/inspections/i-bare/photos/p1/review", &form(&page, &drawn))
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let reviews = stored_reviews(&office, "i-bare").await;
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0].based_on, None);
    assert_eq!(reviews[0].changes, [ReviewChange::Drawn { class_id: 5 }]);
    let page = ana.get("/inspections/i-bare").await;
    assert!(page.body.contains("drew a mold box"), "{}", page.body);
    assert_eq!(review_boxes(&page.body), 1);

    // The box editor: the office's own script, cached like the stylesheet, allowed by the
    // policy and nothing else is.
    let script = ana.get("/static/review.js").await;
    assert_eq!(script.status, StatusCode::OK);
    assert_eq!(
        script.headers["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(script.headers["cache-control"], "public, max-age=3600");
    assert!(script.body.contains("new_"), "fills the add-a-box fields");
    let policy = script.headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("script-src 'self';"), "{policy}");
    assert!(
        !policy.contains("unsafe") && policy.contains("default-src 'none'"),
        "{policy}"
    );
}
