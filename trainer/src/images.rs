//! The SageMaker PyTorch framework container images (the AWS Deep Learning Containers) for a
//! region, as the SageMaker Python SDK resolves them.

/// The ECR account of the Deep Learning Containers in `region` (most regions share one).
pub fn dlc_account(region: &str) -> &'static str {
    match region {
        "af-south-1" => "626614931356",
        "ap-east-1" => "871362719292",
        "ap-south-2" => "772153158452",
        "ap-southeast-3" => "907027046896",
        "ap-southeast-4" => "457447274322",
        "eu-central-2" => "380420809688",
        "eu-south-1" => "692866216735",
        "eu-south-2" => "503227376785",
        "il-central-1" => "780543022126",
        "me-central-1" => "914824155844",
        "me-south-1" => "217643126080",
        "cn-north-1" | "cn-northwest-1" => "727897471807",
        "us-gov-west-1" => "442386744353",
        "us-gov-east-1" => "446045086412",
        _ => "763104351884",
    }
}

fn domain(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}

/// Whether an instance type has a GPU (`ml.g*`, `ml.p*`).
pub fn is_gpu_instance(instance_type: &str) -> bool {
    let family = instance_type.strip_prefix("ml.").unwrap_or(instance_type);
    family.starts_with('g') || family.starts_with('p')
}

/// `pytorch-training:<fw>-<gpu|cpu>-<py>` for `instance_type` in `region`.
pub fn training_image(region: &str, framework: &str, py: &str, instance_type: &str) -> String {
    let device = if is_gpu_instance(instance_type) {
        "gpu"
    } else {
        "cpu"
    };
    format!(
        "{}.dkr.ecr.{region}.{}/pytorch-training:{framework}-{device}-{py}",
        dlc_account(region),
        domain(region)
    )
}

/// `pytorch-inference:<fw>-cpu-<py>` (serverless endpoints run on CPU).
pub fn inference_image(region: &str, framework: &str, py: &str) -> String {
    format!(
        "{}.dkr.ecr.{region}.{}/pytorch-inference:{framework}-cpu-{py}",
        dlc_account(region),
        domain(region)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_images() {
        assert_eq!(
            inference_image("us-east-1", "2.0.0", "py310"),
            "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.0.0-cpu-py310"
        );
        assert_eq!(
            training_image("us-east-1", "2.0.0", "py310", "ml.g4dn.xlarge"),
            "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.0.0-gpu-py310"
        );
        assert!(training_image("eu-west-1", "2.0.0", "py310", "ml.m5.xlarge").contains("-cpu-"));
    }
}
