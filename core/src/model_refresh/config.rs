//! What the model refresh needs to know: where the manifest lives, which keys sign it,
//! which classes the device expects, and when it may download.

use std::time::Duration;

use reqwest::Url;

use crate::model_manifest::TrustedKey;
use omni_cloud::{ServiceUrl, ServiceUrlError};
use omni_protocol::DAMAGE_CLASSES;

/// The `omni-core` version a manifest's `min_core_version` is compared with.
pub const CORE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Where the signed manifest (`edge/latest.json`) is fetched from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ManifestSource {
    /// An `https://` URL (CDN, presigned) or plain `http://` on loopback, fetched unsigned.
    Http(ServiceUrl),
    /// An S3 object fetched with SigV4 (`s3` scope) and the host's credentials.
    S3 {
        /// Bucket name.
        bucket: String,
        /// Object key of the manifest, e.g. `models/edge/latest.json`.
        key: String,
        /// Signing region.
        region: String,
        /// The HTTP(S) URL of the object: AWS's virtual-hosted
        /// `https://<bucket>.s3.<region>.amazonaws.com/<key>`, or path-style
        /// `<endpoint>/<bucket>/<key>` for an explicit endpoint (e.g. a loopback S3 emulator).
        url: Url,
    },
}

/// A refresh configuration that cannot work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The manifest URL is not usable.
    #[error("manifest URL: {0}")]
    Url(#[from] ServiceUrlError),
    /// An `s3://` URL without bucket or key.
    #[error("invalid S3 URL {0:?}: expected s3://bucket/key")]
    S3Url(String),
    /// No public key pinned: no manifest could ever be accepted.
    #[error("no public key pinned: pass at least one manifest signing key")]
    NoKeys,
}

impl ManifestSource {
    /// Parses `https://…`, loopback `http://…`, or `s3://bucket/key` (signed for `region`,
    /// sent path-style to `s3_endpoint` when given).
    pub fn parse(url: &str, region: &str, s3_endpoint: Option<&str>) -> Result<Self, ConfigError> {
        let Some(rest) = url.strip_prefix("s3://") else {
            return Ok(Self::Http(ServiceUrl::parse(url)?));
        };
        let bad = || ConfigError::S3Url(url.to_owned());
        let (bucket, key) = rest
            .split_once('/')
            .filter(|(b, k)| !b.is_empty() && !k.is_empty() && !k.ends_with('/'))
            .ok_or_else(bad)?;
        let (base, path_style) = match s3_endpoint {
            Some(endpoint) => (ServiceUrl::parse(endpoint)?, true),
            None => match ServiceUrl::parse(&format!("https://{bucket}.s3.{region}.amazonaws.com"))
            {
                Ok(base) if !bucket.contains('.') => (base, false),
                _ => (
                    ServiceUrl::parse(&format!("https://s3.{region}.amazonaws.com"))?,
                    true,
                ),
            },
        };
        let mut object = base.url().clone();
        let existing: Vec<String> = object
            .path_segments()
            .map(|s| s.filter(|s| !s.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default();
        {
            let mut segments = object.path_segments_mut().map_err(|()| bad())?;
            segments.clear();
            segments.extend(existing.iter().map(String::as_str));
            if path_style {
                segments.push(bucket);
            }
            segments.extend(key.split('/'));
        }
        Ok(Self::S3 {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            region: region.to_owned(),
            url: object,
        })
    }

    /// The HTTP(S) URL the manifest is fetched from.
    pub fn manifest_url(&self) -> &Url {
        match self {
            Self::Http(url) => url.url(),
            Self::S3 { url, .. } => url,
        }
    }

    /// The region requests are signed for, when they are signed.
    pub fn signing_region(&self) -> Option<&str> {
        match self {
            Self::Http(_) => None,
            Self::S3 { region, .. } => Some(region),
        }
    }
}

/// The network the device is on, as the host app reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[cfg_attr(feature = "uniffi", uniffi(name = "NetworkKind"))]
pub enum Network {
    /// Wi-Fi or wired: downloads are allowed.
    Unmetered,
    /// Cellular or a hotspot: downloads only if [`RefreshPolicy::allow_metered`].
    /// The default until the host says otherwise.
    #[default]
    Metered,
}

/// When a model may be downloaded. The host sets it; the CLI ignores it. The default is
/// Wi-Fi only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RefreshPolicy {
    /// Download on metered networks too (phones: `false`, Wi-Fi only).
    pub allow_metered: bool,
}

impl RefreshPolicy {
    /// A policy that downloads on any network (the desktop CLI).
    pub fn any_network() -> Self {
        Self {
            allow_metered: true,
        }
    }
}

/// Everything the updater needs.
#[derive(Clone, Debug)]
pub struct RefreshConfig {
    /// Where `edge/latest.json` lives.
    pub source: ManifestSource,
    /// Public keys whose signatures are accepted (several during a key rotation).
    pub trusted_keys: Vec<TrustedKey>,
    /// Class names the device expects, in id order.
    pub classes: Vec<String>,
    /// Accept a manifest whose version is not newer than the active model's.
    pub allow_downgrade: bool,
    /// When downloads are allowed.
    pub policy: RefreshPolicy,
    /// Connect timeout of each request.
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of a response.
    pub read_timeout: Duration,
    /// Requests one update may spend on the model file (a cut connection resumes with a
    /// range request).
    pub download_attempts: u32,
    /// Threads tract uses when it checks a downloaded model.
    pub threads: usize,
}

impl RefreshConfig {
    /// A configuration with the device's classes, no downgrades, Wi-Fi-only downloads and
    /// default timeouts.
    pub fn new(source: ManifestSource, trusted_keys: Vec<TrustedKey>) -> Result<Self, ConfigError> {
        if trusted_keys.is_empty() {
            return Err(ConfigError::NoKeys);
        }
        Ok(Self {
            source,
            trusted_keys,
            classes: DAMAGE_CLASSES.iter().map(|c| (*c).to_owned()).collect(),
            allow_downgrade: false,
            policy: RefreshPolicy::default(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            download_attempts: 3,
            threads: 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_urls_are_virtual_hosted_or_path_style() {
        let aws =
            ManifestSource::parse("s3://omni-models/prod/edge/latest.json", "eu-west-1", None)
                .unwrap();
        assert_eq!(
            aws.manifest_url().as_str(),
            "https://omni-models.s3.eu-west-1.amazonaws.com/prod/edge/latest.json"
        );
        assert_eq!(aws.signing_region(), Some("eu-west-1"));
        let local = ManifestSource::parse(
            "s3://omni-models/edge/latest.json",
            "us-east-1",
            Some("http://127.0.0.1:5000"),
        )
        .unwrap();
        assert_eq!(
            local.manifest_url().as_str(),
            "http://127.0.0.1:5000/omni-models/edge/latest.json"
        );
        assert!(ManifestSource::parse("s3://bucket", "us-east-1", None).is_err());
        assert!(ManifestSource::parse("s3:///key", "us-east-1", None).is_err());
        assert!(ManifestSource::parse("http://example.com/latest.json", "x", None).is_err());
        let plain =
            ManifestSource::parse("https://cdn.example.com/edge/latest.json", "x", None).unwrap();
        assert_eq!(plain.signing_region(), None);
    }

    #[test]
    fn a_config_needs_a_key_and_defaults_to_wifi_only() {
        let source =
            ManifestSource::parse("https://cdn.example.com/latest.json", "x", None).unwrap();
        assert!(matches!(
            RefreshConfig::new(source.clone(), vec![]),
            Err(ConfigError::NoKeys)
        ));
        let key = ed25519_dalek::SigningKey::from_bytes(&[1; 32]).verifying_key();
        let config = RefreshConfig::new(source, vec![key.into()]).unwrap();
        assert!(!config.policy.allow_metered);
        assert_eq!(Network::default(), Network::Metered);
        assert_eq!(config.classes, DAMAGE_CLASSES);
    }
}
