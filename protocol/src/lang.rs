//! The report's two languages and text kept in both.

use serde::{Deserialize, Serialize};

/// A language the EIR is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// English.
    En,
    /// Spanish.
    Es,
}

impl Language {
    /// Both languages, English first.
    pub const ALL: [Language; 2] = [Language::En, Language::Es];
}

/// One text in English and Spanish.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Localized {
    /// English.
    pub en: String,
    /// Spanish.
    pub es: String,
}

impl Localized {
    /// Both texts.
    pub fn new(en: impl Into<String>, es: impl Into<String>) -> Self {
        Localized {
            en: en.into(),
            es: es.into(),
        }
    }

    /// The text in `lang`.
    pub fn get(&self, lang: Language) -> &str {
        match lang {
            Language::En => &self.en,
            Language::Es => &self.es,
        }
    }
}
