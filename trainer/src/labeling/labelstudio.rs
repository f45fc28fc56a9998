//! Label Studio: tasks with the model's boxes as `predictions`, the labeling config for our
//! six classes, and the import of Label Studio's JSON export back into YOLO labels.
//!
//! Formats as Label Studio documents them (<https://labelstud.io/guide/task_format>,
//! <https://labelstud.io/guide/export#Label-Studio-JSON-format-of-annotated-tasks>): a
//! `rectanglelabels` region has `x`, `y`, `width`, `height` in percent of the image (top-left
//! corner) and a `rotation` in degrees.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::batch::{Batch, BatchPhoto};
use super::{class_id, class_name, write_json};
use crate::dataset::labels::LabelLine;
use crate::dataset::staging::Staging;
use crate::dataset::{DAMAGE_CLASSES, create_dir};
use crate::error::{LabelInput, Result, TrainerError};

/// The `from_name` of our boxes (the `RectangleLabels` tag).
pub const FROM_NAME: &str = "label";
/// The `to_name` of our boxes (the `Image` tag) and the task data key of the image URL.
pub const TO_NAME: &str = "image";

/// The labeling config: an image and a `RectangleLabels` with our classes in id order
/// (`category` = our class id, which Label Studio's converters use as the YOLO id).
pub fn labeling_config() -> String {
    let mut xml =
        String::from("<View>\n  <Image name=\"image\" value=\"$image\" zoom=\"true\"/>\n");
    xml.push_str("  <RectangleLabels name=\"label\" toName=\"image\">\n");
    for (id, name) in DAMAGE_CLASSES.iter().enumerate() {
        xml.push_str(&format!(
            "    <Label value=\"{name}\" category=\"{id}\"/>\n"
        ));
    }
    xml.push_str("  </RectangleLabels>\n</View>\n");
    xml
}

/// The task of one batch photo: its URL and, when a model saw it, one prediction.
pub fn task(photo: &BatchPhoto, url_prefix: &str) -> Value {
    let mut task = json!({
        "data": {
            "image": format!("{url_prefix}{}", photo.file),
            "photo_id": photo.photo_id,
            "container": photo.container,
        }
    });
    if let Some(prediction) = photo.prediction() {
        let pct = |v: f32| f64::from(v.clamp(0.0, 1.0)) * 100.0;
        let result: Vec<Value> = prediction
            .boxes
            .iter()
            .enumerate()
            .map(|(i, b)| {
                json!({
                    "id": format!("p{i}"),
                    "type": "rectanglelabels",
                    "from_name": FROM_NAME,
                    "to_name": TO_NAME,
                    "original_width": photo.width,
                    "original_height": photo.height,
                    "image_rotation": 0,
                    "value": {
                        "x": pct(b.x1),
                        "y": pct(b.y1),
                        "width": pct(b.x2) - pct(b.x1),
                        "height": pct(b.y2) - pct(b.y1),
                        "rotation": 0,
                        "rectanglelabels": [b.label()],
                    },
                    "score": b.score,
                })
            })
            .collect();
        task["predictions"] = json!([{
            "model_version": prediction.model(),
            "score": prediction.max_score(),
            "result": result,
        }]);
    }
    task
}

/// What an export wrote.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExportSummary {
    /// `tasks.json`.
    pub tasks_file: PathBuf,
    /// `labeling-config.xml`.
    pub config_file: PathBuf,
    /// Tasks written.
    pub tasks: usize,
    /// Tasks with a prediction.
    pub with_predictions: usize,
}

/// Writes `out/tasks.json` (one task per batch photo, image URL `url_prefix` + file name)
/// and `out/labeling-config.xml`.
pub fn export(batch_dir: &Path, url_prefix: &str, out: &Path) -> Result<ExportSummary> {
    let batch = Batch::load(batch_dir)?;
    let tasks: Vec<Value> = batch.photos.iter().map(|p| task(p, url_prefix)).collect();
    create_dir(out)?;
    let tasks_file = out.join("tasks.json");
    let config_file = out.join("labeling-config.xml");
    write_json(&tasks_file, &tasks)?;
    std::fs::write(&config_file, labeling_config()).map_err(TrainerError::io(&config_file))?;
    Ok(ExportSummary {
        tasks_file,
        config_file,
        tasks: tasks.len(),
        with_predictions: batch
            .photos
            .iter()
            .filter(|p| p.prediction().is_some())
            .count(),
    })
}

/// What an import wrote.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ImportSummary {
    /// The pool written (`images/` + `labels/`).
    pub out: PathBuf,
    /// Images with labels (boxes or background).
    pub images: usize,
    /// Of which background (an annotation without boxes: an explicit negative).
    pub background: usize,
    /// Boxes per class, in class id order.
    pub boxes: Vec<u64>,
    /// Tasks without a (non-cancelled) annotation, left out.
    pub unlabelled: usize,
}

#[derive(Deserialize)]
struct Task {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    data: serde_json::Map<String, Value>,
    #[serde(default)]
    annotations: Vec<Annotation>,
}

#[derive(Deserialize)]
struct Annotation {
    #[serde(default)]
    result: Vec<Region>,
    #[serde(default)]
    was_cancelled: bool,
    #[serde(default)]
    created_at: Option<String>,
}

#[derive(Deserialize)]
struct Region {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    value: Value,
}

/// The byte ranges of the top-level array's elements in `text` (valid JSON).
fn element_spans(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let (mut depth, mut in_string, mut escaped, mut start) = (0usize, false, false, None);
    for (i, &c) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            b'"' => {
                in_string = true;
                if depth == 1 && start.is_none() {
                    start = Some(i);
                }
            }
            b'[' | b'{' => {
                if depth == 1 && start.is_none() {
                    start = Some(i);
                }
                depth += 1;
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 1
                    && let Some(s) = start.take()
                {
                    spans.push((s, i + 1));
                }
            }
            b',' if depth == 1 => {
                if let Some(s) = start.take() {
                    spans.push((s, i));
                }
            }
            c if depth == 1 && start.is_none() && !c.is_ascii_whitespace() => start = Some(i),
            _ => {}
        }
    }
    spans
}

/// 1-based line of byte `offset`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The line of the first `needle` in `text[from..to]` (else the line of `from`).
fn line_of_in(text: &str, (from, to): (usize, usize), needle: &str) -> usize {
    let at = text
        .get(from..to)
        .and_then(|s| s.find(needle))
        .map_or(from, |i| from + i);
    line_of(text, at)
}

/// The image file a task's URL names (its last path segment; an upload's `<8 hex>-` prefix
/// is dropped when only the bare name exists).
fn image_name(url: &str, images: &Path) -> String {
    let last = url.rsplit(['/', '=']).next().unwrap_or(url).to_owned();
    if !images.join(&last).is_file()
        && let Some((prefix, rest)) = last.split_once('-')
        && prefix.len() == 8
        && prefix.bytes().all(|b| b.is_ascii_hexdigit())
        && images.join(rest).is_file()
    {
        return rest.to_owned();
    }
    last
}

/// One task converted: the image, its label lines.
struct Converted {
    image: String,
    lines: Vec<LabelLine>,
}

/// Imports Label Studio's JSON export `export` into the pool `out` (`images/` +
/// `labels/`, then `dataset merge`): percent boxes become normalised centre boxes; an
/// annotation without boxes gives an empty label file (a background image); tasks without a
/// non-cancelled annotation are left out. The newest non-cancelled annotation of a task is
/// used. A rotated box, a label that is not ours, a region that is not a box or an image
/// not in `images` is refused with the export's file and line, and nothing is written.
pub fn import(export: &Path, images: &Path, out: &Path) -> Result<ImportSummary> {
    let text = std::fs::read_to_string(export).map_err(TrainerError::io(export))?;
    let malformed = |line: usize, message: String| LabelInput::Malformed {
        file: export.to_owned(),
        line,
        message,
    };
    let all: Value = serde_json::from_str(&text).map_err(|e| malformed(e.line(), e.to_string()))?;
    if !all.is_array() {
        return Err(malformed(
            1,
            "expected Label Studio's JSON export: an array of tasks".into(),
        )
        .into());
    }
    let spans = element_spans(&text);
    let mut converted = Vec::new();
    let mut summary = ImportSummary {
        out: out.to_owned(),
        boxes: vec![0; DAMAGE_CLASSES.len()],
        ..ImportSummary::default()
    };
    for (index, span) in spans.iter().enumerate() {
        let task_line = line_of(&text, span.0);
        let task: Task = serde_json::from_str(&text[span.0..span.1])
            .map_err(|e| malformed(task_line + e.line() - 1, e.to_string()))?;
        let task_id = task
            .id
            .as_ref()
            .map_or_else(|| format!("#{}", index + 1), |v| v.to_string());
        let Some(annotation) = task
            .annotations
            .iter()
            .enumerate()
            .filter(|(_, a)| !a.was_cancelled)
            .max_by(|(i, a), (j, b)| a.created_at.cmp(&b.created_at).then(i.cmp(j)))
            .map(|(_, a)| a)
        else {
            summary.unlabelled += 1;
            continue;
        };
        let url = task
            .data
            .get(TO_NAME)
            .and_then(Value::as_str)
            .ok_or_else(|| {
                malformed(task_line, format!("task {task_id}: no data.{TO_NAME} URL"))
            })?;
        let image = image_name(url, images);
        if !images.join(&image).is_file() {
            return Err(LabelInput::MissingImage {
                file: export.to_owned(),
                line: task_line,
                task: task_id,
                image,
                dir: images.to_owned(),
            }
            .into());
        }
        let mut lines = Vec::new();
        for region in &annotation.result {
            let region_line = line_of_in(&text, *span, &format!("\"{}\"", region.kind));
            match region.kind.as_str() {
                "rectanglelabels" => {}
                "polygonlabels" | "brushlabels" | "keypointlabels" | "ellipselabels" => {
                    return Err(LabelInput::NotABox {
                        file: export.to_owned(),
                        line: region_line,
                        task: task_id,
                        kind: region.kind.clone(),
                    }
                    .into());
                }
                // Choices, text areas and other per-image fields carry no box.
                _ => continue,
            }
            let num = |k: &str| region.value.get(k).and_then(Value::as_f64);
            let rotation = num("rotation").unwrap_or(0.0);
            if rotation.abs() > 1e-9 {
                return Err(LabelInput::RotatedBox {
                    file: export.to_owned(),
                    line: line_of_in(&text, *span, "\"rotation\""),
                    task: task_id,
                    rotation,
                }
                .into());
            }
            let (Some(x), Some(y), Some(w), Some(h)) =
                (num("x"), num("y"), num("width"), num("height"))
            else {
                return Err(malformed(
                    region_line,
                    format!("task {task_id}: a rectangle without x, y, width, height"),
                )
                .into());
            };
            let labels = region
                .value
                .get("rectanglelabels")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for label in labels {
                let label = label.as_str().unwrap_or_default().to_owned();
                let Some(class_id) = class_id(&label) else {
                    return Err(LabelInput::UnknownLabel {
                        file: export.to_owned(),
                        line: line_of_in(&text, *span, &format!("\"{label}\"")),
                        task: task_id,
                        label,
                        known: DAMAGE_CLASSES.join(", "),
                    }
                    .into());
                };
                let line = LabelLine {
                    class_id,
                    cx: (x + w / 2.0) / 100.0,
                    cy: (y + h / 2.0) / 100.0,
                    w: w / 100.0,
                    h: h / 100.0,
                };
                line.check(DAMAGE_CLASSES.len()).map_err(|e| {
                    malformed(
                        region_line,
                        format!(
                            "task {task_id}: {} box: {e}",
                            class_name(class_id).unwrap_or("?")
                        ),
                    )
                })?;
                lines.push(line);
            }
        }
        converted.push(Converted { image, lines });
    }
    let staging = Staging::new(out)?;
    let (img_dir, lbl_dir) = (staging.path().join("images"), staging.path().join("labels"));
    create_dir(&img_dir)?;
    create_dir(&lbl_dir)?;
    for c in &converted {
        let src = images.join(&c.image);
        let dest = img_dir.join(&c.image);
        std::fs::copy(&src, &dest).map_err(TrainerError::io(&src))?;
        let stem = Path::new(&c.image)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let label = lbl_dir.join(format!("{stem}.txt"));
        let body: String = c.lines.iter().map(|l| l.to_line() + "\n").collect();
        std::fs::write(&label, body).map_err(TrainerError::io(&label))?;
        summary.images += 1;
        if c.lines.is_empty() {
            summary.background += 1;
        }
        for l in &c.lines {
            summary.boxes[l.class_id as usize] += 1;
        }
    }
    staging.commit()?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_of_a_pretty_array() {
        let text = "[\n  {\"a\": \"x,]\"},\n  {\"b\": [1, 2]}\n]\n";
        let spans = element_spans(text);
        assert_eq!(spans.len(), 2);
        assert_eq!(&text[spans[0].0..spans[0].1], "{\"a\": \"x,]\"}");
        assert_eq!(&text[spans[1].0..spans[1].1], "{\"b\": [1, 2]}");
        assert_eq!(line_of(text, spans[1].0), 3);
    }

    #[test]
    fn config_lists_our_classes_in_id_order() {
        let xml = labeling_config();
        let dent = xml.find("\"dent\" category=\"0\"").expect("dent");
        let mold = xml.find("\"mold\" category=\"5\"").expect("mold");
        assert!(dent < mold);
    }
}
