//! The API's one error type: an HTTP status, an AWS-style error type and a message, sent as
//! `{"__type": ..., "message": ...}` with `x-amzn-ErrorType`.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::store::StoreError;
use crate::wire::ErrorBody;

/// An error answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{error_type}: {message}")]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// AWS-style error type.
    pub error_type: &'static str,
    /// What went wrong.
    pub message: String,
}

impl ApiError {
    /// An error of `error_type` answered with `status`.
    pub fn new(status: u16, error_type: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            error_type,
            message: message.into(),
        }
    }

    /// 400 `ValidationException`: a field that breaks a rule.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(400, "ValidationException", message)
    }

    /// 404 `ResourceNotFoundException`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "ResourceNotFoundException", message)
    }

    /// 413 `RequestEntityTooLargeException`.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(413, "RequestEntityTooLargeException", message)
    }

    /// Reads a JSON request body: malformed JSON is 400 `SerializationException`, JSON of
    /// the wrong shape (unknown or missing fields, wrong types) 400 `ValidationException`.
    pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Self> {
        serde_json::from_slice(body).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => Self::validation(e.to_string()),
            _ => Self::new(
                400,
                "SerializationException",
                format!("malformed JSON: {e}"),
            ),
        })
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => Self::new(409, "ConflictException", m),
            StoreError::NotFound(m) => Self::not_found(m),
            StoreError::Invalid(m) => Self::validation(m),
            StoreError::Backend(m) => Self::new(500, "InternalFailure", m),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ErrorBody {
            error_type: self.error_type.to_owned(),
            message: self.message,
        };
        let mut response = (
            status,
            [("content-type", "application/json")],
            serde_json::to_vec(&body).unwrap_or_default(),
        )
            .into_response();
        response.headers_mut().insert(
            "x-amzn-errortype",
            HeaderValue::from_static(self.error_type),
        );
        response
    }
}
