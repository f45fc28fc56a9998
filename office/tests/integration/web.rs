//! The web view over plain HTTP against `omni-office serve`: nothing without a session, the
//! security headers on every page, sign-in with its form token and rate limit, sign-out,
//! the list's filters and paging, the boxes drawn from the stored verdicts, the photo bytes,
//! everything a phone sent escaped, English and Spanish, and `users add|list`.

use omni_office::web::CSP;
use reqwest::StatusCode;
use reqwest::header::SET_COOKIE;

use crate::common::{inspection, jpeg};
use crate::web_common::{Browser, HOSTILE_INSPECTOR, Office, PASSWORD, Page, add_user, seed};

fn assert_headers(page: &Page) {
    assert_eq!(
        page.headers.get("content-security-policy").unwrap(),
        CSP,
        "{:?}",
        page.headers
    );
    assert_eq!(page.headers.get("x-frame-options").unwrap(), "DENY");
    assert_eq!(
        page.headers.get("x-content-type-options").unwrap(),
        "nosniff"
    );
    assert!(CSP.contains("frame-ancestors 'none'") && !CSP.contains("unsafe-inline"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_without_a_session_and_every_answer_has_the_policy() {
    let office = Office::start();
    seed(&office.phone()).await;
    let mut browser = Browser::new(&office);
    for path in [
        "/",
        "/inspections",
        "/inspections?container=CSQU3054383",
        "/inspections/i-damaged",
        "/containers/CSQU3054383",
        "/photos/i-damaged/p1",
    ] {
        let page = browser.get(path).await;
        if path == "/" {
            assert_eq!(page.location(), "/inspections");
            continue;
        }
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(page.location(), "/login", "{path}");
        assert!(!page.body.contains("CSQU"), "{path}: {}", page.body);
        assert_headers(&page);
    }
    // A made-up session is no session.
    browser
        .cookies
        .push(("omni_session".into(), "ab".repeat(32)));
    assert_eq!(browser.get("/inspections").await.location(), "/login");
    // The phones' API is untouched: unsigned is refused in its own way.
    let api = browser.get("/v1/inspections").await;
    assert_eq!(api.status, StatusCode::FORBIDDEN, "{}", api.body);
    assert!(api.body.contains("__type"), "{}", api.body);
    let css = browser.get("/static/office.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert_headers(&css);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_needs_its_form_token_and_the_password() {
    let office = Office::start();
    let mut browser = Browser::new(&office);
    // No form token (a cross-site POST): refused, no session.
    let forged = browser
        .post(
            "/login",
            &[
                ("user", "ana"),
                ("password", PASSWORD),
                ("csrf", &"0".repeat(64)),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    assert!(browser.session().is_none());
    // A body that is not the form: a clear refusal, no session.
    let garbage = browser
        .http
        .post(format!("{}/login", office.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![0xff, 0x00, b'%', b'=', 0xfe]);
    let garbage = browser.send(garbage).await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST, "{}", garbage.body);
    assert!(garbage.body.contains("id=\"message\""), "{}", garbage.body);
    assert!(browser.session().is_none());
    // The form's token, a wrong password: refused without saying which part was wrong.
    let wrong = browser.sign_in("ana", "not the password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("id=\"message\""), "{}", wrong.body);
    let unknown = browser.sign_in("nobody", PASSWORD).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert!(browser.session().is_none());

    let signed = browser.sign_in("ana", PASSWORD).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    assert_eq!(signed.location(), "/inspections");
    let cookie = signed
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("omni_session="))
        .unwrap()
        .to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "served over http: {cookie}");
    let list = browser.get("/inspections").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        list.body.contains("id=\"user\">ana</b> (reviewer)"),
        "{}",
        list.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_needs_the_sessions_token_and_ends_it() {
    let office = Office::start();
    let mut browser = Browser::new(&office);
    browser.sign_in("luis", PASSWORD).await;
    let page = browser.get("/inspections").await;
    assert!(page.body.contains("(viewer)"), "{}", page.body);
    let session = browser.session().unwrap().to_owned();
    // A forged sign-out (no token, or another's) changes nothing.
    let forged = browser.post("/logout", &[("csrf", &"f".repeat(64))]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(browser.get("/inspections").await.status, StatusCode::OK);
    let out = browser.post("/logout", &[("csrf", &page.csrf())]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/login");
    assert!(browser.session().is_none());
    // The old cookie, replayed, is dead on the server too.
    browser.cookies.push(("omni_session".into(), session));
    assert_eq!(browser.get("/inspections").await.location(), "/login");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_are_limited() {
    let office = Office::start();
    let mut browser = Browser::new(&office);
    for _ in 0..5 {
        let wrong = browser.sign_in("ana", "guess guess guess").await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    }
    // Now even the right password waits.
    let limited = browser.sign_in("ana", PASSWORD).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&wait), "{wait}");
    assert!(browser.session().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_phones_sent_is_escaped_on_every_page() {
    let office = Office::start();
    seed(&office.phone()).await;
    let mut browser = Browser::new(&office);
    browser.sign_in("ana", PASSWORD).await;
    let escaped = "&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;&#38;&#39;";
    for path in [
        "/inspections",
        "/inspections/i-damaged",
        "/containers/CSQU3054383",
    ] {
        let page = browser.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(!page.body.contains(HOSTILE_INSPECTOR), "{path}");
        // The only script is the office's own box editor (reviewers' inspection pages).
        let without_ours = page
            .body
            .replace("<script src=\"/static/review.js\" defer></script>", "");
        assert!(!without_ours.contains("<script"), "{path}: {}", page.body);
        assert!(page.body.contains(escaped), "{path}: {}", page.body);
        assert_headers(&page);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_filters_and_pages() {
    let office = Office::start();
    let phone = office.phone();
    seed(&phone).await;
    let mut browser = Browser::new(&office);
    browser.sign_in("ana", PASSWORD).await;
    let ids = Page::inspection_ids;
    let all = browser.get("/inspections").await;
    assert_eq!(ids(&all), ["i-damaged", "i-sound"], "newest first");
    // A container number as people type it: lower case, with spaces.
    let typed = browser
        .get("/inspections?container=csqu+305438+3&from=&to=&state=&damage=")
        .await;
    assert_eq!(ids(&typed), ["i-damaged"]);
    assert_eq!(
        ids(&browser.get("/inspections?state=closed").await),
        ["i-sound"]
    );
    assert_eq!(
        ids(&browser.get("/inspections?damage=yes").await),
        ["i-damaged"]
    );
    assert_eq!(
        ids(&browser.get("/inspections?damage=no").await),
        ["i-sound"]
    );
    assert_eq!(
        ids(&browser
            .get("/inspections?from=2025-12-05&to=2025-12-05")
            .await),
        ["i-damaged"]
    );
    // Bad filters: a clear message, status 400, nothing listed.
    for query in [
        "container=CSQU3054384",
        "from=yesterday",
        "state=lost",
        "damage=maybe",
        "before=soon",
        format!("from={}", "9".repeat(5000)).as_str(),
    ] {
        let page = browser.get(&format!("/inspections?{query}")).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(page.body.contains("id=\"message\""), "{query}");
        assert!(ids(&page).is_empty(), "{query}");
        assert!(page.body.len() < 20_000, "the echoed input is bounded");
    }
    // Paging: 50 a page, then an "older" link that carries the filters.
    for n in 0..51 {
        let put = inspection("TGHU1234567", 1_700_000_000_000 + n * 1000, 1);
        assert_eq!(
            phone
                .put_inspection(&format!("bulk-{n:02}"), &put)
                .await
                .status,
            201
        );
    }
    let first = browser.get("/inspections?container=TGHU1234567").await;
    let first_ids = ids(&first);
    assert_eq!(first_ids.len(), 50);
    assert_eq!(first_ids[0], "bulk-50");
    let at = first.body.find("id=\"older\" href=\"").unwrap() + 17;
    let href = &first.body[at..];
    let href = href[..href.find('"').unwrap()].replace("&#38;", "&");
    assert!(href.contains("container=TGHU1234567"), "{href}");
    let second = browser.get(&href).await;
    assert_eq!(ids(&second), ["bulk-00"]);
    assert!(!second.body.contains("id=\"older\""));
}

/// The `<svg class="layer layer-{key}" …>…</svg>` of a page, the number of boxes in it.
fn boxes_in_layer(body: &str, key: &str) -> usize {
    let start = body
        .find(&format!("class=\"layer layer-{key}\""))
        .unwrap_or_else(|| panic!("no {key} layer: {body}"));
    let end = start + body[start..].find("</svg>").unwrap();
    body[start..end].matches("<rect").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inspection_shows_each_verdicts_boxes_and_the_photo() {
    let office = Office::start();
    seed(&office.phone()).await;
    let mut browser = Browser::new(&office);
    browser.sign_in("luis", PASSWORD).await;
    let page = browser.get("/inspections/i-damaged").await;
    assert_eq!(page.status, StatusCode::OK);
    // As many boxes as each stored verdict has, in the photo's pixels.
    assert_eq!(boxes_in_layer(&page.body, "edge"), 2);
    assert_eq!(boxes_in_layer(&page.body, "cloud"), 3);
    assert!(page.body.contains("viewBox=\"0 0 64 48\""), "{}", page.body);
    assert!(
        page.body.contains("omni-yolo11n-f16 1.0.0"),
        "edge model named"
    );
    assert!(page.body.contains("scratch 42%"), "{}", page.body);
    // The cloud verdict is shown first when there is one.
    assert!(
        page.body.contains("id=\"cloud-p1\" checked"),
        "{}",
        page.body
    );
    let sound = browser.get("/inspections/i-sound").await;
    assert_eq!(boxes_in_layer(&sound.body, "edge"), 0);
    assert!(sound.body.contains("id=\"edge-p1\" checked"));

    // The container's history counts the boxes drawn (the cloud's where there is one).
    let history = browser.get("/containers/CSQU 3054383").await;
    assert_eq!(history.status, StatusCode::OK);
    assert!(
        history.body.contains("<span class=\"box-count\">3</span>"),
        "{}",
        history.body
    );

    let photo = browser.get("/photos/i-damaged/p1").await;
    assert_eq!(photo.status, StatusCode::OK);
    assert_eq!(photo.headers["content-type"], "image/jpeg");
    let bytes = reqwest::Client::new()
        .get(format!("{}/photos/i-damaged/p1", office.url))
        .header(
            "cookie",
            format!("omni_session={}", browser.session().unwrap()),
        )
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.as_ref(), jpeg(1).as_slice());
    for missing in [
        "/inspections/nope",
        "/inspections/..%2Fetc",
        "/photos/i-damaged/p9",
        "/photos/i-damaged/..%2F..%2Foffice.sqlite3",
        "/containers/NOTACONTAINER",
    ] {
        let page = browser.get(missing).await;
        assert_eq!(
            page.status,
            StatusCode::NOT_FOUND,
            "{missing}: {}",
            page.body
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_speak_the_browsers_language() {
    let office = Office::start();
    let mut browser = Browser::new(&office);
    let english = browser.get("/login").await;
    assert!(english.body.contains("<html lang=\"en\">"));
    assert!(english.body.contains("Sign in"), "{}", english.body);
    let request = browser
        .http
        .get(format!("{}/login", office.url))
        .header("accept-language", "es-ES,es;q=0.9,en;q=0.5");
    let spanish = browser.send(request).await;
    assert!(spanish.body.contains("<html lang=\"es\">"));
    assert!(spanish.body.contains("Iniciar sesión"), "{}", spanish.body);
}

#[test]
fn users_add_and_list_refuse_bad_input_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = add_user(dir.path(), "ana", "reviewer", PASSWORD);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "added ana (reviewer)");
    for (name, role, password, expect) in [
        ("ana", "viewer", PASSWORD, "exists"),
        ("bob", "viewer", "short", "12 to 256"),
        ("Bob Smith", "viewer", PASSWORD, "user name"),
        ("bob", "admin", PASSWORD, "invalid value 'admin'"),
    ] {
        let (ok, out, err) = add_user(dir.path(), name, role, password);
        assert!(!ok && out.is_empty(), "{name}: {out}");
        assert!(err.contains(expect), "{name}: {err}");
        if role != "admin" {
            assert_eq!(err.trim().lines().count(), 1, "{err}");
        }
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_omni-office"))
        .args(["users", "list", "--json", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let users: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        users,
        serde_json::json!([{"name": "ana", "role": "reviewer"}])
    );
    // The password is stored as an argon2id hash, never as given.
    let db = std::fs::read(dir.path().join("accounts.sqlite3")).unwrap();
    assert!(!db.windows(PASSWORD.len()).any(|w| w == PASSWORD.as_bytes()));
    let conn = rusqlite::Connection::open(dir.path().join("accounts.sqlite3")).unwrap();
    let hash: String = conn
        .query_row(
            "SELECT password_hash FROM users WHERE name = 'ana'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
}
