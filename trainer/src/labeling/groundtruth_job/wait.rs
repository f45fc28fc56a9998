//! [`wait`]: `DescribeLabelingJob` followed until the job is Completed, Failed or Stopped.

use std::time::{Duration, Instant};

use aws_sdk_sagemaker::operation::describe_labeling_job::DescribeLabelingJobOutput;
use aws_sdk_sagemaker::types::LabelingJobStatus;
use serde::Serialize;

use super::find;
use crate::aws::Clients;
use crate::error::{Result, TrainerError};
use crate::wait::Backoff;

/// A job's state and counters, as `DescribeLabelingJob` gives them.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct JobProgress {
    /// The job.
    pub job_name: String,
    /// `LabelingJobStatus`.
    pub status: String,
    /// Objects labelled (by people or machine).
    pub labeled: i64,
    /// Of which by people.
    pub human_labeled: i64,
    /// Objects not labelled yet.
    pub unlabeled: i64,
    /// Objects that failed and will not be retried.
    pub failed: i64,
    /// `FailureReason`.
    pub failure_reason: Option<String>,
    /// Seconds since waiting began.
    pub elapsed_s: f64,
    /// Polls so far.
    pub polls: u32,
}

impl JobProgress {
    /// Every object the job has.
    pub fn total(&self) -> i64 {
        self.labeled + self.unlabeled + self.failed
    }

    fn of(job: &DescribeLabelingJobOutput, name: &str, started: Instant, polls: u32) -> Self {
        let counters = job.label_counters();
        let get = |f: fn(&aws_sdk_sagemaker::types::LabelCounters) -> Option<i32>| {
            counters.and_then(f).map_or(0, i64::from)
        };
        Self {
            job_name: name.to_owned(),
            status: job
                .labeling_job_status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            labeled: get(|c| c.total_labeled()),
            human_labeled: get(|c| c.human_labeled()),
            unlabeled: get(|c| c.unlabeled()),
            failed: get(|c| c.failed_non_retryable_error()),
            failure_reason: job.failure_reason().map(str::to_owned),
            elapsed_s: started.elapsed().as_secs_f64(),
            polls,
        }
    }
}

/// Follows `name` until it is Completed (returned with its description), or Failed or
/// Stopped (an error with the reason); `on_poll` sees every poll.
pub async fn wait(
    clients: &Clients,
    name: &str,
    backoff: &Backoff,
    mut on_poll: impl FnMut(&JobProgress),
) -> Result<(JobProgress, DescribeLabelingJobOutput)> {
    let started = Instant::now();
    let mut interval = backoff.initial;
    let mut last: Option<JobProgress> = None;
    let mut polls = 0;
    loop {
        polls += 1;
        let job = find(clients, name).await?.ok_or_else(|| {
            TrainerError::Input(format!(
                "no labeling job {name} in region {}",
                clients.region
            ))
        })?;
        let progress = JobProgress::of(&job, name, started, polls);
        on_poll(&progress);
        let reason = || {
            progress
                .failure_reason
                .clone()
                .unwrap_or_else(|| "no reason given".into())
        };
        match job.labeling_job_status() {
            Some(LabelingJobStatus::Completed) => return Ok((progress, job)),
            Some(LabelingJobStatus::Failed) => {
                return Err(TrainerError::Input(format!(
                    "labeling job {name} Failed: {}; nothing imported",
                    reason()
                )));
            }
            Some(LabelingJobStatus::Stopped) => {
                return Err(TrainerError::Input(format!(
                    "labeling job {name} Stopped ({} labelled, {} unlabelled): {}; nothing imported (its partial output manifest can be imported with `dataset import-groundtruth`)",
                    progress.labeled,
                    progress.unlabeled,
                    reason()
                )));
            }
            _ => {}
        }
        if started.elapsed() >= backoff.timeout {
            return Err(TrainerError::Timeout {
                what: format!("labeling job {name}"),
                status: progress.status,
                seconds: started.elapsed().as_secs(),
            });
        }
        let changed = last.as_ref().is_none_or(|l| {
            (&l.status, l.labeled, l.unlabeled, l.failed)
                != (
                    &progress.status,
                    progress.labeled,
                    progress.unlabeled,
                    progress.failed,
                )
        });
        interval = if changed {
            backoff.initial
        } else {
            backoff.next(interval)
        };
        last = Some(progress);
        let left = backoff.timeout.saturating_sub(started.elapsed());
        tokio::time::sleep(interval.min(left).max(Duration::from_millis(1))).await;
    }
}
