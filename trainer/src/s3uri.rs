//! `s3://bucket/prefix` URIs.

use crate::error::{Result, TrainerError};

/// A bucket and a key (or key prefix).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Uri {
    /// The bucket.
    pub bucket: String,
    /// The key or prefix (no leading `/`).
    pub key: String,
}

impl S3Uri {
    /// Parses `s3://bucket[/key]`.
    pub fn parse(uri: &str) -> Result<Self> {
        let rest = uri
            .strip_prefix("s3://")
            .ok_or_else(|| TrainerError::Input(format!("{uri:?} is not an s3:// URI")))?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(TrainerError::Input(format!("{uri:?} has no bucket")));
        }
        Ok(Self {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        })
    }

    /// The key as a directory prefix (ends with `/` unless empty).
    pub fn prefix(&self) -> String {
        if self.key.is_empty() || self.key.ends_with('/') {
            self.key.clone()
        } else {
            format!("{}/", self.key)
        }
    }

    /// `s3://bucket/key/child`.
    pub fn join(&self, child: &str) -> Self {
        Self {
            bucket: self.bucket.clone(),
            key: format!("{}{child}", self.prefix()),
        }
    }
}

impl std::fmt::Display for S3Uri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let u = S3Uri::parse("s3://b/datasets/x").expect("ok");
        assert_eq!(
            (u.bucket.as_str(), u.prefix().as_str()),
            ("b", "datasets/x/")
        );
        assert_eq!(S3Uri::parse("s3://b").expect("ok").prefix(), "");
        assert!(S3Uri::parse("http://b/x").is_err());
        assert!(S3Uri::parse("s3:///x").is_err());
        assert_eq!(u.join("a.txt").to_string(), "s3://b/datasets/x/a.txt");
    }
}
