//! Server-side SigV4 check of a request, in the two steps AWS takes: first the headers
//! ([`check_headers`]: an `Authorization` header of the right form, a known access key, the
//! session token, `X-Amz-Date`, a credential scope that names this date, region and service,
//! and a fresh timestamp), so that a request that can never pass is refused before its body
//! is read; then, with the body, the signature itself ([`HeaderCheck::verify_signature`],
//! recomputed with the phones' signer, [`crate::signing`], over the headers the client signed
//! and the payload).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{Credentials, SigV4Scope};

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

/// Parses `YYYYMMDDTHHMMSSZ` (ISO 8601 basic, UTC) with the `time` crate: a real calendar
/// date (no 31 April, 29 February only in leap years), seconds `00`–`59`, from 1970 on.
fn parse_amz_date(value: &str) -> Option<SystemTime> {
    const BASIC: &[time::format_description::BorrowedFormatItem<'_>] =
        time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    // `[year]` also takes a leading sign, which the basic form has not.
    if !value.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let time = time::PrimitiveDateTime::parse(value, BASIC).ok()?;
    let secs = u64::try_from(time.assume_utc().unix_timestamp()).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs))
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

/// Equal, in time independent of where they differ (`subtle`; the length is not secret).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    bool::from(a.ct_eq(b))
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
        // The calendar's edges: 29 February in leap years only, 1970 onwards.
        assert_eq!(
            parse_amz_date("20240229T000000Z"),
            Some(UNIX_EPOCH + Duration::from_secs(1_709_164_800))
        );
        assert_eq!(parse_amz_date("19700101T000000Z"), Some(UNIX_EPOCH));
        assert_eq!(
            parse_amz_date("99991231T235959Z"),
            Some(UNIX_EPOCH + Duration::from_secs(253_402_300_799))
        );
        for malformed in [
            "19691231T235959Z", // before the epoch
            "20230229T120000Z", // not a leap year
            "20240431T120000Z", // 30 days hath April
            "20240101T240000Z",
            "20240101T236000Z",
            "20240101T235960Z", // no leap seconds (the hand-written parser rolled them over)
            "+2024010T120000Z", // a sign `[year]` alone would take
            "+20240101T120000Z",
            "20240101T120000z",
            "20240101T120000Z ",
            "2024011T120000Z",
            "20240101T1200000Z",
            "",
        ] {
            assert_eq!(parse_amz_date(malformed), None, "{malformed:?}");
        }
    }

    /// A date the library refuses, that the hand-written parser took (an impossible calendar
    /// day, a leap second), is refused as before any malformed date: `Incomplete`, 400.
    #[test]
    fn impossible_dates_are_incomplete_signatures() {
        let now = SystemTime::now();
        for date in ["20240230T120000Z", "20240229T115960Z", "+20240229T120000Z"] {
            let mut headers = signed_request(&creds(None), now);
            for (name, value) in &mut headers {
                if name.eq_ignore_ascii_case("x-amz-date") {
                    *value = date.to_owned();
                }
            }
            let refused = check(&creds(None), &headers);
            assert!(
                matches!(&refused, Err(AuthError::Incomplete(m)) if m.contains("ISO-8601")),
                "{date}: {refused:?}"
            );
            assert_eq!(refused.unwrap_err().status(), 400);
        }
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::*;
        use super::{URL, creds, signed_request};

        type Parts<'a> = (
            &'a str,
            &'a str,
            &'a str,
            &'a str,
            &'a str,
            Vec<&'a str>,
            &'a str,
        );

        fn parts<'a>(a: &Authorization<'a>) -> Parts<'a> {
            (
                a.access_key,
                a.scope_date,
                a.scope_region,
                a.scope_service,
                a.scope_terminator,
                a.signed_headers.clone(),
                a.signature,
            )
        }

        fn scope() -> SigV4Scope {
            SigV4Scope::sagemaker("us-east-1")
        }

        fn header(headers: &[(String, String)], name: &str) -> String {
            find_header(headers, name).unwrap().to_owned()
        }

        fn with(headers: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
            let mut headers = headers.to_vec();
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            headers.push((name.to_owned(), value.to_owned()));
            headers
        }

        /// A string edited in a few places: characters inserted (separators among them),
        /// removed or replaced.
        fn edited(base: String) -> impl Strategy<Value = String> {
            let edit = (
                any::<prop::sample::Index>(),
                0u8..3,
                prop_oneof![
                    Just(','),
                    Just('='),
                    Just('/'),
                    Just(';'),
                    Just(' '),
                    Just('A'),
                    Just('0'),
                    any::<char>(),
                ],
            );
            proptest::collection::vec(edit, 1..4).prop_map(move |edits| {
                let mut chars: Vec<char> = base.chars().collect();
                for (at, kind, c) in edits {
                    let i = at.index(chars.len() + 1);
                    match kind {
                        0 => chars.insert(i, c),
                        1 if i < chars.len() => {
                            chars.remove(i);
                        }
                        _ if i < chars.len() => chars[i] = c,
                        _ => chars.push(c),
                    }
                }
                chars.into_iter().collect()
            })
        }

        /// The seconds since the epoch of a date, counted day by day (an oracle for the
        /// parser's closed-form calendar arithmetic).
        fn epoch_seconds(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> i64 {
            let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let month_days = |y: i64, m: i64| match m {
                2 if leap(y) => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            let days: i64 = (1970..y)
                .map(|y| if leap(y) { 366 } else { 365 })
                .sum::<i64>()
                + (1..mo).map(|m| month_days(y, m)).sum::<i64>()
                + d
                - 1;
            days * 86_400 + h * 3600 + mi * 60 + s
        }

        /// A valid calendar date-time, 1970 to 9999.
        fn date_time() -> impl Strategy<Value = (i64, i64, i64, i64, i64, i64)> {
            (1970i64..=9999, 1i64..=12, 0i64..24, 0i64..60, 0i64..60).prop_flat_map(
                |(y, mo, h, mi, s)| {
                    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
                    let days = match mo {
                        2 if leap => 29,
                        2 => 28,
                        4 | 6 | 9 | 11 => 30,
                        _ => 31,
                    };
                    (1i64..=days).prop_map(move |d| (y, mo, d, h, mi, s))
                },
            )
        }

        /// A valid `X-Amz-Date` with one character replaced (a digit, the separators in
        /// either case, or anything).
        fn substituted() -> impl Strategy<Value = String> {
            (
                date_time(),
                0usize..16,
                prop_oneof![
                    proptest::char::range('0', '9'),
                    Just('T'),
                    Just('Z'),
                    Just('t'),
                    Just('z'),
                    any::<char>(),
                ],
            )
                .prop_map(|((y, mo, d, h, mi, s), at, c)| {
                    let mut value: Vec<char> = format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
                        .chars()
                        .collect();
                    value[at] = c;
                    value.into_iter().collect()
                })
        }

        /// Header names a client may add (any case); not those the signer handles itself or
        /// leaves unsigned.
        fn header_name() -> impl Strategy<Value = String> {
            "[a-zA-Z][a-zA-Z0-9-]{0,12}".prop_filter("reserved", |n| {
                let n = n.to_ascii_lowercase();
                !n.starts_with("x-amz")
                    && ![
                        "authorization",
                        "host",
                        "user-agent",
                        "transfer-encoding",
                        "content-length",
                    ]
                    .contains(&n.as_str())
            })
        }

        /// A request as a client builds it: method, path and query, body, other headers.
        #[derive(Clone, Debug)]
        struct Request {
            method: String,
            url: String,
            body: Vec<u8>,
            headers: Vec<(String, String)>,
        }

        fn request() -> impl Strategy<Value = Request> {
            (
                prop_oneof![
                    Just("POST".to_owned()),
                    Just("GET".to_owned()),
                    "[A-Z]{1,7}"
                ],
                proptest::collection::vec("[A-Za-z0-9._~-]{0,10}", 0..4),
                proptest::collection::vec(("[a-z0-9]{1,5}", "[A-Za-z0-9]{0,5}"), 0..3),
                proptest::collection::vec(any::<u8>(), 1..256),
                proptest::collection::btree_map(header_name(), "[ -~]{0,20}", 0..4),
            )
                .prop_map(|(method, segments, query, body, headers)| {
                    let mut url = format!("http://127.0.0.1:9/{}", segments.join("/"));
                    if !query.is_empty() {
                        let pairs: Vec<String> =
                            query.iter().map(|(k, v)| format!("{k}={v}")).collect();
                        url = format!("{url}?{}", pairs.join("&"));
                    }
                    // One header per name, whatever its case.
                    let mut seen = std::collections::BTreeSet::new();
                    let headers = headers
                        .into_iter()
                        .filter(|(n, _)| seen.insert(n.to_ascii_lowercase()))
                        .collect();
                    Request {
                        method,
                        url,
                        body,
                        headers,
                    }
                })
        }

        /// The headers the server receives for `request` signed with `c` at `time`.
        fn sign(c: &Credentials, request: &Request, time: SystemTime) -> Vec<(String, String)> {
            let signed_headers: Vec<(&str, &str)> = request
                .headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            let signed = scope()
                .sign(
                    c,
                    &request.method,
                    &request.url,
                    &signed_headers,
                    &request.body,
                    time,
                )
                .unwrap();
            let mut headers = request.headers.clone();
            headers.push(("host".to_owned(), "127.0.0.1:9".to_owned()));
            headers.extend(signed);
            headers
        }

        fn verify_request(
            c: &Credentials,
            request: &Request,
            headers: &[(String, String)],
            body: &[u8],
            now: SystemTime,
        ) -> Result<(), AuthError> {
            verify(
                c,
                &scope(),
                &request.method,
                &request.url,
                headers,
                body,
                now,
            )
        }

        /// `default` cases in `cargo test`; `PROPTEST_CASES` when set (scripts/fuzz.sh).
        fn cases(default: u32) -> ProptestConfig {
            if std::env::var_os("PROPTEST_CASES").is_some() {
                ProptestConfig::default()
            } else {
                ProptestConfig::with_cases(default)
            }
        }

        proptest! {
            /// Any `Authorization` value (arbitrary text, or a genuine header with a few
            /// characters inserted, removed or replaced) is parsed or refused without
            /// panicking; a malformed one is refused as `IncompleteSignature` (400) before
            /// anything else, and a request is accepted only when the header carries the
            /// genuine credential, signed headers and signature.
            #[test]
            fn any_authorization_header_is_refused_unless_it_is_the_genuine_one(
                auth in prop_oneof![
                    ".{0,120}",
                    edited(header(&signed_request(&creds(None), UNIX_EPOCH + Duration::from_secs(1_700_000_000)), "authorization")),
                ],
            ) {
                let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
                let genuine = signed_request(&creds(None), now);
                let genuine_auth = header(&genuine, "authorization");
                let headers = with(&genuine, "authorization", &auth);
                let checked = verify(&creds(None), &scope(), "POST", URL, &headers, b"body", now);
                match parse_authorization(&auth) {
                    Err(refused) => {
                        prop_assert!(matches!(refused, AuthError::Incomplete(_)), "{:?}", refused);
                        prop_assert_eq!(refused.status(), 400);
                        prop_assert_eq!(checked, Err(refused));
                    }
                    Ok(parsed) => {
                        prop_assert!(auth.starts_with("AWS4-HMAC-SHA256 "));
                        prop_assert!(!parsed.signature.is_empty() && !parsed.signed_headers.is_empty());
                        if checked.is_ok() {
                            let genuine_parsed = parse_authorization(&genuine_auth).unwrap();
                            prop_assert_eq!(parts(&parsed), parts(&genuine_parsed));
                        }
                    }
                }
            }

            /// A header of the SigV4 form, its parameters in any order and spacing, parses to
            /// exactly its parts; one structural fault (a missing, repeated, unknown or
            /// value-less parameter, another algorithm, a credential of 4 or 6 elements, an
            /// empty list of signed headers or signature) is refused as incomplete.
            #[test]
            fn a_well_formed_authorization_parses_to_exactly_its_parts(
                key in "[A-Z0-9]{1,20}",
                date in "[0-9]{8}",
                region in "[a-z0-9-]{1,12}",
                service in "[a-z0-9-]{1,12}",
                terminator in "[a-z0-9_]{1,12}",
                signed in proptest::collection::vec("[a-z0-9-]{1,10}", 1..5),
                signature in "[0-9a-f]{1,64}",
                order in Just(vec![0usize, 1, 2]).prop_shuffle(),
                spaces in proptest::collection::vec("[ ]{0,2}", 3),
                fault in 0u8..9,
                extra in "[a-z0-9]{1,6}",
            ) {
                let credential = format!("{key}/{date}/{region}/{service}/{terminator}");
                let mut params = vec![
                    format!("Credential={credential}"),
                    format!("SignedHeaders={}", signed.join(";")),
                    format!("Signature={signature}"),
                ];
                let join = |params: &[String]| -> String {
                    let mut text = "AWS4-HMAC-SHA256 ".to_owned();
                    for (i, p) in params.iter().enumerate() {
                        if i > 0 {
                            text.push(',');
                        }
                        text.push_str(&spaces[i % spaces.len()]);
                        text.push_str(p);
                    }
                    text
                };
                let ordered: Vec<String> = order.iter().map(|i| params[*i].clone()).collect();
                let text = join(&ordered);
                let parsed = parse_authorization(&text);
                prop_assert!(parsed.is_ok(), "{:?}", text);
                prop_assert_eq!(
                    parts(&parsed.unwrap()),
                    (key.as_str(), date.as_str(), region.as_str(), service.as_str(), terminator.as_str(),
                     signed.iter().map(String::as_str).collect(), signature.as_str())
                );
                let broken = match fault {
                    0 => join(&params[..2]),
                    1 => {
                        params.push(params[0].clone());
                        join(&params)
                    }
                    2 => {
                        params.push(format!("{extra}={extra}"));
                        join(&params)
                    }
                    3 => {
                        params.push(extra.clone());
                        join(&params)
                    }
                    4 => text.replacen("AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA512 ", 1),
                    5 => text.replacen(&credential, &format!("{key}/{date}/{region}/{service}"), 1),
                    6 => text.replacen(&credential, &format!("{credential}/{extra}"), 1),
                    7 => {
                        params[1] = "SignedHeaders=".to_owned();
                        join(&params)
                    }
                    _ => {
                        params[2] = "Signature=".to_owned();
                        join(&params)
                    }
                };
                let refused = parse_authorization(&broken);
                prop_assert!(matches!(refused, Err(AuthError::Incomplete(_))), "fault {}: {:?}", fault, broken);
            }

            /// Any `X-Amz-Date` value is parsed or refused without panicking; one accepted
            /// has the form `YYYYMMDD'T'HHMMSS'Z'` with fields in range, and a request whose
            /// date is malformed is refused as incomplete.
            #[test]
            fn any_amz_date_is_accepted_only_in_the_basic_iso_form(
                value in prop_oneof![
                    ".{0,20}",
                    "[0-9]{8}T[0-9]{6}Z",
                    "[0-9T Z:+.-]{14,18}",
                    edited("20240229T235960Z".to_owned()),
                    substituted(),
                ],
            ) {
                let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
                let headers = with(&signed_request(&creds(None), now), "x-amz-date", &value);
                let checked = check_headers(&creds(None), &scope(), &headers, now).map(|_| ());
                match parse_amz_date(&value) {
                    Some(_) => {
                        let b = value.as_bytes();
                        prop_assert_eq!(b.len(), 16);
                        prop_assert!(b.iter().enumerate().all(|(i, c)| match i {
                            8 => *c == b'T',
                            15 => *c == b'Z',
                            _ => c.is_ascii_digit(),
                        }), "{:?}", value);
                        let field = |r: std::ops::Range<usize>| value[r].parse::<u32>().unwrap();
                        prop_assert!((1..=12).contains(&field(4..6)) && (1..=31).contains(&field(6..8)));
                        prop_assert!(field(9..11) < 24 && field(11..13) < 60 && field(13..15) <= 60);
                    }
                    None => prop_assert!(matches!(checked, Err(AuthError::Incomplete(_))), "{:?}", checked),
                }
            }

            /// Every valid date-time 1970-9999 parses to its seconds since the epoch (counted
            /// day by day), and the date our signer writes parses back to the signing time.
            #[test]
            fn valid_amz_dates_parse_to_their_time(
                (y, mo, d, h, mi, s) in date_time(),
                signed_at in 0u64..253_402_300_800,
            ) {
                let value = format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z");
                let expected = UNIX_EPOCH + Duration::from_secs(epoch_seconds(y, mo, d, h, mi, s) as u64);
                prop_assert_eq!(parse_amz_date(&value), Some(expected));
                let time = UNIX_EPOCH + Duration::from_secs(signed_at);
                let headers = signed_request(&creds(None), time);
                prop_assert_eq!(parse_amz_date(&header(&headers, "x-amz-date")), Some(time));
            }
        }

        proptest! {
            #![proptest_config(cases(128))]

            /// A request signed by our signer (any method, path, query, body, extra headers in
            /// any case, with or without a session token) verifies within the allowed clock
            /// skew and is refused as expired beyond it; flipping any one byte of the body, or
            /// any one character of the signature, makes it fail.
            #[test]
            fn a_signed_request_verifies_and_any_flipped_byte_fails(
                request in request(),
                token in proptest::option::of("[A-Za-z0-9/+=]{1,40}"),
                signed_at in 946_684_800u64..4_102_444_800,
                skew in -400i64..=400,
                body_at in any::<prop::sample::Index>(),
                body_mask in 1u8..=255,
                sig_at in any::<prop::sample::Index>(),
                sig_mask in 1u8..128,
                hex in any::<prop::sample::Index>(),
            ) {
                let c = creds(token.as_deref());
                let time = UNIX_EPOCH + Duration::from_secs(signed_at);
                let now = UNIX_EPOCH + Duration::from_secs(signed_at.saturating_add_signed(skew));
                let headers = sign(&c, &request, time);
                let verified = verify_request(&c, &request, &headers, &request.body, now);
                if skew.unsigned_abs() > MAX_SKEW.as_secs() {
                    prop_assert!(matches!(verified, Err(AuthError::Expired(_))), "{:?}", verified);
                    return Ok(());
                }
                prop_assert_eq!(verified, Ok(()));

                let mut body = request.body.clone();
                let i = body_at.index(body.len());
                body[i] ^= body_mask;
                prop_assert_eq!(verify_request(&c, &request, &headers, &body, now), Err(AuthError::SignatureMismatch));

                // One byte of the signature XOR-ed (it stays ASCII): refused, as a mismatch,
                // or as incomplete where the new byte is a separator (`,`).
                let auth = header(&headers, "authorization");
                let start = auth.find("Signature=").unwrap() + "Signature=".len();
                let at = start + sig_at.index(auth.len() - start);
                let mut bytes = auth.clone().into_bytes();
                bytes[at] ^= sig_mask;
                let flipped = String::from_utf8(bytes).unwrap();
                let refused = verify_request(&c, &request, &with(&headers, "authorization", &flipped), &request.body, now);
                prop_assert!(
                    matches!(refused, Err(AuthError::SignatureMismatch | AuthError::Incomplete(_))),
                    "{:?}: {:?}", flipped, refused
                );
                // One hex digit replaced by another: exactly a signature mismatch.
                let digits: Vec<char> = "0123456789abcdef".chars().filter(|d| *d != auth.as_bytes()[at] as char).collect();
                let mut replaced = auth.clone();
                replaced.replace_range(at..=at, &digits[hex.index(digits.len())].to_string());
                prop_assert_eq!(
                    verify_request(&c, &request, &with(&headers, "authorization", &replaced), &request.body, now),
                    Err(AuthError::SignatureMismatch)
                );
            }
        }
    }
}
