-- The yard office's embedded store, version 7: a report per inspection revision AND review
-- state. `reviews` is the inspection's review count the report covers (reviews are only
-- added, never changed, so a count names one state); a review makes a new key and the
-- reports of earlier keys stay. Reports written before are kept with `reviews = 0`: they
-- were built from the verdicts alone. SQLite cannot change a primary key in place, so the
-- table is copied.
CREATE TABLE reports_by_review (
    inspection_id TEXT    NOT NULL REFERENCES inspections (id),
    revision      INTEGER NOT NULL CHECK (revision >= 1),
    reviews       INTEGER NOT NULL CHECK (reviews >= 0),
    claimed_at_ms INTEGER NOT NULL,
    eir           TEXT,
    PRIMARY KEY (inspection_id, revision, reviews)
) STRICT;
INSERT INTO reports_by_review (inspection_id, revision, reviews, claimed_at_ms, eir)
    SELECT inspection_id, revision, 0, claimed_at_ms, eir FROM reports;
DROP TABLE reports;
ALTER TABLE reports_by_review RENAME TO reports;
