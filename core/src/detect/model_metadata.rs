//! The `metadata_props` Ultralytics writes into an exported ONNX model (`names`, `imgsz`,
//! `stride`, `task`, …), plus our own `omni_model_name` / `omni_model_version`.

use std::collections::HashMap;

/// What a detection model says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelMetadata {
    /// `task`: `detect`, `classify`, `segment`, …
    pub task: String,
    /// `names`: class names in id order.
    pub names: Vec<String>,
    /// `imgsz`: input height and width.
    pub imgsz: (u32, u32),
    /// `stride`: the largest feature stride.
    pub stride: u32,
    /// `omni_model_name`, else Ultralytics' `description`, else `"unnamed"`.
    pub model_name: String,
    /// `omni_model_version`, else `"0"`.
    pub model_version: String,
}

/// A missing or malformed metadata entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// The key is absent.
    #[error("model metadata has no {0:?} entry (not an Ultralytics export?)")]
    Missing(&'static str),
    /// The value does not parse.
    #[error("model metadata {key:?} is malformed: {value:?}")]
    Malformed {
        /// The key.
        key: &'static str,
        /// Its value.
        value: String,
    },
}

impl ModelMetadata {
    /// Parses the metadata key/value pairs.
    pub fn parse(props: &HashMap<String, String>) -> Result<Self, MetadataError> {
        let get = |key: &'static str| props.get(key).ok_or(MetadataError::Missing(key));
        let malformed = |key: &'static str, value: &str| MetadataError::Malformed {
            key,
            value: value.to_owned(),
        };
        let task = get("task")?.trim().to_owned();
        let names_raw = get("names")?;
        let names = parse_names(names_raw).ok_or_else(|| malformed("names", names_raw))?;
        let imgsz_raw = get("imgsz")?;
        let imgsz = parse_imgsz(imgsz_raw).ok_or_else(|| malformed("imgsz", imgsz_raw))?;
        let stride_raw = get("stride")?;
        let stride = stride_raw
            .trim()
            .parse()
            .ok()
            .filter(|s| *s > 0)
            .ok_or_else(|| malformed("stride", stride_raw))?;
        let model_name = props
            .get("omni_model_name")
            .or_else(|| props.get("description"))
            .cloned()
            .unwrap_or_else(|| "unnamed".to_owned());
        let model_version = props
            .get("omni_model_version")
            .cloned()
            .unwrap_or_else(|| "0".to_owned());
        Ok(Self {
            task,
            names,
            imgsz,
            stride,
            model_name,
            model_version,
        })
    }
}

/// Parses a Python dict repr `{0: 'dent', 1: "dirt"}` into names ordered by id; ids must be
/// exactly `0..n`.
fn parse_names(raw: &str) -> Option<Vec<String>> {
    let body = raw.trim().strip_prefix('{')?.strip_suffix('}')?;
    let mut chars = body.chars().peekable();
    let mut entries: Vec<(usize, String)> = Vec::new();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut id = String::new();
        while let Some(c) = chars.peek().copied().filter(char::is_ascii_digit) {
            id.push(c);
            chars.next();
        }
        let id: usize = id.parse().ok()?;
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next()? != ':' {
            return None;
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let quote = chars.next().filter(|q| *q == '\'' || *q == '"')?;
        let mut name = String::new();
        loop {
            match chars.next()? {
                '\\' => name.push(chars.next()?),
                c if c == quote => break,
                c => name.push(c),
            }
        }
        entries.push((id, name));
    }
    entries.sort_by_key(|(id, _)| *id);
    let ordered = entries.iter().enumerate().all(|(i, (id, _))| i == *id);
    (ordered && !entries.is_empty()).then(|| entries.into_iter().map(|(_, n)| n).collect())
}

/// Parses `[640, 640]` (or a bare `640`) into (height, width).
fn parse_imgsz(raw: &str) -> Option<(u32, u32)> {
    let body = raw.trim().trim_start_matches('[').trim_end_matches(']');
    let dims: Vec<u32> = body
        .split(',')
        .map(|d| d.trim().parse().ok())
        .collect::<Option<_>>()?;
    match dims.as_slice() {
        [s] if *s > 0 => Some((*s, *s)),
        [h, w] if *h > 0 && *w > 0 => Some((*h, *w)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn parses_ultralytics_metadata() {
        let meta = ModelMetadata::parse(&props(&[
            ("task", "detect"),
            (
                "names",
                "{0: 'dent', 1: 'dirt', 2: 'rust', 3: 'scratch', 4: 'spoiled', 5: 'mold'}",
            ),
            ("imgsz", "[640, 640]"),
            ("stride", "32"),
            ("description", "Ultralytics YOLO11n model"),
        ]))
        .expect("parse");
        assert_eq!(meta.names, omni_protocol::DAMAGE_CLASSES);
        assert_eq!((meta.imgsz, meta.stride), ((640, 640), 32));
        assert_eq!(meta.model_name, "Ultralytics YOLO11n model");
        assert_eq!(meta.model_version, "0");
    }

    #[test]
    fn names_with_quotes_commas_and_disorder() {
        assert_eq!(
            parse_names(r#"{1: "it's, odd", 0: 'a\'b'}"#),
            Some(vec!["a'b".to_owned(), "it's, odd".to_owned()])
        );
        assert_eq!(parse_names("{0: 'a', 2: 'c'}"), None, "gap in ids");
        assert_eq!(parse_names("{}"), None);
        assert_eq!(parse_names("['a', 'b']"), None);
    }

    #[test]
    fn missing_and_malformed_entries_are_named() {
        let err = ModelMetadata::parse(&props(&[("task", "detect")])).expect_err("no names");
        assert_eq!(err, MetadataError::Missing("names"));
        let err = ModelMetadata::parse(&props(&[
            ("task", "detect"),
            ("names", "{0: 'a'}"),
            ("imgsz", "[640, x]"),
            ("stride", "32"),
        ]))
        .expect_err("bad imgsz");
        assert!(matches!(err, MetadataError::Malformed { key: "imgsz", .. }));
        assert_eq!(parse_imgsz("320"), Some((320, 320)));
    }
}
