//! The people who sign in to the web view: users with a role and an argon2id password hash,
//! and their sessions, in `accounts.sqlite3` beside the embedded store (phones never appear
//! here: they sign requests with SigV4).
//!
//! A session cookie holds a random 256-bit token; only its SHA-256 is stored, so a copy of
//! the database signs nobody in. Failed sign-ins are limited per user name and per client
//! address ([`MAX_FAILURES`] in [`FAILURE_WINDOW`]); an unknown name costs the same argon2
//! work as a known one, so timing does not tell which names exist.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

/// Failed sign-ins allowed per user name, and per client address, in [`FAILURE_WINDOW`].
pub const MAX_FAILURES: usize = 5;
/// The window failed sign-ins are counted in.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// How long a session lasts after sign-in.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Shortest password accepted by `users add`.
pub const MIN_PASSWORD: usize = 12;
/// Longest password accepted (argon2 would hash any length; the bound keeps work fixed).
pub const MAX_PASSWORD: usize = 256;

const MIGRATIONS: &[&str] = &[include_str!("../../migrations/accounts/001_accounts.sql")];

/// What a user may do in the web view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Sees everything, reviews photos.
    Reviewer,
    /// Sees everything, changes nothing.
    Viewer,
}

impl Role {
    /// The stored (and command-line) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reviewer => "reviewer",
            Role::Viewer => "viewer",
        }
    }

    fn parse(s: &str) -> Option<Role> {
        match s {
            "reviewer" => Some(Role::Reviewer),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }
}

/// A signed-in person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// The user's name.
    pub user: String,
    /// The user's role.
    pub role: Role,
    /// The token every state-changing form of this session must carry.
    pub csrf: String,
}

/// Why an accounts operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// A user name outside `[a-z0-9._@-]{1,64}` (lower case).
    #[error("user name {0:?}: use 1 to 64 of a-z, 0-9, '.', '_', '@', '-'")]
    BadName(String),
    /// A password shorter than [`MIN_PASSWORD`] or longer than [`MAX_PASSWORD`].
    #[error("the password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")]
    BadPassword,
    /// `users add` of a name that exists.
    #[error("user {0:?} exists")]
    Exists(String),
    /// Wrong name or password (which one is not said).
    #[error("wrong user name or password")]
    Refused,
    /// Too many failed sign-ins: try again after this long.
    #[error("too many failed sign-ins; try again in {} s", .0.as_secs().max(1))]
    RateLimited(Duration),
    /// The password was right but the account needs a step the office does not offer (a
    /// Cognito challenge: a new password, MFA).
    #[error("the account needs a step the office does not offer: {0}")]
    Challenge(String),
    /// The database, or a file it needs, failed.
    #[error("accounts store: {0}")]
    Backend(String),
}

fn backend(e: impl std::fmt::Display) -> AccountError {
    AccountError::Backend(e.to_string())
}

/// Names and addresses with failures remembered at once (memory bound).
const MAX_TRACKED: usize = 100_000;

/// Users and sessions (SQLite, WAL) and the in-memory failure counts; a clone shares them
/// (a sign-in's argon2 check runs on a blocking thread with its own handle).
#[derive(Clone, Debug)]
pub struct Accounts {
    conn: Arc<Mutex<Connection>>,
    failures: Arc<Mutex<HashMap<String, Vec<Instant>>>>,
    /// Verified against when the name is unknown, so that costs a full argon2 check too.
    decoy_hash: Arc<str>,
}

fn argon2() -> Argon2<'static> {
    // OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn random_hex(bytes: usize) -> Result<String, AccountError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| backend(format!("no randomness: {e}")))?;
    Ok(hex::encode(buf))
}

fn hash_password(password: &str) -> Result<String, AccountError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| backend(format!("no randomness: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(backend)?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(backend)
}

fn check_name(name: &str) -> Result<(), AccountError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._@-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(AccountError::BadName(name.chars().take(80).collect()))
    }
}

fn token_sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Now, ms since the epoch.
pub(super) fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis(),
    )
    .unwrap_or(i64::MAX)
}

impl Accounts {
    /// Opens (creating) `dir/accounts.sqlite3` and brings its schema up to date.
    pub fn open(dir: &Path) -> Result<Self, AccountError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| backend(format!("cannot create {}: {e}", dir.display())))?;
        let conn =
            crate::sqlite::open(&dir.join("accounts.sqlite3"), MIGRATIONS).map_err(backend)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            failures: Arc::new(Mutex::new(HashMap::new())),
            decoy_hash: hash_password("decoy password, never a user's")?.into(),
        })
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>, AccountError> {
        self.conn
            .lock()
            .map_err(|_| backend("a previous accounts call panicked"))
    }

    /// Adds a user (`omni-office users add`).
    pub fn add_user(&self, name: &str, role: Role, password: &str) -> Result<(), AccountError> {
        check_name(name)?;
        if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&password.chars().count()) {
            return Err(AccountError::BadPassword);
        }
        let hash = hash_password(password)?;
        let inserted = self
            .conn()?
            .execute(
                "INSERT INTO users (name, role, password_hash, created_at_ms) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (name) DO NOTHING",
                params![name, role.as_str(), hash, now_ms()],
            )
            .map_err(backend)?;
        if inserted == 0 {
            return Err(AccountError::Exists(name.to_owned()));
        }
        Ok(())
    }

    /// The users, by name, with their roles.
    pub fn users(&self) -> Result<Vec<(String, Role)>, AccountError> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare("SELECT name, role FROM users ORDER BY name")
            .map_err(backend)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(backend)?;
        let mut users = Vec::new();
        for row in rows {
            let (name, role) = row.map_err(backend)?;
            let role = Role::parse(&role).ok_or_else(|| backend(format!("role {role:?}")))?;
            users.push((name, role));
        }
        Ok(users)
    }

    /// How long `keys` must wait before another attempt, if any has [`MAX_FAILURES`]
    /// failures in the window.
    fn limited(&self, keys: &[String], now: Instant) -> Option<Duration> {
        let mut failures = self.failures.lock().ok()?;
        keys.iter()
            .filter_map(|key| {
                let times = failures.get_mut(key)?;
                times.retain(|t| now.duration_since(*t) < FAILURE_WINDOW);
                (times.len() >= MAX_FAILURES)
                    .then(|| {
                        times
                            .first()
                            .map(|t| FAILURE_WINDOW - now.duration_since(*t))
                    })
                    .flatten()
            })
            .max()
    }

    fn count_failure(&self, keys: &[String], now: Instant) {
        if let Ok(mut failures) = self.failures.lock() {
            // Names and addresses are the client's choice: forget the stale ones before the
            // map can grow without bound.
            if failures.len() >= MAX_TRACKED {
                failures.retain(|_, times| {
                    times.retain(|t| now.duration_since(*t) < FAILURE_WINDOW);
                    !times.is_empty()
                });
            }
            if failures.len() >= MAX_TRACKED {
                // Still full of live entries: forget the half whose last failure is oldest.
                let mut last: Vec<(Instant, String)> = failures
                    .iter()
                    .filter_map(|(k, times)| times.last().map(|t| (*t, k.clone())))
                    .collect();
                last.sort_unstable();
                for (_, key) in last.iter().take(MAX_TRACKED / 2) {
                    failures.remove(key);
                }
            }
            for key in keys {
                failures.entry(key.clone()).or_default().push(now);
            }
        }
    }

    /// Checks a name and password from `client` (its address) and opens a session: the
    /// cookie's token and the session.
    pub fn sign_in(
        &self,
        name: &str,
        password: &str,
        client: &str,
    ) -> Result<(String, Session), AccountError> {
        let now = Instant::now();
        let keys = [format!("user:{name}"), format!("client:{client}")];
        if let Some(wait) = self.limited(&keys, now) {
            return Err(AccountError::RateLimited(wait));
        }
        let found = if check_name(name).is_ok() && password.len() <= MAX_PASSWORD * 4 {
            self.conn()?
                .query_row(
                    "SELECT role, password_hash FROM users WHERE name = ?1",
                    [name],
                    |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
                )
                .optional()
                .map_err(backend)?
        } else {
            None
        };
        let hash = found
            .as_ref()
            .map_or(&*self.decoy_hash, |(_, h)| h.as_str());
        let parsed = PasswordHash::new(hash).map_err(backend)?;
        let verified = argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        let role = found.as_ref().and_then(|(r, _)| Role::parse(r));
        let (true, Some(role)) = (verified, role) else {
            self.count_failure(&keys, now);
            return Err(AccountError::Refused);
        };
        let token = random_hex(32)?;
        let csrf = random_hex(32)?;
        let created = now_ms();
        let ttl = i64::try_from(SESSION_TTL.as_millis()).unwrap_or(i64::MAX);
        let conn = self.conn()?;
        conn.execute("DELETE FROM sessions WHERE expires_at_ms <= ?1", [created])
            .map_err(backend)?;
        conn.execute(
            "INSERT INTO sessions (token_sha256, user_name, csrf, created_at_ms, expires_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                token_sha256(&token),
                name,
                csrf,
                created,
                created.saturating_add(ttl)
            ],
        )
        .map_err(backend)?;
        Ok((
            token,
            Session {
                user: name.to_owned(),
                role,
                csrf,
            },
        ))
    }

    /// The live session a cookie's token opens, if any.
    pub fn session(&self, token: &str) -> Result<Option<Session>, AccountError> {
        if token.len() != 64 {
            return Ok(None);
        }
        let row = self
            .conn()?
            .query_row(
                "SELECT s.user_name, u.role, s.csrf FROM sessions s JOIN users u ON u.name = s.user_name
                 WHERE s.token_sha256 = ?1 AND s.expires_at_ms > ?2",
                params![token_sha256(token), now_ms()],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()
            .map_err(backend)?;
        Ok(row.and_then(|(user, role, csrf)| {
            Some(Session {
                user,
                role: Role::parse(&role)?,
                csrf,
            })
        }))
    }

    /// Ends the session of a cookie's token.
    pub fn sign_out(&self, token: &str) -> Result<(), AccountError> {
        self.conn()?
            .execute(
                "DELETE FROM sessions WHERE token_sha256 = ?1",
                [token_sha256(token)],
            )
            .map_err(backend)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn sign_in_out_and_the_failure_limit() {
        let dir = tempfile::tempdir().unwrap();
        let accounts = Accounts::open(dir.path()).unwrap();
        accounts
            .add_user("ana", Role::Reviewer, "correct horse battery")
            .unwrap();
        assert!(matches!(
            accounts.add_user("ana", Role::Viewer, "another long password"),
            Err(AccountError::Exists(_))
        ));
        assert!(matches!(
            accounts.add_user("Ana<script>", Role::Viewer, "another long password"),
            Err(AccountError::BadName(_))
        ));
        assert!(matches!(
            accounts.add_user("bo", Role::Viewer, "short"),
            Err(AccountError::BadPassword)
        ));
        let (token, session) = accounts
            .sign_in("ana", "correct horse battery", "127.0.0.1")
            .unwrap();
        assert_eq!(session.role, Role::Reviewer);
        assert_eq!(accounts.session(&token).unwrap(), Some(session));
        accounts.sign_out(&token).unwrap();
        assert_eq!(accounts.session(&token).unwrap(), None);

        for _ in 0..MAX_FAILURES {
            assert!(matches!(
                accounts.sign_in("ana", "wrong password!!", "10.0.0.9"),
                Err(AccountError::Refused)
            ));
        }
        // The right password no longer helps from there, nor for that name elsewhere.
        assert!(matches!(
            accounts.sign_in("ana", "correct horse battery", "10.0.0.9"),
            Err(AccountError::RateLimited(_))
        ));
        assert!(matches!(
            accounts.sign_in("ana", "correct horse battery", "10.0.0.10"),
            Err(AccountError::RateLimited(_))
        ));
        // Unknown names are refused like wrong passwords.
        assert!(matches!(
            accounts.sign_in("nobody", "whatever it is", "10.0.0.11"),
            Err(AccountError::Refused)
        ));
    }
}
