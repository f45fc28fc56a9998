-- People who sign in to the office's web view (phones sign requests with SigV4 instead).
CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL CHECK (role IN ('reviewer', 'viewer')),
    password_hash TEXT NOT NULL,          -- argon2id, PHC string
    created_at_ms INTEGER NOT NULL
) STRICT;

-- Signed-in sessions: the cookie holds a random token; only its SHA-256 is stored.
CREATE TABLE sessions (
    token_sha256  TEXT PRIMARY KEY,
    user_name     TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    csrf          TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_by_expiry ON sessions(expires_at_ms);
