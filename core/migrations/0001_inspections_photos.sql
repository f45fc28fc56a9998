-- Inspections and their photos, with the sync lifecycle columns.
-- Timestamps are Unix epoch milliseconds (UTC).

CREATE TABLE inspections (
    id               TEXT    PRIMARY KEY NOT NULL,          -- UUIDv7, time-ordered
    container_number TEXT    NOT NULL,                      -- normalised ISO 6346, e.g. CSQU3054383
    inspector_id     TEXT,
    created_at       INTEGER NOT NULL,
    closed_at        INTEGER,
    latitude         REAL,
    longitude        REAL,
    accuracy_m       REAL,
    notes            TEXT,
    CHECK ((latitude IS NULL) = (longitude IS NULL))
) STRICT;

CREATE INDEX inspections_by_created ON inspections (created_at DESC, id DESC);
CREATE INDEX inspections_by_container ON inspections (container_number, created_at DESC);

CREATE TABLE photos (
    id              TEXT    PRIMARY KEY NOT NULL,           -- UUIDv7; the file is photos/<id>.<ext>
    inspection_id   TEXT    NOT NULL REFERENCES inspections (id) ON DELETE RESTRICT,
    format          TEXT    NOT NULL CHECK (format IN ('jpeg', 'png')),
    sha256          TEXT    NOT NULL CHECK (length(sha256) = 64),
    size_bytes      INTEGER NOT NULL CHECK (size_bytes > 0),
    width           INTEGER NOT NULL CHECK (width > 0),
    height          INTEGER NOT NULL CHECK (height > 0),
    orientation     INTEGER NOT NULL DEFAULT 1 CHECK (orientation BETWEEN 1 AND 8),
    captured_at     INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    -- Lifecycle: queued -> synced (cloud result stored) | failed (permanent, see failure_reason).
    state           TEXT    NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'synced', 'failed')),
    attempt_count   INTEGER NOT NULL DEFAULT 0 CHECK (attempt_count >= 0),
    next_attempt_at INTEGER,
    last_error      TEXT,
    failure_reason  TEXT,
    -- Set when the photo cannot be decoded (edge detection gives the decoder's reason);
    -- such a photo is kept as evidence and never retried by the edge pass.
    unreadable_reason TEXT,
    CHECK ((state = 'failed') = (failure_reason IS NOT NULL))
) STRICT;

CREATE INDEX photos_by_inspection ON photos (inspection_id, created_at);
CREATE INDEX photos_by_state ON photos (state, next_attempt_at, created_at);
