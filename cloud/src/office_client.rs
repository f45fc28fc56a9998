//! The yard office API (`docs/office.md`, `/v1`), as the phone's office lane calls it:
//! SigV4 service `execute-api`, the request and answer types of `omni-office-wire`, and the
//! transport and error classification of the SageMaker Runtime client ([`InvokeError`]).

use std::sync::Arc;
use std::time::Duration;

use omni_office_wire::{
    DETECT_HEADER, FACE_HEADER, Inspection, InspectionDetail, PHOTO_SHA256_HEADER, PhotoUploaded,
    PutInspection, PutVerdict, Verdict, VerdictSource,
};
use omni_protocol::box_verdict::{MAX_REPORT_BYTES, ReportVerdict, parse_report_verdict};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::credentials::CachedCredentials;
use super::payload::Payload;
use super::runtime_client::{InvokeError, MAX_RESPONSE_BYTES};
use super::service_url::ServiceUrl;
use super::signed_http::SignedHttp;
use omni_sigv4::SigV4Scope;

/// Where and how to call the office.
#[derive(Clone, Debug)]
pub struct OfficeConfig {
    /// Base URL of the API (the part before `/v1`): an API Gateway stage, or a local
    /// `omni-office serve`.
    pub base_url: ServiceUrl,
    /// Signing region.
    pub region: String,
    /// Whole-request timeout. A photo upload with detection waits for the endpoint (the
    /// office's budget, 8 s by default) on top of the transfer.
    pub timeout: Duration,
    /// TCP/TLS connect timeout.
    pub connect_timeout: Duration,
    /// Server time minus device time at start, in milliseconds (learned after a skew refusal).
    pub clock_offset_ms: i64,
}

impl OfficeConfig {
    /// The office at `base_url`, with the default timeouts.
    pub fn new(base_url: ServiceUrl, region: &str) -> Self {
        Self {
            base_url,
            region: region.to_owned(),
            timeout: Duration::from_secs(70),
            connect_timeout: Duration::from_secs(10),
            clock_offset_ms: 0,
        }
    }
}

/// An answered photo upload.
#[derive(Debug)]
pub struct UploadOutput {
    /// What the office stored and, with detection, its verdict.
    pub uploaded: PhotoUploaded,
    /// Round-trip time.
    pub latency: Duration,
}

/// What the office answered to a report request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReportAnswer {
    /// The report is written: its verdict on the box.
    Written(ReportVerdict),
    /// The office is writing it (202); ask again, not before `retry_after` when given.
    Pending {
        /// The office's `Retry-After`.
        retry_after: Option<Duration>,
    },
}

/// Calls the yard office API.
#[derive(Clone, Debug)]
pub struct OfficeClient {
    http: SignedHttp,
    config: OfficeConfig,
}

impl OfficeClient {
    /// A client for `config`, signing with `credentials`.
    pub fn new(
        config: OfficeConfig,
        credentials: Arc<CachedCredentials>,
    ) -> Result<Self, InvokeError> {
        let http = SignedHttp::new(
            &config.base_url,
            SigV4Scope::execute_api(&config.region),
            credentials,
            config.timeout,
            config.connect_timeout,
            config.clock_offset_ms,
        )?;
        Ok(Self { http, config })
    }

    /// The configuration.
    pub fn config(&self) -> &OfficeConfig {
        &self.config
    }

    /// Drops cached credentials (after an auth failure) so the provider is asked again.
    pub fn invalidate_credentials(&self) {
        self.http.invalidate_credentials();
    }

    fn url(&self, path: &str) -> reqwest::Url {
        self.config.base_url.join_path(path)
    }

    /// `PUT /v1/inspections/{id}`: creates or updates (by revision) an inspection.
    pub async fn put_inspection(
        &self,
        id: &str,
        inspection: &PutInspection,
    ) -> Result<Inspection, InvokeError> {
        self.json(
            reqwest::Method::PUT,
            &format!("v1/inspections/{id}"),
            Some(inspection),
        )
        .await
    }

    /// `PUT /v1/inspections/{id}/photos/{photo_id}`: uploads `payload` (its SHA-256 in
    /// `x-omni-photo-sha256`, the face it shows in `x-omni-photo-face`), with detection on
    /// upload when `detect`.
    pub async fn upload_photo(
        &self,
        inspection_id: &str,
        photo_id: &str,
        payload: &Payload,
        face: omni_protocol::Face,
        detect: bool,
    ) -> Result<UploadOutput, InvokeError> {
        let sha256 = omni_protocol::digest::sha256_hex(&payload.bytes);
        let face = face.to_string();
        let headers = [
            (FACE_HEADER, face.as_str()),
            ("content-type", payload.content_type),
            ("accept", "application/json"),
            (PHOTO_SHA256_HEADER, sha256.as_str()),
            (DETECT_HEADER, if detect { "true" } else { "false" }),
        ];
        let url = self.url(&format!("v1/inspections/{inspection_id}/photos/{photo_id}"));
        let answer = self
            .http
            .send(
                reqwest::Method::PUT,
                &url,
                &headers,
                &payload.bytes,
                MAX_RESPONSE_BYTES,
            )
            .await?;
        Ok(UploadOutput {
            uploaded: parse(&answer.body)?,
            latency: answer.latency,
        })
    }

    /// `PUT /v1/inspections/{id}/photos/{photo_id}/verdicts/{source}`: a verdict in the
    /// endpoint response schema v1 (`response`, JSON).
    pub async fn put_verdict(
        &self,
        inspection_id: &str,
        photo_id: &str,
        source: VerdictSource,
        response: &str,
    ) -> Result<Verdict, InvokeError> {
        let raw = serde_json::value::RawValue::from_string(response.to_owned())
            .map_err(|e| InvokeError::MalformedAnswer(format!("verdict not JSON: {e}")))?;
        self.json(
            reqwest::Method::PUT,
            &format!(
                "v1/inspections/{inspection_id}/photos/{photo_id}/verdicts/{}",
                source.as_str()
            ),
            Some(&PutVerdict { response: raw }),
        )
        .await
    }

    /// `GET /v1/inspections/{id}`: the inspection with its photos and verdicts.
    pub async fn inspection(&self, id: &str) -> Result<InspectionDetail, InvokeError> {
        self.json::<(), _>(reqwest::Method::GET, &format!("v1/inspections/{id}"), None)
            .await
    }

    /// `GET /v1/inspections/{id}/report`: the verdict on the box of the report of the
    /// inspection's current revision (200), or [`ReportAnswer::Pending`] while the office
    /// writes it (202, `Retry-After`). A body that is not a valid EIR of this inspection is
    /// [`InvokeError::MalformedAnswer`]; 404 and 409 are the office's errors (`Service`).
    pub async fn report_verdict(&self, id: &str) -> Result<ReportAnswer, InvokeError> {
        let answer = self
            .http
            .send(
                reqwest::Method::GET,
                &self.url(&format!("v1/inspections/{id}/report")),
                &[("accept", "application/json")],
                &[],
                MAX_REPORT_BYTES,
            )
            .await?;
        if answer.status == 202 {
            return Ok(ReportAnswer::Pending {
                retry_after: answer.retry_after,
            });
        }
        parse_report_verdict(&answer.body, id)
            .map(ReportAnswer::Written)
            .map_err(|e| InvokeError::MalformedAnswer(e.to_string()))
    }

    async fn json<B: Serialize, T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, InvokeError> {
        let bytes = match body {
            Some(body) => serde_json::to_vec(body)
                .map_err(|e| InvokeError::MalformedAnswer(format!("request not JSON: {e}")))?,
            None => Vec::new(),
        };
        let mut headers = vec![("accept", "application/json")];
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        let answer = self
            .http
            .send(
                method,
                &self.url(path),
                &headers,
                &bytes,
                MAX_RESPONSE_BYTES,
            )
            .await?;
        parse(&answer.body)
    }
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, InvokeError> {
    serde_json::from_slice(body).map_err(|e| InvokeError::MalformedAnswer(e.to_string()))
}
