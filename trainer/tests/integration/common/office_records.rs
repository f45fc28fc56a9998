//! The office records the labeling tests and the labeling bench store: a closed inspection
//! and a photo of the whole box, received at [`T0`]. Also included by path in
//! `benches/labeling.rs`, so it uses only `omni_office` and `omni_e2e`.

use omni_office::wire::{self, InspectionState};

/// When every record is received (and the inspections last updated).
pub const T0: i64 = 1_700_000_000_000;

/// Inspection `id` of `container` by `inspector`, created at `created_at_ms`, closed at
/// revision 1.
pub fn closed_inspection(
    id: &str,
    container: &str,
    inspector: &str,
    created_at_ms: i64,
) -> wire::Inspection {
    wire::Inspection {
        id: id.to_owned(),
        container_number: container.to_owned(),
        inspector_id: inspector.to_owned(),
        created_at_ms,
        updated_at_ms: T0,
        location: None,
        state: InspectionState::Closed,
        revision: 1,
        received_at_ms: T0,
        kind: None,
    }
}

/// Photo `id` of inspection `inspection_id`: the JPEG `bytes`, of the whole box.
pub fn whole_photo(id: String, inspection_id: &str, bytes: &[u8]) -> wire::Photo {
    wire::Photo {
        id,
        inspection_id: inspection_id.to_owned(),
        sha256: omni_e2e::sha256_hex(bytes),
        size_bytes: bytes.len() as u64,
        content_type: "image/jpeg".into(),
        received_at_ms: T0,
        face: wire::Face::Whole,
    }
}
