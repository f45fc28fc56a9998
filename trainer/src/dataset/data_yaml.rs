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

    mod properties {
        use proptest::prelude::*;

        use super::super::*;

        /// A class name a tool may use, with YAML's special characters (quoted when written).
        fn name() -> impl Strategy<Value = String> {
            "[a-zA-Z0-9 _.:#'\"{}\\[\\],-]{1,12}"
        }

        fn read(text: &str) -> Result<Vec<String>> {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("data.yaml");
            std::fs::write(&path, text).unwrap();
            read_names(&path)
        }

        proptest! {
            #![proptest_config(omni_e2e::proptest_cases(128))]

            /// Any text is read or refused without panicking.
            #[test]
            fn any_text_is_read_or_refused_without_panicking(
                text in prop_oneof![
                    ".{0,80}",
                    proptest::collection::vec(
                        prop_oneof![
                            Just("names:".to_owned()),
                            Just("names: [".to_owned()),
                            Just("  - ".to_owned()),
                            Just("  0: ".to_owned()),
                            Just("{".to_owned()),
                            Just("nc: 2".to_owned()),
                            ".{0,8}",
                        ],
                        0..8,
                    )
                    .prop_map(|parts| parts.join("\n")),
                ],
            ) {
                let _ = read(&text);
            }

            /// Names written as a flow list, a block list or an `{id: name}` map in any
            /// order are read back exactly, in id order; a map whose ids are not 0..n is
            /// refused.
            #[test]
            fn written_names_are_read_back_exactly(
                names in proptest::collection::vec(name(), 1..8),
                form in 0u8..3,
                order in any::<prop::sample::Index>(),
                gap in 1i64..5,
            ) {
                let quoted: Vec<String> = names.iter().map(|n| serde_json::to_string(n).unwrap()).collect();
                let text = match form {
                    0 => format!("nc: {}\nnames: [{}]\n", names.len(), quoted.join(", ")),
                    1 => format!("names:\n{}", quoted.iter().map(|q| format!("  - {q}\n")).collect::<String>()),
                    _ => {
                        let mut entries: Vec<String> = quoted.iter().enumerate().map(|(i, q)| format!("  {i}: {q}\n")).collect();
                        let by = order.index(entries.len());
                        entries.rotate_left(by);
                        format!("names:\n{}", entries.concat())
                    }
                };
                prop_assert_eq!(read(&text).ok(), Some(names.clone()), "{}", text);
                let last = names.len() - 1;
                let gapped: String = quoted
                    .iter()
                    .enumerate()
                    .map(|(i, q)| format!("  {}: {q}\n", if i == last { i as i64 + gap } else { i as i64 }))
                    .collect();
                let gapped = format!("names:\n{gapped}");
                prop_assert!(read(&gapped).is_err(), "{}", gapped);
            }
        }
    }
}
