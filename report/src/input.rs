//! What a report is written from: plain types the office fills from its store (no dependency
//! on the office or the phone core). Everything here is checked by [`ReportInput::validate`]
//! before a report is built.

use serde::{Deserialize, Serialize};

use crate::cedex::{Part, Sections};
use crate::class::DamageClass;
use crate::face::Face;

/// Bounds on an input: photos, detections per photo, reviews per photo, characters of a text,
/// bytes of one photo.
pub const MAX_PHOTOS: usize = 64;
/// Detections one photo may carry.
pub const MAX_DETECTIONS: usize = 300;
/// Reviews one photo may carry.
pub const MAX_REVIEWS: usize = 300;
/// Characters of an id, a name or a place.
pub const MAX_TEXT: usize = 200;
/// Bytes of one photo.
pub const MAX_PHOTO_BYTES: usize = 16 * 1024 * 1024;

/// One closed inspection revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportInput {
    /// The inspection's id.
    pub inspection_id: String,
    /// The inspection revision the report is for.
    pub revision: u32,
    /// How many reviews of the inspection the office counted when it read the photos'
    /// reviews (its review state; 0: none). Shown in the header, not checked.
    #[serde(default)]
    pub reviews: u32,
    /// The EIR number the office assigned.
    pub eir_number: String,
    /// ISO 6346 container number, as the office stored it.
    pub container_number: String,
    /// Inspection kind id (see [`crate::KindTable`]).
    pub kind: String,
    /// Who inspected.
    pub inspector: String,
    /// When the inspection began (ms since the Unix epoch, UTC).
    pub started_at_ms: i64,
    /// When it was closed.
    pub closed_at_ms: i64,
    /// Where.
    #[serde(default)]
    pub location: Option<Place>,
    /// Its photos.
    pub photos: Vec<PhotoInput>,
}

/// Where the inspection took place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Place {
    /// The yard or terminal, if known.
    #[serde(default)]
    pub name: Option<String>,
    /// Latitude, degrees.
    #[serde(default)]
    pub latitude: Option<f64>,
    /// Longitude, degrees.
    #[serde(default)]
    pub longitude: Option<f64>,
}

/// One photo and what was found on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoInput {
    /// The photo's id.
    pub id: String,
    /// The face it shows.
    pub face: Face,
    /// Width in oriented pixels (the frame the boxes are in).
    pub width: u32,
    /// Height in oriented pixels.
    pub height: u32,
    /// The verdict the report uses (the office picks cloud over edge), if any.
    #[serde(default)]
    pub verdict: Option<VerdictInput>,
    /// Reviews of this photo, oldest first.
    #[serde(default)]
    pub reviews: Vec<ReviewInput>,
    /// The photo's bytes (JPEG or PNG), for Nova and the PDF; not part of the JSON.
    #[serde(skip)]
    pub bytes: Option<Vec<u8>>,
}

/// A detection result (response schema v1) the report cites.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerdictInput {
    /// `cloud` or `edge`.
    pub source: String,
    /// The model's name and version.
    pub model: String,
    /// Its detections, boxes in the photo's oriented pixels.
    pub detections: Vec<DetectionInput>,
}

/// One detection.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DetectionInput {
    /// Schema-v1 class id.
    pub class_id: u32,
    /// Confidence in [0, 1].
    pub score: f32,
    /// The box.
    #[serde(rename = "box")]
    pub bbox: BoxPx,
}

/// A box in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BoxPx {
    /// Left.
    pub x1: f32,
    /// Top.
    pub y1: f32,
    /// Right.
    pub x2: f32,
    /// Bottom.
    pub y2: f32,
}

impl BoxPx {
    /// Its area in pixels.
    pub fn area(&self) -> f32 {
        (self.x2 - self.x1).max(0.0) * (self.y2 - self.y1).max(0.0)
    }
}

/// A reviewer's record about one photo (a new record beside the verdict, never an edit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewInput {
    /// The review's id.
    pub id: String,
    /// Who reviewed.
    pub reviewer: String,
    /// When.
    pub at_ms: i64,
    /// What was decided.
    pub action: ReviewAction,
    /// The part of the face and the sections, when the reviewer gave them.
    #[serde(default)]
    pub location: Option<ReviewedLocation>,
}

/// A review's decision.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReviewAction {
    /// The detection (index into the verdict's detections) is right.
    Confirm {
        /// Index of the detection.
        detection: usize,
    },
    /// The detection is not damage.
    Reject {
        /// Index of the detection.
        detection: usize,
    },
    /// The detection is damage of another class.
    Reclass {
        /// Index of the detection.
        detection: usize,
        /// The right class id.
        class_id: u32,
    },
    /// Damage the detector missed.
    Add {
        /// Its class id.
        class_id: u32,
        /// Its box.
        #[serde(rename = "box")]
        bbox: BoxPx,
    },
}

/// Part and sections of a CEDEX location, as a reviewer gave them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReviewedLocation {
    /// Part letter (T B H G L R X).
    pub part: char,
    /// Two section characters, e.g. `"5N"`.
    pub sections: [char; 2],
}

impl ReviewedLocation {
    /// The parsed part and sections, if well-formed.
    pub fn parsed(&self) -> Option<(Part, Sections)> {
        Some((
            Part::from_letter(self.part)?,
            Sections::new(self.sections[0], self.sections[1])?,
        ))
    }
}

/// Why an input was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// An id, name or place that is empty, too long, or has control characters.
    #[error("bad text in {0}: 1-200 printable characters expected")]
    Text(&'static str),
    /// Too many photos, detections or reviews.
    #[error("too many {0} (the limits are 64 photos, 300 detections and 300 reviews a photo)")]
    TooMany(&'static str),
    /// A class id outside the six classes.
    #[error(
        "photo {photo}: unknown class id {class_id} (expected 0-5: dent, dirt, rust, scratch, spoiled, mold)"
    )]
    Class {
        /// The photo.
        photo: String,
        /// The id.
        class_id: u32,
    },
    /// A score outside [0, 1], a box outside the photo, a zero-sized photo.
    #[error("photo {0}: a score, a box or the photo's size is out of range")]
    Geometry(String),
    /// A review naming a detection the verdict does not have.
    #[error("photo {photo}: review {review} names detection {detection}, which does not exist")]
    Review {
        /// The photo.
        photo: String,
        /// The review.
        review: String,
        /// The index named.
        detection: usize,
    },
    /// A reviewed location that is not a CEDEX part and sections.
    #[error(
        "photo {photo}: review {review} gives a bad location (part T B H G L R X, sections digits/N/X)"
    )]
    Location {
        /// The photo.
        photo: String,
        /// The review.
        review: String,
    },
    /// Two photos with one id.
    #[error("photo {0} appears twice")]
    DuplicatePhoto(String),
    /// Photo bytes over 16 MiB.
    #[error("photo {0}: over 16 MiB")]
    PhotoTooLarge(String),
}

fn text(s: &str, what: &'static str) -> Result<(), InputError> {
    let n = s.chars().count();
    if n == 0 || n > MAX_TEXT || s.chars().any(char::is_control) {
        return Err(InputError::Text(what));
    }
    Ok(())
}

fn box_ok(b: &BoxPx, w: u32, h: u32) -> bool {
    let (w, h) = (w as f32 + 1.0, h as f32 + 1.0);
    [b.x1, b.y1, b.x2, b.y2].iter().all(|v| v.is_finite())
        && b.x1 >= -1.0
        && b.y1 >= -1.0
        && b.x2 <= w
        && b.y2 <= h
        && b.x2 >= b.x1
        && b.y2 >= b.y1
}

impl ReportInput {
    /// Checks every bound and reference; nothing is built from an input that fails.
    pub fn validate(&self) -> Result<(), InputError> {
        text(&self.inspection_id, "inspection_id")?;
        text(&self.eir_number, "eir_number")?;
        text(&self.container_number, "container_number")?;
        text(&self.kind, "kind")?;
        text(&self.inspector, "inspector")?;
        if let Some(place) = &self.location {
            if let Some(name) = &place.name {
                text(name, "location")?;
            }
            let coords_ok = place
                .latitude
                .is_none_or(|v| v.is_finite() && v.abs() <= 90.0)
                && place
                    .longitude
                    .is_none_or(|v| v.is_finite() && v.abs() <= 180.0);
            if !coords_ok {
                return Err(InputError::Text("location"));
            }
        }
        if self.photos.len() > MAX_PHOTOS {
            return Err(InputError::TooMany("photos"));
        }
        for (i, photo) in self.photos.iter().enumerate() {
            photo.validate()?;
            if self.photos[..i].iter().any(|p| p.id == photo.id) {
                return Err(InputError::DuplicatePhoto(photo.id.clone()));
            }
        }
        Ok(())
    }
}

impl PhotoInput {
    fn validate(&self) -> Result<(), InputError> {
        text(&self.id, "photo id")?;
        let geometry = || InputError::Geometry(self.id.clone());
        if self.width == 0 || self.height == 0 || self.width > 100_000 || self.height > 100_000 {
            return Err(geometry());
        }
        if self
            .bytes
            .as_ref()
            .is_some_and(|b| b.len() > MAX_PHOTO_BYTES)
        {
            return Err(InputError::PhotoTooLarge(self.id.clone()));
        }
        let detections = self.verdict.as_ref().map_or(&[][..], |v| &v.detections);
        if let Some(v) = &self.verdict {
            text(&v.source, "verdict source")?;
            text(&v.model, "verdict model")?;
        }
        if detections.len() > MAX_DETECTIONS {
            return Err(InputError::TooMany("detections"));
        }
        if self.reviews.len() > MAX_REVIEWS {
            return Err(InputError::TooMany("reviews"));
        }
        let class = |class_id| {
            DamageClass::from_id(class_id).ok_or(InputError::Class {
                photo: self.id.clone(),
                class_id,
            })
        };
        for d in detections {
            class(d.class_id)?;
            if !(0.0..=1.0).contains(&d.score) || !box_ok(&d.bbox, self.width, self.height) {
                return Err(geometry());
            }
        }
        for r in &self.reviews {
            text(&r.id, "review id")?;
            text(&r.reviewer, "reviewer")?;
            let target = match r.action {
                ReviewAction::Confirm { detection } | ReviewAction::Reject { detection } => {
                    Some(detection)
                }
                ReviewAction::Reclass {
                    detection,
                    class_id,
                } => {
                    class(class_id)?;
                    Some(detection)
                }
                ReviewAction::Add { class_id, bbox } => {
                    class(class_id)?;
                    if !box_ok(&bbox, self.width, self.height) {
                        return Err(geometry());
                    }
                    None
                }
            };
            if let Some(detection) = target
                && detection >= detections.len()
            {
                return Err(InputError::Review {
                    photo: self.id.clone(),
                    review: r.id.clone(),
                    detection,
                });
            }
            if r.location.is_some_and(|l| l.parsed().is_none()) {
                return Err(InputError::Location {
                    photo: self.id.clone(),
                    review: r.id.clone(),
                });
            }
        }
        Ok(())
    }
}
