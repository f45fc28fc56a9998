//! What the office's benchmarks share: the phones' key, generated container numbers and
//! inspections, and latency percentiles.

use std::time::Duration;

use omni_cloud::Credentials;
use omni_office::wire::{Inspection, InspectionState, Location, PutInspection};
use omni_protocol::ContainerNumber;

/// The region the benchmarks' office signs for.
pub const REGION: &str = "us-east-1";

/// Positional argument `index` (flags skipped), or `default`.
pub fn arg(index: usize, default: usize) -> usize {
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .nth(index)
        .map_or(default, |a| a.parse().expect("a number"))
}

/// The key the benchmarks' phones sign with and the office accepts.
pub fn credentials() -> Credentials {
    Credentials {
        access_key_id: "AKIDBENCH".into(),
        secret_access_key: "bench-secret".into(),
        session_token: Some("bench-token".into()),
        expires_at: None,
    }
}

/// The `n`th valid container number: the check digit is the one the core's parser accepts.
pub fn container(n: usize) -> String {
    (0..10)
        .map(|d| format!("BNCU{:06}{d}", n % 1_000_000))
        .find(|c| ContainerNumber::parse(c).is_ok())
        .expect("one check digit fits")
}

/// A closed inspection of `container`, started and closed at `created_at_ms`.
pub fn put(container: String, created_at_ms: i64) -> PutInspection {
    PutInspection {
        container_number: container,
        inspector_id: "bench".into(),
        created_at_ms,
        updated_at_ms: created_at_ms,
        location: Some(Location {
            latitude: 36.13,
            longitude: -5.35,
            accuracy_m: Some(8.0),
        }),
        state: InspectionState::Closed,
        revision: 1,
        kind: None,
    }
}

/// The `n`th inspection of a filled store, as stored: `fill-<n>`, one a minute, over
/// `containers` containers.
pub fn filled(n: usize, containers: usize) -> Inspection {
    let request = put(
        container(n % containers),
        1_700_000_000_000 + n as i64 * 60_000,
    );
    Inspection {
        id: format!("fill-{n}"),
        container_number: request.container_number,
        inspector_id: request.inspector_id,
        created_at_ms: request.created_at_ms,
        updated_at_ms: request.updated_at_ms,
        location: request.location,
        state: request.state,
        revision: request.revision,
        received_at_ms: request.created_at_ms,
        kind: request.kind,
    }
}

/// The `p` percentile of `sorted`, in ms.
pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}
