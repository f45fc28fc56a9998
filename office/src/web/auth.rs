//! Who signs people in: one small trait over the embedded accounts ([`super::accounts`],
//! users and sessions in SQLite) and a Cognito user pool ([`super::cognito`], the office on
//! AWS). The pages only see [`AccountBackend`]: a sign-in opens a cookie value, a cookie value
//! opens a [`Session`], sign-out ends it.

use std::time::Duration;

use async_trait::async_trait;

use super::accounts::{AccountError, Accounts, SESSION_TTL, Session};

/// What a successful sign-in gives the browser.
#[derive(Debug)]
pub struct Opened {
    /// The session cookie's value.
    pub cookie: String,
    /// The session it opens.
    pub session: Session,
    /// How long the cookie should live (the session's own lifetime).
    pub max_age: Duration,
}

/// A way to sign people in.
#[async_trait]
pub trait AccountBackend: Send + Sync {
    /// Checks a name and password from `client` (its address, for rate limits).
    async fn sign_in(
        &self,
        name: &str,
        password: &str,
        client: &str,
    ) -> Result<Opened, AccountError>;
    /// The live session a cookie's value opens, if any.
    async fn session(&self, cookie: &str) -> Result<Option<Session>, AccountError>;
    /// Ends the session of a cookie's value.
    async fn sign_out(&self, cookie: &str) -> Result<(), AccountError>;
}

#[async_trait]
impl AccountBackend for Accounts {
    async fn sign_in(
        &self,
        name: &str,
        password: &str,
        client: &str,
    ) -> Result<Opened, AccountError> {
        let (accounts, name, password, client) = (
            self.clone(),
            name.to_owned(),
            password.to_owned(),
            client.to_owned(),
        );
        // argon2 takes tens of milliseconds of CPU: off the async workers.
        let (cookie, session) =
            tokio::task::spawn_blocking(move || accounts.sign_in(&name, &password, &client))
                .await
                .map_err(|e| AccountError::Backend(e.to_string()))??;
        Ok(Opened {
            cookie,
            session,
            max_age: SESSION_TTL,
        })
    }

    async fn session(&self, cookie: &str) -> Result<Option<Session>, AccountError> {
        Accounts::session(self, cookie)
    }

    async fn sign_out(&self, cookie: &str) -> Result<(), AccountError> {
        Accounts::sign_out(self, cookie)
    }
}
