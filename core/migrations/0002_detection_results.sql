-- Detection results (edge and cloud) stored per photo, with the model identity.

-- One detection run of one model over one photo (edge or cloud).
CREATE TABLE detection_results (
    id            INTEGER PRIMARY KEY,
    photo_id      TEXT    NOT NULL REFERENCES photos (id) ON DELETE CASCADE,
    source        TEXT    NOT NULL CHECK (source IN ('edge', 'cloud')),
    model_name    TEXT    NOT NULL,
    model_version TEXT    NOT NULL,
    model_sha256  TEXT    NOT NULL,
    inference_ms  REAL    NOT NULL CHECK (inference_ms >= 0),
    image_width   INTEGER NOT NULL CHECK (image_width > 0),   -- oriented size the boxes refer to
    image_height  INTEGER NOT NULL CHECK (image_height > 0),
    created_at    INTEGER NOT NULL,
    UNIQUE (photo_id, source, model_sha256)
) STRICT;

-- The boxes of one result, in original (EXIF-oriented) image pixels.
CREATE TABLE detections (
    result_id INTEGER NOT NULL REFERENCES detection_results (id) ON DELETE CASCADE,
    ordinal   INTEGER NOT NULL,
    class_id  INTEGER NOT NULL CHECK (class_id >= 0),
    label     TEXT    NOT NULL,
    score     REAL    NOT NULL CHECK (score BETWEEN 0 AND 1),
    x1        REAL    NOT NULL,
    y1        REAL    NOT NULL,
    x2        REAL    NOT NULL,
    y2        REAL    NOT NULL,
    PRIMARY KEY (result_id, ordinal),
    CHECK (x2 >= x1 AND y2 >= y1)
) STRICT;
