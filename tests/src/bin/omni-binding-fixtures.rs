//! The servers the Kotlin and Python binding tests talk to, on 127.0.0.1: the local
//! SageMaker-compatible endpoint (SigV4 checked, bundled model), the embedded yard office
//! (SigV4 checked, detecting on upload through that endpoint, its data in a temporary
//! directory) and a static server with a signed model manifest offering version 0.2.0.
//! Prints one JSON line with their addresses and the test credentials, then serves until
//! its standard input closes.

use std::io::Read as _;

use omni_e2e::model_publish::{MANIFEST_PATH, model_with_version, public_key_b64, publish};
use omni_e2e::model_server::StaticServer;
use omni_e2e::office_server::{Office, office_credentials};
use omni_e2e::{ENDPOINT_NAME, REGION, TestEndpoint, test_credentials};
use omni_endpoint::{FaultConfig, ModelChoice};

/// The seed of the signing key whose public key the tests pin.
const KEY_SEED: u8 = 7;

fn main() {
    let credentials = test_credentials(None);
    let endpoint = TestEndpoint::start(
        ModelChoice::Bundled,
        FaultConfig::default(),
        Some(credentials.clone()),
    );
    let office_dir = tempfile::tempdir().expect("office data directory");
    let office = Office::start(
        office_dir.path(),
        &office_credentials(),
        &endpoint.url(),
        &credentials,
    );
    let office_signer = office_credentials();
    let models = StaticServer::start();
    let manifest = publish(&models, "0.2.0", &model_with_version("0.2.0"), KEY_SEED);
    let line = serde_json::json!({
        "endpoint_url": endpoint.url(),
        "endpoint_name": ENDPOINT_NAME,
        "region": REGION,
        "access_key_id": credentials.access_key_id,
        "secret_access_key": credentials.secret_access_key,
        "office_url": office.url(),
        "office_access_key_id": office_signer.access_key_id,
        "office_secret_access_key": office_signer.secret_access_key,
        "office_session_token": office_signer.session_token,
        "manifest_url": models.url(MANIFEST_PATH),
        "public_key": public_key_b64(KEY_SEED),
        "offered_version": manifest.version.to_string(),
    });
    println!("{line}");
    // Serve until the test runner closes our standard input (or kills us).
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
}
