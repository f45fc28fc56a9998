//! UniFFI custom types of the core (feature `uniffi`, for omni-ffi only): ids cross the FFI as
//! their UUID strings and a photo's format as its name (`jpeg`, `png`, `heic`…). The core's
//! records and enums carry `uniffi` derives next to their definitions; omni-protocol's custom
//! types (timestamps as ms, container numbers, faces) are in its own `ffi` module.

use omni_photo::PhotoFormat;

use crate::inspection::{InspectionId, PhotoId};

uniffi::custom_type!(InspectionId, String, {
    lower: |id| id.to_string(),
    try_lift: |s| Ok(s.parse()?),
});

uniffi::custom_type!(PhotoId, String, {
    lower: |id| id.to_string(),
    try_lift: |s| Ok(s.parse()?),
});

uniffi::custom_type!(PhotoFormat, String, {
    remote,
    lower: |f| f.as_str().to_owned(),
    try_lift: |s| PhotoFormat::from_db(&s)
        .ok_or_else(|| uniffi::deps::anyhow::anyhow!("unknown photo format {s:?}")),
});
