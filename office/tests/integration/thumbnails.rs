//! Thumbnails made once at upload, through the real servers: `omni-office serve` on the
//! embedded store (the API's photo PUT, then `/thumbs/...` and the container page as a
//! signed-in person, the store checked beside the server) and the Lambda on DynamoDB + S3
//! (moto), the thumbnail read back from S3.

use omni_office::store::Store;
use omni_office::store::embedded::EmbeddedStore;
use omni_office::web::CSP;
use omni_office::wire::Photo;
use reqwest::StatusCode;

use crate::common::{CONTAINER, Client, inspection, photo_record};
use crate::web_common::{Browser, Office, PASSWORD};

/// A landscape, a portrait and a small photo, as (photo id, width, height).
const PHOTOS: [(&str, u32, u32); 3] = [("land", 1600, 1200), ("port", 900, 1600), ("tiny", 64, 48)];

/// The bytes of a photo of `PHOTOS`.
fn photo_bytes(width: u32, height: u32) -> Vec<u8> {
    omni_e2e::jpeg(width, height, width + height)
}

/// A JPEG whose header reads (the upload accepts it) but whose data is cut off: it does not
/// decode, so it gets no thumbnail.
fn broken_jpeg() -> Vec<u8> {
    let bytes = omni_e2e::jpeg(1600, 1200, 5);
    bytes[..bytes.len() / 2].to_vec()
}

/// Checks that `thumbnail` is a JPEG of a `width`×`height` photo: long side at most 320 px
/// (the photo's own when smaller), the photo's aspect within rounding.
fn assert_thumbnail_of(thumbnail: &[u8], width: u32, height: u32) {
    let decoded = omni_photo::decode::decode_oriented(thumbnail).unwrap();
    let (tw, th) = decoded.dimensions();
    assert_eq!(tw.max(th), width.max(height).min(320), "{tw}×{th}");
    let skew = (i64::from(tw) * i64::from(height) - i64::from(th) * i64::from(width)).abs();
    assert!(
        skew <= i64::from(width.max(height)),
        "{tw}×{th} is not the aspect of {width}×{height}"
    );
}

/// A signed-in GET's status, content type, Cache-Control and body bytes.
async fn fetch(browser: &Browser, path: &str) -> (StatusCode, String, String, Vec<u8>) {
    let request = browser.with_cookies(browser.http.get(format!("{}{path}", browser.base)));
    let response = request.send().await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (content_type, cache) = (header("content-type"), header("cache-control"));
    assert_eq!(header("content-security-policy"), CSP, "{path}");
    let status = response.status();
    (
        status,
        content_type,
        cache,
        response.bytes().await.unwrap().to_vec(),
    )
}

/// `omni-office serve` holding inspection `i-1`, and a phone's client to it.
async fn office_with_inspection() -> (Office, Client) {
    let office = Office::start();
    let phone = office.phone();
    let put = phone
        .put_inspection("i-1", &inspection(CONTAINER, 1_764_900_000_000, 1))
        .await;
    assert_eq!(put.status, 201, "{put:?}");
    (office, phone)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_make_thumbnails_and_the_container_page_shows_only_them() {
    let (office, phone) = office_with_inspection().await;
    let mut records: Vec<(Photo, u32, u32)> = Vec::new();
    for (n, (id, width, height)) in PHOTOS.into_iter().enumerate() {
        let bytes = photo_bytes(width, height);
        let answer = phone.put_photo("i-1", id, &bytes, None).await;
        assert_eq!(answer.status, 201, "{answer:?}");
        let record = photo_record("i-1", id, &bytes, n as i64);
        records.push((record, width, height));
    }
    // Not an image the decoders read: the upload still succeeds, without a thumbnail.
    let broken = broken_jpeg();
    let answer = phone.put_photo("i-1", "broken", &broken, None).await;
    assert_eq!(answer.status, 201, "{answer:?}");
    assert_eq!(answer.json()["photo"]["size_bytes"], broken.len());

    // Nobody signed in: the thumbnail route sends to sign-in.
    let mut browser = Browser::new(&office);
    let unsigned = browser.get("/thumbs/i-1/land").await;
    assert_eq!(unsigned.status, StatusCode::SEE_OTHER);
    assert_eq!(unsigned.location(), "/login");

    browser.sign_in("luis", PASSWORD).await;
    let store = EmbeddedStore::open(office.dir()).unwrap();
    for (record, width, height) in &records {
        let path = format!("/thumbs/i-1/{}", record.id);
        let (status, content_type, cache, body) = fetch(&browser, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(content_type, "image/jpeg");
        assert_eq!(cache, "private, max-age=3600");
        assert_thumbnail_of(&body, *width, *height);
        // What the page serves is what the store holds beside the photo, made once.
        let stored = store.thumbnail_bytes(record).await.unwrap();
        assert_eq!(stored.as_deref(), Some(body.as_slice()));
    }
    let (status, content_type, _, body) = fetch(&browser, "/thumbs/i-1/broken").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(body.len() < broken.len() / 4, "never the original");
    for missing in ["/thumbs/i-1/nope", "/thumbs/i-1/..%2F..%2Foffice.sqlite3"] {
        assert_eq!(fetch(&browser, missing).await.0, StatusCode::NOT_FOUND);
    }

    // The container page: one thumbnail per photo, never an original.
    let page = browser.get(&format!("/containers/{CONTAINER}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let sources: Vec<&str> = page
        .body
        .split("<img ")
        .skip(1)
        .map(|tag| {
            let at = tag.find("src=\"").unwrap() + 5;
            &tag[at..at + tag[at..].find('"').unwrap()]
        })
        .collect();
    let ids = ["land", "port", "tiny", "broken"];
    let expected: Vec<String> = ids.iter().map(|id| format!("/thumbs/i-1/{id}")).collect();
    assert_eq!(sources, expected, "{}", page.body);
    assert!(!page.body.contains("/photos/"), "{}", page.body);
    // Where there is no thumbnail, the image's text says which photo it is.
    assert!(
        page.body.contains("alt=\"Photo broken (X)\""),
        "{}",
        page.body
    );
}

/// Photo files by name in the embedded store's `photos/` folder.
fn photo_files(office: &Office) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(office.dir().join("photos"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_upload_makes_the_thumbnail_a_stopped_one_did_not() {
    let (office, phone) = office_with_inspection().await;
    let bytes = photo_bytes(1600, 1200);
    let first = phone.put_photo("i-1", "land", &bytes, None).await;
    assert_eq!(first.status, 201, "{first:?}");
    let record = photo_record("i-1", "land", &bytes, 0);
    let store = EmbeddedStore::open(office.dir()).unwrap();
    let made = store.thumbnail_bytes(&record).await.unwrap().unwrap();

    // The upload stopped after storing the photo, before its thumbnail (a crash): the phone
    // got no answer and sends the photo again.
    let thumb = format!("land.{}.thumb.jpg", record.sha256);
    let thumb_path = office.dir().join("photos").join(&thumb);
    std::fs::remove_file(&thumb_path).unwrap();
    assert_eq!(store.thumbnail_bytes(&record).await.unwrap(), None);
    let files = photo_files(&office);
    let again = phone.put_photo("i-1", "land", &bytes, None).await;
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(again.json()["created"], false);
    assert_eq!(store.thumbnail_bytes(&record).await.unwrap(), Some(made));
    let mut expected = files.clone();
    expected.push(thumb);
    expected.sort();
    assert_eq!(
        photo_files(&office),
        expected,
        "only the thumbnail was written"
    );

    // With the thumbnail there, a repeat writes nothing.
    let modified = std::fs::metadata(&thumb_path).unwrap().modified().unwrap();
    let third = phone.put_photo("i-1", "land", &bytes, None).await;
    assert_eq!(third.status, 200, "{third:?}");
    assert_eq!(photo_files(&office), expected);
    let after = std::fs::metadata(&thumb_path).unwrap().modified().unwrap();
    assert_eq!(after, modified, "the stored thumbnail stands");
}

#[cfg(feature = "lambda")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_makes_thumbnails_on_s3() {
    use crate::lambda::{Lambda, event, status};
    use omni_office::wire::PHOTO_SHA256_HEADER;
    use sha2::{Digest, Sha256};

    let Some((moto, mut lambda, _, _)) = Lambda::on_moto("lambda-thumbs").await else {
        return;
    };
    let put = serde_json::to_vec(&inspection(CONTAINER, 1_700_000_000_000, 1)).unwrap();
    let created = lambda
        .invoke(event(
            "PUT",
            "/v1/inspections/i-1",
            &[("content-type", "application/json")],
            Some(&put),
        ))
        .await;
    assert_eq!(status(&created), 201, "{created}");
    let store = crate::aws::open_store(&moto, "lambda-thumbs");
    let (_, width, height) = PHOTOS[1];
    for (id, bytes) in [
        ("port", photo_bytes(width, height)),
        ("broken", broken_jpeg()),
    ] {
        let sha = hex::encode(Sha256::digest(&bytes));
        let headers = [
            ("content-type", "image/jpeg"),
            (PHOTO_SHA256_HEADER, sha.as_str()),
        ];
        let path = format!("/v1/inspections/i-1/photos/{id}");
        let uploaded = lambda
            .invoke(event("PUT", &path, &headers, Some(&bytes)))
            .await;
        assert_eq!(status(&uploaded), 201, "{uploaded}");
        let record = store.photo("i-1", id).await.unwrap().unwrap().photo;
        let thumbnail = store.thumbnail_bytes(&record).await.unwrap();
        match id {
            "port" => assert_thumbnail_of(&thumbnail.unwrap(), width, height),
            _ => assert_eq!(thumbnail, None, "a photo that does not decode has none"),
        }
        // The photo itself is stored untouched either way.
        assert_eq!(store.photo_bytes(&record).await.unwrap(), bytes);
    }
}
