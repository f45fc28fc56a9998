-- The office lane (docs/sync.md, "The office lane"): what the yard office has acknowledged,
-- so nothing is sent twice and nothing is lost.

-- Each inspection's revision grows with every change the office must see (creation = 1,
-- close = 2); `office_revision` is the highest the office acknowledged (NULL: none yet).
ALTER TABLE inspections ADD COLUMN revision INTEGER NOT NULL DEFAULT 1 CHECK (revision >= 1);
ALTER TABLE inspections ADD COLUMN office_revision INTEGER;
UPDATE inspections SET revision = 2 WHERE closed_at IS NOT NULL;

-- When the office acknowledged the photo's bytes (NULL: not yet).
ALTER TABLE photos ADD COLUMN office_at INTEGER;

-- When the office acknowledged the verdict (NULL: not pushed yet).
ALTER TABLE detection_results ADD COLUMN office_at INTEGER;

-- Retry and wedge state of the office lane's records (an inspection revision, a photo
-- upload, a verdict). A row exists only while an item is retrying or wedged; it is deleted
-- in the transaction that records the office's acknowledgement.
CREATE TABLE office_outbox (
    kind            TEXT    NOT NULL CHECK (kind IN ('inspection', 'photo', 'verdict')),
    item            TEXT    NOT NULL,   -- inspection id, photo id, detection_results.id
    attempt_count   INTEGER NOT NULL DEFAULT 0 CHECK (attempt_count >= 0),
    next_attempt_at INTEGER,
    last_error      TEXT,
    failure_reason  TEXT,               -- set: wedged until retried by hand
    PRIMARY KEY (kind, item)
) STRICT;
