//! Fault injection for tests: latency, error answers, dropped connections, a "model not
//! ready" window, a restart, and serverless behaviour (a concurrency limit, cold starts).

use std::time::Duration;

use crate::serverless::ServerlessConfig;

/// What to break, and how often; and whether to behave like a serverless endpoint.
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
    /// Answer every invocation `200 OK` with this kind of broken body.
    pub malformed: Option<Malformed>,
    /// Serverless behaviour: `MaxConcurrency` (beyond it, `400 ThrottlingException`) and
    /// cold starts. The default is a provisioned endpoint (no limit, always warm).
    pub serverless: ServerlessConfig,
}

/// Kinds of broken `200 OK` bodies, to test the client's response validation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malformed {
    /// Not JSON at all (an HTML error page from a proxy).
    NotJson,
    /// A `schema_version` the client does not know.
    WrongSchema,
    /// A class id outside the damage classes.
    UnknownClass,
    /// A `NaN` score (which also makes the JSON invalid).
    NanScore,
    /// A box far outside the image.
    BoxOutsideImage,
    /// JSON cut off in the middle.
    Truncated,
}

impl Malformed {
    /// Every kind, for tests that try them all.
    pub const ALL: [Malformed; 6] = [
        Self::NotJson,
        Self::WrongSchema,
        Self::UnknownClass,
        Self::NanScore,
        Self::BoxOutsideImage,
        Self::Truncated,
    ];

    /// The broken body, built from a correct response for an image of `width`×`height`.
    pub fn body(self, width: u32, height: u32) -> String {
        let good = |schema: u32, class: &str, score: &str, x2: f64| {
            format!(
                r#"{{"schema_version":{schema},"model":{{"name":"m","version":"1","sha256":"00"}},"image":{{"width":{width},"height":{height}}},"inference_ms":1.0,"detections":[{{"class_id":{class},"score":{score},"box":{{"x1":0,"y1":0,"x2":{x2},"y2":1}}}}]}}"#
            )
        };
        match self {
            Self::NotJson => "<html><body>502 Bad Gateway</body></html>".to_owned(),
            Self::WrongSchema => good(2, r#"0,"label":"dent""#, "0.5", 1.0),
            Self::UnknownClass => good(1, r#"9,"label":"crack""#, "0.5", 1.0),
            Self::NanScore => good(1, r#"0,"label":"dent""#, "NaN", 1.0),
            Self::BoxOutsideImage => good(1, r#"0,"label":"dent""#, "0.5", f64::from(width) * 3.0),
            Self::Truncated => {
                let full = good(1, r#"0,"label":"dent""#, "0.5", 1.0);
                full[..full.len() / 2].to_owned()
            }
        }
    }
}

impl std::str::FromStr for Malformed {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "not-json" => Self::NotJson,
            "wrong-schema" => Self::WrongSchema,
            "unknown-class" => Self::UnknownClass,
            "nan-score" => Self::NanScore,
            "box-outside-image" => Self::BoxOutsideImage,
            "truncated" => Self::Truncated,
            other => return Err(format!("unknown malformed kind {other:?}")),
        })
    }
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
