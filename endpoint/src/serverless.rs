//! Serverless behaviour: SageMaker serverless endpoints take at most `MaxConcurrency`
//! invocations at once (one more is answered `400 ThrottlingException`) and start cold: the
//! first invocation, and the first after a while without traffic, waits for the endpoint to
//! warm up, and so does every invocation that arrives during that warm-up.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How the endpoint emulates a SageMaker serverless endpoint. The default is a provisioned
/// endpoint: no concurrency limit, always warm.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerlessConfig {
    /// Invocations in flight at once (SageMaker's `MaxConcurrency`, 1–200 there); one more
    /// is answered `400 ThrottlingException` at once. `None`: no limit.
    pub max_concurrency: Option<u32>,
    /// How long a cold endpoint takes to warm up before it runs anything. Zero: never cold.
    pub cold_start: Duration,
    /// After this long without an invocation in flight the endpoint is cold again. `None`:
    /// only the very first invocation finds it cold.
    pub idle_scale_down: Option<Duration>,
}

/// What the gate decided for one invocation.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Run it; first wait until `warm_at` if it is set (the endpoint is warming up).
    Admitted {
        /// When the warm-up this invocation waits for ends.
        warm_at: Option<Instant>,
        /// This invocation started that warm-up (a cold start).
        cold_start: bool,
        /// Invocations in flight now, this one included.
        in_flight: u32,
    },
    /// `MaxConcurrency` invocations are already in flight.
    Throttled {
        /// The limit.
        limit: u32,
    },
}

/// The gate's state, kept apart from the clock so that it can be tested with any instants.
#[derive(Debug)]
struct GateState {
    in_flight: u32,
    /// End of the current (or last) warm-up; `None` before the first invocation.
    warm_at: Option<Instant>,
    /// When the last invocation finished (or the endpoint started).
    last_activity: Instant,
}

impl GateState {
    fn admit(&mut self, config: &ServerlessConfig, now: Instant) -> Admission {
        if let Some(limit) = config.max_concurrency
            && self.in_flight >= limit
        {
            return Admission::Throttled { limit };
        }
        let mut cold_start = false;
        if !config.cold_start.is_zero() {
            let scaled_down = match (self.warm_at, config.idle_scale_down) {
                (None, _) => true,
                (Some(warm_at), Some(idle)) => {
                    // Idle since the last invocation ended or the warm-up did, if later.
                    let idle_since = self.last_activity.max(warm_at);
                    self.in_flight == 0 && now.saturating_duration_since(idle_since) >= idle
                }
                (Some(_), None) => false,
            };
            if scaled_down {
                self.warm_at = Some(now + config.cold_start);
                cold_start = true;
            }
        }
        self.in_flight += 1;
        Admission::Admitted {
            warm_at: self.warm_at.filter(|warm_at| *warm_at > now),
            cold_start,
            in_flight: self.in_flight,
        }
    }

    fn release(&mut self, now: Instant) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.last_activity = self.last_activity.max(now);
    }
}

/// The concurrency limit and warm/cold state of one endpoint.
#[derive(Debug)]
pub(crate) struct Gate {
    config: ServerlessConfig,
    state: Mutex<GateState>,
}

/// An invocation's place among those in flight; given back when dropped (answered, failed,
/// or abandoned by the client).
#[derive(Debug)]
pub(crate) struct Slot<'a> {
    gate: &'a Gate,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.gate.lock().release(Instant::now());
    }
}

impl Gate {
    /// A cold, idle gate for `config`.
    pub(crate) fn new(config: ServerlessConfig) -> Self {
        Self {
            config,
            state: Mutex::new(GateState {
                in_flight: 0,
                warm_at: None,
                last_activity: Instant::now(),
            }),
        }
    }

    /// Decides one invocation now; the slot, when admitted, holds its place until dropped.
    pub(crate) fn admit(&self) -> (Admission, Option<Slot<'_>>) {
        let admission = self.lock().admit(&self.config, Instant::now());
        // A slot is made only when admitted: dropping one gives a place back.
        let slot = match admission {
            Admission::Admitted { .. } => Some(Slot { gate: self }),
            Admission::Throttled { .. } => None,
        };
        (admission, slot)
    }

    /// Invocations in flight now.
    pub(crate) fn in_flight(&self) -> u32 {
        self.lock().in_flight
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(start: Instant) -> GateState {
        GateState {
            in_flight: 0,
            warm_at: None,
            last_activity: start,
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn throttles_beyond_max_concurrency_and_admits_again_after_a_release() {
        let config = ServerlessConfig {
            max_concurrency: Some(2),
            ..ServerlessConfig::default()
        };
        let t0 = Instant::now();
        let mut gate = state(t0);
        let admitted = |in_flight| Admission::Admitted {
            warm_at: None,
            cold_start: false,
            in_flight,
        };
        assert_eq!(gate.admit(&config, t0), admitted(1));
        assert_eq!(gate.admit(&config, t0), admitted(2));
        assert_eq!(gate.admit(&config, t0), Admission::Throttled { limit: 2 });
        gate.release(t0 + ms(5));
        assert_eq!(gate.admit(&config, t0 + ms(6)), admitted(2));
    }

    #[test]
    fn a_throttled_invocation_takes_no_place_and_a_dropped_slot_gives_one_back() {
        let gate = Gate::new(ServerlessConfig {
            max_concurrency: Some(1),
            ..ServerlessConfig::default()
        });
        let (first, slot) = gate.admit();
        assert!(matches!(first, Admission::Admitted { in_flight: 1, .. }));
        for _ in 0..3 {
            let (again, none) = gate.admit();
            assert_eq!(again, Admission::Throttled { limit: 1 });
            assert!(none.is_none());
        }
        assert_eq!(gate.in_flight(), 1);
        drop(slot);
        assert_eq!(gate.in_flight(), 0);
        assert!(matches!(gate.admit().0, Admission::Admitted { .. }));
    }

    #[test]
    fn cold_at_first_then_warm_until_idle_for_the_scale_down_time() {
        let config = ServerlessConfig {
            cold_start: ms(300),
            idle_scale_down: Some(ms(1000)),
            ..ServerlessConfig::default()
        };
        let t0 = Instant::now();
        let mut gate = state(t0);
        // The first invocation starts the warm-up; one arriving during it waits for the same
        // end without starting another.
        let first = gate.admit(&config, t0);
        assert_eq!(
            first,
            Admission::Admitted {
                warm_at: Some(t0 + ms(300)),
                cold_start: true,
                in_flight: 1
            }
        );
        assert_eq!(
            gate.admit(&config, t0 + ms(100)),
            Admission::Admitted {
                warm_at: Some(t0 + ms(300)),
                cold_start: false,
                in_flight: 2
            }
        );
        gate.release(t0 + ms(600));
        gate.release(t0 + ms(650));
        // Idle for less than the scale-down time: warm.
        assert_eq!(
            gate.admit(&config, t0 + ms(1600)),
            Admission::Admitted {
                warm_at: None,
                cold_start: false,
                in_flight: 1
            }
        );
        gate.release(t0 + ms(1700));
        // Idle for the scale-down time: cold again.
        assert_eq!(
            gate.admit(&config, t0 + ms(2700)),
            Admission::Admitted {
                warm_at: Some(t0 + ms(3000)),
                cold_start: true,
                in_flight: 1
            }
        );
    }

    #[test]
    fn a_busy_endpoint_never_scales_down_and_without_a_scale_down_time_stays_warm() {
        let config = ServerlessConfig {
            cold_start: ms(50),
            idle_scale_down: Some(ms(100)),
            ..ServerlessConfig::default()
        };
        let t0 = Instant::now();
        let mut gate = state(t0);
        assert!(matches!(
            gate.admit(&config, t0),
            Admission::Admitted {
                cold_start: true,
                ..
            }
        ));
        // Still in flight long after the scale-down time: not idle.
        assert!(matches!(
            gate.admit(&config, t0 + ms(5000)),
            Admission::Admitted {
                cold_start: false,
                warm_at: None,
                ..
            }
        ));

        let forever = ServerlessConfig {
            idle_scale_down: None,
            ..config
        };
        let mut gate = state(t0);
        assert!(matches!(
            gate.admit(&forever, t0),
            Admission::Admitted {
                cold_start: true,
                ..
            }
        ));
        gate.release(t0 + ms(60));
        assert!(matches!(
            gate.admit(&forever, t0 + ms(60_000)),
            Admission::Admitted {
                cold_start: false,
                ..
            }
        ));
        // An invocation abandoned during the warm-up: the endpoint still warms up, and is
        // idle from the end of the warm-up, not from the abandonment.
        let mut gate = state(t0);
        assert!(matches!(
            gate.admit(&config, t0),
            Admission::Admitted {
                cold_start: true,
                ..
            }
        ));
        gate.release(t0 + ms(10));
        assert!(matches!(
            gate.admit(&config, t0 + ms(120)),
            Admission::Admitted {
                cold_start: false,
                warm_at: None,
                ..
            }
        ));
        // No cold start configured: never cold.
        let mut gate = state(t0);
        assert!(matches!(
            gate.admit(&ServerlessConfig::default(), t0),
            Admission::Admitted {
                cold_start: false,
                warm_at: None,
                ..
            }
        ));
    }
}
