-- The yard office's embedded store, version 6: reviews. A review is a person's boxes for one
-- photo, numbered per photo from 1 and never changed once written (`review` holds the whole
-- record as JSON; the other columns are its key and what the audit log sorts by). An
-- inspection marked reviewed keeps its first mark (`reviewed_at_ms`, `reviewed_by`); older
-- inspections read as not reviewed.
CREATE TABLE reviews (
    inspection_id  TEXT    NOT NULL,
    photo_id       TEXT    NOT NULL,
    revision       INTEGER NOT NULL CHECK (revision >= 1),
    reviewer       TEXT    NOT NULL,
    reviewed_at_ms INTEGER NOT NULL,
    review         TEXT    NOT NULL,
    PRIMARY KEY (inspection_id, photo_id, revision),
    FOREIGN KEY (inspection_id, photo_id) REFERENCES photos (inspection_id, id)
) STRICT;
ALTER TABLE inspections ADD COLUMN reviewed_at_ms INTEGER;
ALTER TABLE inspections ADD COLUMN reviewed_by TEXT;
