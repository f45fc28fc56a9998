//! The request's signature headers as text: the `Authorization` header's parts and the
//! `X-Amz-Date` timestamp, refused as AWS refuses them (`IncompleteSignature`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::AuthError;

/// The parts of `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
pub(super) struct Authorization<'a> {
    pub(super) access_key: &'a str,
    pub(super) scope_date: &'a str,
    pub(super) scope_region: &'a str,
    pub(super) scope_service: &'a str,
    pub(super) scope_terminator: &'a str,
    pub(super) signed_headers: Vec<&'a str>,
    pub(super) signature: &'a str,
}

/// Splits an `Authorization` header; any other form is `Incomplete`, with AWS's wording.
pub(super) fn parse_authorization(value: &str) -> Result<Authorization<'_>, AuthError> {
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
pub(super) fn parse_amz_date(value: &str) -> Option<SystemTime> {
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

/// The first header named `name`, in any case.
pub(super) fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}
