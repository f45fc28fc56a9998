//! `omni-office`: serve the yard office API, and read its inspections (list, show, export)
//! from the embedded store or, with `--aws-table`/`--aws-bucket`, from DynamoDB and S3.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use omni_cloud::runtime_client::RuntimeConfig;
use omni_cloud::{EnvCredentialsProvider, ServiceUrl};
use omni_office::api::Auth;
use omni_office::detect::Detector;
use omni_office::store::aws::AwsStore;
use omni_office::store::embedded::{self, EmbeddedStore};
use omni_office::store::{ListQuery, Store};
use omni_office::web::accounts::Accounts;
use omni_office::web::auth::AccountBackend;
use omni_office::web::cognito::{CognitoAccounts, CognitoArgs};
use omni_office::web::users::{self, UsersCommand};
use omni_office::web::{self, WebConfig};
use omni_office::wire::{InspectionState, InspectionSummary};
use omni_office::{AppConfig, api};
use omni_protocol::ContainerNumber;

/// The yard office: inspections, photos and verdicts from the phones.
#[derive(Debug, Parser)]
#[command(name = "omni-office", version)]
struct Cli {
    #[command(flatten)]
    store: StoreArgs,
    #[command(subcommand)]
    command: Command,
}

/// Which store: the embedded one in `--data-dir`, or AWS when `--aws-table` is given.
#[derive(Debug, Args)]
struct StoreArgs {
    /// Directory of the embedded store (SQLite + photos).
    #[arg(
        long,
        global = true,
        env = "OMNI_OFFICE_DATA",
        default_value = "office-data"
    )]
    data_dir: PathBuf,
    /// DynamoDB table: use the AWS store instead of the embedded one.
    #[arg(
        long,
        global = true,
        env = "OMNI_OFFICE_TABLE",
        requires = "aws_bucket"
    )]
    aws_table: Option<String>,
    /// S3 bucket of the photos (with --aws-table).
    #[arg(
        long,
        global = true,
        env = "OMNI_OFFICE_BUCKET",
        requires = "aws_table"
    )]
    aws_bucket: Option<String>,
    /// AWS region.
    #[arg(long, global = true, env = "AWS_REGION", default_value = "us-east-1")]
    region: String,
    /// Endpoint URL of DynamoDB, S3 and Cognito (an emulator such as moto).
    #[arg(long, global = true)]
    aws_endpoint_url: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (SigV4, service execute-api, with the credentials in AWS_ACCESS_KEY_ID,
    /// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN).
    Serve(ServeArgs),
    /// Read the stored inspections.
    Inspections {
        #[command(subcommand)]
        command: InspectionsCommand,
    },
    /// The EIR (equipment interchange receipt) of a closed inspection: the stored one, or
    /// written now (deterministic rules, or Amazon Nova with --nova) and stored once.
    Report(omni_office::report::cli::ReportArgs),
    /// The people who sign in to the web view (kept in --data-dir, also with the AWS store).
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// SageMaker Runtime base URL for detection on upload (e.g. a local omni-endpoint);
    /// without it and without --detect-region-endpoint, detection is off.
    #[arg(long)]
    endpoint_url: Option<String>,
    /// Use the regional SageMaker Runtime of --region for detection on upload.
    #[arg(long, conflicts_with = "endpoint_url")]
    detect_region_endpoint: bool,
    /// SageMaker endpoint name.
    #[arg(long, default_value = "omni-inspector-yolo")]
    endpoint_name: String,
    /// Detect every upload that does not say otherwise (x-omni-detect).
    #[arg(long)]
    detect_by_default: bool,
    /// How long an upload waits for its verdict before answering "pending".
    #[arg(long, default_value = "8s", value_parser = humantime::parse_duration)]
    detect_budget: Duration,
    /// How long photo URLs work.
    #[arg(long, default_value = "15m", value_parser = humantime::parse_duration)]
    url_ttl: Duration,
    /// Mark the web view's cookies Secure (people reach the office over https, e.g. through
    /// a TLS proxy).
    #[arg(long)]
    secure_cookies: bool,
    /// Sign people in with a Cognito user pool (its CSRF key in OMNI_OFFICE_CSRF_KEY).
    #[command(flatten)]
    people: CognitoArgs,
    /// How reports are written (GET /v1/inspections/{id}/report).
    #[command(flatten)]
    nova: omni_office::report::cli::NovaArgs,
}

#[derive(Debug, Args)]
struct Filters {
    /// Only this container (ISO 6346).
    #[arg(long)]
    container: Option<String>,
    /// Only inspections started at or after this time (YYYY-MM-DD or RFC 3339).
    #[arg(long)]
    since: Option<String>,
    /// Only inspections started before this time (YYYY-MM-DD or RFC 3339).
    #[arg(long)]
    until: Option<String>,
    /// Only open or closed inspections.
    #[arg(long, value_enum)]
    state: Option<StateArg>,
    /// Only inspections with (true) or without (false) damage found.
    #[arg(long)]
    has_damage: Option<bool>,
    /// Only inspections marked reviewed (true) or not yet (false).
    #[arg(long)]
    reviewed: Option<bool>,
    /// Only this inspector's inspections (exact id).
    #[arg(long)]
    inspector: Option<String>,
    /// At most this many, newest first.
    #[arg(long, default_value_t = 1000)]
    limit: usize,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum StateArg {
    Open,
    Closed,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Csv,
    Json,
}

#[derive(Debug, Subcommand)]
enum InspectionsCommand {
    /// One line per inspection, newest first.
    List {
        #[command(flatten)]
        filters: Filters,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// One inspection with its photos and verdicts.
    Show {
        /// Inspection id.
        id: String,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Export the matching inspections as CSV or JSON.
    Export {
        #[command(flatten)]
        filters: Filters,
        /// Output format.
        #[arg(long, value_enum, default_value = "csv")]
        format: Format,
        /// JSON (same as --format json).
        #[arg(long)]
        json: bool,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(&message),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("omni-office: error: {message}");
    ExitCode::FAILURE
}

async fn open_store(args: &StoreArgs) -> Result<Arc<dyn Store>, String> {
    match (&args.aws_table, &args.aws_bucket) {
        (Some(table), Some(bucket)) => Ok(Arc::new(
            AwsStore::from_env(
                &args.region,
                args.aws_endpoint_url.as_deref(),
                table,
                bucket,
            )
            .await,
        )),
        _ => Ok(Arc::new(
            EmbeddedStore::open(&args.data_dir).map_err(|e| e.to_string())?,
        )),
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    if let Command::Users { command } = &cli.command {
        return users::run(&cli.store.data_dir, command);
    }
    if matches!(
        cli.command,
        Command::Inspections { .. } | Command::Report(_)
    ) && cli.store.aws_table.is_none()
        && !cli.store.data_dir.join("office.sqlite3").exists()
    {
        return Err(format!(
            "no office store in {} (give --data-dir, or --aws-table and --aws-bucket)",
            cli.store.data_dir.display()
        ));
    }
    let store = open_store(&cli.store).await?;
    match cli.command {
        Command::Serve(args) => serve(&cli.store, store, args).await,
        Command::Inspections { command } => inspections(store, command).await,
        Command::Report(args) => omni_office::report::cli::run(store, args).await,
        Command::Users { .. } => Ok(()),
    }
}

async fn serve(
    store_args: &StoreArgs,
    store: Arc<dyn Store>,
    args: ServeArgs,
) -> Result<(), String> {
    let credentials = EnvCredentialsProvider::read()
        .map_err(|e| format!("serve needs the credentials requests are signed with: {e}"))?;
    let endpoint = match (&args.endpoint_url, args.detect_region_endpoint) {
        (Some(url), _) => Some(ServiceUrl::parse(url).map_err(|e| e.to_string())?),
        (None, true) => {
            Some(ServiceUrl::sagemaker_runtime(&store_args.region).map_err(|e| e.to_string())?)
        }
        (None, false) => None,
    };
    let detector = endpoint
        .map(|url| {
            Detector::new(
                RuntimeConfig::new(url, &args.endpoint_name, &store_args.region),
                credentials.clone(),
                args.detect_budget,
                args.detect_by_default,
            )
        })
        .transpose()?;
    let people = args
        .people
        .config(&store_args.region, store_args.aws_endpoint_url.as_deref())?;
    let accounts: Arc<dyn AccountBackend> = match people {
        Some(pool) => Arc::new(CognitoAccounts::new(pool).await?),
        None => Arc::new(Accounts::open(&store_args.data_dir).map_err(|e| e.to_string())?),
    };
    // One settings value: the API's report and the web view's are written the same way.
    let reports = Arc::new(args.nova.settings().await);
    let pages = WebConfig {
        store: store.clone(),
        accounts,
        secure_cookies: args.secure_cookies,
        reports: reports.clone(),
    };
    let config = AppConfig {
        store,
        auth: Some(Auth {
            credentials,
            region: store_args.region.clone(),
        }),
        detector,
        url_key: embedded::url_key(&store_args.data_dir).map_err(|e| e.to_string())?,
        url_ttl: args.url_ttl,
        reports,
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("omni-office listening on http://{addr}");
    let app = web::router(pages, api::router(config));
    web::serve(listener, app, async {
        // Ctrl-C ends the server; a failure to install the handler ends it at once.
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(|e| format!("server failed: {e}"))
}

fn query(filters: &Filters) -> Result<ListQuery, String> {
    Ok(ListQuery {
        container: filters
            .container
            .as_deref()
            .map(|c| {
                ContainerNumber::parse(c)
                    .map(|n| n.as_str().to_owned())
                    .map_err(|e| format!("--container {c:?}: {e}"))
            })
            .transpose()?,
        since_ms: filters
            .since
            .as_deref()
            .map(omni_office::validate::time_ms)
            .transpose()?,
        until_ms: filters
            .until
            .as_deref()
            .map(omni_office::validate::time_ms)
            .transpose()?,
        state: filters.state.map(|s| match s {
            StateArg::Open => InspectionState::Open,
            StateArg::Closed => InspectionState::Closed,
        }),
        has_damage: filters.has_damage,
        reviewed: filters.reviewed,
        inspector: filters
            .inspector
            .clone()
            .map(|who| {
                omni_office::validate::inspector_id(&who)
                    .map(|()| who)
                    .map_err(|e| format!("--inspector: {}", e.message))
            })
            .transpose()?,
        limit: filters.limit.max(1),
    })
}

fn time_text(ms: i64) -> String {
    u64::try_from(ms)
        .map(|ms| {
            humantime::format_rfc3339_millis(std::time::UNIX_EPOCH + Duration::from_millis(ms))
                .to_string()
        })
        .unwrap_or_else(|_| ms.to_string())
}

/// A CSV field, quoted when it needs to be (RFC 4180).
fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

const CSV_HEADER: &str = "id,container_number,inspector_id,created_at,updated_at,state,revision,latitude,longitude,photo_count,has_damage";

fn csv_row(s: &InspectionSummary) -> String {
    let i = &s.inspection;
    let (lat, lon) = i
        .location
        .map(|l| (l.latitude.to_string(), l.longitude.to_string()))
        .unwrap_or_default();
    [
        csv_field(&i.id),
        csv_field(&i.container_number),
        csv_field(&i.inspector_id),
        time_text(i.created_at_ms),
        time_text(i.updated_at_ms),
        i.state.as_str().to_owned(),
        i.revision.to_string(),
        lat,
        lon,
        s.photo_count.to_string(),
        s.has_damage.to_string(),
    ]
    .join(",")
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, String> {
    serde_json::to_string_pretty(value).map_err(|e| e.to_string())
}

async fn inspections(store: Arc<dyn Store>, command: InspectionsCommand) -> Result<(), String> {
    match command {
        InspectionsCommand::List { filters, json } => {
            let list = store
                .list(&query(&filters)?)
                .await
                .map_err(|e| e.to_string())?;
            if json {
                println!("{}", to_json(&list)?);
            } else {
                for s in &list {
                    let i = &s.inspection;
                    println!(
                        "{}  {}  {}  {:<6}  {} photos{}{}",
                        i.id,
                        i.container_number,
                        time_text(i.created_at_ms),
                        i.state.as_str(),
                        s.photo_count,
                        if s.has_damage { "  DAMAGE" } else { "" },
                        if s.reviewed_at_ms.is_some() {
                            "  REVIEWED"
                        } else {
                            ""
                        }
                    );
                }
            }
            Ok(())
        }
        InspectionsCommand::Show { id, json } => {
            let summary = store
                .inspection(&id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no inspection {id}"))?;
            let photos = store.photos(&id).await.map_err(|e| e.to_string())?;
            let verdicts = store.verdicts(&id).await.map_err(|e| e.to_string())?;
            if json {
                let value = serde_json::json!({
                    "inspection": summary.inspection,
                    "has_damage": summary.has_damage,
                    "reviewed_at_ms": summary.reviewed_at_ms,
                    "reviewed_by": summary.reviewed_by,
                    "photos": photos.iter().map(|p| serde_json::json!({
                        "photo": p.photo,
                        "detect_status": p.detect_status,
                        "detect_error": p.detect_error,
                    })).collect::<Vec<_>>(),
                    "verdicts": verdicts,
                });
                println!("{}", to_json(&value)?);
                return Ok(());
            }
            let i = &summary.inspection;
            println!(
                "inspection {}  container {}  {}",
                i.id,
                i.container_number,
                i.state.as_str()
            );
            println!(
                "inspector {}  started {}  revision {}",
                i.inspector_id,
                time_text(i.created_at_ms),
                i.revision
            );
            if let Some(l) = i.location {
                println!("location {}, {}", l.latitude, l.longitude);
            }
            println!("damage: {}", if summary.has_damage { "yes" } else { "no" });
            if let (Some(at), Some(by)) = (summary.reviewed_at_ms, &summary.reviewed_by) {
                println!("reviewed by {by} at {}", time_text(at));
            }
            for p in &photos {
                println!(
                    "photo {}  {} bytes  sha256 {}  detect {}",
                    p.photo.id,
                    p.photo.size_bytes,
                    p.photo.sha256,
                    p.detect_status.as_str()
                );
                for v in verdicts.iter().filter(|v| v.photo_id == p.photo.id) {
                    println!(
                        "  {} verdict by {} {}: {}",
                        v.source.as_str(),
                        v.model_name,
                        v.model_version,
                        if v.has_damage { "damage" } else { "no damage" }
                    );
                }
            }
            Ok(())
        }
        InspectionsCommand::Export {
            filters,
            format,
            json,
            output,
        } => {
            let list = store
                .list(&query(&filters)?)
                .await
                .map_err(|e| e.to_string())?;
            let text = match (format, json) {
                (Format::Json, _) | (_, true) => to_json(&list)? + "\n",
                (Format::Csv, false) => {
                    let mut text = format!("{CSV_HEADER}\n");
                    for s in &list {
                        text.push_str(&csv_row(s));
                        text.push('\n');
                    }
                    text
                }
            };
            match output {
                Some(path) => omni_durable::write_atomic(&path, text.as_bytes())
                    .map_err(|e| format!("cannot write {}: {e}", path.display())),
                None => std::io::stdout()
                    .write_all(text.as_bytes())
                    .map_err(|e| format!("cannot write the export: {e}")),
            }
        }
    }
}

#[cfg(test)]
mod cli_tests {
    use clap::CommandFactory;

    /// clap's own consistency checks over every subcommand (ids, conflicts, defaults).
    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
