//! The endpoint's counters, as `GET /_omni/stats` returns them.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use serde::Serialize;

/// Seconds of per-second invocation counts kept (a day); later seconds are not recorded.
pub const RATE_SECONDS: usize = 24 * 60 * 60;

/// Counters, as `GET /_omni/stats` returns them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    /// Every HTTP request received.
    pub requests: u64,
    /// Invocations (either route) received.
    pub invocations: u64,
    /// Invocations answered with a detection result.
    pub answered: u64,
    /// Distinct photo ids answered with a result.
    pub answered_photos: u64,
    /// Results sent for a photo id that had already been answered (client retries after a
    /// lost answer).
    pub duplicate_answers: u64,
    /// Error answers per AWS error type.
    pub errors: BTreeMap<String, u64>,
    /// Connections dropped on purpose.
    pub dropped: u64,
    /// Restarts done.
    pub restarts: u64,
    /// Bytes of request bodies read (every body is read only after its headers passed the
    /// SigV4 check).
    pub body_bytes_read: u64,
    /// Bytes of the bodies of requests refused on their headers, read and thrown away after
    /// the refusal was answered so that the client, still sending, reads it.
    pub body_bytes_discarded: u64,
    /// Invocations answered `400 ThrottlingException` because `max_concurrency` were
    /// already in flight.
    pub throttled: u64,
    /// Warm-ups started (the first invocation, and the first after the idle scale-down
    /// time, on an endpoint with a cold start).
    pub cold_starts: u64,
    /// Invocations that waited for a warm-up (the ones that started it included).
    pub cold_start_waits: u64,
    /// Invocations in flight now (past authentication and the concurrency limit, not yet
    /// answered).
    pub in_flight: u32,
    /// The most invocations ever in flight at once.
    pub max_in_flight: u32,
    /// Invocation requests (either route, whatever their answer) received in each second
    /// since the endpoint started: index 0 is the first second. Seconds after the last
    /// request are not listed; at most [`RATE_SECONDS`] seconds are kept.
    pub invocations_per_second: Vec<u64>,
    /// Of those, the ones answered `ThrottlingException` by the concurrency limit, in the
    /// same buckets.
    pub throttled_per_second: Vec<u64>,
}

/// The per-second series of [`StatsSnapshot`].
#[derive(Clone, Copy, Debug)]
pub(crate) enum Series {
    Invocations,
    Throttled,
}

/// The counters of a running endpoint (shared by its connections and restarts).
pub(crate) struct Stats {
    started: Instant,
    counters: Mutex<StatsSnapshot>,
    /// Results sent per photo id.
    answered: Mutex<HashMap<String, u64>>,
}

impl Stats {
    pub(crate) fn new(started: Instant) -> Self {
        Self {
            started,
            counters: Mutex::new(StatsSnapshot::default()),
            answered: Mutex::new(HashMap::new()),
        }
    }

    /// The counters, to change under one lock.
    pub(crate) fn counters(&self) -> MutexGuard<'_, StatsSnapshot> {
        lock(&self.counters)
    }

    /// One more answer of AWS error type `error_type`.
    pub(crate) fn error(&self, error_type: &str) {
        *self
            .counters()
            .errors
            .entry(error_type.to_owned())
            .or_insert(0) += 1;
    }

    /// One more in this second's bucket of `series`.
    pub(crate) fn per_second(&self, series: Series) {
        let second = usize::try_from(self.started.elapsed().as_secs()).unwrap_or(usize::MAX);
        if second >= RATE_SECONDS {
            return;
        }
        let mut counters = self.counters();
        let buckets = match series {
            Series::Invocations => &mut counters.invocations_per_second,
            Series::Throttled => &mut counters.throttled_per_second,
        };
        if buckets.len() <= second {
            buckets.resize(second + 1, 0);
        }
        buckets[second] += 1;
    }

    /// A detection result sent, for `photo_id` when the client named one.
    pub(crate) fn answered(&self, photo_id: Option<String>) {
        let mut counters = self.counters();
        counters.answered += 1;
        if let Some(id) = photo_id {
            let mut seen = lock(&self.answered);
            let count = seen.entry(id).or_insert(0);
            *count += 1;
            if *count > 1 {
                counters.duplicate_answers += 1;
            }
            counters.answered_photos = seen.len() as u64;
        }
    }

    /// The counters now, with `in_flight` invocations in flight.
    pub(crate) fn snapshot(&self, in_flight: u32) -> StatsSnapshot {
        let mut snapshot = self.counters().clone();
        snapshot.in_flight = in_flight;
        snapshot
    }
}

/// A counter lock survives a panicking holder: counts are never left half-written.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
