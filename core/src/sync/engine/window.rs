//! The admission window: how many requests this engine may have in flight, grown and shrunk
//! as TCP's congestion window is (slow start, then additive increase, multiplicative
//! decrease on a throttle), and the throttle streak that lengthens whole-queue pauses.

use tokio::time::Instant;

use super::SyncConfig;

/// Requests this engine may have in flight now, and what decides the next size.
pub(super) struct AdmissionWindow {
    /// 1..=`concurrency`.
    size: usize,
    /// Whether a throttle was ever seen: until then the window doubles with every answer
    /// (slow start); after one it grows by one only after a whole throttle-free window of
    /// answers, `throttle.cap` after the last throttle.
    throttled_once: bool,
    /// When the last throttle came.
    last_throttle: Option<Instant>,
    /// Answers since the window last changed.
    answers_in_window: usize,
    /// +1 a throttle that paused the queue, halved by each answer, so the slow-down grows
    /// with throttles and a phone that got one answer in does not rejoin at the shortest
    /// pause.
    throttle_streak: u32,
}

impl AdmissionWindow {
    /// A window of one, no throttle seen.
    pub(super) fn new() -> Self {
        Self {
            size: 1,
            throttled_once: false,
            last_throttle: None,
            answers_in_window: 0,
            throttle_streak: 0,
        }
    }

    /// The window, within the configured concurrency.
    pub(super) fn size(&self, config: &SyncConfig) -> usize {
        self.size.clamp(1, config.concurrency.max(1))
    }

    /// The endpoint answered: the throttle streak halves and the window may grow.
    pub(super) fn answered(&mut self, config: &SyncConfig) {
        self.throttle_streak /= 2;
        let max = config.concurrency.max(1);
        if self.size >= max {
            return;
        }
        if !self.throttled_once {
            self.size = (self.size * 2).min(max);
            return;
        }
        self.answers_in_window += 1;
        let calm = self
            .last_throttle
            .is_none_or(|at| at.elapsed() >= config.throttle.cap);
        if calm && self.answers_in_window >= self.size {
            self.size += 1;
            self.answers_in_window = 0;
        }
    }

    /// The endpoint throttled a request: the window halves.
    pub(super) fn throttled(&mut self) {
        self.throttled_once = true;
        self.last_throttle = Some(Instant::now());
        self.answers_in_window = 0;
        self.size = (self.size / 2).max(1);
    }

    /// A throttle with no other request admitted: the streak grows; returns it.
    pub(super) fn lengthen_throttle_streak(&mut self) -> u32 {
        self.throttle_streak += 1;
        self.throttle_streak
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(concurrency: usize) -> SyncConfig {
        SyncConfig {
            concurrency,
            ..SyncConfig::default()
        }
    }

    #[test]
    fn the_window_starts_at_one_and_doubles_with_answers_until_a_throttle() {
        let config = config(8);
        let mut window = AdmissionWindow::new();
        assert_eq!(window.size(&config), 1);
        let windows: Vec<usize> = (0..4)
            .map(|_| {
                window.answered(&config);
                window.size(&config)
            })
            .collect();
        assert_eq!(windows, [2, 4, 8, 8]);
        window.throttled();
        assert_eq!(window.size(&config), 4);
        window.throttled();
        window.throttled();
        window.throttled();
        assert_eq!(window.size(&config), 1, "never below one");
    }

    #[test]
    fn after_a_throttle_the_window_grows_by_one_only_after_a_calm_window_of_answers() {
        let config = config(2);
        let mut window = AdmissionWindow::new();
        window.answered(&config);
        assert_eq!(window.size(&config), 2);
        window.throttled();
        assert_eq!(window.size(&config), 1);
        // Answers right after the throttle: the place is kept, no second request yet.
        for _ in 0..50 {
            window.answered(&config);
        }
        assert_eq!(window.size(&config), 1);
        // A throttle-free `throttle.cap` later, one more answer opens the window by one.
        window.last_throttle = Instant::now().checked_sub(config.throttle.cap);
        window.answered(&config);
        assert_eq!(window.size(&config), 2);
        // A window configured smaller than the state's is honoured.
        assert_eq!(
            window.size(&SyncConfig {
                concurrency: 1,
                ..config
            }),
            1
        );
    }

    #[test]
    fn an_answer_halves_the_throttle_streak_rather_than_resetting_it() {
        let config = config(2);
        let mut window = AdmissionWindow::new();
        window.throttle_streak = 6;
        window.answered(&config);
        assert_eq!(window.throttle_streak, 3);
        window.answered(&config);
        window.answered(&config);
        assert_eq!(window.throttle_streak, 0);
    }
}
