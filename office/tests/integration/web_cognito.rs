//! The web view on AWS: people sign in with a Cognito user pool (moto's cognito-idp) and the
//! inspections are on DynamoDB + S3 (moto), through `omni-office serve` over HTTP and through
//! the Lambda (`bootstrap`) under the Runtime API emulator. Refused: a wrong password, an
//! unknown name and a person without a group (one message), a viewer's review, a form without
//! the session's token, a tampered, expired, wrongly signed or other pool's token, a cookie
//! that is no token pair, the cookie of a signed-out session, and `serve` given a pool
//! without its CSRF key or without both ids.

use std::path::Path;
use std::process::{Command, Stdio};

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    AuthFlowType, ExplicitAuthFlowsType, MessageActionType,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use omni_office::store::Store;
use reqwest::StatusCode;
use serde_json::Value;

use crate::aws::{Moto, shared_moto, store};
use crate::common::CONTAINER;
use crate::lambda::{Lambda, event, status};
use crate::web_common::{Browser, Office, Page, seed};

/// Every person's password (moto's default policy wants upper and lower case, a digit and a
/// symbol).
const PASSWORD: &str = "Correct-Horse-Battery-9";
/// The CSRF key the office is given.
const CSRF_KEY: &str = "the test office's CSRF key, 32 bytes or more";
const FORM: &str = "/inspections/i-damaged/photos/p1/review";

fn cognito(moto: &Moto) -> Client {
    Client::from_conf(
        aws_sdk_cognitoidentityprovider::Config::builder()
            .behavior_version_latest()
            .region(aws_sdk_cognitoidentityprovider::config::Region::new(
                "us-east-1",
            ))
            .endpoint_url(&moto.url)
            .credentials_provider(aws_sdk_cognitoidentityprovider::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .build(),
    )
}

struct Pool {
    id: String,
    client_id: String,
}

/// A pool with the groups `reviewer` and `viewer`, an app client for USER_PASSWORD_AUTH, and
/// `people` (name, group) with [`PASSWORD`] set permanent, as an administrator adds them.
async fn pool(c: &Client, name: &str, people: &[(&str, Option<&str>)]) -> Pool {
    let created = c.create_user_pool().pool_name(name).send().await.unwrap();
    let id = created.user_pool().unwrap().id().unwrap().to_owned();
    let client = c
        .create_user_pool_client()
        .user_pool_id(&id)
        .client_name("omni-office-web")
        .generate_secret(false)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .unwrap();
    let client_id = client
        .user_pool_client()
        .unwrap()
        .client_id()
        .unwrap()
        .to_owned();
    for group in ["reviewer", "viewer"] {
        c.create_group()
            .user_pool_id(&id)
            .group_name(group)
            .send()
            .await
            .unwrap();
    }
    for (user, group) in people {
        add_person(c, &id, user).await;
        c.admin_set_user_password()
            .user_pool_id(&id)
            .username(*user)
            .password(PASSWORD)
            .permanent(true)
            .send()
            .await
            .unwrap();
        if let Some(group) = group {
            c.admin_add_user_to_group()
                .user_pool_id(&id)
                .username(*user)
                .group_name(*group)
                .send()
                .await
                .unwrap();
        }
    }
    Pool { id, client_id }
}

/// AdminCreateUser with [`PASSWORD`] as the temporary password (no message sent).
async fn add_person(c: &Client, pool: &str, user: &str) {
    c.admin_create_user()
        .user_pool_id(pool)
        .username(user)
        .temporary_password(PASSWORD)
        .message_action(MessageActionType::Suppress)
        .send()
        .await
        .unwrap();
}

/// The message a refused sign-in page shows.
fn message(page: &Page) -> &str {
    let at = page.body.find("id=\"message\">").unwrap() + 13;
    let rest = &page.body[at..];
    &rest[..rest.find('<').unwrap()]
}

/// A JWT's claims.
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// `token` with its claims replaced by `claims` and its signature kept.
fn with_claims(token: &str, claims: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
    format!("{}.{payload}.{}", parts[0], parts[2])
}

/// A token with `claims`, signed with moto's own key (`moto`) or a fresh one (`fresh`) by
/// the test venv's Python (office/tests/servers/cognito_tokens.py).
fn mint(python: &Path, key: &str, claims: &Value) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/servers/cognito_tokens.py");
    let out = omni_e2e::process::output_with_stdin(
        Command::new(python).arg(script).arg(key),
        &serde_json::to_vec(claims).unwrap(),
    );
    omni_e2e::process::assert_success(&out);
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A browser holding only `cookie` as its session, and where `/inspections` sends it.
async fn with_session(office: &Office, cookie: &str) -> Page {
    let mut browser = Browser::new(office);
    browser
        .cookies
        .push(("omni_session".into(), cookie.to_owned()));
    browser.get("/inspections").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_sign_in_with_a_cognito_user_pool_over_the_aws_store() {
    let Some(moto) = shared_moto("sign-in with a Cognito user pool") else {
        return;
    };
    let python = omni_e2e::needs::find_test_python().unwrap();
    let c = cognito(moto);
    let people = pool(
        &c,
        "office-people",
        &[
            ("ana", Some("reviewer")),
            ("luis", Some("viewer")),
            ("nora", None),
        ],
    )
    .await;
    add_person(&c, &people.id, "new").await; // still on its temporary password
    let aws = store(moto, "cognito-serve").await;
    let table = "omni-office-cognito-serve";
    let office = Office::serve(
        tempfile::tempdir().unwrap(),
        &[
            "--aws-table",
            table,
            "--aws-bucket",
            table,
            "--aws-endpoint-url",
            &moto.url,
            "--user-pool-id",
            &people.id,
            "--user-pool-client-id",
            &people.client_id,
        ],
        &[("OMNI_OFFICE_CSRF_KEY", CSRF_KEY)],
    );
    seed(&office.phone()).await;

    // Unsigned: only the sign-in page.
    let mut browser = Browser::new(&office);
    assert_eq!(browser.get("/inspections").await.location(), "/login");
    // A wrong password, an unknown name, a person in no group: one answer, no session.
    // A name or password past Cognito's bounds is refused the same way, before Cognito.
    let (long_name, long_password) = ("a".repeat(129), "P-1a".repeat(65));
    for (user, password) in [
        ("ana", "Wrong-Password-1"),
        ("nobody", PASSWORD),
        ("nora", PASSWORD),
        (long_name.as_str(), PASSWORD),
        ("ana", long_password.as_str()),
    ] {
        let page = browser.sign_in(user, password).await;
        assert_eq!(
            page.status,
            StatusCode::UNAUTHORIZED,
            "{user}: {}",
            page.body
        );
        assert_eq!(message(&page), "Wrong user name or password.", "{user}");
        assert!(browser.session().is_none(), "{user}");
    }
    // The right password of an account that must change it first: said so.
    let page = browser.sign_in("new", PASSWORD).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(message(&page).contains("new password"), "{}", page.body);
    assert!(browser.session().is_none());

    // ana (reviewer): a session cookie bound to the ID token's lifetime.
    let signed = browser.sign_in("ana", PASSWORD).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    let set = signed.set_cookie("omni_session").unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attribute), "{set}");
    }
    let max_age: u64 = set
        .split("Max-Age=")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap();
    assert!((3500..=3600).contains(&max_age), "{set}");
    let ana_cookie = browser.session().unwrap().to_owned();
    let (ana_id, ana_access) = ana_cookie.split_once('~').unwrap();
    assert_eq!(
        claims(ana_id)["cognito:groups"],
        serde_json::json!(["reviewer"])
    );
    let list = browser.get("/inspections").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(
        list.body.contains("id=\"user\">ana</b> (reviewer)"),
        "{}",
        list.body
    );
    assert!(list.body.contains("CSQU"), "{}", list.body);

    // A review by the reviewer is stored in DynamoDB; without the session's token it is not.
    let page = browser.get("/inspections/i-damaged").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = page.csrf();
    let review = |csrf: &str| {
        vec![
            ("csrf", csrf.to_owned()),
            ("base_revision", "0".to_owned()),
            ("based_on", format!("cloud:{}", "ab".repeat(32))),
            ("act_0", "keep".to_owned()),
            ("class_0", "2".to_owned()),
            ("act_1", "keep".to_owned()),
            ("class_1", "2".to_owned()),
            ("act_2", "delete".to_owned()),
            ("class_2", "3".to_owned()),
        ]
    };
    let forged = browser.post(FORM, &review(&"0".repeat(64))).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    assert!(aws.reviews("i-damaged").await.unwrap().is_empty());
    let saved = browser.post(FORM, &review(&csrf)).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let reviews = aws.reviews("i-damaged").await.unwrap();
    assert_eq!(reviews.len(), 1, "{reviews:?}");
    assert_eq!(
        (reviews[0].revision, reviews[0].reviewer.as_str()),
        (1, "ana")
    );

    // luis (viewer) sees the pages; his review is 403 and nothing is stored.
    let mut luis = Browser::new(&office);
    assert_eq!(
        luis.sign_in("luis", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let page = luis.get("/inspections/i-damaged").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("id=\"user\">luis</b> (viewer)"));
    let refused = luis.post(FORM, &review(&page.csrf())).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert_eq!(aws.reviews("i-damaged").await.unwrap().len(), 1);

    // luis's token made to say "reviewer": the signature no longer holds.
    let luis_cookie = luis.session().unwrap().to_owned();
    let (luis_id, luis_access) = luis_cookie.split_once('~').unwrap();
    let mut raised = claims(luis_id);
    raised["cognito:groups"] = serde_json::json!(["reviewer"]);
    let tampered = format!("{}~{luis_access}", with_claims(luis_id, &raised));
    assert_eq!(with_session(&office, &tampered).await.location(), "/login");
    // Signed with moto's own key: accepted while unexpired, refused once expired; the same
    // claims under another key are refused.
    let mut fresh = claims(ana_id);
    let valid = format!("{}~{ana_access}", mint(&python, "moto", &fresh));
    assert_eq!(with_session(&office, &valid).await.status, StatusCode::OK);
    let other_key = format!("{}~{ana_access}", mint(&python, "fresh", &fresh));
    assert_eq!(with_session(&office, &other_key).await.location(), "/login");
    fresh["exp"] = (now_s() - 120).into();
    fresh["iat"] = (now_s() - 3720).into();
    let expired = format!("{}~{ana_access}", mint(&python, "moto", &fresh));
    assert_eq!(with_session(&office, &expired).await.location(), "/login");
    // An access token where the ID token should be: refused (token_use).
    let swapped = format!("{ana_access}~{ana_access}");
    assert_eq!(with_session(&office, &swapped).await.location(), "/login");
    // Cookies that are no pair of tokens, or too long to read: no session, no failure.
    let huge = format!("{ana_cookie}{}", "A".repeat(8192));
    for cookie in ["", "~", "garbage", ana_id, &format!("{ana_id}~"), &huge] {
        let page = with_session(&office, cookie).await;
        assert_eq!(page.location(), "/login", "{cookie:.40}: {}", page.body);
    }
    // A reviewer of another pool (moto signs every pool with one key): issuer and audience.
    let other = pool(&c, "other-people", &[("ana", Some("reviewer"))]).await;
    let auth = c
        .initiate_auth()
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .client_id(&other.client_id)
        .auth_parameters("USERNAME", "ana")
        .auth_parameters("PASSWORD", PASSWORD)
        .send()
        .await
        .unwrap();
    let tokens = auth.authentication_result().unwrap();
    let foreign = format!(
        "{}~{}",
        tokens.id_token().unwrap(),
        tokens.access_token().unwrap()
    );
    assert_eq!(with_session(&office, &foreign).await.location(), "/login");

    // Sign-out: GlobalSignOut revokes the access token, so the old cookie opens nothing.
    let page = browser.get("/inspections").await;
    let out = browser.post("/logout", &[("csrf", page.csrf())]).await;
    assert_eq!(out.location(), "/login", "{}", out.body);
    assert!(browser.session().is_none());
    assert_eq!(
        with_session(&office, &ana_cookie).await.location(),
        "/login"
    );
    let revoked = c.get_user().access_token(ana_access).send().await;
    assert!(revoked.is_err(), "{revoked:?}");
    // luis's session is his own: still open.
    assert_eq!(luis.get("/inspections").await.status, StatusCode::OK);
}

/// A `Set-Cookie` pair of an API Gateway proxy response, by name.
fn set_cookie(response: &Value, name: &str) -> Option<String> {
    response["multiValueHeaders"]["set-cookie"]
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

fn body(response: &Value) -> &str {
    response["body"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_serves_the_pages_to_people_of_the_user_pool() {
    let Some(moto) = shared_moto("the Lambda's sign-in with a Cognito user pool") else {
        return;
    };
    let c = cognito(moto);
    let people = pool(&c, "lambda-people", &[("ana", Some("reviewer"))]).await;
    let tag = "cognito-lambda";
    let aws = store(moto, tag).await;
    let table = format!("omni-office-{tag}");
    aws.put_inspection(&crate::store_contract::inspection(
        "insp-1",
        CONTAINER,
        1_700_000_000_000,
        1,
    ))
    .await
    .unwrap();
    let mut lambda = Lambda::start_with(
        moto,
        &table,
        &table,
        &[
            ("OMNI_OFFICE_USER_POOL_ID", people.id.as_str()),
            ("OMNI_OFFICE_USER_POOL_CLIENT_ID", people.client_id.as_str()),
            ("OMNI_OFFICE_CSRF_KEY", CSRF_KEY),
        ],
    )
    .await;

    // Unsigned: sent to sign-in. The API's own paths are not reachable through the pages'
    // resource (no authorizer there).
    let list = lambda.invoke(event("GET", "/inspections", &[], None)).await;
    assert_eq!(status(&list), 303, "{list}");
    assert_eq!(list["multiValueHeaders"]["location"][0], "/login");
    let mut sneaky = event("GET", "/v1/inspections", &[], None);
    sneaky["resource"] = "/{proxy+}".into();
    sneaky["requestContext"]["resourcePath"] = "/{proxy+}".into();
    let sneaky = lambda.invoke(sneaky).await;
    assert_eq!(status(&sneaky), 404, "{sneaky}");

    let form = lambda.invoke(event("GET", "/login", &[], None)).await;
    assert_eq!(status(&form), 200, "{form}");
    let login_cookie = set_cookie(&form, "omni_login").unwrap();
    assert!(login_cookie.contains("; Secure"), "{login_cookie}");
    let pair = login_cookie.split(';').next().unwrap().to_owned();
    let csrf = pair.trim_start_matches("omni_login=").to_owned();
    let post = format!("user=ana&password={PASSWORD}&csrf={csrf}");
    let form_headers = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("cookie", pair.as_str()),
    ];
    let signed = lambda
        .invoke(event(
            "POST",
            "/login",
            &form_headers,
            Some(post.as_bytes()),
        ))
        .await;
    assert_eq!(status(&signed), 303, "{signed}");
    let session = set_cookie(&signed, "omni_session").unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Secure"] {
        assert!(session.contains(attribute), "{session}");
    }
    let session = session.split(';').next().unwrap().to_owned();

    let list = lambda
        .invoke(event(
            "GET",
            "/inspections",
            &[("cookie", session.as_str())],
            None,
        ))
        .await;
    assert_eq!(status(&list), 200, "{list}");
    assert!(
        body(&list).contains("id=\"user\">ana</b> (reviewer)"),
        "{list}"
    );
    assert!(body(&list).contains("/inspections/insp-1"), "{list}");
    assert!(body(&list).contains("CSQU"), "{list}");
}

#[test]
fn serve_with_a_pool_needs_the_csrf_key_and_both_ids() {
    let office = env!("CARGO_BIN_EXE_omni-office");
    let dir = tempfile::tempdir().unwrap();
    let serve = |args: &[&str], key: &str| {
        let out = Command::new(office)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "dev")
            .env("AWS_SECRET_ACCESS_KEY", "dev")
            .env("OMNI_OFFICE_CSRF_KEY", key)
            .env_remove("OMNI_OFFICE_USER_POOL_ID")
            .env_remove("OMNI_OFFICE_USER_POOL_CLIENT_ID")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8(out.stderr).unwrap())
    };
    let both = [
        "--user-pool-id",
        "us-east-1_x",
        "--user-pool-client-id",
        "c",
    ];
    let (ok, err) = serve(&both, "too short");
    assert!(!ok);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("omni-office: error: OMNI_OFFICE_CSRF_KEY must hold"),
        "{err}"
    );
    let (ok, err) = serve(&both[..2], CSRF_KEY);
    assert!(!ok);
    assert!(err.contains("--user-pool-client-id"), "{err}");
}
