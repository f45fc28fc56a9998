//! Fault injection for tests: latency, error answers, dropped connections, a "model not
//! ready" window, and a restart.

use std::time::Duration;

/// What to break, and how often.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultConfig {
    /// Added to every invocation before it answers.
    pub latency: Duration,
    /// Share of invocations answered with 429 `ThrottlingException`, 500 `InternalFailure`
    /// or 503 `ServiceUnavailable` (one third each).
    pub error_rate: f64,
    /// Share of invocations whose connection is dropped without an answer.
    pub drop_rate: f64,
    /// For this long after start, invocations get 429 `ModelNotReadyException`.
    pub not_ready_for: Duration,
    /// After this many invocations, the server restarts once (all connections closed).
    pub restart_after: Option<u64>,
    /// How long the server is down during that restart.
    pub restart_downtime: Duration,
    /// Seed of the fault dice (a run is reproducible).
    pub seed: u64,
}

/// What to do with one invocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer normally.
    None,
    /// Close the connection without an answer.
    Drop,
    /// Answer with this AWS error.
    Error {
        /// HTTP status.
        status: u16,
        /// `x-amzn-ErrorType`.
        error_type: &'static str,
    },
}

impl FaultConfig {
    /// Rolls the dice for one invocation.
    pub fn roll(&self, rng: &mut fastrand::Rng) -> Fault {
        let x = rng.f64();
        if x < self.drop_rate {
            return Fault::Drop;
        }
        let e = (x - self.drop_rate) / (1.0 - self.drop_rate).max(f64::EPSILON);
        if e < self.error_rate {
            let (status, error_type) = match rng.u8(0..3) {
                0 => (429, "ThrottlingException"),
                1 => (500, "InternalFailure"),
                _ => (503, "ServiceUnavailable"),
            };
            return Fault::Error { status, error_type };
        }
        Fault::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_follow_the_configured_rates() {
        let config = FaultConfig {
            error_rate: 0.3,
            drop_rate: 0.05,
            ..FaultConfig::default()
        };
        let mut rng = fastrand::Rng::with_seed(3);
        let rolls: Vec<_> = (0..20_000).map(|_| config.roll(&mut rng)).collect();
        let drops = rolls.iter().filter(|f| **f == Fault::Drop).count() as f64 / 20_000.0;
        let errors = rolls
            .iter()
            .filter(|f| matches!(f, Fault::Error { .. }))
            .count() as f64
            / 20_000.0;
        assert!((drops - 0.05).abs() < 0.01, "{drops}");
        // 30% of the requests that are not dropped.
        assert!((errors - 0.3 * 0.95).abs() < 0.015, "{errors}");
        assert_eq!(FaultConfig::default().roll(&mut rng), Fault::None);
    }
}
