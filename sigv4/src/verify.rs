//! Server-side SigV4 check of a request, in the two steps AWS takes: first the headers
//! ([`check_headers`]: an `Authorization` header of the right form, a known access key, the
//! session token, `X-Amz-Date`, a credential scope that names this date, region and service,
//! and a fresh timestamp), so that a request that can never pass is refused before its body
//! is read; then, with the body, the signature itself ([`HeaderCheck::verify_signature`],
//! recomputed with the phones' signer, [`crate::signing`], over the headers the client signed
//! and the payload).

use std::time::{Duration, SystemTime};

use crate::{Credentials, SigV4Scope};

mod authorization;

use authorization::{Authorization, find_header, parse_amz_date, parse_authorization};

/// Largest clock difference accepted (AWS allows 15 minutes; we are stricter).
pub const MAX_SKEW: Duration = Duration::from_secs(5 * 60);

/// Why a request's signature was refused; each maps to an AWS error type and status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header at all.
    #[error("missing authentication token: the request has no Authorization header")]
    MissingAuthentication,
    /// An `Authorization` header, credential scope or `X-Amz-Date` that does not have the
    /// form SigV4 requires.
    #[error("{0}")]
    Incomplete(String),
    /// An access key this endpoint does not know.
    #[error("the security token included in the request is invalid")]
    UnknownAccessKey,
    /// The configured credentials carry a session token and the request did not send it
    /// (or sent another, or did not sign it).
    #[error("the security token included in the request is invalid or missing")]
    BadSessionToken,
    /// `X-Amz-Date` too far from the server's clock.
    #[error("signature expired: {0}")]
    Expired(String),
    /// The credential scope's date, region, service or terminator does not match the
    /// request's `X-Amz-Date` or this endpoint.
    #[error("{0}")]
    WrongScope(String),
    /// The recomputed signature differs (wrong secret, or a signed header or the body
    /// changed on the way).
    #[error(
        "the request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method"
    )]
    SignatureMismatch,
}

impl AuthError {
    /// The AWS error type sent in `x-amzn-ErrorType`.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::MissingAuthentication => "MissingAuthenticationToken",
            Self::Incomplete(_) => "IncompleteSignature",
            Self::UnknownAccessKey | Self::BadSessionToken => "UnrecognizedClientException",
            Self::Expired(_) | Self::WrongScope(_) | Self::SignatureMismatch => {
                "InvalidSignatureException"
            }
        }
    }

    /// The HTTP status AWS answers with: 400 for `IncompleteSignature`, 403 otherwise.
    pub fn status(&self) -> u16 {
        match self {
            Self::Incomplete(_) => 400,
            _ => 403,
        }
    }
}
/// A request whose headers passed [`check_headers`]; its signature is checked once the body
/// has been read.
pub struct HeaderCheck<'a> {
    expected: &'a Credentials,
    scope: &'a SigV4Scope,
    headers: &'a [(String, String)],
    auth: Authorization<'a>,
    token: Option<&'a str>,
    time: SystemTime,
}

/// Checks everything about a request that does not need its body, in AWS's order: the
/// `Authorization` header's presence and form, `X-Amz-Date`'s presence and form, the access
/// key, the session token, the credential scope (its date must be `X-Amz-Date`'s, its region
/// and service `scope`'s, its terminator `aws4_request`), and the clock skew.
///
/// `headers` are every request header (any case); `now` the server's clock.
pub fn check_headers<'a>(
    expected: &'a Credentials,
    scope: &'a SigV4Scope,
    headers: &'a [(String, String)],
    now: SystemTime,
) -> Result<HeaderCheck<'a>, AuthError> {
    let auth = parse_authorization(
        find_header(headers, "authorization").ok_or(AuthError::MissingAuthentication)?,
    )?;
    let date = find_header(headers, "x-amz-date").ok_or_else(|| {
        AuthError::Incomplete(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
                .into(),
        )
    })?;
    let time = parse_amz_date(date).ok_or_else(|| {
        AuthError::Incomplete(format!(
            "X-Amz-Date {date:?} is not an ISO-8601 basic date-time (YYYYMMDD'T'HHMMSS'Z')."
        ))
    })?;
    if auth.access_key != expected.access_key_id {
        return Err(AuthError::UnknownAccessKey);
    }
    let token = find_header(headers, "x-amz-security-token");
    if let Some(required) = &expected.session_token
        && (token != Some(required.as_str())
            || !auth.signed_headers.contains(&"x-amz-security-token"))
    {
        return Err(AuthError::BadSessionToken);
    }
    let day = &date[..8];
    if auth.scope_date != day {
        return Err(AuthError::WrongScope(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{day}', from '{date}'.",
            auth.scope_date
        )));
    }
    if auth.scope_region != scope.region {
        return Err(AuthError::WrongScope(format!(
            "Credential should be scoped to a valid region, not '{}'.",
            auth.scope_region
        )));
    }
    if auth.scope_service != scope.service {
        return Err(AuthError::WrongScope(format!(
            "Credential should be scoped to correct service: '{}'.",
            scope.service
        )));
    }
    if auth.scope_terminator != "aws4_request" {
        return Err(AuthError::WrongScope(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{}'.",
            auth.scope_terminator
        )));
    }
    let skew = now.duration_since(time).unwrap_or_else(|e| e.duration());
    if skew > MAX_SKEW {
        return Err(AuthError::Expired(format!(
            "{date} is {}s away from the server's clock (at most {}s allowed)",
            skew.as_secs(),
            MAX_SKEW.as_secs()
        )));
    }
    Ok(HeaderCheck {
        expected,
        scope,
        headers,
        auth,
        token,
        time,
    })
}

/// Shows who signed and for what scope; never the headers' values (the session token).
impl std::fmt::Debug for HeaderCheck<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeaderCheck")
            .field("access_key", &self.auth.access_key)
            .field("scope_date", &self.auth.scope_date)
            .field("scope_region", &self.auth.scope_region)
            .field("scope_service", &self.auth.scope_service)
            .field("signed_headers", &self.auth.signed_headers)
            .field("time", &self.time)
            .finish_non_exhaustive()
    }
}

impl HeaderCheck<'_> {
    /// Recomputes the signature over `method`, `url` (as the client addressed it,
    /// `http://{Host}{path}`), the signed headers and `body`, and compares.
    pub fn verify_signature(&self, method: &str, url: &str, body: &[u8]) -> Result<(), AuthError> {
        // The signer adds host, x-amz-date and the token itself; pass the other signed headers.
        let added_by_signer = [
            "host",
            "x-amz-date",
            "x-amz-security-token",
            "authorization",
        ];
        let mut signed = Vec::new();
        for name in &self.auth.signed_headers {
            if added_by_signer.contains(name) {
                continue;
            }
            let value = find_header(self.headers, name).ok_or(AuthError::SignatureMismatch)?;
            signed.push((*name, value));
        }
        let credentials = Credentials {
            session_token: self.token.map(str::to_owned),
            ..self.expected.clone()
        };
        let expected_headers = self
            .scope
            .sign(&credentials, method, url, &signed, body, self.time)
            .map_err(|_| AuthError::SignatureMismatch)?;
        let expected_auth = expected_headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
            .and_then(|(_, v)| parse_authorization(v).ok())
            .ok_or(AuthError::SignatureMismatch)?;
        if expected_auth.signed_headers != self.auth.signed_headers
            || !constant_time_eq(
                expected_auth.signature.as_bytes(),
                self.auth.signature.as_bytes(),
            )
        {
            return Err(AuthError::SignatureMismatch);
        }
        Ok(())
    }
}

/// Checks one whole request against `expected` credentials for `scope`: [`check_headers`]
/// then [`HeaderCheck::verify_signature`].
pub fn verify(
    expected: &Credentials,
    scope: &SigV4Scope,
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
    now: SystemTime,
) -> Result<(), AuthError> {
    check_headers(expected, scope, headers, now)?.verify_signature(method, url, body)
}

/// Equal, in time independent of where they differ (`subtle`; the length is not secret).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests;
