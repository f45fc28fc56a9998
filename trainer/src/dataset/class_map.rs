//! Mapping a labeling tool's class names onto ours; unknown names are refused.

use std::collections::BTreeMap;

use super::DAMAGE_CLASSES;
use crate::error::{Result, TrainerError};

/// Parses `--map FROM=TO` pairs (TO must be one of our classes).
pub fn parse_renames(pairs: &[String]) -> Result<BTreeMap<String, String>> {
    let mut map = BTreeMap::new();
    for pair in pairs {
        let (from, to) = pair
            .split_once('=')
            .ok_or_else(|| TrainerError::Input(format!("--map {pair:?}: expected FROM=TO")))?;
        let to = to.trim().to_ascii_lowercase();
        if !DAMAGE_CLASSES.contains(&to.as_str()) {
            return Err(TrainerError::Input(format!(
                "--map {pair:?}: {to:?} is not one of our classes {DAMAGE_CLASSES:?}"
            )));
        }
        map.insert(normalise(from), to);
    }
    Ok(map)
}

fn normalise(name: &str) -> String {
    name.trim().to_ascii_lowercase()
}

/// Our class id for each of `names` (a tool's classes in its id order), or an error naming
/// every unknown class.
pub fn map_names(names: &[String], renames: &BTreeMap<String, String>) -> Result<Vec<u32>> {
    let mut ids = Vec::with_capacity(names.len());
    let mut unknown = Vec::new();
    for name in names {
        let n = normalise(name);
        let target = renames.get(&n).cloned().unwrap_or(n);
        match DAMAGE_CLASSES.iter().position(|c| *c == target) {
            Some(id) => ids.push(id as u32),
            None => unknown.push(name.clone()),
        }
    }
    if unknown.is_empty() {
        Ok(ids)
    } else {
        Err(TrainerError::Input(format!(
            "unknown class(es) {unknown:?}: ours are {DAMAGE_CLASSES:?} (rename with --map FROM=TO)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_case_insensitively_and_refuses_unknown() {
        let names = vec!["Rust".to_owned(), "dent".to_owned()];
        assert_eq!(map_names(&names, &BTreeMap::new()).expect("ok"), [2, 0]);
        let names = vec!["corrosion".to_owned(), "hole".to_owned()];
        let err = map_names(&names, &BTreeMap::new()).expect_err("unknown");
        assert!(err.to_string().contains("corrosion") && err.to_string().contains("hole"));
        let renames = parse_renames(&["Corrosion=rust".into(), "hole=dent".into()]).expect("map");
        assert_eq!(map_names(&names, &renames).expect("renamed"), [2, 0]);
        assert!(parse_renames(&["a=b".into()]).is_err());
    }
}
