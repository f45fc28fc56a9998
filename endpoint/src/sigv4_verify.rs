//! Server-side SigV4 check of `InvokeEndpoint` requests: recomputes the signature with the
//! configured secret over the headers the client signed (with `omni-core`'s signer) and
//! compares. Refuses unknown keys, a missing session token, and stale timestamps as AWS does.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use omni_core::cloud::{Credentials, SigV4Scope};

/// Largest clock difference accepted (AWS allows 15 minutes; we are stricter).
pub const MAX_SKEW: Duration = Duration::from_secs(5 * 60);

/// Why a request's signature was refused; each maps to an AWS error type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No or unparsable `Authorization` header.
    #[error("missing or malformed Authorization header")]
    MissingAuthentication,
    /// An access key this endpoint does not know.
    #[error("the security token included in the request is invalid")]
    UnknownAccessKey,
    /// The configured credentials carry a session token and the request did not send it
    /// (or sent another).
    #[error("the security token included in the request is invalid or missing")]
    BadSessionToken,
    /// `x-amz-date` missing, malformed, or too far from now.
    #[error("signature expired or X-Amz-Date invalid: {0}")]
    Expired(String),
    /// Region or service of the credential scope do not match this endpoint.
    #[error("credential scope {0} does not match this endpoint")]
    WrongScope(String),
    /// The recomputed signature differs.
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
            Self::UnknownAccessKey | Self::BadSessionToken => "UnrecognizedClientException",
            Self::Expired(_) | Self::WrongScope(_) | Self::SignatureMismatch => {
                "InvalidSignatureException"
            }
        }
    }
}

/// The parts of `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
struct Authorization<'a> {
    access_key: &'a str,
    scope_region: &'a str,
    scope_service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Option<Authorization<'_>> {
    let rest = value.strip_prefix("AWS4-HMAC-SHA256 ")?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (key, val) = part.trim().split_once('=')?;
        match key {
            "Credential" => credential = Some(val),
            "SignedHeaders" => signed = Some(val),
            "Signature" => signature = Some(val),
            _ => return None,
        }
    }
    let mut scope = credential?.split('/');
    let access_key = scope.next()?;
    let _date = scope.next()?;
    let scope_region = scope.next()?;
    let scope_service = scope.next()?;
    if scope.next()? != "aws4_request" {
        return None;
    }
    Some(Authorization {
        access_key,
        scope_region,
        scope_service,
        signed_headers: signed?.split(';').collect(),
        signature: signature?,
    })
}

/// Parses `YYYYMMDDTHHMMSSZ`.
fn parse_amz_date(value: &str) -> Option<SystemTime> {
    let b = value.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| value.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, s) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let (y, m) = if mo <= 2 {
        (y - 1, mo + 9)
    } else {
        (y, mo - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + s;
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

/// Checks one request against `expected` credentials for `scope`.
///
/// `url` is the request URL as the client addressed it (`http://{Host}{path}`), `headers`
/// every request header (lowercase names), `body` the payload.
pub fn verify(
    expected: &Credentials,
    scope: &SigV4Scope,
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
    now: SystemTime,
) -> Result<(), AuthError> {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let auth = header("authorization")
        .and_then(parse_authorization)
        .ok_or(AuthError::MissingAuthentication)?;
    if auth.access_key != expected.access_key_id {
        return Err(AuthError::UnknownAccessKey);
    }
    let token = header("x-amz-security-token");
    if let Some(required) = &expected.session_token
        && (token != Some(required.as_str())
            || !auth.signed_headers.contains(&"x-amz-security-token"))
    {
        return Err(AuthError::BadSessionToken);
    }
    if auth.scope_region != scope.region || auth.scope_service != scope.service {
        return Err(AuthError::WrongScope(format!(
            "{}/{}",
            auth.scope_region, auth.scope_service
        )));
    }
    let date = header("x-amz-date").ok_or_else(|| AuthError::Expired("missing".into()))?;
    let time = parse_amz_date(date).ok_or_else(|| AuthError::Expired(date.into()))?;
    let skew = now.duration_since(time).unwrap_or_else(|e| e.duration());
    if skew > MAX_SKEW {
        return Err(AuthError::Expired(format!(
            "{date} is {}s away from the server's clock",
            skew.as_secs()
        )));
    }
    // The signer adds host, x-amz-date and the token itself; pass the other signed headers.
    let added_by_signer = [
        "host",
        "x-amz-date",
        "x-amz-security-token",
        "authorization",
    ];
    let mut signed = Vec::new();
    for name in &auth.signed_headers {
        if added_by_signer.contains(name) {
            continue;
        }
        let value = header(name).ok_or(AuthError::SignatureMismatch)?;
        signed.push((*name, value));
    }
    let credentials = Credentials {
        session_token: token.map(str::to_owned),
        ..expected.clone()
    };
    let expected_headers = scope
        .sign(&credentials, method, url, &signed, body, time)
        .map_err(|_| AuthError::SignatureMismatch)?;
    let expected_auth = expected_headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        .and_then(|(_, v)| parse_authorization(v))
        .ok_or(AuthError::SignatureMismatch)?;
    if expected_auth.signed_headers != auth.signed_headers
        || !constant_time_eq(
            expected_auth.signature.as_bytes(),
            auth.signature.as_bytes(),
        )
    {
        return Err(AuthError::SignatureMismatch);
    }
    Ok(())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "http://127.0.0.1:9/endpoints/e/invocations";

    fn creds(token: Option<&str>) -> Credentials {
        Credentials {
            access_key_id: "AKIDTEST".into(),
            secret_access_key: "secret-key".into(),
            session_token: token.map(str::to_owned),
            expires_at: None,
        }
    }

    fn signed_request(c: &Credentials, time: SystemTime) -> Vec<(String, String)> {
        let scope = SigV4Scope::sagemaker("us-east-1");
        let mut headers = vec![
            ("content-type".to_owned(), "image/jpeg".to_owned()),
            ("host".to_owned(), "127.0.0.1:9".to_owned()),
        ];
        let signed = scope
            .sign(
                c,
                "POST",
                URL,
                &[("content-type", "image/jpeg")],
                b"body",
                time,
            )
            .unwrap();
        headers.extend(signed.into_iter().map(|(n, v)| (n.to_lowercase(), v)));
        headers
    }

    fn check(server: &Credentials, headers: &[(String, String)]) -> Result<(), AuthError> {
        verify(
            server,
            &SigV4Scope::sagemaker("us-east-1"),
            "POST",
            URL,
            headers,
            b"body",
            SystemTime::now(),
        )
    }

    #[test]
    fn accepts_a_correct_signature_and_refuses_each_fault() {
        let now = SystemTime::now();
        assert_eq!(
            check(&creds(None), &signed_request(&creds(None), now)),
            Ok(())
        );
        let with_token = creds(Some("tok"));
        assert_eq!(
            check(&with_token, &signed_request(&with_token, now)),
            Ok(())
        );

        let wrong_secret = Credentials {
            secret_access_key: "other".into(),
            ..creds(None)
        };
        assert_eq!(
            check(&creds(None), &signed_request(&wrong_secret, now)),
            Err(AuthError::SignatureMismatch)
        );
        assert_eq!(
            check(&with_token, &signed_request(&creds(None), now)),
            Err(AuthError::BadSessionToken)
        );
        let stale = now - Duration::from_secs(20 * 60);
        assert!(matches!(
            check(&creds(None), &signed_request(&creds(None), stale)),
            Err(AuthError::Expired(_))
        ));
        let other_key = Credentials {
            access_key_id: "AKIDOTHER".into(),
            ..creds(None)
        };
        assert_eq!(
            check(&creds(None), &signed_request(&other_key, now)),
            Err(AuthError::UnknownAccessKey)
        );
        let mut tampered = signed_request(&creds(None), now);
        tampered[0].1 = "image/png".into();
        assert_eq!(
            check(&creds(None), &tampered),
            Err(AuthError::SignatureMismatch)
        );
        assert_eq!(
            check(&creds(None), &[]),
            Err(AuthError::MissingAuthentication)
        );
    }

    #[test]
    fn amz_dates_parse() {
        assert_eq!(
            parse_amz_date("20150830T123600Z"),
            Some(UNIX_EPOCH + Duration::from_secs(1_440_938_160))
        );
        assert_eq!(parse_amz_date("2015-08-30T12:36:00Z"), None);
        assert_eq!(parse_amz_date("20151330T123600Z"), None);
    }
}
