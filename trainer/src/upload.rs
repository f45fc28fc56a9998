//! `dataset upload`: an incremental, parallel sync of a local directory to an S3 prefix.
//!
//! The remote prefix is listed once (`ListObjectsV2`); a local file is uploaded only when no
//! object has its key, or the object's size or ETag differs from the file's (the ETag S3
//! computes: MD5 of the body, or for a multipart upload the MD5 of the parts' MD5s and
//! `-<parts>`, computed locally with the same part size). A re-run over an unchanged
//! directory therefore sends no PUT at all. Files from [`MULTIPART_THRESHOLD`] up go up in
//! parts. Remote objects without a local file are kept unless `delete` is set.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest, Md5};
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::Progress;
use crate::aws::{Clients, aws_error, s3_error};
use crate::error::{Result, TrainerError};
use crate::s3uri::S3Uri;

/// Files of this size or more are uploaded in parts (as the AWS CLI's default).
pub const MULTIPART_THRESHOLD: u64 = 8 * 1024 * 1024;
/// Part size of multipart uploads.
pub const PART_SIZE: u64 = 8 * 1024 * 1024;

/// Options of an upload.
#[derive(Clone, Debug)]
pub struct UploadOptions {
    /// Uploads in flight at once.
    pub concurrency: usize,
    /// Delete remote objects under the prefix that have no local file.
    pub delete: bool,
    /// Only report what would change.
    pub dry_run: bool,
    /// Multipart threshold in bytes.
    pub multipart_threshold: u64,
    /// Part size in bytes.
    pub part_size: u64,
}

impl Default for UploadOptions {
    fn default() -> Self {
        Self {
            concurrency: 32,
            delete: false,
            dry_run: false,
            multipart_threshold: MULTIPART_THRESHOLD,
            part_size: PART_SIZE,
        }
    }
}

/// What an upload did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct UploadSummary {
    /// The destination.
    pub destination: String,
    /// Local files considered.
    pub local_files: usize,
    /// Objects found under the prefix.
    pub remote_objects: usize,
    /// Files uploaded (or that would be, on a dry run).
    pub uploaded: usize,
    /// Of which in parts.
    pub multipart: usize,
    /// Files whose object already matched.
    pub unchanged: usize,
    /// Remote objects deleted (or that would be).
    pub deleted: usize,
    /// Remote objects without a local file, kept (no `--delete`).
    pub remote_only: usize,
    /// Bytes uploaded.
    pub bytes_uploaded: u64,
    /// HTTP requests sent during the upload, by method (PUT = objects and parts).
    pub requests: BTreeMap<String, u64>,
    /// Wall time.
    pub seconds: f64,
}

#[derive(Clone, Debug)]
struct LocalFile {
    key: String,
    path: PathBuf,
    size: u64,
}

/// Uploads `dir` to `dest`; `progress` counts the bytes of the files done (sent or unchanged).
pub async fn upload(
    clients: &Clients,
    dir: &Path,
    dest: &S3Uri,
    options: &UploadOptions,
    progress: &Progress<'_>,
) -> Result<UploadSummary> {
    let started = Instant::now();
    let before = clients.requests.snapshot();
    if !dir.is_dir() {
        return Err(TrainerError::Input(format!(
            "{}: not a directory",
            dir.display()
        )));
    }
    let prefix = dest.prefix();
    let mut local = Vec::new();
    walk(dir, dir, &prefix, &mut local)?;
    let remote = list_remote(clients, dest).await?;
    let mut summary = UploadSummary {
        destination: format!("s3://{}/{prefix}", dest.bucket),
        local_files: local.len(),
        remote_objects: remote.len(),
        ..UploadSummary::default()
    };
    let local_keys: std::collections::HashSet<&str> =
        local.iter().map(|f| f.key.as_str()).collect();
    let stale: Vec<String> = remote
        .keys()
        .filter(|k| !local_keys.contains(k.as_str()))
        .cloned()
        .collect();

    let total: u64 = local.iter().map(|f| f.size).sum();
    let mut done = 0;
    progress(done, total);
    let semaphore = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let remote = Arc::new(remote);
    let mut tasks = JoinSet::new();
    for file in local {
        let (s3, bucket, options) = (clients.s3.clone(), dest.bucket.clone(), options.clone());
        let (semaphore, remote) = (semaphore.clone(), remote.clone());
        tasks.spawn(async move {
            let _permit = semaphore
                .acquire_owned()
                .await
                .map_err(|e| TrainerError::Input(e.to_string()))?;
            sync_one(&s3, &bucket, &file, remote.get(&file.key), &options)
                .await
                .map(|o| (o, file.size))
        });
    }
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok((outcome, size))) => {
                done += size;
                progress(done, total);
                if outcome == Outcome::Unchanged {
                    summary.unchanged += 1;
                } else {
                    summary.uploaded += 1;
                    summary.multipart += usize::from(outcome == Outcome::Multipart);
                    summary.bytes_uploaded += size;
                }
            }
            Ok(Err(e)) => {
                if first_error.is_none() {
                    first_error = Some(e);
                    tasks.abort_all();
                }
            }
            Err(e) if e.is_cancelled() => {}
            Err(e) => {
                first_error.get_or_insert(TrainerError::Input(format!("upload task: {e}")));
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    if options.delete {
        summary.deleted = stale.len();
        if !options.dry_run {
            delete_keys(clients, &dest.bucket, &stale).await?;
        }
    } else {
        summary.remote_only = stale.len();
    }
    let after = clients.requests.snapshot();
    summary.requests = after
        .into_iter()
        .map(|(m, n)| {
            let base = before.get(&m).copied().unwrap_or(0);
            (m, n - base)
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    Unchanged,
    Single,
    Multipart,
}

async fn sync_one(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    file: &LocalFile,
    remote: Option<&(u64, String)>,
    options: &UploadOptions,
) -> Result<Outcome> {
    let multipart = file.size >= options.multipart_threshold;
    if let Some((size, etag)) = remote
        && *size == file.size
    {
        let (path, part) = (file.path.clone(), options.part_size);
        let local = tokio::task::spawn_blocking(move || local_etag(&path, multipart, part))
            .await
            .map_err(|e| TrainerError::Input(e.to_string()))??;
        if local == *etag {
            return Ok(Outcome::Unchanged);
        }
    }
    if options.dry_run {
        return Ok(if multipart {
            Outcome::Multipart
        } else {
            Outcome::Single
        });
    }
    if multipart {
        upload_multipart(s3, bucket, file, options.part_size).await?;
        Ok(Outcome::Multipart)
    } else {
        let bytes = tokio::fs::read(&file.path)
            .await
            .map_err(TrainerError::io(&file.path))?;
        let md5 = STANDARD.encode(Md5::digest(&bytes));
        s3.put_object()
            .bucket(bucket)
            .key(&file.key)
            .content_md5(md5)
            .content_type(content_type(&file.key))
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(s3_error("PutObject", bucket))?;
        Ok(Outcome::Single)
    }
}

async fn upload_multipart(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    file: &LocalFile,
    part_size: u64,
) -> Result<()> {
    let created = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key(&file.key)
        .content_type(content_type(&file.key))
        .send()
        .await
        .map_err(s3_error("CreateMultipartUpload", bucket))?;
    let upload_id = created
        .upload_id()
        .ok_or_else(|| TrainerError::Aws {
            operation: "CreateMultipartUpload",
            message: "no upload id".into(),
        })?
        .to_owned();
    let result = async {
        let mut parts = Vec::new();
        let mut offset = 0u64;
        let mut number = 1i32;
        while offset < file.size {
            let length = part_size.min(file.size - offset);
            let body = ByteStream::from(read_range(&file.path, offset, length).await?);
            let part = s3
                .upload_part()
                .bucket(bucket)
                .key(&file.key)
                .upload_id(&upload_id)
                .part_number(number)
                .content_length(length as i64)
                .body(body)
                .send()
                .await
                .map_err(aws_error("UploadPart"))?;
            parts.push(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(part.e_tag().map(str::to_owned))
                    .build(),
            );
            offset += length;
            number += 1;
        }
        s3.complete_multipart_upload()
            .bucket(bucket)
            .key(&file.key)
            .upload_id(&upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(aws_error("CompleteMultipartUpload"))?;
        Ok::<_, TrainerError>(())
    }
    .await;
    if result.is_err() {
        let _ = s3
            .abort_multipart_upload()
            .bucket(bucket)
            .key(&file.key)
            .upload_id(&upload_id)
            .send()
            .await;
    }
    result
}

/// `length` bytes of `path` from `offset` (a part: at most the part size, in memory).
async fn read_range(path: &Path, offset: u64, length: u64) -> Result<Vec<u8>> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Seek, SeekFrom};
        let mut file = std::fs::File::open(&path).map_err(TrainerError::io(&path))?;
        file.seek(SeekFrom::Start(offset))
            .map_err(TrainerError::io(&path))?;
        let mut buffer = vec![0u8; length as usize];
        file.read_exact(&mut buffer)
            .map_err(TrainerError::io(&path))?;
        Ok(buffer)
    })
    .await
    .map_err(|e| TrainerError::Input(e.to_string()))?
}

/// Every object under `dest`'s prefix: key → (size, ETag without quotes).
pub async fn list_remote(
    clients: &Clients,
    dest: &S3Uri,
) -> Result<HashMap<String, (u64, String)>> {
    let mut out = HashMap::new();
    let mut pages = clients
        .s3
        .list_objects_v2()
        .bucket(&dest.bucket)
        .prefix(dest.prefix())
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(s3_error("ListObjectsV2", &dest.bucket))?;
        for object in page.contents() {
            if let Some(key) = object.key() {
                let etag = object
                    .e_tag()
                    .unwrap_or_default()
                    .trim_matches('"')
                    .to_owned();
                out.insert(
                    key.to_owned(),
                    (object.size().unwrap_or(0).max(0) as u64, etag),
                );
            }
        }
    }
    Ok(out)
}

async fn delete_keys(clients: &Clients, bucket: &str, keys: &[String]) -> Result<()> {
    for chunk in keys.chunks(1000) {
        let objects = chunk
            .iter()
            .map(|k| ObjectIdentifier::builder().key(k).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TrainerError::Input(e.to_string()))?;
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|e| TrainerError::Input(e.to_string()))?;
        let out = clients
            .s3
            .delete_objects()
            .bucket(bucket)
            .delete(delete)
            .send()
            .await
            .map_err(s3_error("DeleteObjects", bucket))?;
        if let Some(err) = out.errors().first() {
            return Err(TrainerError::Aws {
                operation: "DeleteObjects",
                message: format!(
                    "{}: {}",
                    err.key().unwrap_or_default(),
                    err.message().unwrap_or_default()
                ),
            });
        }
    }
    Ok(())
}

/// The ETag S3 gives the file's content: MD5 hex, or for `multipart` the MD5 of the parts'
/// MD5s followed by `-<parts>`.
pub fn local_etag(path: &Path, multipart: bool, part_size: u64) -> Result<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(TrainerError::io(path))?;
    if !multipart {
        let mut hasher = Md5::new();
        std::io::copy(&mut file, &mut hasher).map_err(TrainerError::io(path))?;
        return Ok(crate::dataset::hex(&hasher.finalize()));
    }
    let mut digests = Vec::new();
    let mut buffer = vec![0u8; part_size as usize];
    loop {
        let mut filled = 0;
        while filled < buffer.len() {
            let n = file
                .read(&mut buffer[filled..])
                .map_err(TrainerError::io(path))?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        if filled == 0 {
            break;
        }
        digests.extend_from_slice(&Md5::digest(&buffer[..filled]));
        if filled < buffer.len() {
            break;
        }
    }
    let parts = digests.len() / 16;
    Ok(format!(
        "{}-{parts}",
        crate::dataset::hex(&Md5::digest(&digests))
    ))
}

fn walk(root: &Path, dir: &Path, prefix: &str, out: &mut Vec<LocalFile>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(TrainerError::io(dir))?
        .collect::<Result<_, _>>()
        .map_err(TrainerError::io(dir))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let meta = entry.metadata().map_err(TrainerError::io(&path))?;
        if meta.is_dir() {
            walk(root, &path, prefix, out)?;
        } else if meta.is_file() {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(LocalFile {
                key: format!("{prefix}{}", rel.join("/")),
                path,
                size: meta.len(),
            });
        }
    }
    Ok(())
}

fn content_type(key: &str) -> &'static str {
    let lower = key.to_ascii_lowercase();
    if lower.ends_with(".jpg") || lower.ends_with(".jpeg") {
        "image/jpeg"
    } else if lower.ends_with(".png") {
        "image/png"
    } else if lower.ends_with(".txt") {
        "text/plain"
    } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        "application/yaml"
    } else if lower.ends_with(".json") {
        "application/json"
    } else {
        "application/octet-stream"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_etag_matches_s3s_rule() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("f");
        let data: Vec<u8> = (0..25u32).map(|i| i as u8).collect();
        std::fs::write(&p, &data).expect("write");
        let single = local_etag(&p, false, 10).expect("etag");
        assert_eq!(single, crate::dataset::hex(&Md5::digest(&data)));
        let mut cat = Vec::new();
        for chunk in data.chunks(10) {
            cat.extend_from_slice(&Md5::digest(chunk));
        }
        let want = format!("{}-3", crate::dataset::hex(&Md5::digest(&cat)));
        assert_eq!(local_etag(&p, true, 10).expect("etag"), want);
    }
}
