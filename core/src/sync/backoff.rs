//! Retry delays: exponential backoff with full jitter (AWS Architecture Blog, "Exponential
//! Backoff and Jitter"), honouring a server's `Retry-After` as a floor.

use std::time::Duration;

/// Exponential backoff settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Delay scale of the first retry.
    pub base: Duration,
    /// Largest delay.
    pub cap: Duration,
}

impl Backoff {
    /// The ceiling of the delay before retry number `attempt` (1-based): `base * 2^(attempt-1)`,
    /// at most `cap`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(20);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// A full-jitter delay before retry number `attempt`: uniform in `[0, ceiling]`, and never
    /// less than `retry_after` when the server asked for one.
    pub fn delay(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        rng: &mut fastrand::Rng,
    ) -> Duration {
        let ceiling = self.ceiling(attempt).as_millis() as u64;
        let jittered = Duration::from_millis(rng.u64(0..=ceiling));
        retry_after.map_or(jittered, |floor| jittered.max(floor))
    }

    /// An equal-jitter delay before pause number `attempt`: uniform in `[ceiling / 2,
    /// ceiling]` (it always waits a good part of the ceiling, yet a fleet that paused
    /// together does not resume together), never less than `floor` when given.
    pub fn equal_jitter(
        &self,
        attempt: u32,
        floor: Option<Duration>,
        rng: &mut fastrand::Rng,
    ) -> Duration {
        let half = self.ceiling(attempt).as_millis() as u64 / 2;
        let jittered = Duration::from_millis(half + rng.u64(0..=half));
        floor.map_or(jittered, |floor| jittered.max(floor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_cap_with_jitter_below_the_ceiling() {
        let b = Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(2),
        };
        assert_eq!(b.ceiling(1), Duration::from_millis(100));
        assert_eq!(b.ceiling(3), Duration::from_millis(400));
        assert_eq!(b.ceiling(10), Duration::from_secs(2));
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(2));
        let mut rng = fastrand::Rng::with_seed(1);
        let delays: Vec<_> = (0..200).map(|_| b.delay(3, None, &mut rng)).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_millis(400)));
        // Jitter spreads the delays instead of synchronising retries.
        assert!(delays.iter().any(|d| *d < Duration::from_millis(100)));
        assert!(delays.iter().any(|d| *d > Duration::from_millis(300)));
        assert!(
            (0..50)
                .all(|_| b.delay(1, Some(Duration::from_secs(1)), &mut rng)
                    >= Duration::from_secs(1))
        );
        // A zero Retry-After is a floor of zero, not a bypass of the jitter.
        assert!(
            (0..200)
                .map(|_| b.delay(4, Some(Duration::ZERO), &mut rng))
                .any(|d| d > Duration::from_millis(100))
        );
    }

    #[test]
    fn equal_jitter_waits_at_least_half_the_ceiling_and_spreads() {
        let b = Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(2),
        };
        let mut rng = fastrand::Rng::with_seed(2);
        let pauses: Vec<_> = (0..200)
            .map(|_| b.equal_jitter(3, None, &mut rng))
            .collect();
        assert!(
            pauses
                .iter()
                .all(|d| (Duration::from_millis(200)..=Duration::from_millis(400)).contains(d))
        );
        assert!(pauses.iter().any(|d| *d < Duration::from_millis(250)));
        assert!(pauses.iter().any(|d| *d > Duration::from_millis(350)));
        assert_eq!(
            b.equal_jitter(1, Some(Duration::from_secs(5)), &mut rng),
            Duration::from_secs(5)
        );
    }
}
