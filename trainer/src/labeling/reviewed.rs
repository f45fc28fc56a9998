//! `labeling import-reviewed`: the office's reviews as labels, without a labeling tool.
//!
//! A person reviews a photo in the office's web view (accepts, reclassifies, deletes or draws
//! boxes) and marks the inspection reviewed. From then on the photo's latest review is its
//! ground truth: this import reads, from the inspections marked reviewed (optionally created
//! in a time range), every photo with at least one review, and writes the photo and its
//! latest review's boxes as a YOLO label (a review without boxes is an explicit negative: an
//! empty label file) into a labelled pool (`images/` + `labels/`) that `dataset merge`
//! takes. The pool's `batch.json` records where each image came from (the office, its
//! inspection, the review's reviewer and revision), so `dataset merge POOL --from-batch POOL`
//! keeps that record in `dataset.json`.
//!
//! Left out, and counted: photos with reviews in inspections nobody marked reviewed yet
//! (the review may be unfinished), photos of marked inspections without a review, and
//! photos whose latest review fails [`Review::validate`] or whose bytes are not the photo
//! the office recorded (each with its reason). The pool is written aside and moved into
//! place only when the whole import succeeded; an import that finds nothing writes nothing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use omni_office::store::{ListQuery, StoreError};
use omni_office::wire::{InspectionSummary, Photo, Review};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::batch::{
    BATCH_FORMAT, BATCH_JSON, Batch, BatchPhoto, ReviewedBy, decode_oriented, new_folder_name,
};
use super::select::SelectOptions;
use super::source::{OfficeSource, PhotoSource, office_record};
use super::{phash, write_json};
use crate::Progress;
use crate::dataset::labels::LabelLine;
use crate::dataset::staging::Staging;
use crate::dataset::{DAMAGE_CLASSES, create_dir, hex};
use crate::error::{Result, TrainerError};

/// What to import.
#[derive(Clone, Copy, Debug)]
pub struct ReviewedOptions<'a> {
    /// Only inspections created at or after this time, ms since the epoch.
    pub since_ms: Option<i64>,
    /// Only inspections created before this time, ms since the epoch.
    pub until_ms: Option<i64>,
    /// The pool to write (must not exist).
    pub out: &'a Path,
    /// Now (RFC 3339), for `batch.json`.
    pub created_at: &'a str,
}

/// A photo left out, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SkippedPhoto {
    /// Its inspection.
    pub inspection_id: String,
    /// The photo.
    pub photo_id: String,
    /// Its latest review's revision (the one refused).
    pub revision: u64,
    /// Why.
    pub reason: String,
}

/// What an import wrote.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReviewedImport {
    /// The pool written (`images/`, `labels/`, `batch.json`).
    pub out: PathBuf,
    /// The office read.
    pub source: String,
    /// Inspections marked reviewed that were read.
    pub inspections: u64,
    /// Photos imported.
    pub images: usize,
    /// Of which reviewed without damage (empty label files).
    pub negatives: usize,
    /// Boxes imported per class name.
    pub boxes: BTreeMap<String, u64>,
    /// Photos with reviews in inspections not marked reviewed (left out).
    pub not_marked_reviewed: u64,
    /// Photos of marked inspections without a review (left out).
    pub without_review: u64,
    /// Photos left out with a reason (invalid latest review, bytes not the photo's).
    pub skipped: Vec<SkippedPhoto>,
}

/// A photo to import: its inspection, record and latest review.
struct Planned {
    summary: InspectionSummary,
    photo: Photo,
    review: Review,
}

/// The latest review (highest revision) of each photo in `reviews`.
fn latest_reviews(reviews: Vec<Review>) -> BTreeMap<String, Review> {
    let mut latest: BTreeMap<String, Review> = BTreeMap::new();
    for review in reviews {
        match latest.get(&review.photo_id) {
            Some(kept) if kept.revision >= review.revision => {}
            _ => {
                latest.insert(review.photo_id.clone(), review);
            }
        }
    }
    latest
}

/// The YOLO lines of a valid review's boxes.
fn review_lines(review: &Review) -> std::result::Result<Vec<LabelLine>, String> {
    review.validate().map_err(|e| e.to_string())?;
    review
        .boxes
        .iter()
        .map(|b| {
            let line = LabelLine::from_corners(b.class_id, [b.x1, b.y1, b.x2, b.y2]);
            line.check(DAMAGE_CLASSES.len())
                .map(|()| line)
                .map_err(|e| format!("box {b:?}: {e}"))
        })
        .collect()
}

/// Why a photo cannot be planned, if it cannot.
fn refusal(summary: &InspectionSummary, review: &Review) -> Option<String> {
    if review.inspection_id != summary.inspection.id {
        return Some(format!(
            "the review names inspection {:?}",
            review.inspection_id
        ));
    }
    // The photo id names the pool's files.
    if let Err(e) = omni_office::validate::id("photo id", &review.photo_id) {
        return Some(e.message);
    }
    review_lines(review)
        .err()
        .map(|e| format!("review revision {} is invalid: {e}", review.revision))
}

/// Lists what the import takes: the marked inspections' photos with reviews, their latest
/// review checked; counts what it leaves out.
fn plan(
    source: &OfficeSource,
    filter: &ListQuery,
    result: &mut ReviewedImport,
) -> Result<Vec<Planned>> {
    let store = source.store();
    let mut planned = Vec::new();
    let marked = ListQuery {
        reviewed: Some(true),
        ..filter.clone()
    };
    source.inspections(&marked, &mut |summary| {
        result.inspections += 1;
        let id = &summary.inspection.id;
        let (photos, reviews) = source.block_on(async {
            Ok::<_, StoreError>((store.photos(id).await?, store.reviews(id).await?))
        })?;
        let mut latest = latest_reviews(reviews);
        for stored in photos {
            let Some(review) = latest.remove(&stored.photo.id) else {
                result.without_review += 1;
                continue;
            };
            match refusal(summary, &review) {
                Some(reason) => result.skipped.push(SkippedPhoto {
                    inspection_id: id.clone(),
                    photo_id: review.photo_id,
                    revision: review.revision,
                    reason,
                }),
                None => planned.push(Planned {
                    summary: summary.clone(),
                    photo: stored.photo,
                    review,
                }),
            }
        }
        // Reviews of photos the inspection does not hold.
        for (photo_id, review) in latest {
            result.skipped.push(SkippedPhoto {
                inspection_id: id.clone(),
                photo_id,
                revision: review.revision,
                reason: "the inspection holds no such photo".into(),
            });
        }
        Ok(())
    })?;
    let unmarked = ListQuery {
        reviewed: Some(false),
        ..filter.clone()
    };
    source.inspections(&unmarked, &mut |summary| {
        let reviews = source.block_on(store.reviews(&summary.inspection.id))?;
        let photos: HashSet<&str> = reviews.iter().map(|r| r.photo_id.as_str()).collect();
        result.not_marked_reviewed += photos.len() as u64;
        Ok(())
    })?;
    Ok(planned)
}

/// Imports the reviewed photos of `source` into the pool `options.out` (refused when it
/// exists). `progress` is told `(photos written, photos to write)`.
pub fn import(
    source: &OfficeSource,
    options: ReviewedOptions<'_>,
    progress: &Progress<'_>,
) -> Result<ReviewedImport> {
    let out = options.out;
    let name = new_folder_name(out, "a pool")?;
    if let (Some(since), Some(until)) = (options.since_ms, options.until_ms)
        && since >= until
    {
        return Err(TrainerError::Input(
            "--since must be before --until; nothing imported".into(),
        ));
    }
    let mut result = ReviewedImport {
        out: out.to_owned(),
        source: source.describe(),
        inspections: 0,
        images: 0,
        negatives: 0,
        boxes: DAMAGE_CLASSES
            .iter()
            .map(|c| ((*c).to_owned(), 0))
            .collect(),
        not_marked_reviewed: 0,
        without_review: 0,
        skipped: Vec::new(),
    };
    let filter = ListQuery {
        since_ms: options.since_ms,
        until_ms: options.until_ms,
        ..ListQuery::default()
    };
    let planned = plan(source, &filter, &mut result)?;
    let total = planned.len() as u64;
    progress(0, total);
    let staging = Staging::new(out)?;
    let (images, labels) = (staging.path().join("images"), staging.path().join("labels"));
    create_dir(&images)?;
    create_dir(&labels)?;
    let store = source.store();
    let mut photos = Vec::with_capacity(planned.len());
    let mut files: HashMap<String, String> = HashMap::new();
    for (done, p) in planned.into_iter().enumerate() {
        let record = office_record(&p.summary.inspection, &p.photo);
        let file = record.file_name();
        let skip = |reason: String| SkippedPhoto {
            inspection_id: record.inspection_id.clone(),
            photo_id: record.photo_id.clone(),
            revision: p.review.revision,
            reason,
        };
        if let Some(other) = files.get(&file) {
            result.skipped.push(skip(format!(
                "inspection {other} has a photo with the same id (the pool names files by photo id)"
            )));
            continue;
        }
        let bytes = source.block_on(store.photo_bytes(&p.photo))?;
        let sha = hex(&Sha256::digest(&bytes));
        if sha != record.sha256 {
            result.skipped.push(skip(format!(
                "the stored bytes' SHA-256 is {sha}, the photo's record says {}",
                record.sha256
            )));
            continue;
        }
        let image = match decode_oriented(&bytes) {
            Ok(image) => image,
            Err(e) => {
                result
                    .skipped
                    .push(skip(format!("the photo does not decode: {e}")));
                continue;
            }
        };
        // Checked by `plan`.
        let lines = review_lines(&p.review).map_err(TrainerError::Input)?;
        let path = images.join(&file);
        std::fs::write(&path, &bytes).map_err(TrainerError::io(&path))?;
        let label = labels.join(format!("{}.txt", record.photo_id));
        let body: String = lines.iter().map(|l| l.to_line() + "\n").collect();
        std::fs::write(&label, body).map_err(TrainerError::io(&label))?;
        result.images += 1;
        if lines.is_empty() {
            result.negatives += 1;
        }
        for line in &lines {
            if let Some(count) = DAMAGE_CLASSES
                .get(line.class_id as usize)
                .and_then(|c| result.boxes.get_mut(*c))
            {
                *count += 1;
            }
        }
        files.insert(file.clone(), record.inspection_id.clone());
        photos.push(BatchPhoto {
            file,
            photo_id: record.photo_id,
            inspection_id: record.inspection_id,
            container: record.container,
            taken_at_ms: record.taken_at_ms,
            sha256: sha,
            width: image.width(),
            height: image.height(),
            dhash: format!("{:016x}", phash::dhash(&image)),
            reasons: Vec::new(),
            edge: None,
            cloud: None,
            review: Some(ReviewedBy {
                reviewer: p.review.reviewer,
                revision: p.review.revision,
                reviewed_at_ms: p.review.reviewed_at_ms,
                marked_by: p.summary.reviewed_by,
            }),
        });
        progress(done as u64 + 1, total);
    }
    if photos.is_empty() {
        return Err(TrainerError::Input(format!(
            "{}: no reviewed photos to import ({} inspections marked reviewed, {} photos with reviews in inspections not marked reviewed, {} photos skipped); nothing imported",
            result.source,
            result.inspections,
            result.not_marked_reviewed,
            result.skipped.len()
        )));
    }
    let batch = Batch {
        format: BATCH_FORMAT,
        name,
        created_at: options.created_at.to_owned(),
        source: result.source.clone(),
        options: SelectOptions {
            strategies: Vec::new(),
            max: photos.len(),
            ..SelectOptions::default()
        },
        scanned: photos.len() as u64 + result.without_review + result.skipped.len() as u64,
        skipped_known: 0,
        candidates: BTreeMap::new(),
        thinned: Vec::new(),
        photos,
    };
    write_json(&staging.path().join(BATCH_JSON), &batch)?;
    staging.commit()?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use omni_office::wire::{ReviewBox, ReviewChange};

    use super::*;

    fn review(photo: &str, revision: u64, boxes: Vec<ReviewBox>) -> Review {
        Review {
            inspection_id: "i".into(),
            photo_id: photo.into(),
            revision,
            reviewer: "ana".into(),
            reviewed_at_ms: revision as i64,
            based_on: None,
            changes: boxes
                .iter()
                .map(|b| ReviewChange::Drawn {
                    class_id: b.class_id,
                })
                .collect(),
            boxes,
        }
    }

    const RUST: ReviewBox = ReviewBox {
        class_id: 2,
        x1: 0.1,
        y1: 0.2,
        x2: 0.5,
        y2: 0.6,
    };

    #[test]
    fn the_latest_revision_of_each_photo_wins() {
        let latest = latest_reviews(vec![
            review("a", 2, vec![]),
            review("b", 1, vec![RUST]),
            review("a", 1, vec![RUST]),
            review("a", 3, vec![RUST, RUST]),
        ]);
        assert_eq!(latest["a"].revision, 3);
        assert_eq!(latest["b"].revision, 1);
        assert_eq!(latest.len(), 2);
    }

    #[test]
    fn boxes_become_centre_lines_and_bad_reviews_are_refused() {
        let lines = review_lines(&review("a", 1, vec![RUST])).unwrap();
        assert_eq!(lines.len(), 1);
        let l = lines[0];
        assert_eq!(l.class_id, 2);
        for (got, want) in [(l.cx, 0.3), (l.cy, 0.4), (l.w, 0.4), (l.h, 0.4)] {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
        assert!(review_lines(&review("a", 1, vec![])).unwrap().is_empty());
        let mut bad = review("a", 1, vec![RUST]);
        bad.boxes[0].x2 = 1.5;
        assert!(review_lines(&bad).unwrap_err().contains("[0, 1]"));
    }
}
