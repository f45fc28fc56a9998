//! A local Bedrock Runtime stand-in on 127.0.0.1 that speaks Converse: `POST
//! /model/{modelId}/converse`, SigV4 checked for service `bedrock` with the workspace's one
//! verifier (omni-sigv4), answers taken from a script in order, errors shaped as AWS sends
//! them (status, `x-amzn-ErrorType`, `{"message": …}`). Its wire format is checked against
//! botocore's own `bedrock-runtime` client (botocore.rs).

#![allow(dead_code)] // Each test binary (and the bench) uses part of it.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

/// The access key the stand-in accepts.
pub const ACCESS_KEY: &str = "AKIDSTANDIN";
/// Its secret.
pub const SECRET_KEY: &str = "stand-in-secret";
/// The region it signs for.
pub const REGION: &str = "us-east-1";

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Scripted {
    /// 200 with a tool call whose input is this value.
    Tool(Value),
    /// 200, stopped at max_tokens with a truncated text answer.
    MaxTokens,
    /// 200 with a text answer and no tool call.
    TextOnly,
    /// An AWS error: status, error type, message.
    Error(u16, &'static str, &'static str),
    /// Wait this long, then answer the next item.
    Delay(Duration, Box<Scripted>),
}

impl Scripted {
    /// 429 ThrottlingException, as Bedrock sends it.
    pub fn throttling() -> Scripted {
        Scripted::Error(
            429,
            "ThrottlingException",
            "Too many requests, please wait before trying again.",
        )
    }

    /// 403 AccessDeniedException.
    pub fn access_denied() -> Scripted {
        Scripted::Error(
            403,
            "AccessDeniedException",
            "You don't have access to the model with the specified model ID.",
        )
    }
}

/// A request the stand-in received (after its signature passed).
#[derive(Debug, Clone)]
pub struct Received {
    /// The model id from the path (percent-decoded).
    pub model_id: String,
    /// Body length in bytes.
    pub body_bytes: usize,
    /// The JSON body.
    pub body: Value,
}

#[derive(Default)]
struct Inner {
    script: VecDeque<Scripted>,
    received: Vec<Received>,
    refused: Vec<String>,
}

/// A running stand-in.
pub struct StandIn {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl StandIn {
    /// Starts on a free port with this script.
    pub async fn start(script: Vec<Scripted>) -> StandIn {
        let inner = Arc::new(Mutex::new(Inner {
            script: script.into(),
            ..Inner::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        let app = Router::new().fallback(handle).with_state(inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        StandIn {
            url: format!("http://{addr}"),
            inner,
            task,
        }
    }

    /// What it received, in order.
    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().expect("lock").received.clone()
    }

    /// Error types of the requests it refused before the script (signature, route).
    pub fn refused(&self) -> Vec<String> {
        self.inner.lock().expect("lock").refused.clone()
    }
}

fn aws_error(status: u16, kind: &str, message: &str) -> Response {
    let mut r = Response::new(Body::from(json!({ "message": message }).to_string()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = r.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h.insert(
        "x-amzn-requestid",
        HeaderValue::from_static("00000000-0000-4000-8000-000000000000"),
    );
    let kind = format!("{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/");
    if let Ok(v) = HeaderValue::from_str(&kind) {
        h.insert("x-amzn-errortype", v);
    }
    r
}

fn ok(body: Value) -> Response {
    let mut r = Response::new(Body::from(body.to_string()));
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r.headers_mut().insert(
        "x-amzn-requestid",
        HeaderValue::from_static("00000000-0000-4000-8000-000000000001"),
    );
    r
}

fn usage(input: u32, output: u32) -> Value {
    json!({"inputTokens": input, "outputTokens": output, "totalTokens": input + output})
}

fn answer(s: Scripted, tool_name: String) -> futures_free::BoxFuture {
    Box::pin(async move {
        match s {
            Scripted::Tool(input) => ok(json!({
                "output": {"message": {"role": "assistant", "content": [
                    {"toolUse": {"toolUseId": "tooluse_standin_1", "name": tool_name, "input": input}}
                ]}},
                "stopReason": "tool_use",
                "usage": usage(1500, 180),
                "metrics": {"latencyMs": 420}
            })),
            Scripted::MaxTokens => ok(json!({
                "output": {"message": {"role": "assistant", "content": [{"text": "{\"narrative_en\": \"The container"}]}},
                "stopReason": "max_tokens",
                "usage": usage(1500, 1024),
                "metrics": {"latencyMs": 900}
            })),
            Scripted::TextOnly => ok(json!({
                "output": {"message": {"role": "assistant", "content": [{"text": "I cannot help with that."}]}},
                "stopReason": "end_turn",
                "usage": usage(1500, 9),
                "metrics": {"latencyMs": 300}
            })),
            Scripted::Error(status, kind, message) => aws_error(status, kind, message),
            Scripted::Delay(d, next) => {
                tokio::time::sleep(d).await;
                answer(*next, tool_name).await
            }
        }
    })
}

/// A boxed future without a futures dependency.
mod futures_free {
    pub type BoxFuture =
        std::pin::Pin<Box<dyn std::future::Future<Output = axum::response::Response> + Send>>;
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn handle(State(inner): State<Arc<Mutex<Inner>>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let refuse = |kind: &str, status: u16, msg: &str| {
        inner.lock().expect("lock").refused.push(kind.to_owned());
        aws_error(status, kind, msg)
    };
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let model_id = match (parts.method.as_str(), segments.as_slice()) {
        ("POST", ["model", id, "converse"]) => percent_decode(id),
        _ => return refuse("UnknownOperationException", 404, "Unknown operation"),
    };
    let Ok(body) = axum::body::to_bytes(body, 30 * 1024 * 1024).await else {
        return refuse("ValidationException", 400, "body too large");
    };
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let host = parts
        .headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let url = format!("http://{host}{}", parts.uri);
    let expected = omni_sigv4::Credentials {
        access_key_id: ACCESS_KEY.into(),
        secret_access_key: SECRET_KEY.into(),
        session_token: None,
        expires_at: None,
    };
    let scope = omni_sigv4::SigV4Scope {
        region: REGION.into(),
        service: "bedrock".into(),
    };
    if let Err(e) = omni_sigv4::verify(
        &expected,
        &scope,
        "POST",
        &url,
        &headers,
        &body,
        SystemTime::now(),
    ) {
        return refuse(e.error_type(), e.status(), &e.to_string());
    }
    let Ok(json_body) = serde_json::from_slice::<Value>(&body) else {
        return refuse("ValidationException", 400, "Malformed input request");
    };
    let tool_name = json_body
        .pointer("/toolConfig/toolChoice/tool/name")
        .and_then(Value::as_str)
        .unwrap_or("write_eir")
        .to_owned();
    let next = {
        let mut g = inner.lock().expect("lock");
        g.received.push(Received {
            model_id,
            body_bytes: body.len(),
            body: json_body,
        });
        g.script.pop_front()
    };
    match next {
        Some(s) => answer(s, tool_name).await,
        None => aws_error(
            500,
            "InternalServerException",
            "the stand-in's script is exhausted",
        ),
    }
}
