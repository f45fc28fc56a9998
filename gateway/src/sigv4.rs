//! The SigV4 gate both services put before their handlers, as AWS's fronts do: the headers
//! are checked before a byte of the body is read, the body is read under a cap, and the
//! signature is verified over it.
//!
//! A request refused on its headers is answered at once; its body (if the client sends it
//! anyway) is read and thrown away in the background, within [`crate::body::drain`]'s
//! bounds, so the client reads the refusal instead of a reset. A client waiting for
//! `100 Continue` is never asked for its body.

use std::time::SystemTime;

use bytes::Bytes;
use http::request::Parts;
use http_body::Body;
use omni_sigv4::{AuthError, Credentials, SigV4Scope};

use crate::body::{self, Announced, BodyError};

/// What a request must carry: a SigV4 signature by `credentials` for `scope`.
#[derive(Clone, Copy, Debug)]
pub struct SigV4Gate<'a> {
    /// The one key accepted.
    pub credentials: &'a Credentials,
    /// Region and service the credential scope must name.
    pub scope: &'a SigV4Scope,
}

/// Why the gate refused a request.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    /// Refused on its headers; the body was not read.
    #[error(transparent)]
    Headers(AuthError),
    /// The body was over the cap or could not be read.
    #[error(transparent)]
    Body(BodyError),
    /// The signature does not cover this body and these headers.
    #[error(transparent)]
    Signature(AuthError),
}

/// Reads `body` under `cap` after checking the request's headers with `gate` (no gate: no
/// check), then verifies the signature over the body. `discarded` is called, from a
/// background task, with the bytes thrown away of a body refused on its headers.
pub async fn pass<B>(
    gate: Option<SigV4Gate<'_>>,
    parts: &Parts,
    body: B,
    cap: usize,
    discarded: impl FnOnce(usize) + Send + 'static,
) -> Result<Bytes, Refusal>
where
    B: Body + Unpin + Send + 'static,
    B::Data: Send,
    B::Error: std::fmt::Display,
{
    let announced = Announced::from_headers(&parts.headers);
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let check = match gate {
        None => None,
        Some(gate) => {
            match omni_sigv4::check_headers(
                gate.credentials,
                gate.scope,
                &headers,
                SystemTime::now(),
            ) {
                Ok(check) => Some(check),
                Err(e) => {
                    refuse_in_background(body, announced, discarded);
                    return Err(Refusal::Headers(e));
                }
            }
        }
    };
    let bytes = body::read_capped(body, announced, cap)
        .await
        .map_err(Refusal::Body)?;
    if let Some(check) = check {
        let host = parts
            .headers
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        check
            .verify_signature(
                parts.method.as_str(),
                &format!("http://{host}{path}"),
                &bytes,
            )
            .map_err(Refusal::Signature)?;
    }
    Ok(bytes)
}

/// Throws away what the client still sends of a refused body, after the answer.
fn refuse_in_background<B>(
    body: B,
    announced: Announced,
    discarded: impl FnOnce(usize) + Send + 'static,
) where
    B: Body + Unpin + Send + 'static,
    B::Data: Send,
{
    if announced.expects_continue {
        // Polling the body would send `100 Continue`: the client has sent nothing.
        discarded(0);
        return;
    }
    tokio::spawn(async move { discarded(body::drain(body).await) });
}
