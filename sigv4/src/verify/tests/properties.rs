use std::time::UNIX_EPOCH;

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
    (1970i64..=9999, 1i64..=12, 0i64..24, 0i64..60, 0i64..60).prop_flat_map(|(y, mo, h, mi, s)| {
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let days = match mo {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        (1i64..=days).prop_map(move |d| (y, mo, d, h, mi, s))
    })
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
                let pairs: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
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
