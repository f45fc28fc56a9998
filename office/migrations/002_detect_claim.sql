-- The yard office's embedded store, version 2: when the running detection of a `pending`
-- photo was last claimed (NULL: at upload, received_at_ms). A detection cut off by a
-- restart stays `pending`; once its claim is older than the detector's lease, the next
-- read of the inspection claims it again and detects it (docs/office.md).
ALTER TABLE photos ADD COLUMN detect_claimed_at_ms INTEGER;
