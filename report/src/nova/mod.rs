//! Amazon Nova through Bedrock's Converse API (the official `aws-sdk-bedrockruntime`): one
//! request with the detections as JSON and the damaged photos (downscaled JPEG), one forced tool
//! whose input is the narrative and a severity per line. The answer is checked
//! ([`answer::check`]); anything wrong with it, or no answer at all, falls back to the rules,
//! marked with the reason. Token usage is recorded either way.

pub mod answer;
pub mod request;

/// Static AWS credentials (for [`NovaWriter::with_credentials`]).
pub use aws_sdk_bedrockruntime::config::Credentials;

use std::time::Duration;

use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::config::http::HttpResponse;
use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_bedrockruntime::config::timeout::TimeoutConfig;
use aws_sdk_bedrockruntime::config::{BehaviorVersion, Region};
use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::operation::converse::{ConverseError, ConverseOutput};
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, ConverseOutput as Output, ImageBlock, ImageFormat, ImageSource,
    InferenceConfiguration, Message, SpecificToolChoice, StopReason, SystemContentBlock, Tool,
    ToolChoice, ToolConfiguration, ToolInputSchema, ToolSpecification,
};
use aws_smithy_types::Blob;

use crate::ReportError;
use crate::cedex::CedexTable;
use crate::eir::{Eir, Method, TokenUsage, WrittenBy};
use crate::input::ReportInput;
use crate::kinds::KindTable;
use crate::rules::{self, Prepared};

/// The default model: Nova Lite through its US cross-region inference profile.
pub const DEFAULT_MODEL_ID: &str = "us.amazon.nova-lite-v1:0";

/// How Nova is called.
#[derive(Debug, Clone, PartialEq)]
pub struct NovaConfig {
    /// Bedrock model or inference-profile id.
    pub model_id: String,
    /// AWS region of the Bedrock Runtime endpoint.
    pub region: String,
    /// Another endpoint (tests: the local stand-in).
    pub endpoint_url: Option<String>,
    /// The answer's token cap.
    pub max_tokens: i32,
    /// One call's time limit.
    pub timeout: Duration,
    /// Calls at most (throttling and transient errors are retried).
    pub max_attempts: u32,
    /// First retry's wait; doubled each time, plus jitter.
    pub backoff_base: Duration,
    /// Damaged photos sent at most.
    pub max_photos: usize,
    /// Pixels per photo at most (1 MP).
    pub max_image_pixels: u32,
    /// JPEG quality of the photos sent.
    pub jpeg_quality: u8,
}

impl Default for NovaConfig {
    fn default() -> Self {
        NovaConfig {
            model_id: DEFAULT_MODEL_ID.to_owned(),
            region: "us-east-1".to_owned(),
            endpoint_url: None,
            max_tokens: 1024,
            timeout: Duration::from_secs(60),
            max_attempts: 3,
            backoff_base: Duration::from_millis(500),
            max_photos: 8,
            max_image_pixels: 1_000_000,
            jpeg_quality: 80,
        }
    }
}

/// Writes EIRs with Nova, falling back to the rules.
#[derive(Debug, Clone)]
pub struct NovaWriter {
    client: Client,
    config: NovaConfig,
}

/// One call's failure, before it becomes a fallback reason.
enum CallError {
    Retryable(String),
    Permanent(String),
}

fn clean(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}

impl NovaWriter {
    /// A writer using the credentials, region and settings of an `SdkConfig` (e.g. from
    /// `aws_config::load_defaults`), with this crate's retry and timeout policy.
    pub fn new(config: NovaConfig, sdk: &aws_types::SdkConfig) -> NovaWriter {
        let mut b = aws_sdk_bedrockruntime::config::Builder::from(sdk);
        if sdk.region().is_none() {
            b = b.region(Region::new(config.region.clone()));
        }
        NovaWriter::finish(b, config)
    }

    /// A writer with static credentials (tests, tools).
    pub fn with_credentials(config: NovaConfig, credentials: Credentials) -> NovaWriter {
        let b = aws_sdk_bedrockruntime::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .credentials_provider(credentials);
        NovaWriter::finish(b, config)
    }

    fn finish(mut b: aws_sdk_bedrockruntime::config::Builder, config: NovaConfig) -> NovaWriter {
        b = b.retry_config(RetryConfig::disabled()).timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(config.timeout)
                .build(),
        );
        if let Some(url) = &config.endpoint_url {
            b = b.endpoint_url(url.clone());
        }
        NovaWriter {
            client: Client::from_conf(b.build()),
            config,
        }
    }

    /// The settings.
    pub fn config(&self) -> &NovaConfig {
        &self.config
    }

    /// Writes the EIR: Nova's severities and narrative when its answer passes the checks, the
    /// rules' otherwise (with the reason). Errors only for input the rules refuse too.
    pub async fn write(
        &self,
        input: &ReportInput,
        kinds: &KindTable,
        cedex: &CedexTable,
        generated_at_ms: i64,
    ) -> Result<Eir, ReportError> {
        let prepared = Prepared::new(input, kinds, cedex)?;
        if prepared.damages.is_empty() {
            // Nothing for a model to judge: the rules' report of a sound box.
            return rules::build(input, kinds, cedex, generated_at_ms);
        }
        let mut written = WrittenBy {
            method: Method::Rules,
            model_id: Some(self.config.model_id.clone()),
            fallback_reason: None,
            usage: None,
            attempts: 0,
        };
        let outcome = self.ask(&prepared, &mut written).await;
        match outcome {
            Ok(accepted) => {
                written.method = Method::Nova;
                let mut eir = prepared.assemble(
                    &accepted.severities,
                    Some(accepted.narrative),
                    written,
                    generated_at_ms,
                );
                for (i, (line, code)) in
                    eir.lines.iter_mut().zip(&accepted.repair_codes).enumerate()
                {
                    if &line.repair_code != code {
                        *line =
                            prepared.line_with_repair(i, &prepared.damages[i], line.severity, code);
                    }
                }
                Ok(eir)
            }
            Err(reason) => {
                written.fallback_reason = Some(reason);
                let severities: Vec<_> = prepared.damages.iter().map(rules::severity).collect();
                Ok(prepared.assemble(&severities, None, written, generated_at_ms))
            }
        }
    }

    /// Calls Converse (with retries) and checks the answer; `Err` is the fallback reason.
    async fn ask(
        &self,
        prepared: &Prepared<'_>,
        written: &mut WrittenBy,
    ) -> Result<answer::Accepted, String> {
        let c = &self.config;
        let images = request::images(prepared, c.max_photos, c.max_image_pixels, c.jpeg_quality);
        let message = self.message(prepared, &images)?;
        let tool_config = tool_config(prepared)?;
        let mut last = String::new();
        for attempt in 1..=c.max_attempts.max(1) {
            written.attempts = attempt;
            let sent = self
                .client
                .converse()
                .model_id(&c.model_id)
                .system(SystemContentBlock::Text(request::system_prompt()))
                .messages(message.clone())
                .inference_config(
                    InferenceConfiguration::builder()
                        .max_tokens(c.max_tokens)
                        .temperature(0.0)
                        .build(),
                )
                .tool_config(tool_config.clone())
                .send()
                .await;
            match sent {
                Ok(out) => {
                    record_usage(&out, written);
                    return self.read(out, prepared);
                }
                Err(e) => match classify(e) {
                    CallError::Permanent(reason) => return Err(reason),
                    CallError::Retryable(reason) => last = reason,
                },
            }
            if attempt < c.max_attempts {
                tokio::time::sleep(backoff(c.backoff_base, attempt)).await;
            }
        }
        Err(format!(
            "{last} (gave up after {} attempts)",
            written.attempts
        ))
    }

    fn message(
        &self,
        prepared: &Prepared<'_>,
        images: &[request::RequestImage],
    ) -> Result<Message, String> {
        let mut content = vec![ContentBlock::Text(request::detections_json(
            prepared, images,
        ))];
        for (n, im) in images.iter().enumerate() {
            content.push(ContentBlock::Text(format!(
                "Image {}: photo {}",
                n + 1,
                im.photo_id
            )));
            let block = ImageBlock::builder()
                .format(ImageFormat::Jpeg)
                .source(ImageSource::Bytes(Blob::new(im.jpeg.clone())))
                .build()
                .map_err(|e| format!("request not built: {e}"))?;
            content.push(ContentBlock::Image(block));
        }
        Message::builder()
            .role(ConversationRole::User)
            .set_content(Some(content))
            .build()
            .map_err(|e| format!("request not built: {e}"))
    }

    fn read(
        &self,
        out: ConverseOutput,
        prepared: &Prepared<'_>,
    ) -> Result<answer::Accepted, String> {
        if out.stop_reason() == &StopReason::MaxTokens {
            return Err(format!(
                "the answer stopped at max_tokens ({})",
                self.config.max_tokens
            ));
        }
        let tool_input = match out.output() {
            Some(Output::Message(m)) => m.content().iter().find_map(|b| match b {
                ContentBlock::ToolUse(t) if t.name() == request::TOOL_NAME => Some(t.input()),
                _ => None,
            }),
            _ => None,
        };
        let Some(tool_input) = tool_input else {
            return Err(format!(
                "the answer has no call of the tool {} (stop reason {})",
                request::TOOL_NAME,
                out.stop_reason().as_str()
            ));
        };
        answer::check(request::from_document(tool_input), prepared).map_err(|r| r.to_string())
    }
}

fn tool_config(prepared: &Prepared<'_>) -> Result<ToolConfiguration, String> {
    let built =
        |e: aws_smithy_types::error::operation::BuildError| format!("request not built: {e}");
    let spec = ToolSpecification::builder()
        .name(request::TOOL_NAME)
        .description("Records the EIR's narrative and one severity per damage line.")
        .input_schema(ToolInputSchema::Json(request::to_document(
            &request::tool_schema(prepared),
        )))
        .build()
        .map_err(built)?;
    let choice = SpecificToolChoice::builder()
        .name(request::TOOL_NAME)
        .build()
        .map_err(built)?;
    ToolConfiguration::builder()
        .tools(Tool::ToolSpec(spec))
        .tool_choice(ToolChoice::Tool(choice))
        .build()
        .map_err(built)
}

fn record_usage(out: &ConverseOutput, written: &mut WrittenBy) {
    if let Some(u) = out.usage() {
        let as_u32 = |v: i32| u32::try_from(v).unwrap_or(0);
        let this = TokenUsage {
            input_tokens: as_u32(u.input_tokens()),
            output_tokens: as_u32(u.output_tokens()),
            total_tokens: as_u32(u.total_tokens()),
        };
        written.usage = Some(written.usage.unwrap_or_default().plus(this));
    }
}

fn classify(e: SdkError<ConverseError, HttpResponse>) -> CallError {
    match e {
        SdkError::ServiceError(se) => {
            let err = se.err();
            let code = err.code().unwrap_or("Unknown").to_owned();
            let reason = format!(
                "Bedrock answered {code}: {}",
                clean(err.message().unwrap_or(""))
            );
            match err {
                ConverseError::ThrottlingException(_)
                | ConverseError::ServiceUnavailableException(_)
                | ConverseError::InternalServerException(_)
                | ConverseError::ModelNotReadyException(_)
                | ConverseError::ModelTimeoutException(_) => CallError::Retryable(reason),
                _ => CallError::Permanent(reason),
            }
        }
        SdkError::TimeoutError(_) => CallError::Retryable("the Bedrock call timed out".to_owned()),
        SdkError::DispatchFailure(d) if d.is_timeout() => {
            CallError::Retryable("the Bedrock call timed out".to_owned())
        }
        SdkError::DispatchFailure(d) if d.is_io() => {
            CallError::Retryable("Bedrock could not be reached".to_owned())
        }
        SdkError::ResponseError(_) => {
            CallError::Retryable("Bedrock's answer could not be read".to_owned())
        }
        other => CallError::Permanent(format!(
            "the Bedrock call failed: {}",
            clean(&other.to_string())
        )),
    }
}

/// `base * 2^(attempt-1)` plus up to half of `base` of jitter.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(10));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let jitter = base.mul_f64(f64::from(nanos % 1000) / 2000.0);
    exp + jitter
}
