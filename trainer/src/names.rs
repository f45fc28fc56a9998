//! Unique SageMaker resource names: `<prefix>-<UTC yyyymmdd-hhmmss>-<4 random hex>`, at most
//! 63 characters of `[a-zA-Z0-9-]`, checked against existing resources before use (emulators
//! and retries must never make two runs share a name).

use std::time::SystemTime;

use crate::error::{Result, TrainerError};

/// Longest SageMaker resource name.
pub const MAX_NAME: usize = 63;

/// A fresh candidate name.
pub fn candidate(prefix: &str) -> Result<String> {
    let stamp = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    // 2026-11-28T10:45:12Z -> 20261128-104512
    let digits: String = stamp.chars().filter(char::is_ascii_digit).collect();
    let (date, time) = digits.split_at(8.min(digits.len()));
    let mut random = [0u8; 2];
    getrandom::fill(&mut random).map_err(|e| TrainerError::Input(format!("random: {e}")))?;
    let suffix = format!("-{date}-{time}-{:02x}{:02x}", random[0], random[1]);
    let prefix = sanitize(prefix);
    let keep = MAX_NAME.saturating_sub(suffix.len()).min(prefix.len());
    Ok(format!("{}{suffix}", prefix[..keep].trim_end_matches('-')))
}

/// Keeps `[a-zA-Z0-9-]`, others become `-`.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .trim_matches('-')
        .to_owned()
}

/// Tries candidates until `exists` says one is free (at most 5 tries).
pub async fn unique<F, Fut>(prefix: &str, mut exists: F) -> Result<String>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    for _ in 0..5 {
        let name = candidate(prefix)?;
        if !exists(name.clone()).await? {
            return Ok(name);
        }
    }
    Err(TrainerError::Input(format!(
        "could not find an unused name with prefix {prefix:?}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_and_differ() {
        let a = candidate("omni-yolo11n").expect("name");
        assert!(
            a.len() <= MAX_NAME && a.starts_with("omni-yolo11n-2"),
            "{a}"
        );
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        let long = candidate(&"x".repeat(100)).expect("name");
        assert!(long.len() <= MAX_NAME);
        let names: std::collections::HashSet<String> =
            (0..20).map(|_| candidate("p").expect("name")).collect();
        assert!(names.len() > 1);
    }
}
