-- The yard office's embedded store, version 5: one report (EIR JSON) per inspection revision,
-- written once. A writer first claims the revision (`claimed_at_ms`); a claim older than the
-- office's limit may be taken over (its writer was cut off). `eir` is set once and never
-- replaced.
CREATE TABLE reports (
    inspection_id TEXT    NOT NULL REFERENCES inspections (id),
    revision      INTEGER NOT NULL CHECK (revision >= 1),
    claimed_at_ms INTEGER NOT NULL,
    eir           TEXT,
    PRIMARY KEY (inspection_id, revision)
) STRICT;
