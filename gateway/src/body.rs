//! Request bodies read under a cap, and refused so that the client reads the refusal.
//!
//! A server that answers "too large" and closes while the client is still sending makes the
//! client fail with a broken pipe or a reset, never seeing the status. So a body over the cap
//! is read on and thrown away, up to [`DRAIN_LIMIT`] bytes and [`DRAIN_TIME`], before the
//! refusal is sent; past those bounds the connection is given up. A client that announced
//! `Expect: 100-continue` is refused on its `Content-Length` before it sends a byte (hyper
//! sends `100 Continue` only once the body is read, so it is never read).

use std::time::Duration;

use bytes::{Buf, Bytes};
use http::HeaderMap;
use http_body::Body;
use http_body_util::BodyExt;

/// The most bytes read and thrown away from a refused body.
pub const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

/// The longest time spent throwing away a refused body.
pub const DRAIN_TIME: Duration = Duration::from_secs(30);

/// Why a body was not read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BodyError {
    /// More than the cap (announced, or sent).
    #[error("request bodies are limited to {limit} bytes")]
    TooLarge {
        /// The cap.
        limit: usize,
    },
    /// The connection failed mid-body.
    #[error("cannot read the body: {0}")]
    Unreadable(String),
}

/// What a request's headers announce of its body.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Announced {
    /// `Content-Length`, when given and a number.
    pub length: Option<u64>,
    /// `Expect: 100-continue`: the client waits for a go-ahead before sending the body.
    pub expects_continue: bool,
}

impl Announced {
    /// Reads `Content-Length` and `Expect` from `headers`.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let text = |name: http::header::HeaderName| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
        };
        Self {
            length: text(http::header::CONTENT_LENGTH).and_then(|v| v.parse().ok()),
            expects_continue: text(http::header::EXPECT)
                .is_some_and(|v| v.eq_ignore_ascii_case("100-continue")),
        }
    }
}

/// Reads `body` whole when it is at most `limit` bytes. Over the cap (as announced or as
/// sent) it is drained within the bounds and [`BodyError::TooLarge`] returned, except for a
/// client waiting for `100 Continue`, which is refused before it sends anything.
pub async fn read_capped<B>(body: B, announced: Announced, limit: usize) -> Result<Bytes, BodyError>
where
    B: Body + Unpin,
    B::Error: std::fmt::Display,
{
    let too_large = BodyError::TooLarge { limit };
    if announced.length.is_some_and(|len| len > limit as u64) {
        refuse(body, announced).await;
        return Err(too_large);
    }
    let mut body = body;
    let mut bytes = Vec::with_capacity(
        announced
            .length
            .and_then(|len| usize::try_from(len).ok())
            .unwrap_or(0)
            .min(limit),
    );
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| BodyError::Unreadable(e.to_string()))?;
        if let Ok(mut data) = frame.into_data() {
            if bytes.len() + data.remaining() > limit {
                drain(body).await;
                return Err(too_large);
            }
            while data.has_remaining() {
                let chunk = data.chunk();
                bytes.extend_from_slice(chunk);
                let n = chunk.len();
                data.advance(n);
            }
        }
    }
    Ok(Bytes::from(bytes))
}

/// Before a refusal on the headers alone (a bad signature): drains `body` unless the client
/// waits for `100 Continue`, so that it reads the refusal.
pub async fn refuse<B>(body: B, announced: Announced)
where
    B: Body + Unpin,
{
    if !announced.expects_continue {
        drain(body).await;
    }
}

/// Reads and throws away what is left of `body`, within [`DRAIN_LIMIT`] and
/// [`DRAIN_TIME`]; returns the bytes thrown away.
pub async fn drain<B>(mut body: B) -> usize
where
    B: Body + Unpin,
{
    let mut drained = 0usize;
    let reading = async {
        while drained < DRAIN_LIMIT {
            match body.frame().await {
                Some(Ok(frame)) => {
                    drained += frame.data_ref().map_or(0, Buf::remaining);
                }
                Some(Err(_)) | None => break,
            }
        }
    };
    // Past the time bound the refusal goes out anyway.
    let _ = tokio::time::timeout(DRAIN_TIME, reading).await;
    drained
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Poll};

    use http_body::Frame;

    use super::*;

    /// A body of `chunks`, then (when `fail`) an error; counts the chunks read.
    struct Chunks {
        left: VecDeque<Bytes>,
        fail: bool,
        read: Arc<AtomicUsize>,
    }

    impl Chunks {
        fn new(sizes: &[usize], fail: bool) -> (Self, Arc<AtomicUsize>) {
            let read = Arc::new(AtomicUsize::new(0));
            let left = sizes
                .iter()
                .enumerate()
                .map(|(i, n)| Bytes::from(vec![i as u8; *n]))
                .collect();
            let body = Self {
                left,
                fail,
                read: read.clone(),
            };
            (body, read)
        }
    }

    impl Body for Chunks {
        type Data = Bytes;
        type Error = &'static str;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, &'static str>>> {
            match self.left.pop_front() {
                Some(chunk) => {
                    self.read.fetch_add(1, Ordering::SeqCst);
                    Poll::Ready(Some(Ok(Frame::data(chunk))))
                }
                None if self.fail => {
                    self.fail = false;
                    Poll::Ready(Some(Err("connection reset")))
                }
                None => Poll::Ready(None),
            }
        }
    }

    fn announced(length: Option<u64>, expects_continue: bool) -> Announced {
        Announced {
            length,
            expects_continue,
        }
    }

    #[tokio::test]
    async fn a_body_within_the_cap_is_read_whole() {
        let (body, _) = Chunks::new(&[3, 4, 3], false);
        let bytes = read_capped(body, announced(Some(10), false), 10).await;
        assert_eq!(
            bytes.as_deref().map(<[u8]>::to_vec),
            Ok([vec![0; 3], vec![1; 4], vec![2; 3]].concat())
        );
    }

    #[tokio::test]
    async fn an_announced_oversize_body_is_drained_before_the_refusal() {
        let (body, read) = Chunks::new(&[8, 8, 8, 8], false);
        let refused = read_capped(body, announced(Some(32), false), 10).await;
        assert_eq!(refused, Err(BodyError::TooLarge { limit: 10 }));
        assert_eq!(read.load(Ordering::SeqCst), 4, "every chunk was read");
    }

    #[tokio::test]
    async fn a_client_waiting_for_continue_is_refused_before_it_sends() {
        let (body, read) = Chunks::new(&[8, 8, 8, 8], false);
        let refused = read_capped(body, announced(Some(32), true), 10).await;
        assert_eq!(refused, Err(BodyError::TooLarge { limit: 10 }));
        assert_eq!(read.load(Ordering::SeqCst), 0, "nothing was read");
    }

    #[tokio::test]
    async fn an_unannounced_body_over_the_cap_is_refused_and_drained() {
        let (body, read) = Chunks::new(&[6, 6, 6, 6], false);
        let refused = read_capped(body, Announced::default(), 10).await;
        assert_eq!(refused, Err(BodyError::TooLarge { limit: 10 }));
        assert_eq!(read.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn draining_stops_at_its_bound() {
        let chunk = 1024 * 1024;
        let chunks = vec![chunk; DRAIN_LIMIT / chunk + 8];
        let (body, read) = Chunks::new(&chunks, false);
        assert_eq!(drain(body).await, DRAIN_LIMIT);
        assert_eq!(read.load(Ordering::SeqCst), DRAIN_LIMIT / chunk);
    }

    #[tokio::test]
    async fn a_broken_body_is_unreadable() {
        let (body, _) = Chunks::new(&[4], true);
        let refused = read_capped(body, Announced::default(), 10).await;
        assert_eq!(
            refused,
            Err(BodyError::Unreadable("connection reset".into()))
        );
    }

    #[test]
    fn headers_announce_length_and_continue() {
        let mut headers = HeaderMap::new();
        headers.insert("content-length", http::HeaderValue::from_static("12"));
        headers.insert("expect", http::HeaderValue::from_static("100-Continue"));
        assert_eq!(Announced::from_headers(&headers), announced(Some(12), true));
        assert_eq!(
            Announced::from_headers(&HeaderMap::new()),
            Announced::default()
        );
    }
}
