//! A completed Ground Truth labeling job back into a labelled pool (and, when asked, merged
//! into the data set): the job's output manifest is read from S3, checked against the job's
//! label categories, and imported through the existing Ground Truth import
//! ([`crate::dataset::groundtruth::import`]); `dataset merge` ([`crate::dataset::merge`])
//! then adds the pool to the data set.
//!
//! Objects without labels (failed or expired tasks: a line without the label attribute) are
//! left out and counted, never taken for photos without damage. A class outside the job's
//! label categories refuses the whole manifest, with its line; nothing is imported or merged.
//! The photos come from the local batch folder (`--batch`) or, without it, from the batch's
//! copy in S3 that `start-groundtruth` uploaded (`batch.json` and `images/`, found through
//! the job's `omni:batch-uri` tag; each photo checked against its SHA-256 in `batch.json`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aws_sdk_sagemaker::operation::describe_labeling_job::DescribeLabelingJobOutput;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::batch::{BATCH_JSON, Batch};
use super::groundtruth_job::{TAG_BATCH, TAG_BATCH_URI, tag};
use crate::aws::Clients;
use crate::dataset::merge::{self, MergeSummary};
use crate::dataset::{DAMAGE_CLASSES, create_dir, groundtruth, hex};
use crate::error::{Result, TrainerError};
use crate::s3uri::S3Uri;

/// Where the import goes.
#[derive(Clone, Copy, Debug)]
pub struct ImportOptions<'a> {
    /// The local batch folder (else the batch's copy in S3 is downloaded).
    pub batch_dir: Option<&'a Path>,
    /// The labelled pool to write (`images/` + `labels/`).
    pub out: &'a Path,
    /// A data set to merge the pool into.
    pub merge_into: Option<&'a Path>,
    /// Val fraction of a new data set.
    pub val: f64,
    /// Now (RFC 3339), for the data set's changelog.
    pub at: &'a str,
}

/// What came back.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JobImport {
    /// The job.
    pub job_name: String,
    /// The output manifest read.
    pub output_manifest: String,
    /// The pool written.
    pub pool: PathBuf,
    /// Photos imported.
    pub images: usize,
    /// Boxes imported.
    pub boxes: usize,
    /// Photos labelled without damage (empty label files).
    pub negatives: usize,
    /// Objects whose task failed (left out).
    pub failed: usize,
    /// Objects without labels and without a failure reason (left out).
    pub unlabelled: usize,
    /// The batch the photos came from.
    pub batch: String,
    /// The merge, with `--merge-into`.
    pub merged: Option<MergeSummary>,
}

async fn get(clients: &Clients, uri: &str) -> Result<Vec<u8>> {
    crate::artifacts::get_object(clients, &S3Uri::parse(uri)?).await
}

/// The job's label categories (its `LabelCategoryConfigS3Uri`), each one of our classes.
async fn categories(clients: &Clients, job: &DescribeLabelingJobOutput) -> Result<Vec<String>> {
    let Some(uri) = job.label_category_config_s3_uri() else {
        return Ok(DAMAGE_CLASSES.iter().map(|c| (*c).to_owned()).collect());
    };
    let file: Value = serde_json::from_slice(&get(clients, uri).await?)
        .map_err(|e| TrainerError::Input(format!("{uri}: not JSON: {e}")))?;
    let labels: Vec<String> = file["labels"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|l| l["label"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if labels.is_empty() {
        return Err(TrainerError::Input(format!("{uri}: no \"labels\"")));
    }
    if let Some(other) = labels.iter().find(|l| super::class_id(l).is_none()) {
        return Err(TrainerError::Input(format!(
            "{uri}: label category {other:?} is not one of our classes ({}); nothing imported",
            DAMAGE_CLASSES.join(", ")
        )));
    }
    Ok(labels)
}

/// The manifest with unlabelled lines blanked (line numbers kept), and how many failed and
/// how many were unlabelled; a class outside `categories` is an error naming its line.
fn screen(
    text: &str,
    uri: &str,
    attr: &str,
    categories: &[String],
) -> Result<(String, usize, usize)> {
    let (mut failed, mut unlabelled, mut labelled) = (0, 0, 0);
    let mut kept = String::with_capacity(text.len());
    for (i, line) in text.lines().enumerate() {
        let at = |m: String| TrainerError::Input(format!("{uri}:{}: {m}; nothing imported", i + 1));
        if line.trim().is_empty() {
            kept.push('\n');
            continue;
        }
        let record: Value = serde_json::from_str(line).map_err(|e| at(format!("not JSON: {e}")))?;
        let meta = &record[format!("{attr}-metadata")];
        if !record[attr].is_object() {
            if meta.get("failure-reason").is_some() {
                failed += 1;
            } else {
                unlabelled += 1;
            }
            kept.push('\n');
            continue;
        }
        if let Some(map) = meta["class-map"].as_object() {
            for (id, name) in map {
                let name = name.as_str().unwrap_or_default();
                if !categories
                    .iter()
                    .any(|c| c.eq_ignore_ascii_case(name.trim()))
                {
                    return Err(at(format!(
                        "source-ref {}: class {name:?} (class_id {id}) is not one of the job's label categories ({})",
                        record["source-ref"],
                        categories.join(", ")
                    )));
                }
            }
        }
        labelled += 1;
        kept.push_str(line);
        kept.push('\n');
    }
    if labelled == 0 {
        return Err(TrainerError::Input(format!(
            "{uri}: no labelled objects ({failed} failed, {unlabelled} unlabelled); nothing imported"
        )));
    }
    Ok((kept, failed, unlabelled))
}

/// Downloads the batch's copy in S3 (`batch.json`, `images/`) into `dir/<batch name>/`.
async fn download_batch(clients: &Clients, batch_uri: &str, dir: &Path) -> Result<PathBuf> {
    let base = S3Uri::parse(batch_uri)?;
    let json_uri = base.join(BATCH_JSON).to_string();
    let bytes = get(clients, &json_uri).await?;
    let staging = dir.join("download");
    create_dir(&staging.join("images"))?;
    let json_path = staging.join(BATCH_JSON);
    std::fs::write(&json_path, &bytes).map_err(TrainerError::io(&json_path))?;
    let batch =
        Batch::load(&staging).map_err(|e| TrainerError::Input(format!("{json_uri}: {e}")))?;
    let folder = dir.join(&batch.name);
    std::fs::rename(&staging, &folder).map_err(TrainerError::io(&folder))?;
    for photo in &batch.photos {
        let uri = base.join(&format!("images/{}", photo.file)).to_string();
        let bytes = get(clients, &uri).await?;
        let sha = hex(&Sha256::digest(&bytes));
        if sha != photo.sha256 {
            return Err(TrainerError::Input(format!(
                "{uri}: SHA-256 {sha}, batch.json says {}; nothing imported",
                photo.sha256
            )));
        }
        let path = folder.join("images").join(&photo.file);
        std::fs::write(&path, bytes).map_err(TrainerError::io(&path))?;
    }
    Ok(folder)
}

/// Imports a completed job's output into `options.out` and, with `merge_into`, merges it.
pub async fn import(
    clients: &Clients,
    job: &DescribeLabelingJobOutput,
    options: ImportOptions<'_>,
) -> Result<JobImport> {
    let name = job.labeling_job_name().unwrap_or_default().to_owned();
    let attr = job
        .label_attribute_name()
        .ok_or_else(|| TrainerError::Input(format!("labeling job {name}: no label attribute")))?;
    let uri = job
        .labeling_job_output()
        .and_then(|o| o.output_dataset_s3_uri())
        .map(str::to_owned)
        .ok_or_else(|| {
            TrainerError::Input(format!("labeling job {name}: no output manifest yet"))
        })?;
    let categories = categories(clients, job).await?;
    let text = String::from_utf8(get(clients, &uri).await?)
        .map_err(|e| TrainerError::Input(format!("{uri}: not UTF-8: {e}")))?;
    let (kept, failed, unlabelled) = screen(&text, &uri, attr, &categories)?;
    let work = tempfile::tempdir().map_err(TrainerError::io(std::env::temp_dir()))?;
    let batch_dir = match options.batch_dir {
        Some(dir) => {
            let batch = Batch::load(dir)?;
            if let Some(expected) = tag(job, TAG_BATCH).filter(|t| *t != batch.name) {
                return Err(TrainerError::Input(format!(
                    "{}: batch {:?}, but labeling job {name} labelled batch {expected:?}",
                    dir.display(),
                    batch.name
                )));
            }
            dir.to_owned()
        }
        None => {
            let batch_uri = tag(job, TAG_BATCH_URI).ok_or_else(|| {
                TrainerError::Input(format!(
                    "labeling job {name} has no {TAG_BATCH_URI} tag (not started by omni-trainer): give its photos with --batch DIR"
                ))
            })?;
            download_batch(clients, batch_uri, work.path()).await?
        }
    };
    let batch = Batch::load(&batch_dir)?;
    let manifest = work.path().join("output.manifest");
    std::fs::write(&manifest, kept).map_err(TrainerError::io(&manifest))?;
    let summary = groundtruth::import(
        &manifest,
        Some(&batch_dir.join("images")),
        options.out,
        Some(attr),
        &BTreeMap::new(),
    )
    .map_err(|e| {
        // Name the manifest by its S3 URI, not the temporary copy.
        TrainerError::Input(
            e.to_string().replace(&manifest.display().to_string(), &uri) + "; nothing imported",
        )
    })?;
    let merged = match options.merge_into {
        Some(dataset) => Some(merge::merge(
            options.out,
            dataset,
            Some(&batch_dir),
            options.val,
            options.at,
        )?),
        None => None,
    };
    Ok(JobImport {
        job_name: name,
        output_manifest: uri,
        pool: options.out.to_owned(),
        images: summary.images,
        boxes: summary.boxes,
        negatives: summary.negatives,
        failed,
        unlabelled,
        batch: batch.name,
        merged,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn cats() -> Vec<String> {
        DAMAGE_CLASSES.iter().map(|c| (*c).to_owned()).collect()
    }

    #[test]
    fn unlabelled_lines_are_blanked_and_counted() {
        let text = concat!(
            r#"{"source-ref":"s3://b/a.jpg","labels":{"annotations":[]},"labels-metadata":{"class-map":{"2":"rust"}}}"#,
            "\n",
            r#"{"source-ref":"s3://b/b.jpg","labels-metadata":{"failure-reason":"expired"}}"#,
            "\n\n",
            r#"{"source-ref":"s3://b/c.jpg"}"#,
            "\n"
        );
        let (kept, failed, unlabelled) = screen(text, "s3://b/o", "labels", &cats()).unwrap();
        assert_eq!((failed, unlabelled), (1, 1));
        assert_eq!(kept.lines().count(), 4);
        assert!(kept.lines().next().unwrap().contains("a.jpg"));
        assert!(kept.lines().skip(1).all(str::is_empty));
    }

    #[test]
    fn a_class_outside_the_categories_names_its_line() {
        let text = concat!(
            r#"{"source-ref":"s3://b/a.jpg","labels":{},"labels-metadata":{"class-map":{"0":"dent"}}}"#,
            "\n",
            r#"{"source-ref":"s3://b/b.jpg","labels":{},"labels-metadata":{"class-map":{"6":"corrosion"}}}"#,
        );
        let err = screen(text, "s3://b/o", "labels", &cats())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("s3://b/o:2: ") && err.contains("\"corrosion\""),
            "{err}"
        );
        let err = screen(
            r#"{"source-ref":"s3://b/b.jpg"}"#,
            "s3://b/o",
            "labels",
            &cats(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("no labelled objects"), "{err}");
    }
}
