-- The yard office's embedded store, version 4: the container face each photo shows (CEDEX
-- letter: F front, D door, L left, R right, T roof, U understructure, I interior, X whole;
-- photos received before this version show X) and the inspection's kind (an id of the kinds
-- table; NULL when the phone gave none).
ALTER TABLE photos ADD COLUMN face TEXT NOT NULL DEFAULT 'X'
    CHECK (face IN ('F', 'D', 'L', 'R', 'T', 'U', 'I', 'X'));
ALTER TABLE inspections ADD COLUMN kind TEXT;
