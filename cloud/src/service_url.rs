//! Base URLs of the cloud services, refusing plain HTTP except on loopback.

use std::fmt;

use reqwest::Url;

/// A validated base URL: `https://…`, or `http://` only to a loopback host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceUrl(Url);

/// Why a service URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceUrlError {
    /// Not a URL at all.
    #[error("invalid URL {url:?}: {reason}")]
    Invalid {
        /// The text given.
        url: String,
        /// The parser's reason.
        reason: String,
    },
    /// Plain HTTP to a host that is not loopback.
    #[error("refusing plain http:// to {0}: use https (plain http is allowed on loopback only)")]
    InsecureScheme(String),
    /// A scheme other than http/https.
    #[error("unsupported URL scheme {0:?}")]
    UnsupportedScheme(String),
}

impl ServiceUrl {
    /// Parses and checks `url`.
    pub fn parse(url: &str) -> Result<Self, ServiceUrlError> {
        let parsed = Url::parse(url).map_err(|e| ServiceUrlError::Invalid {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        match parsed.scheme() {
            "https" => {}
            "http" => {
                let loopback = match parsed.host() {
                    Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                    Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                    Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                    None => false,
                };
                if !loopback {
                    return Err(ServiceUrlError::InsecureScheme(
                        parsed.host_str().unwrap_or_default().to_owned(),
                    ));
                }
            }
            other => return Err(ServiceUrlError::UnsupportedScheme(other.to_owned())),
        }
        Ok(Self(parsed))
    }

    /// Whether the URL is `https://` (then the client refuses anything else).
    pub fn is_https(&self) -> bool {
        self.0.scheme() == "https"
    }

    /// The default SageMaker Runtime URL of `region`.
    pub fn sagemaker_runtime(region: &str) -> Result<Self, ServiceUrlError> {
        Self::parse(&format!("https://runtime.sagemaker.{region}.amazonaws.com"))
    }

    /// This URL with `path` appended to its path (segments percent-encoded by the caller).
    pub fn join_path(&self, path: &str) -> Url {
        let mut url = self.0.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base}/{}", path.trim_start_matches('/')));
        url
    }

    /// The URL.
    pub fn url(&self) -> &Url {
        &self.0
    }
}

impl fmt::Display for ServiceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_on_loopback() {
        assert!(ServiceUrl::parse("https://runtime.sagemaker.us-east-1.amazonaws.com").is_ok());
        assert!(ServiceUrl::parse("http://127.0.0.1:8080").is_ok());
        assert!(ServiceUrl::parse("http://[::1]:8080/x").is_ok());
        assert!(ServiceUrl::parse("http://localhost:1").is_ok());
        assert!(matches!(
            ServiceUrl::parse("http://example.com"),
            Err(ServiceUrlError::InsecureScheme(_))
        ));
        assert!(matches!(
            ServiceUrl::parse("http://10.0.0.1"),
            Err(ServiceUrlError::InsecureScheme(_))
        ));
        assert!(matches!(
            ServiceUrl::parse("ftp://127.0.0.1"),
            Err(ServiceUrlError::UnsupportedScheme(_))
        ));
        assert!(ServiceUrl::parse("not a url").is_err());
    }

    #[test]
    fn join_path_keeps_a_base_path() {
        let base = ServiceUrl::parse("https://api.example.com/prod/").unwrap();
        assert_eq!(
            base.join_path("endpoints/x/invocations").as_str(),
            "https://api.example.com/prod/endpoints/x/invocations"
        );
    }
}
