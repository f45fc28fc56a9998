//! The inspection report: an Equipment Interchange Receipt (EIR) with ISO 9897 (CEDEX) damage
//! lines for one closed inspection revision.
//!
//! - [`face`] and [`kinds`]: the container faces and the inspection kinds with the faces each
//!   requires (one data table a yard can replace), re-exported from `omni-protocol`, which the
//!   phone and the office share.
//! - [`cedex`]: our classes mapped to CEDEX damage and repair codes (one data table with its
//!   sources, closed code lists, a yard override), and the 4-character location code.
//! - [`eir`]: the report's schema (JSON), in English and Spanish.
//! - [`rules`]: the deterministic report; [`nova`]: Amazon Nova through Bedrock's Converse API,
//!   its answer checked, falling back to the rules.
//! - [`pdf`]: the EIR as a PDF.
//!
//! Plain input types ([`ReportInput`]): no dependency on the office, the phone core or any edge
//! runtime.

pub mod cedex;
pub mod class;
pub mod damage;
pub mod eir;
pub mod input;
pub mod nova;
pub mod pdf;
pub mod rules;
pub mod time;

/// The container faces, shared with the phone and the office (`omni-protocol`).
pub use omni_protocol::face;
/// The inspection kinds table, shared with the phone and the office (`omni-protocol`).
pub use omni_protocol::inspection_kind as kinds;
/// The report's two languages (`omni-protocol`).
pub use omni_protocol::lang;

pub use cedex::{CedexError, CedexTable, LocationCode};
pub use class::DamageClass;
pub use eir::{Eir, Method, Severity, TokenUsage, VerdictStatus, WrittenBy};
pub use face::{Face, FaceError};
pub use input::{InputError, ReportInput};
pub use kinds::{InspectionKind, KindError, KindTable};
pub use lang::{Language, Localized};
pub use nova::{DEFAULT_MODEL_ID, NovaConfig, NovaWriter};
pub use pdf::{PdfError, render_pdf};

/// Why no report could be built from an input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// The input broke a bound or a reference.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The inspection kind is not in the yard's table.
    #[error(transparent)]
    Kind(#[from] KindError),
    /// A reviewed location whose face and part the CEDEX table does not list.
    #[error("damage {damage}: location {code} is not a face/part combination of the CEDEX table")]
    Location {
        /// The damage.
        damage: String,
        /// The code.
        code: String,
    },
}

/// The deterministic report (same as [`rules::build`]).
pub fn build_report(
    input: &ReportInput,
    kinds: &KindTable,
    cedex: &CedexTable,
    generated_at_ms: i64,
) -> Result<Eir, ReportError> {
    rules::build(input, kinds, cedex, generated_at_ms)
}
