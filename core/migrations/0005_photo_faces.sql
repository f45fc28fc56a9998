-- The container face each photo shows, by its CEDEX letter (docs/report.md): F front, D door,
-- L left, R right, T roof, U understructure, I interior, X whole container. Chosen at capture,
-- changeable until the photo is synced; photos stored before this migration show X.
ALTER TABLE photos ADD COLUMN face TEXT NOT NULL DEFAULT 'X'
    CHECK (face IN ('F', 'D', 'L', 'R', 'T', 'U', 'I', 'X'));
