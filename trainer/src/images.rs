//! The SageMaker PyTorch framework container images (the AWS Deep Learning Containers) for a
//! region, as the SageMaker Python SDK resolves them (`image_uris.retrieve("pytorch", …)`).
//!
//! The ECR account of each region, the repositories and the Python versions of each
//! framework version come from the SDK's own table, vendored verbatim (its `training` and
//! `inference` scopes) in `src/images/pytorch.json`; `src/images/update.py` regenerates it
//! from the SDK pinned in `tools/requirements-test.txt`, and a test compares the two. A
//! region, framework version or Python version the table does not list is refused rather
//! than guessed.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::error::{Result, TrainerError};

/// The vendored table (JSON): `{"source": …, "training": Scope, "inference": Scope}`.
pub const PYTORCH_TABLE: &str = include_str!("images/pytorch.json");

/// The vendored table (its `source` names the SDK release and file it was taken from).
#[derive(Debug, Deserialize)]
struct Table {
    training: Scope,
    inference: Scope,
}

/// One image scope of the SDK's table (`training`, `inference`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Scope {
    processors: Vec<String>,
    version_aliases: BTreeMap<String, String>,
    versions: BTreeMap<String, Version>,
}

/// One framework version of a scope. Unknown fields (a tag suffix the SDK might add) fail the
/// parse rather than produce a wrong URI.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Version {
    py_versions: Vec<String>,
    registries: BTreeMap<String, String>,
    repository: String,
}

fn table() -> Result<&'static Table> {
    static TABLE: OnceLock<std::result::Result<Table, String>> = OnceLock::new();
    TABLE
        .get_or_init(|| serde_json::from_str(PYTORCH_TABLE).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| {
            TrainerError::Config(format!("vendored image table src/images/pytorch.json: {e}"))
        })
}

/// Which image an URI is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageScope {
    /// `pytorch-training`.
    Training,
    /// `pytorch-inference`.
    Inference,
}

/// The regions the table lists for `framework` in `scope` (after the SDK's version aliases,
/// e.g. `2.0` → `2.0.1`), sorted.
pub fn regions(scope: ImageScope, framework: &str) -> Result<Vec<&'static str>> {
    let (_, _, version) = version(scope, framework)?;
    Ok(version.registries.keys().map(String::as_str).collect())
}

/// The scope, the resolved version and its entry.
fn version(
    scope: ImageScope,
    framework: &str,
) -> Result<(&'static Scope, &'static str, &'static Version)> {
    let table = table()?;
    let scope = match scope {
        ImageScope::Training => &table.training,
        ImageScope::Inference => &table.inference,
    };
    let resolved = scope
        .version_aliases
        .get(framework)
        .map_or(framework, String::as_str);
    scope
        .versions
        .get_key_value(resolved)
        .map(|(k, v)| (scope, k.as_str(), v))
        .ok_or_else(|| {
            let known: Vec<&str> = scope.versions.keys().map(String::as_str).collect();
            TrainerError::Config(format!(
                "framework_version {framework:?}: no SageMaker PyTorch image (known: {}); set training_image / inference_image explicitly",
                known.join(", ")
            ))
        })
}

/// `<account>.dkr.ecr.<region>.<domain>/<repository>:<version>-<processor>-<py>`, as the SDK
/// builds it.
fn uri(
    scope: ImageScope,
    region: &str,
    framework: &str,
    py: &str,
    processor: &str,
) -> Result<String> {
    let (scope, resolved, version) = version(scope, framework)?;
    if !scope.processors.iter().any(|p| p == processor) {
        return Err(TrainerError::Config(format!(
            "no {processor} PyTorch {resolved} image (processors: {})",
            scope.processors.join(", ")
        )));
    }
    let account = version
        .registries
        .get(region)
        .ok_or_else(|| TrainerError::UnknownRegion {
            region: region.to_owned(),
            framework: resolved.to_owned(),
            known: version
                .registries
                .keys()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    if !version.py_versions.iter().any(|p| p == py) {
        return Err(TrainerError::Config(format!(
            "py_version {py:?}: the PyTorch {resolved} images are built for {}",
            version.py_versions.join(", ")
        )));
    }
    Ok(format!(
        "{account}.dkr.ecr.{region}.{}/{}:{resolved}-{processor}-{py}",
        domain(region),
        version.repository
    ))
}

/// The DNS suffix of the region's partition (the SDK takes it from botocore's endpoints).
fn domain(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else if region.starts_with("us-isob-") {
        "sc2s.sgov.gov"
    } else if region.starts_with("us-iso-") {
        "c2s.ic.gov"
    } else {
        "amazonaws.com"
    }
}

/// Whether an instance type has a GPU (`ml.g*`, `ml.p*`).
pub fn is_gpu_instance(instance_type: &str) -> bool {
    let family = instance_type.strip_prefix("ml.").unwrap_or(instance_type);
    family.starts_with('g') || family.starts_with('p')
}

/// `pytorch-training:<fw>-<gpu|cpu>-<py>` for `instance_type` in `region`; a region,
/// framework or Python version the SDK's table does not list is an error.
pub fn training_image(
    region: &str,
    framework: &str,
    py: &str,
    instance_type: &str,
) -> Result<String> {
    let processor = if is_gpu_instance(instance_type) {
        "gpu"
    } else {
        "cpu"
    };
    uri(ImageScope::Training, region, framework, py, processor)
}

/// `pytorch-inference:<fw>-cpu-<py>` (serverless endpoints run on CPU); a region, framework
/// or Python version the SDK's table does not list is an error.
pub fn inference_image(region: &str, framework: &str, py: &str) -> Result<String> {
    uri(ImageScope::Inference, region, framework, py, "cpu")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn seed_images() {
        assert_eq!(
            inference_image("us-east-1", "2.0.0", "py310").unwrap(),
            "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.0.0-cpu-py310"
        );
        assert_eq!(
            training_image("us-east-1", "2.0.0", "py310", "ml.g4dn.xlarge").unwrap(),
            "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.0.0-gpu-py310"
        );
        assert!(
            training_image("eu-west-1", "2.0.0", "py310", "ml.m5.xlarge")
                .unwrap()
                .contains("-cpu-")
        );
    }

    #[test]
    fn regions_outside_the_default_account() {
        // The accounts the hand-written table got wrong (issue 11, item 10).
        for (region, account) in [
            ("ap-northeast-3", "364406365360"),
            ("ca-west-1", "204538143572"),
            ("ap-east-2", "975050140332"),
            ("mx-central-1", "637423239942"),
        ] {
            let image = inference_image(region, "2.0.0", "py310").unwrap();
            assert!(
                image.starts_with(&format!("{account}.dkr.ecr.{region}.amazonaws.com/")),
                "{image}"
            );
        }
        assert_eq!(
            training_image("us-iso-east-1", "2.0.0", "py310", "ml.m5.xlarge").unwrap(),
            "886529160074.dkr.ecr.us-iso-east-1.c2s.ic.gov/pytorch-training:2.0.0-cpu-py310"
        );
        assert!(
            inference_image("cn-north-1", "2.0.0", "py310")
                .unwrap()
                .starts_with("727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/")
        );
        assert_eq!(regions(ImageScope::Training, "2.0.0").unwrap().len(), 40);
    }

    #[test]
    fn unlisted_regions_and_versions_are_refused() {
        let err = inference_image("xx-nowhere-1", "2.0.0", "py310").unwrap_err();
        assert!(
            matches!(&err, TrainerError::UnknownRegion { region, .. } if region == "xx-nowhere-1"),
            "{err}"
        );
        assert!(err.to_string().contains("us-east-1"), "{err}");
        let err = training_image("us-east-1", "9.9.9", "py310", "ml.g4dn.xlarge").unwrap_err();
        assert!(err.to_string().contains("9.9.9"), "{err}");
        let err = training_image("us-east-1", "2.0.0", "py27", "ml.g4dn.xlarge").unwrap_err();
        assert!(err.to_string().contains("py310"), "{err}");
        // The SDK's aliases: 2.0 is 2.0.1.
        assert!(
            inference_image("us-east-1", "2.0", "py310")
                .unwrap()
                .ends_with(":2.0.1-cpu-py310")
        );
    }
}
