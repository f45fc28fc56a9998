-- The verdict on the box (docs/sync.md, "The verdict on the box"): what the yard office's
-- report (EIR) of a closed inspection says, read back by the office lane once the office has
-- acknowledged the inspection, its photos and verdicts. One row per inspection: the latest
-- revision read; a newer revision of the inspection is read again.
CREATE TABLE box_verdicts (
    inspection_id   TEXT    PRIMARY KEY NOT NULL REFERENCES inspections (id),
    revision        INTEGER NOT NULL CHECK (revision >= 1),        -- the phone's revision read for
    report_revision INTEGER NOT NULL CHECK (report_revision >= 1), -- the EIR header's revision
    eir_number      TEXT    NOT NULL CHECK (length(eir_number) BETWEEN 1 AND 64),
    status          TEXT    NOT NULL CHECK (status IN ('sound', 'repair_needed', 'not_fit')),
    reason_en       TEXT    NOT NULL CHECK (length(reason_en) BETWEEN 1 AND 2000),
    reason_es       TEXT    NOT NULL CHECK (length(reason_es) BETWEEN 1 AND 2000),
    damage_lines    INTEGER NOT NULL CHECK (damage_lines >= 0),
    fetched_at      INTEGER NOT NULL
) STRICT;

-- The office lane's outbox gains a record kind: a report to read ('report', keyed by the
-- inspection id). SQLite cannot change a CHECK in place, so the table is rebuilt.
CREATE TABLE office_outbox_v7 (
    kind            TEXT    NOT NULL CHECK (kind IN ('inspection', 'photo', 'verdict', 'report')),
    item            TEXT    NOT NULL,   -- inspection id, photo id, detection_results.id
    attempt_count   INTEGER NOT NULL DEFAULT 0 CHECK (attempt_count >= 0),
    next_attempt_at INTEGER,
    last_error      TEXT,
    failure_reason  TEXT,               -- set: wedged until retried by hand
    PRIMARY KEY (kind, item)
) STRICT;
INSERT INTO office_outbox_v7 (kind, item, attempt_count, next_attempt_at, last_error, failure_reason)
    SELECT kind, item, attempt_count, next_attempt_at, last_error, failure_reason FROM office_outbox;
DROP TABLE office_outbox;
ALTER TABLE office_outbox_v7 RENAME TO office_outbox;
