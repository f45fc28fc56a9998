//! YOLO detection label lines: `class cx cy w h`, coordinates normalised to the image.

/// A parsed label line.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LabelLine {
    /// Class id.
    pub class_id: u32,
    /// Box centre x, normalised.
    pub cx: f64,
    /// Box centre y, normalised.
    pub cy: f64,
    /// Box width, normalised.
    pub w: f64,
    /// Box height, normalised.
    pub h: f64,
}

/// What is wrong with a label line, by validation rule.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LineError {
    /// Not five fields of the right types.
    #[error("{0}")]
    Syntax(String),
    /// Class id outside `0..classes`.
    #[error("class {class_id} out of range 0..{classes}")]
    ClassOutOfRange {
        /// The id.
        class_id: u32,
        /// Number of classes.
        classes: usize,
    },
    /// A coordinate outside [0, 1].
    #[error("coordinates must be normalised to [0, 1], got {0}")]
    NotNormalised(String),
    /// Zero or negative width or height.
    #[error("degenerate box: width {w} height {h}")]
    Degenerate {
        /// Width.
        w: f64,
        /// Height.
        h: f64,
    },
}

/// Smallest normalised side of a box that is not degenerate (below a tenth of a pixel at 640).
pub const MIN_SIDE: f64 = 1e-4;

impl LabelLine {
    /// Parses and checks one non-empty line against `classes` class ids.
    pub fn parse(line: &str, classes: usize) -> Result<Self, LineError> {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(LineError::Syntax(format!(
                "expected 5 fields `class cx cy w h`, got {} (segmentation polygons are not boxes)",
                fields.len()
            )));
        }
        let class_id: u32 = fields[0]
            .parse()
            .map_err(|_| LineError::Syntax(format!("class {:?} is not an integer", fields[0])))?;
        let mut v = [0f64; 4];
        for (slot, field) in v.iter_mut().zip(&fields[1..]) {
            *slot = field
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| LineError::Syntax(format!("{field:?} is not a number")))?;
        }
        let [cx, cy, w, h] = v;
        let parsed = Self {
            class_id,
            cx,
            cy,
            w,
            h,
        };
        parsed.check(classes)?;
        Ok(parsed)
    }

    /// Checks class range, normalisation and degeneracy.
    pub fn check(&self, classes: usize) -> Result<(), LineError> {
        if self.class_id as usize >= classes {
            return Err(LineError::ClassOutOfRange {
                class_id: self.class_id,
                classes,
            });
        }
        let coords = [self.cx, self.cy, self.w, self.h];
        if coords.iter().any(|v| !(0.0..=1.0).contains(v)) {
            return Err(LineError::NotNormalised(format!(
                "{} {} {} {}",
                self.cx, self.cy, self.w, self.h
            )));
        }
        if self.w < MIN_SIDE || self.h < MIN_SIDE {
            return Err(LineError::Degenerate {
                w: self.w,
                h: self.h,
            });
        }
        Ok(())
    }

    /// The line in YOLO format, 6 decimals.
    pub fn to_line(&self) -> String {
        format!(
            "{} {:.6} {:.6} {:.6} {:.6}",
            self.class_id, self.cx, self.cy, self.w, self.h
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert!(LabelLine::parse("0 0.5 0.5 0.1 0.1", 6).is_ok());
        assert!(matches!(
            LabelLine::parse("6 0.5 0.5 0.1 0.1", 6),
            Err(LineError::ClassOutOfRange { class_id: 6, .. })
        ));
        assert!(matches!(
            LabelLine::parse("0 1.5 0.5 0.1 0.1", 6),
            Err(LineError::NotNormalised(_))
        ));
        assert!(matches!(
            LabelLine::parse("0 0.5 0.5 0 0.1", 6),
            Err(LineError::Degenerate { .. })
        ));
        assert!(matches!(
            LabelLine::parse("0 0.5 0.5 0.1", 6),
            Err(LineError::Syntax(_))
        ));
        assert!(matches!(
            LabelLine::parse("x 0.5 0.5 0.1 0.1", 6),
            Err(LineError::Syntax(_))
        ));
        assert!(matches!(
            LabelLine::parse("0 NaN 0.5 0.1 0.1", 6),
            Err(LineError::Syntax(_))
        ));
    }
}
