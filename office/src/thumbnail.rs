//! Thumbnails, made once at upload: the photo's long side brought to
//! [`THUMBNAIL_LONG_SIDE`] px, JPEG ([`omni_photo::scale::thumbnail`], the EXIF orientation
//! applied), stored beside the photo ([`Store::put_thumbnail`]). A repeated upload of a
//! stored photo makes it when it is [`missing`] (the first upload stopped between the two).
//! The list of a container's visits shows them, never the originals. Best effort: a photo
//! that does not decode gets none (the pages say so), and neither that nor a store failure
//! fails the upload.

use axum::body::Bytes;
use omni_photo::scale::ScaledJpeg;
pub use omni_photo::scale::THUMBNAIL_LONG_SIDE;

use crate::store::Store;
use crate::wire::Photo;

/// Makes `photo`'s thumbnail from its `bytes` (on the blocking pool: decoding is CPU work)
/// and stores it. A failure is printed, never returned.
pub async fn make(store: &dyn Store, photo: &Photo, bytes: Bytes) {
    let made = tokio::task::spawn_blocking(move || omni_photo::scale::thumbnail(&bytes)).await;
    // Not an image the decoders read: the photo is evidence all the same, without a thumbnail.
    let Ok(Ok(ScaledJpeg { bytes: jpeg, .. })) = made else {
        return;
    };
    if let Err(e) = store.put_thumbnail(photo, &jpeg).await {
        eprintln!(
            "omni-office: the thumbnail of photo {} of inspection {} was not stored: {e}",
            photo.id, photo.inspection_id
        );
    }
}

/// Whether a stored photo has no thumbnail. A read failure counts as present: the upload is
/// not the place to retry the store.
pub async fn missing(store: &dyn Store, photo: &Photo) -> bool {
    matches!(store.thumbnail_bytes(photo).await, Ok(None))
}
