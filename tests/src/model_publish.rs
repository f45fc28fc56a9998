//! Publishing for the model refresh tests: signing keys, fixture models stamped with a
//! version, signed manifests put on the [`StaticServer`].

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use omni_core::model_manifest::{self, ModelManifest, SignedManifest, TrustedKey};

use crate::model_server::StaticServer;

/// Where the manifest lives on the test server.
pub const MANIFEST_PATH: &str = "models/edge/latest.json";

/// The same files published under a bucket, for a path-style `s3://` source.
pub const BUCKET: &str = "omni-models";

/// The test signing key made from `seed`.
pub fn signing_key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// The public key of `seed`, as a device pins it.
pub fn trusted(seed: u8) -> TrustedKey {
    signing_key(seed).verifying_key().into()
}

/// Standard base64 of the public key of `seed` (the CLI's `--public-key`).
pub fn public_key_b64(seed: u8) -> String {
    trusted(seed).to_base64()
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(crate::core_fixture(&format!("models/{name}"))).expect("fixture")
}

/// The 320 int8 fixture with its `omni_model_version` metadata set to `version` (five
/// characters, e.g. `0.2.0`: the protobuf string keeps its length, so the file stays valid).
pub fn model_with_version(version: &str) -> Vec<u8> {
    fixture_with_version("yolo11n-6cls-320-int8.onnx", version)
}

/// The ONNX fixture `name` with its `omni_model_version` set to `version` (five characters).
pub fn fixture_with_version(name: &str, version: &str) -> Vec<u8> {
    assert_eq!(version.len(), 5, "version must keep the 5-byte length");
    let mut bytes = fixture_bytes(name);
    let needle = b"omni_model_version\x12\x050.1.0";
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("fixture has omni_model_version 0.1.0");
    let value = at + needle.len() - 5;
    bytes[value..value + 5].copy_from_slice(version.as_bytes());
    bytes
}

/// A fixture file as is.
pub fn fixture_model(name: &str) -> Vec<u8> {
    fixture_bytes(name)
}

/// The name every stamped fixture reports.
pub const FIXTURE_NAME: &str = "yolo11n-fixture";

/// A manifest for `bytes` at `<version>/model.onnx`.
pub fn manifest_for(version: &str, bytes: &[u8]) -> ModelManifest {
    ModelManifest {
        format: 1,
        name: FIXTURE_NAME.into(),
        version: version.parse().expect("semver"),
        file: format!("{version}/model.onnx"),
        sha256: crate::sha256_hex(bytes),
        size: bytes.len() as u64,
        classes: omni_core::detect::DAMAGE_CLASSES
            .iter()
            .map(|c| (*c).to_owned())
            .collect(),
        imgsz: 320,
        precision: "int8".into(),
        metrics: serde_json::Map::new(),
        created_at: "2026-11-28T10:00:00Z".into(),
        min_core_version: semver::Version::new(0, 1, 0),
        training_job: None,
    }
}

/// `manifest` signed by key `seed`.
pub fn envelope(manifest: &ModelManifest, seed: u8) -> SignedManifest {
    model_manifest::sign(manifest, &signing_key(seed)).expect("sign")
}

/// Puts `envelope` at [`MANIFEST_PATH`].
pub fn put_envelope(server: &StaticServer, envelope: &SignedManifest) {
    server.put(
        MANIFEST_PATH,
        serde_json::to_vec_pretty(envelope).expect("json"),
    );
}

/// Puts `bytes` at `<version>/model.onnx` beside the manifest and a manifest signed by key
/// `seed` naming it; returns the manifest.
pub fn publish(server: &StaticServer, version: &str, bytes: &[u8], seed: u8) -> ModelManifest {
    let manifest = manifest_for(version, bytes);
    publish_manifest(server, &manifest, Some(bytes), seed);
    manifest
}

/// Puts the model (if given) at the manifest's `file` and the signed manifest.
pub fn publish_manifest(
    server: &StaticServer,
    manifest: &ModelManifest,
    bytes: Option<&[u8]>,
    seed: u8,
) {
    if let Some(bytes) = bytes {
        server.put(&model_path(manifest), bytes.to_vec());
    }
    put_envelope(server, &envelope(manifest, seed));
}

/// Server path of the manifest's model file.
pub fn model_path(manifest: &ModelManifest) -> String {
    format!("models/edge/{}", manifest.file)
}

/// An envelope whose payload was changed after signing (the signature no longer verifies).
pub fn tampered_envelope(
    signed_for: &ModelManifest,
    shown: &ModelManifest,
    seed: u8,
) -> SignedManifest {
    let mut envelope = envelope(signed_for, seed);
    envelope.payload = base64::engine::general_purpose::STANDARD
        .encode(serde_json::to_vec_pretty(shown).expect("json"));
    envelope
}
