use std::time::UNIX_EPOCH;

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

/// The request as the client sends it: its content type and host, and what signing adds.
fn signed_by(c: &Credentials, scope: &SigV4Scope, time: SystemTime) -> Vec<(String, String)> {
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

fn signed_request(c: &Credentials, time: SystemTime) -> Vec<(String, String)> {
    signed_by(c, &SigV4Scope::sagemaker("us-east-1"), time)
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
    signed_by(&creds(None), scope, time)
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

mod properties;
