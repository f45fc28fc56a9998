//! The office's reports: one EIR (`omni-report`) per closed inspection revision, built from
//! the store, by deterministic rules or by Amazon Nova when configured.
//!
//! - [`ReportSettings`]: the kinds and CEDEX tables the office uses, and Nova (or not).

use omni_report::{CedexTable, KindTable, NovaConfig};

/// How the office writes reports and reads faces: one value for the API, the CLI and the
/// Lambda.
#[derive(Clone, Debug)]
pub struct ReportSettings {
    /// Inspection kinds and the faces each requires (the bundled table, or the yard's).
    pub kinds: KindTable,
    /// CEDEX codes and the mapping of our classes (the bundled table, or the yard's).
    pub cedex: CedexTable,
    /// Amazon Nova through Bedrock; `None`: the deterministic rules write every report.
    pub nova: Option<NovaConfig>,
}

impl Default for ReportSettings {
    /// The bundled tables, no Nova.
    fn default() -> Self {
        Self {
            kinds: KindTable::builtin(),
            cedex: CedexTable::builtin(),
            nova: None,
        }
    }
}
