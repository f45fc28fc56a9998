//! The web view in a real browser: Debian's Chromium, headless, driven through chromedriver
//! (WebDriver) against `omni-office serve`. A reviewer signs in, finds a container typed with
//! spaces, opens the inspection, sees as many boxes as the stored verdict has, switches
//! between the edge and the cloud verdict (CSS only), reviews the photo (changes a class,
//! draws a box by dragging on the photo: `static/review.js`), sees the stored review drawn
//! and its audit entry, reads a closed inspection's report (EIR) and signs out.
//! Screenshots go to a temporary directory, or to `docs/images/` with
//! `OMNI_UPDATE_SCREENSHOTS=1`.
//!
//! Needs `chromium` and `chromedriver` (`bash scripts/test.sh` installs them); fails without
//! them unless `OMNI_SKIP_BROWSER_TESTS=1`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use omni_e2e::needs;
use omni_office::store::Store;
use omni_office::store::embedded::EmbeddedStore;

use crate::web_common::{Office, PASSWORD, response};

/// Skips the browser tests.
const SKIP_BROWSER: &str = "OMNI_SKIP_BROWSER_TESTS";

/// `name` on the PATH.
fn on_path(name: &str) -> Result<PathBuf, String> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| format!("{name} is not on the PATH"))
}

/// chromedriver on a free port, killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    async fn start(chromedriver: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = reqwest::get(format!("{url}/status")).await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer in 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { child, url }
    }

    async fn browser(&self, chromium: &Path) -> Client {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,1000", "--lang=en-US"],
            }),
        );
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .unwrap()
    }
}

/// Where screenshots go.
fn screenshot_dir(temp: &Path) -> PathBuf {
    if needs::is_set("OMNI_UPDATE_SCREENSHOTS") {
        needs::workspace_root().join("docs/images")
    } else {
        temp.to_owned()
    }
}

async fn shoot(browser: &Client, dir: &Path, name: &str) {
    let png = browser.screenshot().await.unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{name}"
    );
    std::fs::write(dir.join(name), png).unwrap();
}

/// Waits (up to 10 s) until the browser is at `path` with a query containing `query`: a
/// click that submits a form returns before the next page is there.
async fn wait_for_page(browser: &Client, path: &str, query: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let url = browser.current_url().await.unwrap();
        if url.path() == path && url.query().unwrap_or("").contains(query) {
            let ready = browser.find(Locator::Css("main")).await.is_ok();
            if ready {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "still at {url}, not {path}?{query}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits (10 s at most) until the page shows an element `css` finds: a form that posts and
/// comes back to the same URL is done only when what it stored is on the page.
async fn wait_for_element(browser: &Client, css: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while browser.find(Locator::Css(css)).await.is_err() {
        assert!(Instant::now() < deadline, "no {css} on the page");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Clicks the element `css` finds.
async fn click(browser: &Client, css: &str) {
    let element = browser.find(Locator::Css(css)).await.unwrap();
    element.click().await.unwrap();
}

/// Picks `value` in the select `css` finds.
async fn select(browser: &Client, css: &str, value: &str) {
    let element = browser.find(Locator::Css(css)).await.unwrap();
    element.select_by_value(value).await.unwrap();
}

/// Scrolls `element` to `block` (`start`, `center`) of the window (WebDriver's own script,
/// not the page's).
async fn scroll_to(browser: &Client, element: &fantoccini::elements::Element, block: &str) {
    let args = vec![serde_json::to_value(element).unwrap(), block.into()];
    browser
        .execute("arguments[0].scrollIntoView({block: arguments[1]});", args)
        .await
        .unwrap();
}

async fn visible(browser: &Client, css: &str) -> Vec<bool> {
    let mut shown = Vec::new();
    for element in browser.find_all(Locator::Css(css)).await.unwrap() {
        shown.push(element.is_displayed().await.unwrap());
    }
    shown
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_finds_sees_switches_and_reviews_in_a_real_browser() {
    let tools = on_path("chromedriver").and_then(|d| {
        on_path("chromium")
            .or_else(|_| on_path("chromium-browser"))
            .map(|c| (d, c))
    });
    let Some((chromedriver, chromium)) = needs::require(
        tools,
        "chromium and chromedriver",
        "`bash scripts/test.sh` installs them (Debian: chromium, chromium-driver)",
        &[SKIP_BROWSER],
    ) else {
        return;
    };
    let office = Office::start();
    let phone = office.phone();
    // A phone's inspection of CSQU3054383: one 1600x1200 photo, an edge and a cloud verdict.
    let mut put = crate::common::inspection("CSQU3054383", 1_764_900_000_000, 1);
    put.inspector_id = "inspector-7".into();
    assert_eq!(phone.put_inspection("gate-in-1", &put).await.status, 201);
    let photo = std::fs::read(needs::workspace_root().join("samples/container-01.jpg")).unwrap();
    assert_eq!(
        phone
            .put_photo("gate-in-1", "p1", &photo, None)
            .await
            .status,
        201
    );
    let mut edge = response("omni-yolo11n-f16", &[(0, 0.81, 4.0, 6.0, 20.0, 22.0)]);
    let mut cloud = response(
        "omni-yolo11n",
        &[
            (0, 0.93, 4.0, 6.0, 21.0, 22.0),
            (2, 0.64, 38.0, 20.0, 58.0, 44.0),
        ],
    );
    for verdict in [&mut edge, &mut cloud] {
        // The boxes above are on a 64x48 grid; the verdicts say so, the page scales them.
        verdict["response"]["image"] = serde_json::json!({"width": 64, "height": 48});
    }
    let base = "/v1/inspections/gate-in-1/photos/p1/verdicts";
    assert_eq!(
        phone.put_json(&format!("{base}/edge"), &edge).await.status,
        201
    );
    assert_eq!(
        phone
            .put_json(&format!("{base}/cloud"), &cloud)
            .await
            .status,
        201
    );

    let temp = tempfile::tempdir().unwrap();
    let shots = screenshot_dir(temp.path());
    let driver = Driver::start(&chromedriver).await;
    let browser = driver.browser(&chromium).await;

    // Unsigned: the sign-in page.
    browser
        .goto(&format!("{}/inspections", office.url))
        .await
        .unwrap();
    assert_eq!(browser.current_url().await.unwrap().path(), "/login");
    shoot(&browser, &shots, "office-sign-in.png").await;
    for (field, value) in [("#login-user", "ana"), ("#login-password", PASSWORD)] {
        browser
            .find(Locator::Css(field))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    click(&browser, "#login-submit").await;
    wait_for_page(&browser, "/inspections", "").await;
    let user = browser.find(Locator::Css("#user")).await.unwrap();
    assert_eq!(user.text().await.unwrap(), "ana");

    // Find the container as a clerk types it.
    browser
        .find(Locator::Css("#f-container"))
        .await
        .unwrap()
        .send_keys("csqu 305438 3")
        .await
        .unwrap();
    click(&browser, "#f-search").await;
    wait_for_page(&browser, "/inspections", "container=csqu").await;
    let rows = browser
        .find_all(Locator::Css("tr.inspection"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "{}", browser.source().await.unwrap());
    shoot(&browser, &shots, "office-list.png").await;

    // The container's history: each visit's photos as thumbnails made at upload, loaded
    // (the 320 px JPEG, not the original), never an original.
    click(&browser, "tr.inspection a.container").await;
    wait_for_page(&browser, "/containers/CSQU3054383", "").await;
    let thumbs = browser.find_all(Locator::Css("img")).await.unwrap();
    assert_eq!(thumbs.len(), 1, "{}", browser.source().await.unwrap());
    let src = thumbs[0].attr("src").await.unwrap().unwrap_or_default();
    assert_eq!(src, "/thumbs/gate-in-1/p1");
    let loaded = browser
        .execute(
            "const i = document.querySelector('img.thumb'); \
             return [i.complete, i.naturalWidth, i.naturalHeight];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(loaded, serde_json::json!([true, 320, 240]), "{src}");
    shoot(&browser, &shots, "office-container.png").await;
    browser.back().await.unwrap();
    wait_for_page(&browser, "/inspections", "container=csqu").await;
    click(&browser, "tr.inspection td a").await;
    wait_for_page(&browser, "/inspections/gate-in-1", "").await;

    // The cloud verdict first: its 2 boxes shown, the edge's hidden.
    assert_eq!(
        visible(&browser, "svg.layer-cloud rect").await,
        [true, true]
    );
    assert_eq!(visible(&browser, "svg.layer-edge rect").await, [false]);
    let image = browser.find(Locator::Css(".frame img")).await.unwrap();
    // Loaded: a 1600x1200 photo drawn at the page's width keeps its 4:3 shape (a broken
    // image is a small icon).
    let (_, _, width, height) = image.rectangle().await.unwrap();
    assert!(
        width > 600.0 && (width / height - 4.0 / 3.0).abs() < 0.02,
        "{width}x{height}"
    );
    shoot(&browser, &shots, "office-inspection.png").await;
    // Switch to the edge verdict (a label click, no script).
    click(&browser, "label[for=\"edge-p1\"]").await;
    assert_eq!(visible(&browser, "svg.layer-edge rect").await, [true]);
    assert_eq!(
        visible(&browser, "svg.layer-cloud rect").await,
        [false, false]
    );
    let about = browser.find(Locator::Css(".about-edge")).await.unwrap();
    assert!(
        about.text().await.unwrap().contains("omni-yolo11n-f16"),
        "the edge model is named"
    );

    // Review: box 1 (dent) becomes rust, and a box the models missed is drawn by dragging
    // on the photo (static/review.js fills the add-a-box fields with fractions).
    select(&browser, "#class-p1-0", "2").await;
    let image = browser.find(Locator::Css(".frame img")).await.unwrap();
    scroll_to(&browser, &image, "center").await;
    let (_, _, width, height) = image.rectangle().await.unwrap();
    // From (20%, 50%) to (45%, 80%) of the photo; offsets are from the image's centre.
    let drag = MouseActions::new("reviewer".into())
        .then(PointerAction::MoveToElement {
            element: image.clone(),
            duration: None,
            x: -0.3 * width,
            y: 0.0,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::MoveBy {
            duration: Some(Duration::from_millis(100)),
            x: 0.1 * width,
            y: 0.1 * height,
        })
        .then(PointerAction::MoveBy {
            duration: Some(Duration::from_millis(100)),
            x: 0.15 * width,
            y: 0.2 * height,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    browser.perform_actions(drag).await.unwrap();
    let mut drawn = Vec::new();
    for field in ["x1", "y1", "x2", "y2"] {
        let input = browser
            .find(Locator::Css(&format!("#new-{field}-p1")))
            .await
            .unwrap();
        let value = input.prop("value").await.unwrap().unwrap_or_default();
        drawn.push(value.parse::<f32>().unwrap_or(f32::NAN));
    }
    for (got, want) in drawn.iter().zip([0.2, 0.5, 0.45, 0.8]) {
        assert!((got - want).abs() < 0.02, "review.js filled {drawn:?}");
    }
    assert_eq!(
        visible(&browser, "svg.draft").await,
        [true],
        "the draft box"
    );
    select(&browser, "#new-class-p1", "3").await;
    click(&browser, "#save-p1").await;
    // The review posts and comes back to this same page: done when its audit entry shows.
    wait_for_element(&browser, ".audit-entry").await;
    wait_for_page(&browser, "/inspections/gate-in-1", "").await;
    // The stored review: the cloud's 2 boxes (one reclassified) and the drawn one, drawn on
    // the review layer, shown first.
    let store = EmbeddedStore::open(office.dir()).unwrap();
    let reviews = store.reviews("gate-in-1").await.unwrap();
    assert_eq!(reviews.len(), 1, "{reviews:?}");
    let review = &reviews[0];
    assert_eq!(review.reviewer, "ana");
    let classes: Vec<u32> = review.boxes.iter().map(|b| b.class_id).collect();
    assert_eq!(classes, [2, 2, 3]);
    let shown = visible(&browser, "svg.layer-review rect").await;
    assert_eq!(shown, vec![true; review.boxes.len()]);
    let entry = browser.find(Locator::Css(".audit-entry")).await.unwrap();
    let words = entry.text().await.unwrap();
    for want in [
        "ana",
        "box 1: dent → rust",
        "box 2 accepted (rust)",
        "drew a scratch box",
    ] {
        assert!(words.contains(want), "{want}: {words}");
    }
    // Tall enough for the photo, its review form and the audit log in one picture.
    browser.set_window_size(1280, 2000).await.unwrap();
    let section = browser.find(Locator::Css("#photo-p1")).await.unwrap();
    scroll_to(&browser, &section, "start").await;
    shoot(&browser, &shots, "office-review.png").await;

    // A closed inspection's report (EIR): its damage lines in the table, the PDF linked.
    crate::web_report::closed_with_damage(&office.phone(), "i-eir").await;
    browser
        .goto(&format!("{}/inspections/i-eir", office.url))
        .await
        .unwrap();
    assert_eq!(visible(&browser, "tr.eir-line").await, [true; 3]);
    assert_eq!(visible(&browser, "#report-pdf").await, [true]);
    browser.set_window_size(1280, 1100).await.unwrap();
    let report = browser.find(Locator::Css("#report")).await.unwrap();
    scroll_to(&browser, &report, "start").await;
    shoot(&browser, &shots, "office-report.png").await;

    // Sign out: back to the sign-in page, and the list is gone.
    click(&browser, "#sign-out").await;
    wait_for_page(&browser, "/login", "").await;
    browser
        .goto(&format!("{}/inspections/gate-in-1", office.url))
        .await
        .unwrap();
    assert_eq!(browser.current_url().await.unwrap().path(), "/login");
    browser.close().await.unwrap();
}
