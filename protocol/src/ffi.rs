//! UniFFI custom types (feature `uniffi`): how the newtypes cross the FFI. A timestamp is
//! milliseconds since the Unix epoch (`Long`/`Int64`/`int`), a container number and a face
//! are their strings (`CSQU3054383`, a CEDEX letter).

use crate::{ContainerNumber, Face, Timestamp};

uniffi::custom_type!(Timestamp, i64, {
    lower: |t| t.as_millis(),
    try_lift: |ms| Ok(Timestamp::from_millis(ms)),
});

uniffi::custom_type!(ContainerNumber, String, {
    lower: |c| c.as_str().to_owned(),
    try_lift: |s| Ok(ContainerNumber::parse(&s)?),
});

uniffi::custom_type!(Face, String, {
    lower: |f| f.letter().to_string(),
    try_lift: |s| Ok(Face::parse(&s)?),
});
