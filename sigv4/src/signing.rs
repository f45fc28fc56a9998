//! AWS Signature Version 4 for the requests Omni-Inspector makes by itself (`aws-sigv4`, no
//! full SDK): the phones' calls to SageMaker, S3 and the yard office, and the signature a
//! server recomputes to verify one.

use std::time::SystemTime;

use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use tracing::subscriber::NoSubscriber;

use crate::credentials::Credentials;

/// Signing scope and service rules for one AWS service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigV4Scope {
    /// Region, e.g. `us-east-1`.
    pub region: String,
    /// Signing name, e.g. `sagemaker` or `s3`.
    pub service: String,
}

/// A request could not be signed.
#[derive(Debug, thiserror::Error)]
#[error("could not sign the request: {0}")]
pub struct SigningError(String);

impl SigV4Scope {
    /// Scope for the SageMaker Runtime (`InvokeEndpoint`).
    pub fn sagemaker(region: &str) -> Self {
        Self {
            region: region.to_owned(),
            service: "sagemaker".to_owned(),
        }
    }

    /// Scope for API Gateway (`execute-api`): the yard office API.
    pub fn execute_api(region: &str) -> Self {
        Self {
            region: region.to_owned(),
            service: "execute-api".to_owned(),
        }
    }

    /// Scope for S3 (adds `x-amz-content-sha256`, single URI encoding).
    pub fn s3(region: &str) -> Self {
        Self {
            region: region.to_owned(),
            service: "s3".to_owned(),
        }
    }

    /// The headers to add to the request (`authorization`, `x-amz-date`, and
    /// `x-amz-security-token` / `x-amz-content-sha256` when they apply).
    ///
    /// `headers` are the request's other headers; all of them are signed, so pass only the
    /// ones that are sent as given (not `user-agent`, which proxies rewrite).
    pub fn sign(
        &self,
        credentials: &Credentials,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        time: SystemTime,
    ) -> Result<Vec<(String, String)>, SigningError> {
        let identity = aws_credential_types::Credentials::new(
            &credentials.access_key_id,
            &credentials.secret_access_key,
            credentials.session_token.clone(),
            credentials.expires_at,
            "omni-sigv4",
        )
        .into();
        let mut settings = SigningSettings::default();
        if self.service == "s3" {
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
            settings.percent_encoding_mode = PercentEncodingMode::Single;
            settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        }
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(time)
            .settings(settings)
            .build()
            .map_err(|e| SigningError(e.to_string()))?
            .into();
        let request = SignableRequest::new(
            method,
            url,
            headers.iter().copied(),
            SignableBody::Bytes(body),
        )
        .map_err(|e| SigningError(e.to_string()))?;
        // aws-sigv4 traces the canonical request, which holds the session token: whatever the
        // host's log settings, nothing it logs while signing reaches any subscriber.
        let signed =
            tracing::subscriber::with_default(NoSubscriber::default(), || sign(request, &params));
        let (instructions, _) = signed
            .map_err(|e| SigningError(e.to_string()))?
            .into_parts();
        Ok(instructions
            .headers()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The AWS SigV4 test suite's `get-vanilla` case (service `service`, 2015-08-30T12:36:00Z).
    #[test]
    fn matches_the_aws_test_suite_vanilla_get() {
        let scope = SigV4Scope {
            region: "us-east-1".into(),
            service: "service".into(),
        };
        let credentials = Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
            expires_at: None,
        };
        let time = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
        let headers = scope
            .sign(
                &credentials,
                "GET",
                "https://example.amazonaws.com/",
                &[],
                b"",
                time,
            )
            .unwrap();
        assert_eq!(
            header(&headers, "authorization").unwrap(),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        assert_eq!(header(&headers, "x-amz-date"), Some("20150830T123600Z"));
    }

    #[test]
    fn session_token_is_signed_and_s3_gets_a_payload_hash() {
        let credentials = Credentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: "secret".into(),
            session_token: Some("token".into()),
            expires_at: None,
        };
        let headers = SigV4Scope::s3("eu-west-1")
            .sign(
                &credentials,
                "GET",
                "https://bucket.s3.eu-west-1.amazonaws.com/edge/latest.json",
                &[],
                b"",
                SystemTime::now(),
            )
            .unwrap();
        assert_eq!(header(&headers, "x-amz-security-token"), Some("token"));
        assert!(
            header(&headers, "authorization")
                .unwrap()
                .contains("x-amz-content-sha256;x-amz-date;x-amz-security-token")
        );
    }
}
