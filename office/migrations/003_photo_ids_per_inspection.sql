-- The yard office's embedded store, version 3: a photo id is unique within its inspection, not
-- across the office (docs/office.md, "Ids"), as on DynamoDB where photos are keyed per
-- inspection. `photos` is keyed by (inspection_id, id); a verdict names its photo by both, so
-- `verdicts` gains inspection_id. Every row is copied: a verdict whose photo is missing (it
-- cannot exist with foreign keys on) would fail the NOT NULL and roll the migration back
-- rather than be dropped. Photo files keep their names (`photos/<photo id>.<sha256>`): the
-- same id and SHA-256 under two inspections are the same bytes.
ALTER TABLE verdicts RENAME TO verdicts_v2;
ALTER TABLE photos RENAME TO photos_v2;

CREATE TABLE photos (
    inspection_id        TEXT NOT NULL REFERENCES inspections (id),
    id                   TEXT NOT NULL,
    sha256               TEXT NOT NULL,
    size_bytes           INTEGER NOT NULL,
    content_type         TEXT NOT NULL,
    received_at_ms       INTEGER NOT NULL,
    detect_status        TEXT NOT NULL
                         CHECK (detect_status IN ('none', 'pending', 'done', 'failed')),
    detect_error         TEXT,
    detect_claimed_at_ms INTEGER,
    PRIMARY KEY (inspection_id, id)
) STRICT;

CREATE TABLE verdicts (
    inspection_id  TEXT NOT NULL,
    photo_id       TEXT NOT NULL,
    source         TEXT NOT NULL CHECK (source IN ('edge', 'cloud')),
    model_name     TEXT NOT NULL,
    model_version  TEXT NOT NULL,
    model_sha256   TEXT NOT NULL,
    has_damage     INTEGER NOT NULL CHECK (has_damage IN (0, 1)),
    response       TEXT NOT NULL,
    received_at_ms INTEGER NOT NULL,
    PRIMARY KEY (inspection_id, photo_id, source, model_sha256),
    FOREIGN KEY (inspection_id, photo_id) REFERENCES photos (inspection_id, id)
) STRICT;

INSERT INTO photos (inspection_id, id, sha256, size_bytes, content_type, received_at_ms,
                    detect_status, detect_error, detect_claimed_at_ms)
SELECT inspection_id, id, sha256, size_bytes, content_type, received_at_ms,
       detect_status, detect_error, detect_claimed_at_ms
FROM photos_v2;

INSERT INTO verdicts (inspection_id, photo_id, source, model_name, model_version, model_sha256,
                      has_damage, response, received_at_ms)
SELECT p.inspection_id, v.photo_id, v.source, v.model_name, v.model_version, v.model_sha256,
       v.has_damage, v.response, v.received_at_ms
FROM verdicts_v2 v LEFT JOIN photos_v2 p ON p.id = v.photo_id;

DROP TABLE verdicts_v2;
DROP TABLE photos_v2;

CREATE INDEX photos_by_inspection ON photos (inspection_id, received_at_ms);
