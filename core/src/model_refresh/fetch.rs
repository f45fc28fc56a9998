//! HTTP for the model refresh: a conditional GET of the manifest (ETag / `If-None-Match`)
//! and a resumable download of the model (`Range: bytes=N-`), signed with SigV4 for S3.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use reqwest::header::{CONTENT_RANGE, ETAG, IF_NONE_MATCH, RANGE};
use reqwest::{StatusCode, Url};

use super::config::RefreshConfig;
use super::error::{RefreshError, RejectReason};
use crate::model_manifest::ManifestError;
use omni_cloud::{CachedCredentials, SigV4Scope};

/// Largest manifest accepted, in bytes.
pub const MAX_MANIFEST_BYTES: usize = 1 << 20;

/// The answer to a conditional manifest request.
#[derive(Debug)]
pub enum ManifestResponse {
    /// 304: the manifest is the one with the ETag sent.
    NotModified,
    /// 200: the envelope bytes and their ETag.
    Fetched {
        /// The signed envelope.
        body: Vec<u8>,
        /// Its ETag, when the server sent one.
        etag: Option<String>,
    },
}

/// What one download attempt did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DownloadReport {
    /// Requests sent.
    pub requests: u32,
    /// Of which range requests (resuming a partial file).
    pub range_requests: u32,
    /// Bytes received over the network.
    pub received: u64,
}

/// Fetches manifests and models.
#[derive(Debug)]
pub struct Fetcher {
    client: reqwest::Client,
    signing: Option<(SigV4Scope, Arc<CachedCredentials>)>,
    attempts: u32,
}

impl Fetcher {
    /// A fetcher for `config`; `credentials` sign requests to an `s3://` source.
    pub fn new(
        config: &RefreshConfig,
        credentials: Option<Arc<CachedCredentials>>,
    ) -> Result<Self, RefreshError> {
        let client = reqwest::Client::builder()
            // Never follow a redirect: it could carry the SigV4 headers (session token) to
            // another host or downgrade https to http past the loopback-only rule.
            .redirect(reqwest::redirect::Policy::none())
            .https_only(config.source.manifest_url().scheme() == "https")
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .user_agent(concat!("omni-core/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RefreshError::Network(e.to_string()))?;
        let signing = match (config.source.signing_region(), credentials) {
            (Some(region), Some(credentials)) => Some((SigV4Scope::s3(region), credentials)),
            (Some(_), None) => {
                return Err(RefreshError::Credentials(
                    omni_cloud::CredentialsError::Missing(
                        "an s3:// manifest URL needs AWS credentials".into(),
                    ),
                ));
            }
            (None, _) => None,
        };
        Ok(Self {
            client,
            signing,
            attempts: config.download_attempts.max(1),
        })
    }

    async fn get(&self, url: &Url) -> Result<reqwest::RequestBuilder, RefreshError> {
        let mut request = self.client.get(url.clone());
        if let Some((scope, credentials)) = &self.signing {
            let credentials = credentials.get().await?;
            for (name, value) in scope.sign(
                &credentials,
                "GET",
                url.as_str(),
                &[],
                b"",
                SystemTime::now(),
            )? {
                request = request.header(name, value);
            }
        }
        Ok(request)
    }

    /// GETs the manifest; with `etag`, a 304 answers [`ManifestResponse::NotModified`].
    pub async fn manifest(
        &self,
        url: &Url,
        etag: Option<&str>,
    ) -> Result<ManifestResponse, RefreshError> {
        let mut request = self.get(url).await?;
        if let Some(etag) = etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        let mut response = request.send().await.map_err(network)?;
        refuse_redirect(url, &response)?;
        match response.status() {
            StatusCode::NOT_MODIFIED => return Ok(ManifestResponse::NotModified),
            StatusCode::OK => {}
            status => {
                return Err(RefreshError::Http {
                    url: url.to_string(),
                    status: status.as_u16(),
                });
            }
        }
        let etag = header(&response, ETAG);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(network)? {
            if body.len() + chunk.len() > MAX_MANIFEST_BYTES {
                return Err(RefreshError::Rejected(RejectReason::Manifest(
                    ManifestError::TooLarge(MAX_MANIFEST_BYTES),
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(ManifestResponse::Fetched { body, etag })
    }

    /// Downloads `url` into `part` until it holds `size` bytes, resuming from what `part`
    /// already holds with a range request, and again (up to the configured attempts) when a
    /// connection drops part way. `progress(bytes in part, size)` is called as bytes arrive.
    pub async fn download(
        &self,
        url: &Url,
        part: &Path,
        size: u64,
        progress: &mut (dyn FnMut(u64, u64) + Send),
    ) -> Result<DownloadReport, RefreshError> {
        let mut report = DownloadReport::default();
        let mut last_error = None;
        for _ in 0..self.attempts {
            match self
                .download_once(url, part, size, progress, &mut report)
                .await
            {
                Ok(()) => return Ok(report),
                Err(e @ RefreshError::Network(_)) => last_error = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_error.unwrap_or_else(|| RefreshError::Network("download failed".into())))
    }

    async fn download_once(
        &self,
        url: &Url,
        part: &Path,
        size: u64,
        progress: &mut (dyn FnMut(u64, u64) + Send),
        report: &mut DownloadReport,
    ) -> Result<(), RefreshError> {
        let io = |what: &'static str| RefreshError::io(format!("{what} {}", part.display()));
        let have = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
        if have >= size && size > 0 {
            return Ok(());
        }
        let mut request = self.get(url).await?;
        if have > 0 {
            request = request.header(RANGE, format!("bytes={have}-"));
            report.range_requests += 1;
        }
        report.requests += 1;
        let mut response = request.send().await.map_err(network)?;
        refuse_redirect(url, &response)?;
        let mut file = match response.status() {
            StatusCode::PARTIAL_CONTENT if have > 0 => {
                let start = header(&response, CONTENT_RANGE)
                    .as_deref()
                    .and_then(content_range_start);
                if start != Some(have) {
                    return Err(RefreshError::Network(format!(
                        "range request for bytes {have}- answered {:?}",
                        header(&response, CONTENT_RANGE)
                    )));
                }
                OpenOptions::new()
                    .append(true)
                    .open(part)
                    .map_err(io("cannot open"))?
            }
            StatusCode::OK => File::create(part).map_err(io("cannot create"))?,
            StatusCode::RANGE_NOT_SATISFIABLE => {
                // The part file does not fit the file on the server: start over.
                File::create(part).map_err(io("cannot truncate"))?;
                return Err(RefreshError::Network(
                    "range not satisfiable; restarting the download".into(),
                ));
            }
            StatusCode::NOT_FOUND => {
                return Err(RefreshError::Rejected(RejectReason::ModelMissing(
                    url.to_string(),
                )));
            }
            status => {
                return Err(RefreshError::Http {
                    url: url.to_string(),
                    status: status.as_u16(),
                });
            }
        };
        let mut written = if response.status() == StatusCode::OK {
            0
        } else {
            have
        };
        progress(written, size);
        loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) => {
                    // Keep what arrived for the next attempt.
                    file.sync_data().map_err(io("cannot fsync"))?;
                    return Err(network(e));
                }
            };
            written += chunk.len() as u64;
            report.received += chunk.len() as u64;
            if written > size {
                return Err(RefreshError::Rejected(RejectReason::SizeMismatch {
                    expected: size,
                    actual: written,
                }));
            }
            file.write_all(&chunk).map_err(io("cannot write"))?;
            progress(written, size);
        }
        file.sync_data().map_err(io("cannot fsync"))?;
        if written < size {
            return Err(RefreshError::Network(format!(
                "connection closed after {written} of {size} bytes"
            )));
        }
        Ok(())
    }
}

/// A 3xx answer is an error: redirects are never followed.
fn refuse_redirect(url: &Url, response: &reqwest::Response) -> Result<(), RefreshError> {
    let status = response.status();
    if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
        let location: String = header(response, reqwest::header::LOCATION)
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect();
        return Err(RefreshError::Redirected {
            url: url.to_string(),
            status: status.as_u16(),
            location,
        });
    }
    Ok(())
}

fn network(e: reqwest::Error) -> RefreshError {
    RefreshError::Network(format!("{e:#}"))
}

fn header(response: &reqwest::Response, name: reqwest::header::HeaderName) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// `bytes 100-199/200` → 100.
fn content_range_start(value: &str) -> Option<u64> {
    let range = value.trim().strip_prefix("bytes")?.trim_start();
    range.split_once('-')?.0.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_content_range() {
        assert_eq!(content_range_start("bytes 100-199/200"), Some(100));
        assert_eq!(content_range_start("bytes 0-0/1"), Some(0));
        assert_eq!(content_range_start("bytes */200"), None);
        assert_eq!(content_range_start("items 1-2/3"), None);
    }
}
