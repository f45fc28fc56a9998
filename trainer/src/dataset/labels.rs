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

    /// The line of a box given by its corners, normalised to the image (each clamped to
    /// [0, 1]; [`Self::check`] still refuses a degenerate one).
    pub fn from_corners(class_id: u32, [x1, y1, x2, y2]: [f32; 4]) -> Self {
        let [x1, y1, x2, y2] = [x1, y1, x2, y2].map(|v| f64::from(v.clamp(0.0, 1.0)));
        Self {
            class_id,
            cx: (x1 + x2) / 2.0,
            cy: (y1 + y2) / 2.0,
            w: x2 - x1,
            h: y2 - y1,
        }
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
pub(super) mod tests {
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

    pub(crate) mod properties {
        use proptest::prelude::*;

        use super::super::*;

        const CLASSES: usize = 6;

        /// A coordinate in [0, 1], its bounds included (a uniform draw never hits them).
        fn coordinate() -> impl Strategy<Value = f64> {
            prop_oneof![Just(0.0), Just(1.0), 0.0..=1.0f64]
        }

        /// A side in [MIN_SIDE, 1], its bounds included.
        fn side() -> impl Strategy<Value = f64> {
            prop_oneof![Just(MIN_SIDE), Just(1.0), MIN_SIDE..=1.0f64]
        }

        /// A value outside [0, 1], the nearest ones included.
        fn outside() -> impl Strategy<Value = f64> {
            prop_oneof![
                Just(1.0 + f64::EPSILON),
                Just(-f64::MIN_POSITIVE),
                -1e6..-1e-9f64,
                (1.0 + 1e-9)..1e6f64,
            ]
        }

        /// A side below MIN_SIDE, the largest one (just below it) and 0 included.
        fn too_small() -> impl Strategy<Value = f64> {
            prop_oneof![
                Just(0.0),
                Just(f64::from_bits(MIN_SIDE.to_bits() - 1)),
                0.0..MIN_SIDE,
            ]
        }

        /// A class id past the last one (6 itself included).
        fn class_past_last() -> impl Strategy<Value = u32> {
            prop_oneof![
                Just(CLASSES as u32),
                CLASSES as u32..16,
                CLASSES as u32..=u32::MAX
            ]
        }

        /// A valid box: class in 0..6, centre in [0, 1], sides in [MIN_SIDE, 1] (the
        /// export's tests draw theirs here too).
        pub(crate) fn valid_line() -> impl Strategy<Value = LabelLine> {
            (
                0..CLASSES as u32,
                coordinate(),
                coordinate(),
                side(),
                side(),
            )
                .prop_map(|(class_id, cx, cy, w, h)| LabelLine {
                    class_id,
                    cx,
                    cy,
                    w,
                    h,
                })
        }

        /// Whitespace between (and around) fields: spaces, tabs, runs of them.
        fn gap() -> impl Strategy<Value = String> {
            prop_oneof![Just(" ".to_owned()), "[ \t]{1,3}"]
        }

        /// A number as a tool may write it: shortest round-trip form or exponent form (both
        /// parse back to the same `f64`).
        fn write_number(v: f64, exponent: bool) -> String {
            if exponent {
                format!("{v:e}")
            } else {
                format!("{v}")
            }
        }

        /// Fields that are almost numbers, to reach every refusal branch of the parser.
        fn field() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("0".to_owned()),
                Just("5".to_owned()),
                Just("6".to_owned()),
                Just("-1".to_owned()),
                Just("0.5".to_owned()),
                Just("1.0000001".to_owned()),
                Just("NaN".to_owned()),
                Just("inf".to_owned()),
                Just("-0".to_owned()),
                Just("1e-5".to_owned()),
                Just("4294967296".to_owned()),
                "[-+0-9.eE]{1,8}",
                any::<f64>().prop_map(|v| v.to_string()),
                ".{0,6}",
            ]
        }

        proptest! {
            /// Any text is parsed or refused without panicking; whatever is accepted passes
            /// every rule, and its own YOLO line (what the imports write) is accepted again
            /// with the same class and coordinates within the 6-decimal rounding.
            #[test]
            fn any_text_is_refused_or_accepted_only_when_it_passes_every_rule(
                text in prop_oneof![
                    ".{0,60}",
                    proptest::collection::vec((field(), gap()), 0..8).prop_map(|fields| {
                        fields.into_iter().map(|(f, g)| f + &g).collect::<String>()
                    }),
                ],
            ) {
                if let Ok(line) = LabelLine::parse(&text, CLASSES) {
                    prop_assert_eq!(line.check(CLASSES), Ok(()));
                    prop_assert!((line.class_id as usize) < CLASSES);
                    for v in [line.cx, line.cy, line.w, line.h] {
                        prop_assert!((0.0..=1.0).contains(&v), "{:?}", line);
                    }
                    prop_assert!(line.w >= MIN_SIDE && line.h >= MIN_SIDE, "{:?}", line);
                    let again = LabelLine::parse(&line.to_line(), CLASSES);
                    prop_assert!(again.is_ok(), "{:?} -> {:?}", line.to_line(), again);
                    if let Ok(again) = again {
                        prop_assert_eq!(again.class_id, line.class_id);
                        for (a, b) in [(again.cx, line.cx), (again.cy, line.cy), (again.w, line.w), (again.h, line.h)] {
                            prop_assert!((a - b).abs() <= 5e-7 + 1e-12, "{} vs {}", a, b);
                        }
                    }
                }
            }

            /// A generated valid line, however spaced and in either number notation,
            /// parses to exactly the generated box.
            #[test]
            fn a_valid_line_parses_to_exactly_its_box(
                line in valid_line(),
                exponent in any::<bool>(),
                gaps in proptest::collection::vec(gap(), 4),
                lead in "[ \t]{0,2}",
                trail in "[ \t]{0,2}",
            ) {
                let text = format!(
                    "{lead}{}{}{}{}{}{}{}{}{}{trail}",
                    line.class_id,
                    gaps[0],
                    write_number(line.cx, exponent),
                    gaps[1],
                    write_number(line.cy, exponent),
                    gaps[2],
                    write_number(line.w, exponent),
                    gaps[3],
                    write_number(line.h, exponent),
                );
                prop_assert_eq!(LabelLine::parse(&text, CLASSES), Ok(line));
            }

            /// One bad field in an otherwise valid line is refused by the rule it breaks:
            /// a class >= 6, a coordinate outside [0, 1], a side below MIN_SIDE, a NaN or
            /// infinity, a class that is not a u32, or a wrong number of fields.
            #[test]
            fn one_bad_field_is_refused_by_its_rule(
                line in valid_line(),
                at in 0usize..4,
                class in class_past_last(),
                outside in outside(),
                tiny in too_small(),
                not_finite in prop_oneof![
                    Just("NaN"), Just("nan"), Just("inf"), Just("-inf"), Just("infinity"),
                    Just("+NaN"), Just("-NaN"),
                ],
                bad_class in prop_oneof![
                    Just("-1".to_owned()),
                    Just("1.0".to_owned()),
                    Just("4294967296".to_owned()),
                    Just("0x1".to_owned()),
                    "[a-z]{1,4}",
                ],
                count in prop_oneof![0usize..5, 6usize..12],
                fault in 0u8..6,
            ) {
                let mut fields = vec![
                    line.class_id.to_string(),
                    line.cx.to_string(),
                    line.cy.to_string(),
                    line.w.to_string(),
                    line.h.to_string(),
                ];
                let parsed = |fields: &[String]| LabelLine::parse(&fields.join(" "), CLASSES);
                match fault {
                    0 => {
                        fields[0] = class.to_string();
                        prop_assert_eq!(
                            parsed(&fields),
                            Err(LineError::ClassOutOfRange { class_id: class, classes: CLASSES })
                        );
                    }
                    1 => {
                        fields[1 + at] = outside.to_string();
                        prop_assert!(
                            matches!(parsed(&fields), Err(LineError::NotNormalised(_))),
                            "{:?}", parsed(&fields)
                        );
                    }
                    2 => {
                        // Width or height below the minimum side (the centre stays valid).
                        fields[3 + at % 2] = tiny.to_string();
                        prop_assert!(
                            matches!(parsed(&fields), Err(LineError::Degenerate { .. })),
                            "{:?}", parsed(&fields)
                        );
                    }
                    3 => {
                        fields[1 + at] = not_finite.to_owned();
                        prop_assert!(
                            matches!(parsed(&fields), Err(LineError::Syntax(_))),
                            "{:?}", parsed(&fields)
                        );
                    }
                    4 => {
                        fields[0] = bad_class;
                        prop_assert!(
                            matches!(parsed(&fields), Err(LineError::Syntax(_))),
                            "{:?}", parsed(&fields)
                        );
                    }
                    _ => {
                        fields.resize(count, "0.5".to_owned());
                        let refused = parsed(&fields);
                        prop_assert!(
                            matches!(&refused, Err(LineError::Syntax(m)) if m.contains(&format!("got {count}"))),
                            "{:?}", refused
                        );
                    }
                }
            }
        }
    }
}
