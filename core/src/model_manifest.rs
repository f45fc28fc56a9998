//! The signed edge-model manifest (`edge/latest.json`) that the trainer publishes and the
//! devices verify before they download a new model.
//!
//! The envelope carries the manifest JSON as base64 so the signed bytes are exactly the bytes
//! that are parsed: no canonical-JSON rules to agree on. Each signature covers
//! [`SIGNING_CONTEXT`] followed by the decoded payload. The format is documented in
//! `docs/model-manifest.md`.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Domain-separation prefix of every manifest signature.
pub const SIGNING_CONTEXT: &[u8] = b"omni-inspector model manifest v1\n";

/// The manifest `format` this core understands.
pub const MANIFEST_FORMAT: u32 = 1;

/// What a published edge model is: where its file lies, how to check it, what it detects.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelManifest {
    /// Manifest format version ([`MANIFEST_FORMAT`]).
    pub format: u32,
    /// Model name, e.g. `yolo11n-omni-damage`.
    pub name: String,
    /// Model version; a device only moves to a newer one.
    pub version: semver::Version,
    /// Path of the ONNX file relative to the manifest's URL, e.g. `0.2.0/model.onnx`.
    pub file: String,
    /// Lowercase hex SHA-256 of the model file.
    pub sha256: String,
    /// Size of the model file in bytes.
    pub size: u64,
    /// Class names in class-id order.
    pub classes: Vec<String>,
    /// Square input size the model was exported at.
    pub imgsz: u32,
    /// Weight precision, e.g. `int8` or `float32`.
    pub precision: String,
    /// Evaluation metrics recorded at publish time (free-form).
    #[serde(default)]
    pub metrics: serde_json::Map<String, serde_json::Value>,
    /// When the manifest was published (RFC 3339, UTC).
    pub created_at: String,
    /// Oldest `omni-core` version able to run this model.
    pub min_core_version: semver::Version,
    /// The training job the model came from, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_job: Option<String>,
}

/// One signature in a [`SignedManifest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestSignature {
    /// [`KeyId`] of the signing key, as hex.
    pub key_id: String,
    /// Standard base64 of the 64-byte Ed25519 signature.
    pub sig: String,
}

/// The envelope stored as `edge/latest.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedManifest {
    /// Standard base64 of the manifest JSON bytes.
    pub payload: String,
    /// Signatures over [`SIGNING_CONTEXT`] + payload bytes.
    pub signatures: Vec<ManifestSignature>,
}

/// Why a manifest was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// The envelope is not the expected JSON.
    #[error("manifest envelope is not valid JSON: {0}")]
    MalformedEnvelope(String),
    /// The payload or a signature is not valid base64.
    #[error("manifest {what} is not valid base64")]
    BadBase64 {
        /// Which field.
        what: &'static str,
    },
    /// The envelope has no signatures.
    #[error("manifest is not signed")]
    Unsigned,
    /// None of the signatures is by a pinned key.
    #[error("manifest is signed by unknown key(s) {0}")]
    UnknownKey(String),
    /// A signature by a pinned key does not verify.
    #[error("manifest signature by key {0} does not verify")]
    BadSignature(String),
    /// The signed payload is not a valid manifest.
    #[error("manifest payload is malformed: {0}")]
    MalformedManifest(String),
    /// The manifest uses a format this core does not know.
    #[error("manifest format {0} is not supported (this core reads format {MANIFEST_FORMAT})")]
    UnsupportedFormat(u32),
    /// A key could not be parsed.
    #[error("invalid {what}: {reason}")]
    BadKey {
        /// Public or signing key.
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The manifest is larger than any real one.
    #[error("manifest is larger than {0} bytes")]
    TooLarge(usize),
}

impl ManifestError {
    /// A short stable code for hosts: `unsigned`, `unknown_key`, `bad_signature`, or
    /// `malformed_manifest` for everything else about the envelope and payload.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unsigned => "unsigned",
            Self::UnknownKey(_) => "unknown_key",
            Self::BadSignature(_) => "bad_signature",
            Self::MalformedEnvelope(_)
            | Self::BadBase64 { .. }
            | Self::MalformedManifest(_)
            | Self::UnsupportedFormat(_)
            | Self::BadKey { .. }
            | Self::TooLarge(_) => "malformed_manifest",
        }
    }
}

/// Short identifier of a public key: the first 8 bytes of its SHA-256, as hex.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyId([u8; 8]);

impl KeyId {
    /// The id of `key`.
    pub fn of(key: &VerifyingKey) -> Self {
        let digest = Sha256::digest(key.as_bytes());
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        Self(id)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// A public key devices pin to accept manifests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedKey {
    key: VerifyingKey,
    id: KeyId,
}

impl TrustedKey {
    /// The key's [`KeyId`].
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// Standard base64 of the 32 key bytes (the form accepted by [`FromStr`]).
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.key.as_bytes())
    }
}

impl From<VerifyingKey> for TrustedKey {
    fn from(key: VerifyingKey) -> Self {
        Self {
            id: KeyId::of(&key),
            key,
        }
    }
}

impl FromStr for TrustedKey {
    type Err = ManifestError;

    /// Parses standard base64 of the 32-byte Ed25519 public key.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = decode_32(s.trim(), "public key")?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|e| ManifestError::BadKey {
            what: "public key",
            reason: e.to_string(),
        })?;
        Ok(key.into())
    }
}

/// Parses a signing key: standard base64 of the 32-byte Ed25519 seed.
pub fn parse_signing_key(s: &str) -> Result<SigningKey, ManifestError> {
    Ok(SigningKey::from_bytes(&decode_32(s.trim(), "signing key")?))
}

fn decode_32(s: &str, what: &'static str) -> Result<[u8; 32], ManifestError> {
    let bytes = BASE64.decode(s).map_err(|e| ManifestError::BadKey {
        what,
        reason: format!("not standard base64: {e}"),
    })?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| ManifestError::BadKey {
            what,
            reason: format!("{} bytes, expected 32", b.len()),
        })
}

/// Signs `manifest` with `key`, producing the envelope to publish.
pub fn sign(manifest: &ModelManifest, key: &SigningKey) -> Result<SignedManifest, ManifestError> {
    let payload = serde_json::to_vec_pretty(manifest)
        .map_err(|e| ManifestError::MalformedManifest(e.to_string()))?;
    let signature = key.sign(&signed_message(&payload));
    Ok(SignedManifest {
        payload: BASE64.encode(&payload),
        signatures: vec![ManifestSignature {
            key_id: KeyId::of(&key.verifying_key()).to_string(),
            sig: BASE64.encode(signature.to_bytes()),
        }],
    })
}

/// Parses an envelope and returns its manifest if a signature by one of `trusted` verifies.
///
/// Signatures by keys that are not pinned are ignored; a bad signature by a pinned key is an
/// error even if another one verifies (a tampered envelope is never half-trusted).
pub fn verify(envelope: &[u8], trusted: &[TrustedKey]) -> Result<ModelManifest, ManifestError> {
    let envelope: SignedManifest = serde_json::from_slice(envelope)
        .map_err(|e| ManifestError::MalformedEnvelope(e.to_string()))?;
    if envelope.signatures.is_empty() {
        return Err(ManifestError::Unsigned);
    }
    let payload = BASE64
        .decode(&envelope.payload)
        .map_err(|_| ManifestError::BadBase64 { what: "payload" })?;
    let message = signed_message(&payload);
    let mut verified = false;
    for signature in &envelope.signatures {
        let Some(key) = trusted
            .iter()
            .find(|k| k.id.to_string() == signature.key_id)
        else {
            continue;
        };
        let bytes: [u8; 64] = BASE64
            .decode(&signature.sig)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(ManifestError::BadBase64 { what: "signature" })?;
        key.key
            .verify(&message, &Signature::from_bytes(&bytes))
            .map_err(|_| ManifestError::BadSignature(signature.key_id.clone()))?;
        verified = true;
    }
    if !verified {
        let ids: Vec<&str> = envelope
            .signatures
            .iter()
            .map(|s| s.key_id.as_str())
            .collect();
        return Err(ManifestError::UnknownKey(ids.join(", ")));
    }
    let manifest: ModelManifest = serde_json::from_slice(&payload)
        .map_err(|e| ManifestError::MalformedManifest(e.to_string()))?;
    if manifest.format != MANIFEST_FORMAT {
        return Err(ManifestError::UnsupportedFormat(manifest.format));
    }
    Ok(manifest)
}

fn signed_message(payload: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(SIGNING_CONTEXT.len() + payload.len());
    message.extend_from_slice(SIGNING_CONTEXT);
    message.extend_from_slice(payload);
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn manifest() -> ModelManifest {
        ModelManifest {
            format: 1,
            name: "yolo11n-omni-damage".into(),
            version: semver::Version::new(0, 2, 0),
            file: "0.2.0/model.onnx".into(),
            sha256: "ab".repeat(32),
            size: 3_000_000,
            classes: omni_protocol::DAMAGE_CLASSES
                .iter()
                .map(|c| c.to_string())
                .collect(),
            imgsz: 320,
            precision: "int8".into(),
            metrics: serde_json::Map::new(),
            created_at: "2026-11-28T10:00:00Z".into(),
            min_core_version: semver::Version::new(0, 1, 0),
            training_job: Some("omni-yolo-2026-11-28".into()),
        }
    }

    fn trusted(seed: u8) -> TrustedKey {
        key(seed).verifying_key().into()
    }

    #[test]
    fn signed_manifest_round_trips() {
        let envelope = serde_json::to_vec(&sign(&manifest(), &key(1)).unwrap()).unwrap();
        assert_eq!(verify(&envelope, &[trusted(1)]).unwrap(), manifest());
        // Rotation: any pinned key verifies.
        assert_eq!(
            verify(&envelope, &[trusted(9), trusted(1)]).unwrap(),
            manifest()
        );
    }

    #[test]
    fn refuses_unknown_key_unsigned_and_tampered() {
        let signed = sign(&manifest(), &key(1)).unwrap();
        let bytes = serde_json::to_vec(&signed).unwrap();
        assert!(matches!(
            verify(&bytes, &[trusted(2)]),
            Err(ManifestError::UnknownKey(_))
        ));

        let unsigned = SignedManifest {
            signatures: vec![],
            ..signed.clone()
        };
        assert!(matches!(
            verify(&serde_json::to_vec(&unsigned).unwrap(), &[trusted(1)]),
            Err(ManifestError::Unsigned)
        ));

        let mut other = manifest();
        other.sha256 = "cd".repeat(32);
        let tampered = SignedManifest {
            payload: BASE64.encode(serde_json::to_vec(&other).unwrap()),
            ..signed
        };
        assert!(matches!(
            verify(&serde_json::to_vec(&tampered).unwrap(), &[trusted(1)]),
            Err(ManifestError::BadSignature(_))
        ));
        assert!(matches!(
            verify(b"{not json", &[trusted(1)]),
            Err(ManifestError::MalformedEnvelope(_))
        ));
    }

    #[test]
    fn keys_parse_from_base64_only_at_32_bytes() {
        let public = trusted(3);
        assert_eq!(
            public.to_base64().parse::<TrustedKey>().unwrap().id(),
            public.id()
        );
        assert!("AAAA".parse::<TrustedKey>().is_err());
        assert!(parse_signing_key("not base64!").is_err());
        let seed = BASE64.encode([7u8; 32]);
        assert_eq!(parse_signing_key(&seed).unwrap().to_bytes(), [7u8; 32]);
    }

    #[test]
    fn refuses_unknown_format() {
        let mut future = manifest();
        future.format = 2;
        let bytes = serde_json::to_vec(&sign(&future, &key(1)).unwrap()).unwrap();
        assert!(matches!(
            verify(&bytes, &[trusted(1)]),
            Err(ManifestError::UnsupportedFormat(2))
        ));
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::*;
        use super::{key, manifest, trusted};

        proptest! {
            #[test]
            fn any_bytes_are_verified_or_refused_without_panicking(
                bytes in proptest::collection::vec(any::<u8>(), 0..512),
            ) {
                prop_assert!(verify(&bytes, &[trusted(1)]).is_err());
            }

            #[test]
            fn a_changed_envelope_never_verifies_as_another_manifest(
                at in any::<prop::sample::Index>(),
                byte in any::<u8>(),
            ) {
                let mut envelope = serde_json::to_vec(&sign(&manifest(), &key(1)).unwrap()).unwrap();
                let i = at.index(envelope.len());
                envelope[i] = byte;
                if let Ok(verified) = verify(&envelope, &[trusted(1)]) {
                    prop_assert_eq!(verified, manifest());
                }
            }
        }
    }
}
