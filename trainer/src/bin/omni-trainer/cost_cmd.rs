//! `cost` (a training run and a month of operation) and `config` (the resolved settings).

use clap::Args;
use omni_trainer::TrainerError;
use omni_trainer::config::{
    AwsArgs, DatasetArgs, EndpointArgs, InstanceArgs, JobArgs, ModelsArgs, SpotArgs, TrainingArgs,
};
use omni_trainer::cost::{self, Basis};

use crate::Global;
use crate::output::{print_json, settings};

/// `cost`.
#[derive(Args, Debug)]
pub struct CostArgs {
    /// Hours of training.
    #[arg(long, default_value_t = 4.0)]
    hours: f64,
    /// On-demand price of the training instance, USD/hour.
    #[arg(long, default_value_t = 0.736)]
    instance_price: f64,
    /// Spot discount, 0..1.
    #[arg(long, default_value_t = 0.70)]
    spot_discount: f64,
    /// Inspections per month.
    #[arg(long, default_value_t = 1000.0)]
    inspections: f64,
    /// Photos per inspection (each archived, detected on upload, given a verdict).
    #[arg(long, default_value_t = 4.0)]
    photos: f64,
    #[command(flatten)]
    instance: InstanceArgs,
}

/// `config`: every setting group, so any setting can be shown resolved.
#[derive(Args, Debug)]
pub struct ConfigArgs {
    #[command(flatten)]
    aws: AwsArgs,
    #[command(flatten)]
    dataset: DatasetArgs,
    #[command(flatten)]
    job: JobArgs,
    #[command(flatten)]
    instance: InstanceArgs,
    #[command(flatten)]
    spot: SpotArgs,
    #[command(flatten)]
    training: TrainingArgs,
    #[command(flatten)]
    endpoint: EndpointArgs,
    #[command(flatten)]
    models: ModelsArgs,
}

/// Runs `cost`.
pub fn cost(args: CostArgs, global: &Global) -> Result<(), TrainerError> {
    let settings = settings(global, [args.instance.into()])?;
    let finite = [
        args.hours,
        args.instance_price,
        args.inspections,
        args.photos,
    ]
    .iter()
    .all(|v| v.is_finite() && *v >= 0.0);
    if !finite || !(0.0..1.0).contains(&args.spot_discount) {
        return Err(TrainerError::Input(
            "prices, hours, inspections and photos must be >= 0, spot discount in [0, 1)".into(),
        ));
    }
    let estimate = cost::estimate(cost::CostInputs {
        instance_type: settings.instance_type,
        instance_price_per_hour: args.instance_price,
        spot_discount: args.spot_discount,
        training_hours: args.hours,
        inspections_per_month: args.inspections,
        usage: cost::Usage {
            photos: args.photos,
            ..cost::Usage::default()
        },
    });
    if global.json {
        return print_json(&estimate);
    }
    let i = &estimate.inputs;
    println!("Training ({}, {} h):", i.instance_type, i.training_hours);
    println!(
        "  on demand  ${:>8.2}  (${:.3}/h)",
        estimate.training_on_demand, i.instance_price_per_hour
    );
    println!(
        "  spot       ${:>8.2}  (${:.3}/h, {:.0}% off)",
        estimate.training_spot,
        estimate.spot_price_per_hour,
        i.spot_discount * 100.0
    );
    println!("  saving     ${:>8.2}", estimate.training_saving);
    println!(
        "Monthly operation ({} inspections, {} photos each):",
        i.inspections_per_month, i.usage.photos
    );
    println!(
        "  {:<30} {:>10} {:>10}  what the product's figure rests on",
        "service", "plan", "product"
    );
    for line in &estimate.monthly {
        let plan = line
            .plan
            .map_or_else(|| "-".to_owned(), |usd| format!("${usd:.2}"));
        let basis = match line.basis {
            Basis::ListPrices => format!("estimate: {} at list prices", line.detail),
            Basis::NotUsed => format!("not used: {}", line.detail),
        };
        println!(
            "  {:<30} {plan:>10} {:>10}  {basis}",
            line.service,
            format!("${:.2}", line.product)
        );
    }
    println!(
        "  {:<30} {:>10} {:>10}",
        "total",
        format!("${:.2}", estimate.plan_monthly_total),
        format!("${:.2}", estimate.product_monthly_total)
    );
    println!(
        "plan: the seed plan's own estimate; product: this product's usage per inspection \
         (docs/office.md) at us-east-1 list prices, not a measured bill"
    );
    Ok(())
}

/// Runs `config`.
pub fn config(args: ConfigArgs, global: &Global) -> Result<(), TrainerError> {
    let settings = settings(
        global,
        [
            args.aws.into(),
            args.dataset.into(),
            args.job.into(),
            args.instance.into(),
            args.spot.into(),
            args.training.into(),
            args.endpoint.into(),
            args.models.into(),
        ],
    )?;
    print_json(&settings)
}
