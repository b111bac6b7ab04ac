//! The one error type of every handler: a status and a JSON body
//! `{"error": "...", "line": N, "field": "..."}`, mapped from the store's
//! and the queries' errors in one place.

use armistice_api::wire::ErrorBody;
use armistice_api::ApiError;
use armistice_projections::ProjectionError;
use armistice_store::StoreError;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// An error answer.
#[derive(Debug)]
pub struct HttpError {
    /// Its status.
    pub status: StatusCode,
    /// Its body.
    pub body: ErrorBody,
}

impl HttpError {
    /// An error with `status` and a message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        HttpError {
            status,
            body: ErrorBody {
                error: message.into(),
                line: None,
                field: None,
            },
        }
    }

    /// 400: the input is not valid.
    pub fn invalid(message: impl Into<String>) -> Self {
        HttpError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        HttpError::new(StatusCode::NOT_FOUND, message)
    }

    /// 500: something failed that is not the caller's doing.
    pub fn internal(message: impl Into<String>) -> Self {
        HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// 503: the server is stopping.
    pub fn stopping() -> Self {
        HttpError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down; try again once it is back",
        )
    }

    /// Names the input line at fault (from 1).
    pub fn at_line(mut self, line: usize) -> Self {
        self.body.line = Some(line);
        self
    }

    /// Names the field at fault.
    pub fn with_field(mut self, field: Option<String>) -> Self {
        self.body.field = field;
        self
    }
}

/// The status of a rejected event, by the field at fault: a signature is
/// authentication (403), an expected version or an event id stored with
/// other content is a conflict (409), anything else invalid input (400).
pub fn rejection_status(rejection: &armistice_core::Rejection) -> StatusCode {
    match rejection.field.as_deref() {
        Some("signature") => StatusCode::FORBIDDEN,
        Some("expected_version") => StatusCode::CONFLICT,
        Some("event_id") if rejection.message.contains("already stored") => StatusCode::CONFLICT,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl From<StoreError> for HttpError {
    fn from(error: StoreError) -> Self {
        let status = match &error {
            StoreError::Rejected { rejection, .. } => {
                return HttpError::new(rejection_status(rejection), rejection.to_string())
                    .with_field(rejection.field.clone());
            }
            StoreError::NoSuchEntry { .. } => StatusCode::NOT_FOUND,
            StoreError::OldKey { .. } => StatusCode::CONFLICT,
            StoreError::ReadOnly(_) => StatusCode::FORBIDDEN,
            StoreError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            e if e.is_disk_full() => StatusCode::INSUFFICIENT_STORAGE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        HttpError::new(status, error.to_string())
    }
}

impl From<ApiError> for HttpError {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::Store(e) => e.into(),
            ApiError::Projection(e @ ProjectionError::UnknownAgreement { .. })
            | ApiError::Projection(e @ ProjectionError::UnknownClaim(_)) => {
                HttpError::not_found(e.to_string())
            }
            ApiError::Invalid(message) => HttpError::invalid(message),
            ApiError::Write(e) => HttpError::internal(format!("cannot write the answer: {e}")),
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let mut text = serde_json::to_string(&self.body)
            .unwrap_or_else(|_| r#"{"error":"unprintable error"}"#.to_owned());
        text.push('\n');
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            text,
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}
