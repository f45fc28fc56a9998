//! Where a model comes from: an `s3://` source signed with SigV4, and redirects refused.

use super::*;

/// The `s3://` source of `server` (path style, region eu-west-1) with trusted key 1.
fn s3_config(server: &StaticServer) -> RefreshConfig {
    let endpoint = server.url("");
    let source = ManifestSource::parse(
        &format!("s3://{}/{MANIFEST_PATH}", publish::BUCKET),
        "eu-west-1",
        Some(endpoint.as_str()),
    )
    .unwrap();
    let mut config = RefreshConfig::new(source, vec![trusted(1)]).unwrap();
    config.policy = RefreshPolicy::any_network();
    config
}

/// Credentials with a session token, for `s3://` sources.
fn s3_credentials(token: &str) -> Arc<omni_core::cloud::CachedCredentials> {
    use omni_core::cloud::{CachedCredentials, Credentials};
    Arc::new(CachedCredentials::fixed(Credentials {
        access_key_id: "ASIATESTKEY".into(),
        secret_access_key: "secret".into(),
        session_token: Some(token.into()),
        expires_at: None,
    }))
}

#[test]
fn redirects_are_refused_and_nothing_reaches_the_other_host() {
    let server = StaticServer::start();
    let elsewhere = StaticServer::start();
    let dir = tempfile::tempdir().unwrap();
    let bytes = model_with_version("0.2.0");
    let manifest = publish::manifest_for("0.2.0", &bytes);
    let envelope = serde_json::to_vec(&publish::envelope(&manifest, 1)).unwrap();
    let manifest_key = format!("{}/{MANIFEST_PATH}", publish::BUCKET);
    let model_key = format!("{}/{}", publish::BUCKET, model_path(&manifest));
    let credentials = s3_credentials("session-token-to-keep");
    let updater = ModelUpdater::new(dir.path(), s3_config(&server), Some(credentials)).unwrap();
    // The manifest redirects to another host: refused, and that host sees nothing.
    server.redirect(&manifest_key, &elsewhere.url("steal/manifest"));
    let err = block_on(updater.update()).expect_err("redirect refused");
    assert!(
        matches!(&err, RefreshError::Redirected { status: 307, .. }),
        "{err}"
    );
    // Then the model download redirects: refused the same way.
    server.clear_redirects();
    server.put(&manifest_key, envelope);
    server.put(&model_key, bytes);
    server.redirect(&model_key, &elsewhere.url("steal/model"));
    let err = block_on(updater.update()).expect_err("redirect refused");
    assert!(
        matches!(&err, RefreshError::Redirected { status: 307, .. }),
        "{err}"
    );
    assert!(elsewhere.log().is_empty(), "{:?}", elsewhere.log());
    assert_eq!(active_version(dir.path()), None, "nothing installed");
}

#[test]
fn an_s3_source_is_fetched_path_style_with_sigv4() {
    let server = StaticServer::start();
    let dir = tempfile::tempdir().unwrap();
    let bytes = model_with_version("0.2.0");
    let manifest = publish::manifest_for("0.2.0", &bytes);
    let envelope = serde_json::to_vec(&publish::envelope(&manifest, 1)).unwrap();
    server.put(&format!("{}/{MANIFEST_PATH}", publish::BUCKET), envelope);
    server.put(
        &format!("{}/{}", publish::BUCKET, model_path(&manifest)),
        bytes.clone(),
    );
    let config = s3_config(&server);
    // Without credentials an s3:// source is refused up front.
    assert!(matches!(
        ModelUpdater::new(dir.path(), config.clone(), None),
        Err(RefreshError::Credentials(_))
    ));
    let updater = ModelUpdater::new(dir.path(), config, Some(s3_credentials("session"))).unwrap();
    assert_installs_version(&updater, dir.path(), "0.2.0");
    let log = server.log();
    assert_eq!(log.len(), 2, "{log:?}");
    for request in &log {
        assert!(request.path.starts_with(publish::BUCKET), "{request:?}");
        let auth = request.authorization.as_deref().unwrap_or_default();
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=ASIATESTKEY/")
                && auth.contains("/eu-west-1/s3/aws4_request"),
            "{auth}"
        );
        assert!(request.content_sha256.is_some(), "{request:?}");
    }
}
