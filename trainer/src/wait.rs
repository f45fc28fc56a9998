//! `wait`: polls a training job with backoff, reports status and secondary-status
//! transitions as they happen, and ends with the metrics, billable vs training seconds and
//! the spot saving — or the failure reason.

use std::time::{Duration, Instant};

use aws_sdk_sagemaker::types::TrainingJobStatus;
use serde::Serialize;
use serde_json::Value;

use crate::artifacts;
use crate::aws::{Clients, describe_training_job};
use crate::error::{Result, TrainerError};
use crate::s3uri::S3Uri;

/// Polling schedule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    /// First interval, and the interval after a change.
    pub initial: Duration,
    /// Longest interval.
    pub max: Duration,
    /// Growth per poll without change.
    pub factor: f64,
    /// Give up after this long.
    pub timeout: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(10),
            max: Duration::from_secs(60),
            factor: 1.5,
            timeout: Duration::from_secs(18_000 + 3_600),
        }
    }
}

impl Backoff {
    /// The interval after `current` when nothing changed.
    pub fn next(&self, current: Duration) -> Duration {
        current.mul_f64(self.factor).min(self.max)
    }
}

/// A status or secondary-status transition seen while waiting.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Transition {
    /// Seconds since waiting began.
    pub at_s: f64,
    /// Primary status.
    pub status: String,
    /// Secondary status.
    pub secondary: String,
    /// SageMaker's message for it.
    pub message: String,
}

/// How the job ended.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WaitSummary {
    /// The job.
    pub job: String,
    /// Final status.
    pub status: String,
    /// Transitions seen.
    pub transitions: Vec<Transition>,
    /// Polls made.
    pub polls: u32,
    /// Seconds of training.
    pub training_seconds: Option<i32>,
    /// Seconds billed (spot: less than training).
    pub billable_seconds: Option<i32>,
    /// 1 − billable / training, percent.
    pub spot_saving_percent: Option<f64>,
    /// Where `model.tar.gz` is.
    pub model_artifacts: Option<String>,
    /// `metrics.json` of the artifacts.
    pub metrics: Option<Value>,
}

/// Waits for `job` to end. `on_transition` is called for each new transition.
pub async fn wait(
    clients: &Clients,
    job: &str,
    backoff: &Backoff,
    mut on_transition: impl FnMut(&Transition),
) -> Result<WaitSummary> {
    let started = Instant::now();
    let mut interval = backoff.initial;
    let mut transitions: Vec<Transition> = Vec::new();
    let mut seen_secondary = 0usize;
    let mut polls = 0u32;
    loop {
        polls += 1;
        let d = describe_training_job(clients, job).await?;
        let status = d
            .training_job_status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default();
        let secondary = d
            .secondary_status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default();
        let mut changed = false;
        let history = d.secondary_status_transitions();
        for t in history.iter().skip(seen_secondary) {
            let transition = Transition {
                at_s: started.elapsed().as_secs_f64(),
                status: status.clone(),
                secondary: t
                    .status()
                    .map(|s| s.as_str())
                    .unwrap_or_default()
                    .to_owned(),
                message: t.status_message().unwrap_or_default().to_owned(),
            };
            on_transition(&transition);
            transitions.push(transition);
            changed = true;
        }
        seen_secondary = seen_secondary.max(history.len());
        let last = transitions.last();
        if last.is_none_or(|t| t.status != status || t.secondary != secondary) {
            let transition = Transition {
                at_s: started.elapsed().as_secs_f64(),
                status: status.clone(),
                secondary: secondary.clone(),
                message: String::new(),
            };
            on_transition(&transition);
            transitions.push(transition);
            changed = true;
        }
        match d.training_job_status() {
            Some(TrainingJobStatus::Completed) => {
                let training = d.training_time_in_seconds();
                let billable = d.billable_time_in_seconds();
                let saving = match (training, billable) {
                    (Some(t), Some(b)) if t > 0 => {
                        Some((1.0 - f64::from(b) / f64::from(t)) * 100.0)
                    }
                    _ => None,
                };
                let uri = d
                    .model_artifacts()
                    .and_then(|a| a.s3_model_artifacts())
                    .map(str::to_owned);
                let metrics = match &uri {
                    Some(uri) => artifacts::fetch_uri(clients, S3Uri::parse(uri)?)
                        .await?
                        .metrics()
                        .ok(),
                    None => None,
                };
                return Ok(WaitSummary {
                    job: job.to_owned(),
                    status,
                    transitions,
                    polls,
                    training_seconds: training,
                    billable_seconds: billable,
                    spot_saving_percent: saving,
                    model_artifacts: uri,
                    metrics,
                });
            }
            Some(TrainingJobStatus::Failed | TrainingJobStatus::Stopped) => {
                return Err(TrainerError::JobFailed {
                    job: job.to_owned(),
                    status,
                    reason: d
                        .failure_reason()
                        .unwrap_or("no FailureReason given")
                        .to_owned(),
                });
            }
            _ => {}
        }
        let elapsed = started.elapsed();
        if elapsed >= backoff.timeout {
            return Err(TrainerError::Timeout {
                what: format!("training job {job}"),
                status: format!("{status}/{secondary}"),
                seconds: elapsed.as_secs(),
            });
        }
        interval = if changed {
            backoff.initial
        } else {
            backoff.next(interval)
        };
        tokio::time::sleep(interval.min(backoff.timeout - elapsed)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_the_cap() {
        let b = Backoff::default();
        let mut i = b.initial;
        let mut seen = vec![i];
        for _ in 0..8 {
            i = b.next(i);
            seen.push(i);
        }
        assert_eq!(seen[1], Duration::from_secs(15));
        assert_eq!(*seen.last().expect("some"), Duration::from_secs(60));
        assert!(seen.windows(2).all(|w| w[0] <= w[1]));
    }
}
