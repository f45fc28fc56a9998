-- Inspections rebuilt by `recover` from quarantined photo files (the database row was lost):
-- when it happened. NULL for inspections captured normally.
ALTER TABLE inspections ADD COLUMN recovered_at INTEGER;
