//! A photo's bytes and its thumbnail, for signed-in people only (phones use the API's
//! signed URLs): `/photos/{id}/{photo_id}` (the original, on the inspection page) and
//! `/thumbs/{id}/{photo_id}` (the thumbnail made at upload, on the container page; 404 when
//! none was made, never the original).

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::pages::{failure, message};
use super::{SignedIn, Web};

/// Which image of a photo.
#[derive(Clone, Copy)]
enum Size {
    /// The photo's own bytes.
    Original,
    /// The thumbnail made at upload.
    Thumbnail,
}

pub(super) async fn photo(
    State(web): State<Web>,
    signed: SignedIn,
    Path(ids): Path<(String, String)>,
) -> Response {
    image_of(&web, &signed, ids, Size::Original).await
}

pub(super) async fn thumbnail(
    State(web): State<Web>,
    signed: SignedIn,
    Path(ids): Path<(String, String)>,
) -> Response {
    image_of(&web, &signed, ids, Size::Thumbnail).await
}

/// The image of the photo the path names; 404 for a bad or unknown id, and for a photo
/// without a thumbnail (never the original in its place).
async fn image_of(
    web: &Web,
    signed: &SignedIn,
    (id, photo_id): (String, String),
    size: Size,
) -> Response {
    let t = signed.t;
    let valid = crate::validate::id("inspection id", &id).is_ok()
        && crate::validate::id("photo id", &photo_id).is_ok();
    let stored = match valid {
        true => web.store.photo(&id, &photo_id).await,
        false => Ok(None),
    };
    let photo = match stored {
        Ok(Some(p)) => p.photo,
        Ok(None) => return message(signed, StatusCode::NOT_FOUND, t.not_found),
        Err(e) => return failure(t, &e.to_string()),
    };
    let (content_type, bytes) = match size {
        Size::Original => {
            // Only the image types phones upload are served as such.
            let content_type = match photo.content_type.as_str() {
                "image/jpeg" => "image/jpeg",
                "image/png" => "image/png",
                _ => "application/octet-stream",
            };
            (content_type, web.store.photo_bytes(&photo).await.map(Some))
        }
        // The office made it: always a JPEG.
        Size::Thumbnail => ("image/jpeg", web.store.thumbnail_bytes(&photo).await),
    };
    match bytes {
        Ok(Some(bytes)) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "private, max-age=3600"),
            ],
            bytes,
        )
            .into_response(),
        Ok(None) => message(signed, StatusCode::NOT_FOUND, t.no_thumbnail),
        Err(e) => failure(t, &e.to_string()),
    }
}
