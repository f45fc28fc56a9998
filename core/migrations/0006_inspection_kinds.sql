-- The inspection's kind (gate-in, gate-out, damage-survey, off-hire, or a yard's own), an id
-- of the inspection kinds table (omni-protocol's `data/inspection_kinds.toml`, or the yard's
-- file): it names the faces the inspection must photograph. NULL: no kind given (inspections
-- stored before this migration, or a host that gives none); nothing is then required.
ALTER TABLE inspections ADD COLUMN kind TEXT CHECK (kind IS NULL OR length(kind) BETWEEN 1 AND 120);
