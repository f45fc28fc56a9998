//! `data.yaml`: reading class names (list or `{id: name}` map, as Ultralytics and Roboflow
//! write them) and writing ours.

use std::path::Path;

use yaml_rust2::{Yaml, YamlLoader};

use super::DAMAGE_CLASSES;
use crate::error::{Result, TrainerError};

/// The class names of a `data.yaml`, in id order.
pub fn read_names(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(TrainerError::io(path))?;
    let bad = |m: String| TrainerError::Input(format!("{}: {m}", path.display()));
    let docs = YamlLoader::load_from_str(&text).map_err(|e| bad(format!("not YAML: {e}")))?;
    let doc = docs.first().ok_or_else(|| bad("empty".into()))?;
    let names = &doc["names"];
    let as_name = |y: &Yaml| match y {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Real(r) => Some(r.clone()),
        _ => None,
    };
    match names {
        Yaml::Array(items) => items
            .iter()
            .map(|y| as_name(y).ok_or_else(|| bad(format!("class name {y:?} is not a string"))))
            .collect(),
        Yaml::Hash(map) => {
            let mut pairs = Vec::new();
            for (k, v) in map {
                let id = k
                    .as_i64()
                    .ok_or_else(|| bad(format!("class id {k:?} is not an integer")))?;
                let name =
                    as_name(v).ok_or_else(|| bad(format!("class name {v:?} is not a string")))?;
                pairs.push((id, name));
            }
            pairs.sort();
            if pairs.iter().enumerate().any(|(i, (id, _))| *id != i as i64) {
                return Err(bad("class ids of `names` must be 0..n".into()));
            }
            Ok(pairs.into_iter().map(|(_, n)| n).collect())
        }
        _ => Err(bad("no `names` list".into())),
    }
}

/// Our `data.yaml` for a data set with `train/` and `val/` (and `test/` when present).
pub fn render(with_test: bool) -> String {
    let names = DAMAGE_CLASSES.join(", ");
    let test = if with_test { "test: test/images\n" } else { "" };
    format!(
        "# Written by omni-trainer. Class id = index.\npath: .\ntrain: train/images\nval: val/images\n{test}nc: {}\nnames: [{names}]\n",
        DAMAGE_CLASSES.len()
    )
}

/// Writes our `data.yaml` into `dir`.
pub fn write(dir: &Path, with_test: bool) -> Result<()> {
    let path = dir.join("data.yaml");
    std::fs::write(&path, render(with_test)).map_err(TrainerError::io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_list_and_map_and_our_own() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("data.yaml");
        std::fs::write(
            &p,
            "nc: 2\nnames: ['Dent', 'rust']\nroboflow:\n  workspace: x\n",
        )
        .expect("w");
        assert_eq!(read_names(&p).expect("list"), ["Dent", "rust"]);
        std::fs::write(&p, "names:\n  1: rust\n  0: dent\n").expect("w");
        assert_eq!(read_names(&p).expect("map"), ["dent", "rust"]);
        std::fs::write(&p, render(false)).expect("w");
        assert_eq!(read_names(&p).expect("ours"), DAMAGE_CLASSES);
        std::fs::write(&p, "train: x\n").expect("w");
        assert!(read_names(&p).is_err());
    }
}
