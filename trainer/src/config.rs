//! Settings: command-line flags, then environment variables, then the config file, then the
//! defaults of the user's plan (bucket, role, prefix, endpoint, instance, serverless sizes).
//!
//! Every setting is one flag (`--bucket`), one environment variable (`OMNI_BUCKET`) and one
//! key of the TOML config file (`bucket = "…"`); the file is `--config FILE`
//! (`OMNI_TRAINER_CONFIG`), else `omni-trainer.toml` in the working directory when present.

use std::path::{Path, PathBuf};

use crate::error::{Result, TrainerError};

/// The seed plan's bucket.
pub const DEFAULT_BUCKET: &str = "omni-inspector-models-472661249377";
/// The seed plan's SageMaker execution role.
pub const DEFAULT_ROLE: &str = "arn:aws:iam::472661249377:role/OmniInspectorSageMakerRole";
/// The region of the seed plan, used when the SDK resolves none.
pub const DEFAULT_REGION: &str = "us-east-1";
/// Config file looked for in the working directory.
pub const DEFAULT_CONFIG_FILE: &str = "omni-trainer.toml";

/// Declares the settings in groups. Each group is a set of flags (`clap::Args`, shown under
/// its own help heading) that a command flattens when it reads those settings, so a command's
/// `--help` lists only what it uses; the config file and [`Settings`] hold every setting.
/// A field with `= default` resolves to that default, one without stays optional.
macro_rules! settings {
    (@type $ty:ty) => { Option<$ty> };
    (@type $ty:ty, $default:expr) => { $ty };
    (@resolve $value:expr) => { $value };
    (@resolve $value:expr, $default:expr) => { $value.unwrap_or_else(|| $default.into()) };
    ( $(
        $(#[doc = $gdoc:expr])+
        group $group:ident ($heading:literal) {
            $( $(#[doc = $doc:expr])+ $field:ident : $ty:ty $(= $default:expr)?, $env:literal; )*
        }
    )* ) => {
        $(
            $(#[doc = $gdoc])+
            #[derive(clap::Args, Debug, Default, Clone, PartialEq)]
            #[command(next_help_heading = $heading)]
            pub struct $group {
                $( $(#[doc = $doc])+ #[arg(long, env = $env, hide_env_values = true)]
                   pub $field: Option<$ty>, )*
            }

            impl From<$group> for SettingsLayer {
                fn from(group: $group) -> Self {
                    SettingsLayer { $( $field: group.$field, )* ..SettingsLayer::default() }
                }
            }
        )*

        /// One layer of settings (flags + environment, or the config file): unset = `None`.
        #[derive(serde::Deserialize, Debug, Default, Clone, PartialEq)]
        #[serde(deny_unknown_fields, rename_all = "snake_case")]
        pub struct SettingsLayer {
            $( $( $(#[doc = $doc])+ pub $field: Option<$ty>, )* )*
        }

        /// The resolved settings.
        #[derive(Debug, Clone, PartialEq, serde::Serialize)]
        pub struct Settings {
            $( $( $(#[doc = $doc])+ pub $field: settings!(@type $ty $(, $default)?), )* )*
        }

        impl SettingsLayer {
            /// This layer, with `lower`'s values where this one has none.
            pub fn over(self, lower: SettingsLayer) -> SettingsLayer {
                SettingsLayer { $( $( $field: self.$field.or(lower.$field), )* )* }
            }

            /// Fills what is still unset with the defaults.
            pub fn resolve(self) -> Settings {
                Settings { $( $( $field: settings!(@resolve self.$field $(, $default)?), )* )* }
            }
        }
    };
}

settings! {
    /// Where the AWS APIs are and which bucket holds data sets, code and models.
    group AwsArgs ("AWS") {
        /// AWS region (default: the SDK's resolution, else us-east-1).
        region: String, "OMNI_REGION";
        /// AWS profile (default: the SDK's resolution).
        profile: String, "OMNI_PROFILE";
        /// Endpoint URL for every AWS API (an emulator, a VPC endpoint).
        endpoint_url: String, "OMNI_ENDPOINT_URL";
        /// Endpoint URL of the SageMaker control plane only.
        sagemaker_endpoint_url: String, "OMNI_SAGEMAKER_ENDPOINT_URL";
        /// Endpoint URL of SageMaker Runtime (`InvokeEndpoint`) only.
        runtime_endpoint_url: String, "OMNI_RUNTIME_ENDPOINT_URL";
        /// S3 bucket for data sets, code, checkpoints and models.
        bucket: String = DEFAULT_BUCKET, "OMNI_BUCKET";
    }
    /// Where the data set lives in the bucket.
    group DatasetArgs ("Data set in S3") {
        /// Key prefix of the data set in the bucket (the `training` channel).
        dataset_prefix: String = "datasets/talos-v1/", "OMNI_DATASET_PREFIX";
    }
    /// What training jobs and deployed models share: the role, names, the PyTorch containers.
    group JobArgs ("SageMaker jobs") {
        /// IAM role SageMaker assumes for training and the endpoint.
        role_arn: String = DEFAULT_ROLE, "OMNI_ROLE_ARN";
        /// Prefix of training job and model names.
        job_prefix: String = "omni-yolo11n", "OMNI_JOB_PREFIX";
        /// PyTorch framework version of the SageMaker containers.
        framework_version: String = "2.0.0", "OMNI_FRAMEWORK_VERSION";
        /// Python version tag of the SageMaker containers.
        py_version: String = "py310", "OMNI_PY_VERSION";
    }
    /// The training instance (what `train` runs on and `cost` prices).
    group InstanceArgs ("Training instance") {
        /// Training instance type.
        instance_type: String = "ml.g4dn.xlarge", "OMNI_INSTANCE_TYPE";
    }
    /// Managed spot time limits (`train` sets them, `wait` gives up after them).
    group SpotArgs ("Managed spot") {
        /// Managed spot: most seconds of training (`MaxRuntimeInSeconds`).
        max_runtime_s: i32 = 14_400, "OMNI_MAX_RUNTIME_S";
        /// Managed spot: most seconds including waits for capacity (`MaxWaitTimeInSeconds`).
        max_wait_s: i32 = 18_000, "OMNI_MAX_WAIT_S";
    }
    /// A training job: hyperparameters, image, where its code, checkpoints and output go.
    group TrainingArgs ("Training") {
        /// Training epochs.
        epochs: u32 = 100u32, "OMNI_EPOCHS";
        /// Training batch size.
        batch: u32 = 16u32, "OMNI_BATCH";
        /// Training image size.
        imgsz: u32 = 640u32, "OMNI_IMGSZ";
        /// Input size of the exported ONNX models (the edge model; 320 as the bundled one).
        export_imgsz: u32 = 320u32, "OMNI_EXPORT_IMGSZ";
        /// Name of the edge model (written into the exported models' metadata).
        model_name: String = "yolo11n-omni-damage", "OMNI_MODEL_NAME";
        /// Training image URI (default: the PyTorch training image of the region).
        training_image: String, "OMNI_TRAINING_IMAGE";
        /// Key prefix of training outputs (`<prefix><job>/output/model.tar.gz`).
        output_prefix: String = "models/yolo-finetuned/", "OMNI_OUTPUT_PREFIX";
        /// Key prefix of the packaged entry scripts (`<prefix><job>/sourcedir.tar.gz`).
        code_prefix: String = "code/", "OMNI_CODE_PREFIX";
        /// Key prefix of spot checkpoints (`<prefix><job>/`).
        checkpoint_prefix: String = "checkpoints/", "OMNI_CHECKPOINT_PREFIX";
    }
    /// The serverless endpoint `deploy` creates or updates.
    group EndpointArgs ("Serverless endpoint") {
        /// Serverless endpoint name.
        endpoint_name: String = "omni-inspector-yolo", "OMNI_ENDPOINT_NAME";
        /// Serverless endpoint memory, MB.
        serverless_memory_mb: i32 = 2048, "OMNI_SERVERLESS_MEMORY_MB";
        /// Serverless endpoint maximum concurrency.
        serverless_max_concurrency: i32 = 5, "OMNI_SERVERLESS_MAX_CONCURRENCY";
        /// Inference image URI (default: the PyTorch CPU inference image of the region).
        inference_image: String, "OMNI_INFERENCE_IMAGE";
    }
    /// Where published edge models and deployed bundles go.
    group ModelsArgs ("Published models") {
        /// Key prefix of published models (`<prefix>edge/latest.json`) and deployed bundles.
        models_prefix: String = "models/", "OMNI_MODELS_PREFIX";
    }
}

impl Settings {
    /// Defaults only.
    pub fn defaults() -> Self {
        SettingsLayer::default().resolve()
    }

    /// `s3://bucket/dataset_prefix`.
    pub fn dataset_uri(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.dataset_prefix)
    }

    /// Region, or the seed's.
    pub fn region_or_default(&self) -> &str {
        self.region.as_deref().unwrap_or(DEFAULT_REGION)
    }

    /// Checks values that have a shape.
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(TrainerError::Config(m));
        if self.bucket.is_empty() || self.bucket.contains('/') {
            return bad(format!("bucket {:?} is not a bucket name", self.bucket));
        }
        for (name, prefix) in [
            ("dataset_prefix", &self.dataset_prefix),
            ("output_prefix", &self.output_prefix),
            ("models_prefix", &self.models_prefix),
            ("code_prefix", &self.code_prefix),
            ("checkpoint_prefix", &self.checkpoint_prefix),
        ] {
            if prefix.starts_with('/') || !(prefix.is_empty() || prefix.ends_with('/')) {
                return bad(format!(
                    "{name} {prefix:?} must not start with / and must end with /"
                ));
            }
        }
        if !(1024..=6144).contains(&self.serverless_memory_mb)
            || self.serverless_memory_mb % 1024 != 0
        {
            return bad(format!(
                "serverless_memory_mb {} must be 1024, 2048, …, 6144",
                self.serverless_memory_mb
            ));
        }
        if !(1..=200).contains(&self.serverless_max_concurrency) {
            return bad(format!(
                "serverless_max_concurrency {} must be in 1..=200",
                self.serverless_max_concurrency
            ));
        }
        if self.max_wait_s < self.max_runtime_s {
            return bad(format!(
                "max_wait_s {} must be at least max_runtime_s {}",
                self.max_wait_s, self.max_runtime_s
            ));
        }
        if self.epochs == 0 {
            return bad("epochs must be at least 1".into());
        }
        Ok(())
    }
}

/// Reads a TOML config file into a layer; unknown keys are an error.
pub fn read_config_file(path: &Path) -> Result<SettingsLayer> {
    let text = std::fs::read_to_string(path).map_err(TrainerError::io(path))?;
    toml::from_str(&text).map_err(|e| TrainerError::Config(format!("{}: {e}", path.display())))
}

/// Flags and environment over the config file (`explicit`, else `omni-trainer.toml` in
/// `cwd` when present) over the defaults.
pub fn resolve(cli: SettingsLayer, explicit: Option<&Path>, cwd: &Path) -> Result<Settings> {
    let file: Option<PathBuf> = match explicit {
        Some(p) => Some(p.to_owned()),
        None => Some(cwd.join(DEFAULT_CONFIG_FILE)).filter(|p| p.is_file()),
    };
    let layer = match file {
        Some(path) => cli.over(read_config_file(&path)?),
        None => cli,
    };
    let settings = layer.resolve();
    settings.check()?;
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_seed_plan() {
        let s = Settings::defaults();
        assert_eq!(s.bucket, "omni-inspector-models-472661249377");
        assert_eq!(
            s.role_arn,
            "arn:aws:iam::472661249377:role/OmniInspectorSageMakerRole"
        );
        assert_eq!(s.dataset_prefix, "datasets/talos-v1/");
        assert_eq!(s.endpoint_name, "omni-inspector-yolo");
        assert_eq!(s.instance_type, "ml.g4dn.xlarge");
        assert_eq!(
            (s.serverless_memory_mb, s.serverless_max_concurrency),
            (2048, 5)
        );
        assert_eq!((s.epochs, s.batch, s.imgsz), (100, 16, 640));
        assert_eq!((s.max_runtime_s, s.max_wait_s), (14_400, 18_000));
        s.check().expect("defaults are valid");
    }

    #[test]
    fn flags_over_file_over_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join(DEFAULT_CONFIG_FILE);
        std::fs::write(
            &file,
            "bucket = \"from-file\"\nendpoint_name = \"ep-file\"\n",
        )
        .expect("write");
        let cli = SettingsLayer {
            bucket: Some("from-flag".into()),
            ..SettingsLayer::default()
        };
        let s = resolve(cli, None, dir.path()).expect("resolve");
        assert_eq!(s.bucket, "from-flag");
        assert_eq!(s.endpoint_name, "ep-file");
        assert_eq!(s.instance_type, "ml.g4dn.xlarge");
    }

    #[test]
    fn unknown_key_and_bad_values_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "buckett = \"x\"\n").expect("write");
        let err =
            resolve(SettingsLayer::default(), Some(&file), dir.path()).expect_err("unknown key");
        assert!(err.to_string().contains("buckett"), "{err}");
        let cli = SettingsLayer {
            serverless_memory_mb: Some(1000),
            ..SettingsLayer::default()
        };
        assert!(resolve(cli, None, dir.path()).is_err());
        let cli = SettingsLayer {
            dataset_prefix: Some("no-slash".into()),
            ..SettingsLayer::default()
        };
        assert!(resolve(cli, None, dir.path()).is_err());
    }
}
