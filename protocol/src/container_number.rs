//! ISO 6346 container numbers: owner code, equipment category, serial and check digit.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// A validated, normalised ISO 6346 container number such as `CSQU3054383`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContainerNumber(String);

/// What is wrong with a candidate container number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContainerNumberError {
    /// After removing spaces and hyphens the number is not 11 characters long.
    #[error("container number must have 11 characters (4 letters, 7 digits), got {len}")]
    Length {
        /// Characters found after normalisation.
        len: usize,
    },
    /// The first three characters are not letters A–Z.
    #[error("owner code {found:?} must be three letters A-Z")]
    OwnerCode {
        /// The three characters found.
        found: String,
    },
    /// The fourth character is not an equipment category identifier.
    #[error(
        "equipment category {found:?} must be U (freight), J (detachable equipment) or Z (trailer/chassis)"
    )]
    Category {
        /// The character found.
        found: char,
    },
    /// Characters 5 to 10 are not six digits.
    #[error("serial number {found:?} must be six digits")]
    Serial {
        /// The six characters found.
        found: String,
    },
    /// The last character is not a digit.
    #[error("check digit {found:?} must be a digit")]
    CheckDigitShape {
        /// The character found.
        found: char,
    },
    /// The check digit does not match the one computed from the first ten characters.
    #[error("check digit is {found} but ISO 6346 gives {expected} for {prefix}")]
    CheckDigit {
        /// The first ten characters.
        prefix: String,
        /// The digit computed from them.
        expected: u32,
        /// The digit given.
        found: u32,
    },
}

impl ContainerNumber {
    /// Parses and validates `input`, ignoring case, spaces and hyphens (`"csqu 305438-3"`).
    pub fn parse(input: &str) -> Result<Self, ContainerNumberError> {
        let normalised: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let chars: Vec<char> = normalised.chars().collect();
        if chars.len() != 11 {
            return Err(ContainerNumberError::Length { len: chars.len() });
        }
        if !chars[..3].iter().all(char::is_ascii_uppercase) {
            return Err(ContainerNumberError::OwnerCode {
                found: chars[..3].iter().collect(),
            });
        }
        if !matches!(chars[3], 'U' | 'J' | 'Z') {
            return Err(ContainerNumberError::Category { found: chars[3] });
        }
        if !chars[4..10].iter().all(char::is_ascii_digit) {
            return Err(ContainerNumberError::Serial {
                found: chars[4..10].iter().collect(),
            });
        }
        let found = chars[10]
            .to_digit(10)
            .ok_or(ContainerNumberError::CheckDigitShape { found: chars[10] })?;
        let prefix: String = chars[..10].iter().collect();
        let expected = check_digit(&prefix);
        if expected != found {
            return Err(ContainerNumberError::CheckDigit {
                prefix,
                expected,
                found,
            });
        }
        Ok(Self(normalised))
    }

    /// The normalised number, e.g. `CSQU3054383`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The three-letter owner code, e.g. `CSQ`.
    pub fn owner_code(&self) -> &str {
        &self.0[..3]
    }
}

/// The ISO 6346 check digit of a ten-character prefix already checked for shape.
fn check_digit(prefix: &str) -> u32 {
    let sum: u32 = prefix
        .chars()
        .enumerate()
        .map(|(position, c)| char_value(c) << position)
        .sum();
    sum % 11 % 10
}

/// ISO 6346 letter values: A = 10 upwards, skipping the multiples of 11 (11, 22, 33).
const LETTER_VALUES: [u32; 26] = [
    10, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 34, 35, 36,
    37, 38,
];

/// The ISO 6346 value of a character already checked to be `0-9` or `A-Z`.
fn char_value(c: char) -> u32 {
    match c {
        '0'..='9' => c as u32 - '0' as u32,
        _ => LETTER_VALUES[(c as u32 - 'A' as u32) as usize],
    }
}

impl FromStr for ContainerNumber {
    type Err = ContainerNumberError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for ContainerNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for ContainerNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letter_values_follow_iso_6346_table() {
        let table = [
            ('A', 10),
            ('B', 12),
            ('K', 21),
            ('L', 23),
            ('U', 32),
            ('V', 34),
            ('Z', 38),
        ];
        for (c, value) in table {
            assert_eq!(char_value(c), value, "value of {c}");
        }
    }

    #[test]
    fn accepts_real_container_numbers() {
        for number in [
            "CSQU3054383",
            "MSCU6639870",
            "MAEU8120519",
            "TGHU7631026",
            "HLXU8016622",
            "APZU4812090",
            "CMAU4589315",
            "MSCU1234566",
        ] {
            let parsed = ContainerNumber::parse(number)
                .unwrap_or_else(|e| panic!("{number} should be valid: {e}"));
            assert_eq!(parsed.as_str(), number);
        }
    }

    #[test]
    fn normalises_case_spaces_and_hyphens() {
        let parsed = ContainerNumber::parse("  csqu 305438-3 ").expect("valid");
        assert_eq!(parsed.as_str(), "CSQU3054383");
        assert_eq!(parsed.owner_code(), "CSQ");
        assert_eq!(parsed.to_string(), "CSQU3054383");
    }

    #[test]
    fn check_digit_ten_wraps_to_zero() {
        // Sum % 11 == 10 for this prefix, so the check digit is 0.
        let prefix = (0..1_000_000)
            .map(|serial| format!("CSQU{serial:06}"))
            .find(|p| {
                let sum: u32 = p.chars().enumerate().map(|(i, c)| char_value(c) << i).sum();
                sum % 11 == 10
            })
            .expect("some serial gives remainder 10");
        ContainerNumber::parse(&format!("{prefix}0")).expect("check digit 0 accepted");
    }

    #[test]
    fn wrong_check_digit_names_the_expected_one() {
        assert_eq!(
            ContainerNumber::parse("CSQU3054384"),
            Err(ContainerNumberError::CheckDigit {
                prefix: "CSQU305438".into(),
                expected: 3,
                found: 4
            })
        );
        assert!(matches!(
            ContainerNumber::parse("MSCU6639872"),
            Err(ContainerNumberError::CheckDigit { expected: 0, .. })
        ));
    }

    #[test]
    fn wrong_shapes_say_which_part_is_wrong() {
        use ContainerNumberError as E;
        assert_eq!(
            ContainerNumber::parse("CSQU305438"),
            Err(E::Length { len: 10 })
        );
        assert_eq!(ContainerNumber::parse(""), Err(E::Length { len: 0 }));
        assert_eq!(
            ContainerNumber::parse("CSQU30543833"),
            Err(E::Length { len: 12 })
        );
        assert_eq!(
            ContainerNumber::parse("C5QU3054383"),
            Err(E::OwnerCode {
                found: "C5Q".into()
            })
        );
        assert_eq!(
            ContainerNumber::parse("CSQX3054383"),
            Err(E::Category { found: 'X' })
        );
        assert_eq!(
            ContainerNumber::parse("CSQU30A4383"),
            Err(E::Serial {
                found: "30A438".into()
            })
        );
        assert_eq!(
            ContainerNumber::parse("CSQU305438X"),
            Err(E::CheckDigitShape { found: 'X' })
        );
        assert!(matches!(
            ContainerNumber::parse("ÄSQU3054383"),
            Err(E::OwnerCode { .. })
        ));
    }

    #[test]
    fn error_messages_are_readable() {
        let err = ContainerNumber::parse("CSQU3054384").expect_err("bad digit");
        assert_eq!(
            err.to_string(),
            "check digit is 4 but ISO 6346 gives 3 for CSQU305438"
        );
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::*;

        /// The ISO 6346 check digit of the first ten characters.
        fn check_digit(first_ten: &str) -> u32 {
            let sum: u32 = first_ten
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    let value = c.to_digit(10).unwrap_or_else(|| char_value(c));
                    value << i
                })
                .sum();
            sum % 11 % 10
        }

        proptest! {
            #[test]
            fn any_text_parses_or_is_refused_without_panicking(input in ".{0,40}") {
                if let Ok(number) = ContainerNumber::parse(&input) {
                    prop_assert_eq!(number.as_str().len(), 11);
                    prop_assert_eq!(ContainerNumber::parse(number.as_str()).ok(), Some(number.clone()));
                }
            }

            #[test]
            fn every_well_formed_number_is_accepted_and_every_wrong_check_digit_refused(
                owner in "[A-Z]{3}",
                category in "[UJZ]",
                serial in "[0-9]{6}",
                wrong in 0u32..10,
            ) {
                let first_ten = format!("{owner}{category}{serial}");
                let digit = check_digit(&first_ten);
                let valid = format!("{first_ten}{digit}");
                prop_assert_eq!(ContainerNumber::parse(&valid).map(|n| n.as_str().to_owned()).ok(), Some(valid.clone()));
                prop_assume!(wrong != digit);
                let refused = format!("{first_ten}{wrong}");
                prop_assert!(ContainerNumber::parse(&refused).is_err());
            }
        }
    }
}
