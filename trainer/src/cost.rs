//! `cost`: what a training run and a month of operation cost.
//!
//! Two columns that must not be confused: the seed plan's own monthly table (its estimate,
//! kept for comparison) and this product's figure per service, computed from the product's
//! usage per inspection (what each inspection makes the office, the endpoint and the stores
//! do, `docs/office.md`) at us-east-1 list prices. Every price and usage figure is an input:
//! AWS prices change and differ per region. Each line says what its figure rests on.

use serde::Serialize;

/// Inputs of the estimate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CostInputs {
    /// Training instance type (for the report).
    pub instance_type: String,
    /// On-demand price of the training instance, USD per hour (ml.g4dn.xlarge: 0.736).
    pub instance_price_per_hour: f64,
    /// Managed spot discount, 0..1 (the plan assumes 0.70).
    pub spot_discount: f64,
    /// Hours of training (the plan: 2–4).
    pub training_hours: f64,
    /// Inspections per month.
    pub inspections_per_month: f64,
    /// What one inspection makes the product do.
    pub usage: Usage,
}

impl Default for CostInputs {
    fn default() -> Self {
        Self {
            instance_type: "ml.g4dn.xlarge".into(),
            instance_price_per_hour: 0.736,
            spot_discount: 0.70,
            training_hours: 4.0,
            inspections_per_month: 1000.0,
            usage: Usage::default(),
        }
    }
}

/// What one inspection makes the product do (the assumptions of `docs/office.md`, "Cost per
/// 1,000 inspections"; the request counts are the office lane's: create, close, two reads,
/// and one upload and one verdict per photo).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Usage {
    /// Photos per inspection.
    pub photos: f64,
    /// Megabytes per photo (stored, and sent to the endpoint once).
    pub photo_mb: f64,
    /// Seconds of serverless inference per photo detected on upload.
    pub inference_s_per_photo: f64,
    /// Lambda memory, GB.
    pub lambda_gb: f64,
    /// Lambda seconds of a request that detects (it waits for the endpoint).
    pub lambda_s_detect: f64,
    /// Lambda seconds of any other request.
    pub lambda_s_other: f64,
    /// DynamoDB write request units per inspection (transactions count double).
    pub write_units: f64,
    /// DynamoDB read request units per inspection.
    pub read_units: f64,
}

impl Default for Usage {
    fn default() -> Self {
        Self {
            photos: 4.0,
            photo_mb: 1.5,
            inference_s_per_photo: 1.0,
            lambda_gb: 0.5,
            lambda_s_detect: 1.0,
            lambda_s_other: 0.05,
            write_units: 40.0,
            read_units: 20.0,
        }
    }
}

impl Usage {
    /// API requests per inspection: create, close, two office reads, an upload and a verdict
    /// per photo.
    pub fn requests(&self) -> f64 {
        4.0 + 2.0 * self.photos
    }
}

/// us-east-1 list prices (USD) the product's column uses.
mod price {
    /// Serverless inference at 2 GB, per second.
    pub const SERVERLESS_PER_S_2GB: f64 = 0.000_04;
    /// Serverless inference data processed (in + out), per GB.
    pub const SERVERLESS_PER_GB: f64 = 0.016;
    /// Lambda arm64, per GB-second.
    pub const LAMBDA_PER_GB_S: f64 = 0.000_013_333_4;
    /// Lambda, per million requests.
    pub const LAMBDA_PER_M_REQUESTS: f64 = 0.20;
    /// API Gateway REST API, per million requests.
    pub const APIGW_PER_M_REQUESTS: f64 = 3.50;
    /// DynamoDB on demand, per million write request units.
    pub const DDB_PER_M_WRITES: f64 = 0.625;
    /// DynamoDB on demand, per million read request units.
    pub const DDB_PER_M_READS: f64 = 0.125;
    /// S3 Standard storage, per GB-month.
    pub const S3_PER_GB_MONTH: f64 = 0.023;
    /// S3 PUT requests, per thousand.
    pub const S3_PER_K_PUTS: f64 = 0.005;
}

/// What the product's figure of a service rests on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Basis {
    /// This product's usage per inspection at list prices: an estimate, not a bill.
    ListPrices,
    /// The product does not use this service.
    NotUsed,
}

/// One service of a month of operation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MonthlyLine {
    /// The service.
    pub service: String,
    /// The seed plan's figure for the month (scaled to the inspections), if it has one.
    pub plan: Option<f64>,
    /// This product's figure for the month.
    pub product: f64,
    /// What the product's figure rests on.
    pub basis: Basis,
    /// How the product's figure is made up.
    pub detail: String,
}

/// The estimate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CostEstimate {
    /// The inputs.
    pub inputs: CostInputs,
    /// Spot price per hour.
    pub spot_price_per_hour: f64,
    /// Training at on-demand prices.
    pub training_on_demand: f64,
    /// Training on spot.
    pub training_spot: f64,
    /// Saved by spot.
    pub training_saving: f64,
    /// A month of operation, service by service.
    pub monthly: Vec<MonthlyLine>,
    /// The plan's monthly total (its estimate).
    pub plan_monthly_total: f64,
    /// This product's monthly total (list prices × usage).
    pub product_monthly_total: f64,
}

/// The seed plan's monthly table for 1,000 inspections (USD), as the plan states it.
const PLAN_PER_1000: [(&str, f64); 5] = [
    ("SageMaker serverless endpoint", 0.03),
    ("Bedrock (Nova)", 2.00),
    ("Lambda", 0.40),
    ("DynamoDB", 1.75),
    ("S3", 0.10),
];

fn plan(service: &str, scale: f64) -> Option<f64> {
    PLAN_PER_1000
        .iter()
        .find(|(name, _)| *name == service)
        .map(|(_, usd)| usd * scale)
}

/// Computes the estimate.
pub fn estimate(inputs: CostInputs) -> CostEstimate {
    let spot = inputs.instance_price_per_hour * (1.0 - inputs.spot_discount);
    let on_demand = inputs.instance_price_per_hour * inputs.training_hours;
    let training_spot = spot * inputs.training_hours;
    let n = inputs.inspections_per_month;
    let scale = n / 1000.0;
    let u = &inputs.usage;
    let photos = n * u.photos;
    let gb = photos * u.photo_mb / 1000.0;
    let requests = n * u.requests();
    let other_requests = requests - photos;
    let gb_s = u.lambda_gb * (photos * u.lambda_s_detect + other_requests * u.lambda_s_other);
    let line = |service: &str, product: f64, basis: Basis, detail: String| MonthlyLine {
        service: service.to_owned(),
        plan: plan(service, scale),
        product,
        basis,
        detail,
    };
    let monthly = vec![
        line(
            "SageMaker serverless endpoint",
            photos * u.inference_s_per_photo * price::SERVERLESS_PER_S_2GB
                + gb * price::SERVERLESS_PER_GB,
            Basis::ListPrices,
            format!(
                "{:.0} s of inference at 2 GB, {gb:.1} GB processed",
                photos * u.inference_s_per_photo
            ),
        ),
        line(
            "Bedrock (Nova)",
            0.0,
            Basis::NotUsed,
            "nothing calls Bedrock yet".into(),
        ),
        line(
            "Lambda",
            gb_s * price::LAMBDA_PER_GB_S + requests / 1e6 * price::LAMBDA_PER_M_REQUESTS,
            Basis::ListPrices,
            format!("{requests:.0} requests, {gb_s:.0} GB-s arm64"),
        ),
        line(
            "API Gateway (REST)",
            requests / 1e6 * price::APIGW_PER_M_REQUESTS,
            Basis::ListPrices,
            format!("{requests:.0} requests"),
        ),
        line(
            "DynamoDB",
            n * (u.write_units / 1e6 * price::DDB_PER_M_WRITES
                + u.read_units / 1e6 * price::DDB_PER_M_READS),
            Basis::ListPrices,
            format!(
                "{:.0} write and {:.0} read units on demand",
                n * u.write_units,
                n * u.read_units
            ),
        ),
        line(
            "S3",
            gb * price::S3_PER_GB_MONTH + photos / 1000.0 * price::S3_PER_K_PUTS,
            Basis::ListPrices,
            format!("{gb:.1} GB stored the first month, {photos:.0} PUTs"),
        ),
    ];
    let plan_monthly_total = PLAN_PER_1000.iter().map(|(_, usd)| usd * scale).sum();
    let product_monthly_total = monthly.iter().map(|l| l.product).sum();
    CostEstimate {
        spot_price_per_hour: spot,
        training_on_demand: on_demand,
        training_spot,
        training_saving: on_demand - training_spot,
        monthly,
        plan_monthly_total,
        product_monthly_total,
        inputs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_numbers() {
        let e = estimate(CostInputs::default());
        assert!((e.spot_price_per_hour - 0.2208).abs() < 1e-9);
        assert!((e.training_spot - 0.8832).abs() < 1e-9);
        assert!((e.plan_monthly_total - 4.28).abs() < 1e-9);
    }

    /// The product's column reproduces docs/office.md's per-service figures (to the cent)
    /// from the same assumptions, and never claims the plan's Bedrock line as its own.
    #[test]
    fn product_column_matches_the_office_estimate() {
        let e = estimate(CostInputs::default());
        let product = |service: &str| {
            e.monthly
                .iter()
                .find(|l| l.service == service)
                .map(|l| (l.product * 100.0).round() / 100.0)
        };
        assert_eq!(product("SageMaker serverless endpoint"), Some(0.26));
        assert_eq!(product("Lambda"), Some(0.03));
        assert_eq!(product("API Gateway (REST)"), Some(0.04));
        assert_eq!(product("DynamoDB"), Some(0.03));
        assert_eq!(product("S3"), Some(0.16));
        assert_eq!(product("Bedrock (Nova)"), Some(0.0));
        assert!((e.product_monthly_total - 0.52).abs() < 0.01);
        let bedrock = e.monthly.iter().find(|l| l.service == "Bedrock (Nova)");
        assert_eq!(
            bedrock.map(|l| (l.plan, l.basis)),
            Some((Some(2.0), Basis::NotUsed))
        );
        let one_photo = estimate(CostInputs {
            usage: Usage {
                photos: 1.0,
                ..Usage::default()
            },
            ..CostInputs::default()
        });
        let endpoint = one_photo.monthly.first().map(|l| l.product);
        assert!(endpoint.is_some_and(|usd| (usd - 0.06).abs() < 0.005));
        assert!(one_photo.product_monthly_total < e.product_monthly_total);
    }
}
