//! Ed25519 signing keys of the edge-model manifest: `keygen`, and loading the key from a
//! file or the `OMNI_SIGNING_KEY` environment variable (standard base64 of the 32-byte seed).

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::SigningKey;
use omni_core::model_manifest::{TrustedKey, parse_signing_key};
use serde::Serialize;

use crate::error::{Result, TrainerError};

/// Environment variable holding the signing key.
pub const SIGNING_KEY_ENV: &str = "OMNI_SIGNING_KEY";

/// A new key pair.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KeyPair {
    /// Where the secret seed was written.
    pub secret_file: String,
    /// Where the public key was written.
    pub public_file: String,
    /// Standard base64 of the public key: what devices pin.
    pub public_key: String,
    /// The key id that signatures carry.
    pub key_id: String,
}

/// The signing key from `file`, else from `env_value`; a clear error when neither is given.
pub fn load_signing_key(file: Option<&Path>, env_value: Option<&str>) -> Result<SigningKey> {
    let (text, origin) = match (file, env_value) {
        (Some(path), _) => (
            std::fs::read_to_string(path)
                .map_err(|e| TrainerError::SigningKey(format!("{}: {e}", path.display())))?,
            path.display().to_string(),
        ),
        (None, Some(value)) if !value.trim().is_empty() => {
            (value.to_owned(), SIGNING_KEY_ENV.to_owned())
        }
        _ => {
            return Err(TrainerError::SigningKey(format!(
                "none given: pass --signing-key-file FILE or set {SIGNING_KEY_ENV} (create one with `omni-trainer keygen`)"
            )));
        }
    };
    parse_signing_key(&text).map_err(|e| TrainerError::SigningKey(format!("{origin}: {e}")))
}

/// The public half, as devices pin it.
pub fn public_key(key: &SigningKey) -> TrustedKey {
    key.verifying_key().into()
}

/// Creates a key pair: the seed in `secret` (mode 0600, refused if it exists) and the public
/// key in `secret` + `.pub`.
pub fn keygen(secret: &Path) -> Result<KeyPair> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|e| TrainerError::SigningKey(format!("no randomness: {e}")))?;
    let key = SigningKey::from_bytes(&seed);
    let public = public_key(&key);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(secret).map_err(TrainerError::io(secret))?;
    use std::io::Write;
    writeln!(file, "{}", STANDARD.encode(seed)).map_err(TrainerError::io(secret))?;
    let public_file = format!("{}.pub", secret.display());
    std::fs::write(&public_file, format!("{}\n", public.to_base64()))
        .map_err(TrainerError::io(&public_file))?;
    Ok(KeyPair {
        secret_file: secret.display().to_string(),
        public_file,
        public_key: public.to_base64(),
        key_id: public.id().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keygen_then_load() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("signing.key");
        let pair = keygen(&path).expect("keygen");
        let key = load_signing_key(Some(&path), None).expect("load");
        assert_eq!(public_key(&key).to_base64(), pair.public_key);
        assert!(keygen(&path).is_err(), "never overwrites a key");
        let err = load_signing_key(None, None).expect_err("missing");
        assert!(matches!(err, TrainerError::SigningKey(_)));
        assert!(load_signing_key(None, Some("short")).is_err());
    }
}
