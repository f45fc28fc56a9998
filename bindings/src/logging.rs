//! The app's log sink: the core's `tracing` events (capture, detection, every sync attempt,
//! model refresh) forwarded to the app, which writes them to logcat or `os_log`. Events carry
//! ids, counts, timings and error texts, never credentials, signatures or photo bytes.

use std::fmt::Write as _;
use std::sync::{Arc, OnceLock, RwLock};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::registry::Registry;

use crate::error::OmniError;

/// How much to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LogLevel {
    /// Failures only.
    Error,
    /// Also trouble the core works around (a retried attempt, a pause, a refused photo).
    Warn,
    /// Also what happened (photo stored, synced, model installed).
    Info,
    /// Also each request and queue counts.
    Debug,
    /// Everything.
    Trace,
}

impl From<LogLevel> for Level {
    fn from(level: LogLevel) -> Self {
        match level {
            LogLevel::Error => Level::ERROR,
            LogLevel::Warn => Level::WARN,
            LogLevel::Info => Level::INFO,
            LogLevel::Debug => Level::DEBUG,
            LogLevel::Trace => Level::TRACE,
        }
    }
}

impl From<&Level> for LogLevel {
    fn from(level: &Level) -> Self {
        match *level {
            Level::ERROR => Self::Error,
            Level::WARN => Self::Warn,
            Level::INFO => Self::Info,
            Level::DEBUG => Self::Debug,
            _ => Self::Trace,
        }
    }
}

/// One log line.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LogRecord {
    /// Its level.
    pub level: LogLevel,
    /// The module that wrote it, e.g. `omni_core::sync::events` (a logcat tag).
    pub target: String,
    /// The message followed by its fields, e.g. `photo synced photo_id=… detections=2`.
    pub message: String,
}

/// Receives log lines; implemented by the app. Called on the core's threads: return quickly.
#[uniffi::export(foreign)]
pub trait LogSink: Send + Sync {
    /// One line.
    fn log(&self, record: LogRecord);
}

struct Sink {
    sink: Arc<dyn LogSink>,
    level: Level,
}

static SINK: RwLock<Option<Sink>> = RwLock::new(None);
static INSTALLED: OnceLock<bool> = OnceLock::new();

/// Sends the core's log lines at `level` and above to `sink`, replacing an earlier sink.
/// Throws `Internal` (`log_subscriber_taken`) when something else in the process already
/// installed a global `tracing` subscriber.
#[uniffi::export]
pub fn set_log_sink(sink: Arc<dyn LogSink>, level: LogLevel) -> Result<(), OmniError> {
    *SINK.write().unwrap_or_else(|e| e.into_inner()) = Some(Sink {
        sink,
        level: level.into(),
    });
    let installed = *INSTALLED.get_or_init(|| {
        tracing::subscriber::set_global_default(Registry::default().with(SinkLayer)).is_ok()
    });
    if installed {
        Ok(())
    } else {
        Err(OmniError::Internal {
            code: "log_subscriber_taken".into(),
            reason: "another tracing subscriber is installed in this process".into(),
        })
    }
}

/// Forwards events to the current sink.
struct SinkLayer;

impl<S: Subscriber> Layer<S> for SinkLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let metadata = event.metadata();
        let sink = {
            let current = SINK.read().unwrap_or_else(|e| e.into_inner());
            match current.as_ref() {
                // More verbose than asked: dropped (TRACE > DEBUG > … > ERROR).
                Some(current) if *metadata.level() <= current.level => current.sink.clone(),
                _ => return,
            }
        };
        let mut line = Line::default();
        event.record(&mut line);
        sink.log(LogRecord {
            level: metadata.level().into(),
            target: metadata.target().to_owned(),
            message: line.message + &line.fields,
        });
    }
}

/// An event's message and its other fields as ` name=value`.
#[derive(Default)]
struct Line {
    message: String,
    fields: String,
}

impl Visit for Line {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}
