//! `cost`: what a training run and a month of operation cost, from the seed plan's prices
//! (every price is an input: AWS prices change and differ per region).

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
    /// Monthly operation items for 1 000 inspections, USD (the plan's table).
    pub monthly_per_1000: Vec<(String, f64)>,
}

impl Default for CostInputs {
    fn default() -> Self {
        Self {
            instance_type: "ml.g4dn.xlarge".into(),
            instance_price_per_hour: 0.736,
            spot_discount: 0.70,
            training_hours: 4.0,
            inspections_per_month: 1000.0,
            monthly_per_1000: vec![
                ("SageMaker serverless endpoint".into(), 0.03),
                ("Bedrock (Nova)".into(), 2.00),
                ("Lambda".into(), 0.40),
                ("DynamoDB".into(), 1.75),
                ("S3".into(), 0.10),
            ],
        }
    }
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
    /// Monthly items scaled to the inspections.
    pub monthly: Vec<(String, f64)>,
    /// Monthly total.
    pub monthly_total: f64,
}

/// Computes the estimate.
pub fn estimate(inputs: CostInputs) -> CostEstimate {
    let spot = inputs.instance_price_per_hour * (1.0 - inputs.spot_discount);
    let on_demand = inputs.instance_price_per_hour * inputs.training_hours;
    let training_spot = spot * inputs.training_hours;
    let scale = inputs.inspections_per_month / 1000.0;
    let monthly: Vec<(String, f64)> = inputs
        .monthly_per_1000
        .iter()
        .map(|(name, usd)| (name.clone(), usd * scale))
        .collect();
    let monthly_total = monthly.iter().map(|(_, v)| v).sum();
    CostEstimate {
        spot_price_per_hour: spot,
        training_on_demand: on_demand,
        training_spot,
        training_saving: on_demand - training_spot,
        monthly,
        monthly_total,
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
        assert!((e.monthly_total - 4.28).abs() < 1e-9);
    }
}
