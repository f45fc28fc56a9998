//! Where the photos come from: a phone data directory, read through the core's front door
//! ([`omni_core::Inspector`]), or the yard office, read through its store trait
//! ([`omni_office::store::Store`]: the embedded SQLite store or DynamoDB + S3). Both are read
//! only and streamed: a page of inspections at a time, never the whole store in memory.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use omni_core::{
    DetectionResult, DetectionSource, InspectionFilter, Inspector, InspectorConfig, PhotoId,
};
use omni_office::store::{ListQuery, Store, StoreError};
use omni_office::wire::{Inspection, InspectionSummary, Photo, Verdict, VerdictSource};
use omni_protocol::response::DetectionResponse;

use super::{PhotoRecord, PredictedBox, Prediction};
use crate::error::{Result, TrainerError};

/// Inspections read per page.
const PAGE: usize = 500;

/// A place photos and their stored verdicts are listed from.
pub trait PhotoSource {
    /// What it is, for `batch.json` (e.g. `phone:/data/dir`).
    fn describe(&self) -> String;
    /// Calls `visit` once for every photo, page by page.
    fn scan(&mut self, visit: &mut dyn FnMut(PhotoRecord) -> Result<()>) -> Result<()>;
    /// The photo's bytes.
    fn read(&mut self, record: &PhotoRecord) -> Result<Vec<u8>>;
}

/// A phone data directory (`omni --data-dir`), opened through the core's [`Inspector`]
/// (which takes the directory's lock: close the app or `omni` using it first).
pub struct PhoneSource {
    dir: PathBuf,
    inspector: Inspector,
}

impl std::fmt::Debug for PhoneSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhoneSource")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl PhoneSource {
    /// Opens `dir`; refused when it holds no phone store.
    pub fn open(dir: &Path) -> Result<Self> {
        if !dir.join(omni_core::inspector::DATABASE_FILE).is_file() {
            return Err(TrainerError::Input(format!(
                "{}: not a phone data directory (no {})",
                dir.display(),
                omni_core::inspector::DATABASE_FILE
            )));
        }
        let inspector = Inspector::open(dir, InspectorConfig::default())
            .map_err(|e| TrainerError::Input(format!("{}: {e}", dir.display())))?;
        Ok(Self::from_inspector(inspector))
    }

    /// A source over an inspector the caller has opened.
    pub fn from_inspector(inspector: Inspector) -> Self {
        Self {
            dir: inspector.data_dir().to_owned(),
            inspector,
        }
    }
}

/// The newest result of `source` among `results` (oldest first).
fn newest(results: &[DetectionResult], source: DetectionSource) -> Option<Prediction> {
    let result = results
        .iter()
        .rev()
        .find(|r| r.detections.source == source)?;
    let d = &result.detections;
    Some(Prediction {
        model_name: d.model.name.clone(),
        model_version: d.model.version.clone(),
        boxes: d
            .detections
            .iter()
            .map(|det| PredictedBox {
                class_id: det.class_id,
                score: det.score,
                x1: det.bbox_normalized.x1,
                y1: det.bbox_normalized.y1,
                x2: det.bbox_normalized.x2,
                y2: det.bbox_normalized.y2,
            })
            .collect(),
    })
}

impl PhotoSource for PhoneSource {
    fn describe(&self) -> String {
        format!("phone:{}", self.dir.display())
    }

    fn scan(&mut self, visit: &mut dyn FnMut(PhotoRecord) -> Result<()>) -> Result<()> {
        let fail =
            |e: omni_core::Error| TrainerError::Input(format!("{}: {e}", self.dir.display()));
        let mut offset = 0u32;
        loop {
            let page = self
                .inspector
                .list_inspections(&InspectionFilter {
                    limit: Some(PAGE as u32),
                    offset,
                    ..InspectionFilter::default()
                })
                .map_err(fail)?;
            for summary in &page {
                let detail = self
                    .inspector
                    .inspection(summary.inspection.id)
                    .map_err(fail)?;
                for photo in detail.photos {
                    visit(PhotoRecord {
                        photo_id: photo.photo.id.to_string(),
                        inspection_id: detail.inspection.id.to_string(),
                        container: detail.inspection.container_number.as_str().to_owned(),
                        taken_at_ms: photo.photo.captured_at.as_millis(),
                        sha256: photo.photo.sha256.clone(),
                        extension: photo.photo.format.extension().to_owned(),
                        edge: newest(&photo.results, DetectionSource::Edge),
                        cloud: newest(&photo.results, DetectionSource::Cloud),
                    })?;
                }
            }
            if page.len() < PAGE {
                return Ok(());
            }
            offset += PAGE as u32;
        }
    }

    fn read(&mut self, record: &PhotoRecord) -> Result<Vec<u8>> {
        let fail = |e: String| {
            TrainerError::Input(format!(
                "{}: photo {}: {e}",
                self.dir.display(),
                record.photo_id
            ))
        };
        let id: PhotoId = record.photo_id.parse().map_err(|e| fail(format!("{e}")))?;
        let photo = self.inspector.photo(id).map_err(|e| fail(e.to_string()))?;
        self.inspector
            .read_photo(&photo)
            .map_err(|e| fail(e.to_string()))
    }
}

/// The yard office's store, read through its trait on a runtime of its own.
pub struct OfficeSource {
    what: String,
    runtime: tokio::runtime::Runtime,
    store: Arc<dyn Store>,
}

impl std::fmt::Debug for OfficeSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfficeSource")
            .field("what", &self.what)
            .finish_non_exhaustive()
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| TrainerError::Input(format!("tokio runtime: {e}")))
}

impl OfficeSource {
    /// The embedded store in `dir` (`omni-office --data-dir`); refused when it holds none.
    pub fn embedded(dir: &Path) -> Result<Self> {
        if !dir.join("office.sqlite3").is_file() {
            return Err(TrainerError::Input(format!(
                "{}: not an office data directory (no office.sqlite3)",
                dir.display()
            )));
        }
        let store = omni_office::store::embedded::EmbeddedStore::open(dir)
            .map_err(|e| TrainerError::Input(format!("{}: {e}", dir.display())))?;
        Ok(Self {
            what: format!("office:{}", dir.display()),
            runtime: runtime()?,
            store: Arc::new(store),
        })
    }

    /// The AWS store (DynamoDB `table`, S3 `bucket`), credentials from the SDK's chain;
    /// `endpoint_url` points both services at an emulator.
    pub fn aws(
        region: &str,
        endpoint_url: Option<&str>,
        table: &str,
        bucket: &str,
    ) -> Result<Self> {
        let runtime = runtime()?;
        let store = runtime.block_on(omni_office::store::aws::AwsStore::from_env(
            region,
            endpoint_url,
            table,
            bucket,
        ));
        Ok(Self {
            what: format!("office:dynamodb:{table}+s3:{bucket}"),
            runtime,
            store: Arc::new(store),
        })
    }

    /// A source over any office store (tests, benchmarks).
    pub fn from_store(what: &str, store: Arc<dyn Store>) -> Result<Self> {
        Ok(Self {
            what: what.to_owned(),
            runtime: runtime()?,
            store,
        })
    }

    /// The store.
    pub(crate) fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// Runs a store call to its end; its error names the store.
    pub(crate) fn block_on<T>(
        &self,
        call: impl std::future::Future<Output = std::result::Result<T, StoreError>>,
    ) -> Result<T> {
        self.runtime
            .block_on(call)
            .map_err(|e| TrainerError::Input(format!("{}: {e}", self.what)))
    }

    /// Calls `visit` once for every inspection `filter` matches (its `limit` aside), newest
    /// first, a page at a time.
    pub(crate) fn inspections(
        &self,
        filter: &ListQuery,
        visit: &mut dyn FnMut(&InspectionSummary) -> Result<()>,
    ) -> Result<()> {
        // The next page is everything created before the last one's time (`until_ms` = that
        // time + 1, skipping the ids already seen at it); a page wholly made of one
        // millisecond's inspections is read again wider.
        let mut until = filter.until_ms;
        let mut boundary: (i64, HashSet<String>) = (i64::MIN, HashSet::new());
        let mut limit = PAGE;
        loop {
            let query = ListQuery {
                until_ms: until,
                limit,
                ..filter.clone()
            };
            let page = self.block_on(self.store.list(&query))?;
            let mut new = 0;
            for summary in &page {
                let inspection = &summary.inspection;
                if inspection.created_at_ms == boundary.0 && boundary.1.contains(&inspection.id) {
                    continue;
                }
                new += 1;
                visit(summary)?;
            }
            if page.len() < limit {
                return Ok(());
            }
            if new == 0 {
                limit *= 2;
                continue;
            }
            let last = page.last().map_or(i64::MIN, |s| s.inspection.created_at_ms);
            if last != boundary.0 {
                boundary = (last, HashSet::new());
            }
            boundary.1.extend(
                page.iter()
                    .filter(|s| s.inspection.created_at_ms == last)
                    .map(|s| s.inspection.id.clone()),
            );
            until = Some(last.saturating_add(1));
            limit = PAGE;
        }
    }
}

/// A stored verdict as a [`Prediction`], boxes normalised by the image the response names.
fn office_prediction(verdict: &Verdict) -> Result<Prediction> {
    let response: DetectionResponse =
        serde_json::from_str(verdict.response.get()).map_err(|e| {
            TrainerError::Input(format!("office verdict of photo {}: {e}", verdict.photo_id))
        })?;
    let (w, h) = (
        response.image.width.max(1) as f32,
        response.image.height.max(1) as f32,
    );
    Ok(Prediction {
        model_name: verdict.model_name.clone(),
        model_version: verdict.model_version.clone(),
        boxes: response
            .detections
            .iter()
            .map(|d| PredictedBox {
                class_id: d.class_id,
                score: d.score,
                x1: d.bbox.x1 / w,
                y1: d.bbox.y1 / h,
                x2: d.bbox.x2 / w,
                y2: d.bbox.y2 / h,
            })
            .collect(),
    })
}

/// An office photo as a [`PhotoRecord`], without its verdicts.
pub(crate) fn office_record(inspection: &Inspection, photo: &Photo) -> PhotoRecord {
    PhotoRecord {
        photo_id: photo.id.clone(),
        inspection_id: inspection.id.clone(),
        container: inspection.container_number.clone(),
        taken_at_ms: photo.received_at_ms,
        sha256: photo.sha256.clone(),
        extension: if photo.content_type == "image/png" {
            "png".into()
        } else {
            "jpg".into()
        },
        edge: None,
        cloud: None,
    }
}

/// The newest verdict of `source` for `photo_id`.
fn newest_verdict<'a>(
    verdicts: &'a [Verdict],
    photo_id: &str,
    source: VerdictSource,
) -> Option<&'a Verdict> {
    verdicts
        .iter()
        .filter(|v| v.photo_id == photo_id && v.source == source)
        .max_by_key(|v| v.received_at_ms)
}

impl PhotoSource for OfficeSource {
    fn describe(&self) -> String {
        self.what.clone()
    }

    fn scan(&mut self, visit: &mut dyn FnMut(PhotoRecord) -> Result<()>) -> Result<()> {
        let store = self.store.clone();
        self.inspections(&ListQuery::default(), &mut |summary| {
            let inspection = &summary.inspection;
            let (photos, verdicts) = self.block_on(async {
                Ok::<_, StoreError>((
                    store.photos(&inspection.id).await?,
                    store.verdicts(&inspection.id).await?,
                ))
            })?;
            for stored in photos {
                let photo = stored.photo;
                let prediction = |source| {
                    newest_verdict(&verdicts, &photo.id, source)
                        .map(office_prediction)
                        .transpose()
                };
                visit(PhotoRecord {
                    edge: prediction(VerdictSource::Edge)?,
                    cloud: prediction(VerdictSource::Cloud)?,
                    ..office_record(inspection, &photo)
                })?;
            }
            Ok(())
        })
    }

    fn read(&mut self, record: &PhotoRecord) -> Result<Vec<u8>> {
        let store = self.store.clone();
        let fail = |e: String| {
            TrainerError::Input(format!("{}: photo {}: {e}", self.what, record.photo_id))
        };
        self.runtime
            .block_on(async {
                let stored = store
                    .photo(&record.inspection_id, &record.photo_id)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| "not found".to_owned())?;
                store
                    .photo_bytes(&stored.photo)
                    .await
                    .map_err(|e| e.to_string())
            })
            .map_err(fail)
    }
}
