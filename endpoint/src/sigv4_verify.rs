//! Server-side SigV4 check of invocation requests, in the two steps AWS takes: first the
//! headers ([`check_headers`]: an `Authorization` header of the right form, a known access
//! key, the session token, `X-Amz-Date`, a credential scope that names this date, region and
//! service, and a fresh timestamp), so that a request that can never pass is refused before
//! its body is read; then, with the body, the signature itself
//! ([`HeaderCheck::verify_signature`], recomputed with `omni-core`'s signer over the headers
//! the client signed and the payload).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use omni_core::cloud::{Credentials, SigV4Scope};

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

/// The parts of `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
struct Authorization<'a> {
    access_key: &'a str,
    scope_date: &'a str,
    scope_region: &'a str,
    scope_service: &'a str,
    scope_terminator: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Result<Authorization<'_>, AuthError> {
    // AWS echoes the whole header back; the key id and signature are left out of ours.
    let incomplete = |what: &str| AuthError::Incomplete(what.to_owned());
    let rest = value.strip_prefix("AWS4-HMAC-SHA256 ").ok_or_else(|| {
        incomplete("Authorization header requires the AWS4-HMAC-SHA256 algorithm.")
    })?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (key, val) = part
            .trim()
            .split_once('=')
            .ok_or_else(|| incomplete("Authorization header has a parameter without a value."))?;
        let slot = match key {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut signature,
            _ => return Err(incomplete("Authorization header has an unknown parameter.")),
        };
        if slot.replace(val).is_some() {
            return Err(incomplete("Authorization header repeats a parameter."));
        }
    }
    let credential = credential
        .ok_or_else(|| incomplete("Authorization header requires 'Credential' parameter."))?;
    let signed = signed
        .filter(|s| !s.is_empty())
        .ok_or_else(|| incomplete("Authorization header requires 'SignedHeaders' parameter."))?;
    let signature = signature
        .filter(|s| !s.is_empty())
        .ok_or_else(|| incomplete("Authorization header requires 'Signature' parameter."))?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [
        access_key,
        scope_date,
        scope_region,
        scope_service,
        scope_terminator,
    ] = scope[..]
    else {
        return Err(incomplete(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term.",
        ));
    };
    Ok(Authorization {
        access_key,
        scope_date,
        scope_region,
        scope_service,
        scope_terminator,
        signed_headers: signed.split(';').collect(),
        signature,
    })
}

/// Parses `YYYYMMDDTHHMMSSZ`.
fn parse_amz_date(value: &str) -> Option<SystemTime> {
    let b = value.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' || !value.is_ascii() {
        return None;
    }
    let num = |r: std::ops::Range<usize>| {
        let digits = value.get(r)?;
        if !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        digits.parse::<i64>().ok()
    };
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

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
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

    fn signed_with_scope(scope: &SigV4Scope, time: SystemTime) -> Vec<(String, String)> {
        let mut headers = vec![("content-type".to_owned(), "image/jpeg".to_owned())];
        let signed = scope
            .sign(
                &creds(None),
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

    fn set(headers: &mut [(String, String)], name: &str, f: impl Fn(&str) -> String) {
        let slot = headers.iter_mut().find(|(n, _)| n == name).unwrap();
        slot.1 = f(&slot.1);
    }

    #[test]
    fn the_credential_scope_must_name_the_request_date_this_region_and_service() {
        let now = SystemTime::now();
        let good = signed_with_scope(&SigV4Scope::sagemaker("us-east-1"), now);
        assert_eq!(check(&creds(None), &good), Ok(()));

        // Scope date of the day before X-Amz-Date's (a client using local time for one
        // and UTC for the other); X-Amz-Date itself is fresh.
        let yesterday = signed_with_scope(
            &SigV4Scope::sagemaker("us-east-1"),
            now - Duration::from_secs(86_400),
        );
        let day_before = find_header(&yesterday, "authorization")
            .unwrap()
            .split('/')
            .nth(1)
            .unwrap()
            .to_owned();
        let mut other_day = good.clone();
        let today = find_header(&good, "x-amz-date").unwrap()[..8].to_owned();
        set(&mut other_day, "authorization", |v| {
            v.replace(&format!("/{today}/"), &format!("/{day_before}/"))
        });
        let refused = check(&creds(None), &other_day).unwrap_err();
        assert!(
            matches!(&refused, AuthError::WrongScope(m) if m.contains("Date in Credential scope")),
            "{refused:?}"
        );
        assert_eq!(
            (refused.error_type(), refused.status()),
            ("InvalidSignatureException", 403)
        );

        let other_region = signed_with_scope(&SigV4Scope::sagemaker("eu-west-1"), now);
        assert!(matches!(
            check(&creds(None), &other_region),
            Err(AuthError::WrongScope(m)) if m.contains("region")
        ));
        let other_service = signed_with_scope(
            &SigV4Scope {
                region: "us-east-1".into(),
                service: "execute-api".into(),
            },
            now,
        );
        assert!(matches!(
            check(&creds(None), &other_service),
            Err(AuthError::WrongScope(m)) if m.contains("service")
        ));
        let mut other_terminator = good.clone();
        set(&mut other_terminator, "authorization", |v| {
            v.replace("/aws4_request,", "/aws5_request,")
        });
        assert!(matches!(
            check(&creds(None), &other_terminator),
            Err(AuthError::WrongScope(m)) if m.contains("terminator")
        ));
    }

    #[test]
    fn malformed_authorization_and_dates_are_incomplete_signatures() {
        let now = SystemTime::now();
        let good = signed_request(&creds(None), now);
        let broken: [fn(&str) -> String; 6] = [
            |v| v.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512"),
            |v| v.split(", Signature=").next().unwrap().to_owned(),
            |v| v.replace("SignedHeaders=", "Headers="),
            |v| v.replace("/us-east-1/", "/"),
            |v| format!("{v}, Signature=00"),
            |_| "Bearer abc".to_owned(),
        ];
        for f in broken {
            let mut headers = good.clone();
            set(&mut headers, "authorization", f);
            let refused = check(&creds(None), &headers).unwrap_err();
            assert!(matches!(refused, AuthError::Incomplete(_)), "{refused:?}");
            assert_eq!(
                (refused.error_type(), refused.status()),
                ("IncompleteSignature", 400)
            );
        }
        let mut bad_date = good.clone();
        set(&mut bad_date, "x-amz-date", |v| v.replace('T', "t"));
        assert!(matches!(
            check(&creds(None), &bad_date),
            Err(AuthError::Incomplete(_))
        ));
        let no_date: Vec<_> = good
            .iter()
            .filter(|(n, _)| n != "x-amz-date")
            .cloned()
            .collect();
        assert!(matches!(
            check(&creds(None), &no_date),
            Err(AuthError::Incomplete(_))
        ));
        let missing = check(&creds(None), &[]).unwrap_err();
        assert_eq!(
            (missing.error_type(), missing.status()),
            ("MissingAuthenticationToken", 403)
        );
    }

    #[test]
    fn headers_pass_before_the_body_and_the_signature_covers_the_body() {
        let scope = SigV4Scope::sagemaker("us-east-1");
        let server = creds(None);
        let headers = signed_request(&server, SystemTime::now());
        let checked = check_headers(&server, &scope, &headers, SystemTime::now()).unwrap();
        assert_eq!(checked.verify_signature("POST", URL, b"body"), Ok(()));
        assert_eq!(
            checked.verify_signature("POST", URL, b"bodY"),
            Err(AuthError::SignatureMismatch)
        );
        assert_eq!(
            checked.verify_signature("POST", "http://127.0.0.1:9/invocations", b"body"),
            Err(AuthError::SignatureMismatch)
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
