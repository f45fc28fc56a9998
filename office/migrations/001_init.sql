-- The yard office's embedded store, version 1.
CREATE TABLE inspections (
    id               TEXT PRIMARY KEY NOT NULL,
    container_number TEXT NOT NULL,
    inspector_id     TEXT NOT NULL,
    created_at_ms    INTEGER NOT NULL,
    updated_at_ms    INTEGER NOT NULL,
    latitude         REAL,
    longitude        REAL,
    accuracy_m       REAL,
    state            TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    revision         INTEGER NOT NULL CHECK (revision >= 1),
    received_at_ms   INTEGER NOT NULL
) STRICT;
CREATE INDEX inspections_by_container ON inspections (container_number, created_at_ms);
CREATE INDEX inspections_by_date ON inspections (created_at_ms);

CREATE TABLE photos (
    id             TEXT PRIMARY KEY NOT NULL,
    inspection_id  TEXT NOT NULL REFERENCES inspections (id),
    sha256         TEXT NOT NULL,
    size_bytes     INTEGER NOT NULL,
    content_type   TEXT NOT NULL,
    received_at_ms INTEGER NOT NULL,
    detect_status  TEXT NOT NULL CHECK (detect_status IN ('none', 'pending', 'done', 'failed')),
    detect_error   TEXT
) STRICT;
CREATE INDEX photos_by_inspection ON photos (inspection_id, received_at_ms);

CREATE TABLE verdicts (
    photo_id       TEXT NOT NULL REFERENCES photos (id),
    source         TEXT NOT NULL CHECK (source IN ('edge', 'cloud')),
    model_name     TEXT NOT NULL,
    model_version  TEXT NOT NULL,
    model_sha256   TEXT NOT NULL,
    has_damage     INTEGER NOT NULL CHECK (has_damage IN (0, 1)),
    response       TEXT NOT NULL,
    received_at_ms INTEGER NOT NULL,
    PRIMARY KEY (photo_id, source, model_sha256)
) STRICT;
