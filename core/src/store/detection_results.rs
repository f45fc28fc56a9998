//! Rows of `detection_results` and their `detections`.

use rusqlite::{Transaction, params};

use super::StoreError;
use crate::detections::{
    BoundingBox, Detection, DetectionResult, DetectionSource, Detections, ModelIdentity,
};
use crate::inspection::PhotoId;
use omni_protocol::timestamp::Timestamp;

/// Stores `result` unless the same model already has a result of the same source for the
/// photo; returns whether it was inserted. Re-running a model is therefore idempotent.
pub fn insert(tx: &Transaction<'_>, result: &DetectionResult) -> Result<bool, StoreError> {
    let d = &result.detections;
    let inserted = tx.execute(
        "INSERT INTO detection_results (photo_id, source, model_name, model_version, \
         model_sha256, inference_ms, image_width, image_height, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
         ON CONFLICT (photo_id, source, model_sha256) DO NOTHING",
        params![
            result.photo_id.to_string(),
            d.source.as_str(),
            d.model.name,
            d.model.version,
            d.model.sha256,
            d.inference_ms,
            d.image_width,
            d.image_height,
            result.created_at.as_millis(),
        ],
    )?;
    if inserted == 0 {
        return Ok(false);
    }
    let result_id = tx.last_insert_rowid();
    let mut stmt = tx.prepare_cached(
        "INSERT INTO detections (result_id, ordinal, class_id, label, score, x1, y1, x2, y2) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for (ordinal, det) in d.detections.iter().enumerate() {
        stmt.execute(params![
            result_id,
            ordinal,
            det.class_id,
            det.label,
            det.score,
            det.bbox.x1,
            det.bbox.y1,
            det.bbox.x2,
            det.bbox.y2,
        ])?;
    }
    Ok(true)
}

/// Whether a result of `source` by the model with `model_sha256` is stored for the photo.
pub fn exists(
    tx: &Transaction<'_>,
    photo: PhotoId,
    source: DetectionSource,
    model_sha256: &str,
) -> Result<bool, StoreError> {
    Ok(tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM detection_results \
         WHERE photo_id = ?1 AND source = ?2 AND model_sha256 = ?3)",
        params![photo.to_string(), source.as_str(), model_sha256],
        |row| row.get(0),
    )?)
}

/// Every stored result for a photo, oldest first.
pub fn for_photo(tx: &Transaction<'_>, photo: PhotoId) -> Result<Vec<DetectionResult>, StoreError> {
    let mut results_stmt = tx.prepare_cached(
        "SELECT id, source, model_name, model_version, model_sha256, inference_ms, \
         image_width, image_height, created_at \
         FROM detection_results WHERE photo_id = ?1 ORDER BY created_at, id",
    )?;
    let mut boxes_stmt = tx.prepare_cached(
        "SELECT class_id, label, score, x1, y1, x2, y2 FROM detections \
         WHERE result_id = ?1 ORDER BY ordinal",
    )?;
    let heads = results_stmt
        .query_map([photo.to_string()], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                ModelIdentity {
                    name: row.get(2)?,
                    version: row.get(3)?,
                    sha256: row.get(4)?,
                },
                row.get::<_, f64>(5)?,
                (row.get::<_, u32>(6)?, row.get::<_, u32>(7)?),
                row.get::<_, i64>(8)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    heads
        .into_iter()
        .map(
            |(id, source, model, inference_ms, (width, height), created_at)| {
                let source =
                    DetectionSource::from_db(&source).ok_or_else(|| StoreError::InvalidValue {
                        what: "detection source",
                        value: source.clone(),
                    })?;
                let detections = boxes_stmt
                    .query_map([id], |row| {
                        let bbox = BoundingBox {
                            x1: row.get(3)?,
                            y1: row.get(4)?,
                            x2: row.get(5)?,
                            y2: row.get(6)?,
                        };
                        Ok(Detection {
                            class_id: row.get(0)?,
                            label: row.get(1)?,
                            score: row.get(2)?,
                            bbox,
                            bbox_normalized: bbox.normalized(width, height),
                        })
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(DetectionResult {
                    photo_id: photo,
                    created_at: Timestamp::from_millis(created_at),
                    detections: Detections {
                        source,
                        model,
                        image_width: width,
                        image_height: height,
                        inference_ms,
                        detections,
                    },
                })
            },
        )
        .collect()
}
