//! The service's errors: `{"error": {"code": ..., "message": ...}}` with the status that fits.
//! The library's errors are classified by what they say of the request ([`kgrec::Error`]'s
//! `is_not_found`, `is_no_model`, `exit_code`), never by their text.

use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use kgrec::explain::ExplainError;
use serde::Serialize;

/// An error answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable, machine-readable code (`bad_parameter`, `unknown_user`, ...).
    pub code: &'static str,
    /// What happened, in words.
    pub message: String,
    /// The job a `409` is about.
    pub id: Option<String>,
    /// A header the answer carries (`WWW-Authenticate`, `Retry-After`).
    pub header: Option<(&'static str, String)>,
}

/// The body of an error answer.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    /// The code.
    pub code: &'a str,
    /// The message.
    pub message: &'a str,
}

#[derive(Debug, Serialize)]
struct Envelope<'a> {
    error: ErrorBody<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
}

impl ApiError {
    /// An error with `status` and `code`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            id: None,
            header: None,
        }
    }

    /// 401 for a missing or wrong key (the same answer for both).
    pub fn unauthorized() -> Self {
        Self {
            header: Some(("www-authenticate", "Bearer".to_owned())),
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "this route needs a valid key: send it as `Authorization: Bearer KEY` or \
                 `X-API-Key: KEY`",
            )
        }
    }

    /// 429 for a client over its `--rate-limit`; try again after `seconds`.
    pub fn rate_limited(seconds: u64) -> Self {
        Self {
            header: Some(("retry-after", seconds.to_string())),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many requests from this address: try again in {seconds} s"),
            )
        }
    }

    /// 400 for a query parameter, a path segment or a body field that is wrong.
    pub fn bad_parameter(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_parameter", message)
    }

    /// 500 for a broken invariant of the service itself.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// 413 for a body over the limit.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!(
                "the request body is larger than the limit of {limit} bytes (kgrec serve --max-body)"
            ),
        )
    }

    /// The JSON body.
    pub fn body(&self) -> String {
        let envelope = Envelope {
            error: ErrorBody {
                code: self.code,
                message: &self.message,
            },
            id: self.id.as_deref(),
        };
        serde_json::to_string(&envelope).unwrap_or_else(|_| {
            r#"{"error":{"code":"internal","message":"the error does not serialise"}}"#.to_owned()
        })
    }
}

impl From<kgrec::Error> for ApiError {
    fn from(error: kgrec::Error) -> Self {
        let (status, code) = match &error {
            kgrec::Error::Explain(ExplainError::UnknownUser { .. }) => {
                (StatusCode::NOT_FOUND, "unknown_user")
            }
            kgrec::Error::Explain(ExplainError::UnknownItem { .. })
            | kgrec::Error::UnknownItem { .. } => (StatusCode::NOT_FOUND, "unknown_item"),
            kgrec::Error::Filter(e) if e.is_bad_input() => (StatusCode::BAD_REQUEST, "bad_filter"),
            e if e.is_not_found() => (StatusCode::NOT_FOUND, "not_found"),
            e if e.is_no_model() => (StatusCode::SERVICE_UNAVAILABLE, "no_model"),
            e if e.is_disk_full() => (StatusCode::INSUFFICIENT_STORAGE, "disk_full"),
            e if e.exit_code() == 2 => (StatusCode::BAD_REQUEST, "bad_request"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        // The message with its sources, as the command line prints it.
        let message = crate::cli::error_text(&error);
        Self::new(status, code, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        );
        if let Some((name, value)) = &self.header
            && let Ok(value) = axum::http::HeaderValue::from_str(value)
        {
            headers.insert(*name, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn library_errors_map_to_statuses() {
        let cases = [
            (
                kgrec::Error::UnknownItem {
                    item: "x".into(),
                    hint: String::new(),
                },
                StatusCode::NOT_FOUND,
                "unknown_item",
            ),
            (
                kgrec::Error::Explain(ExplainError::UnknownUser {
                    user: "u".into(),
                    hint: String::new(),
                }),
                StatusCode::NOT_FOUND,
                "unknown_user",
            ),
            (
                kgrec::Error::Store(kgrec::store::StoreError::NoModel),
                StatusCode::SERVICE_UNAVAILABLE,
                "no_model",
            ),
            (
                kgrec::Error::BadInput("k".into()),
                StatusCode::BAD_REQUEST,
                "bad_request",
            ),
            (
                kgrec::Error::Internal { what: "x".into() },
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
            ),
        ];
        for (error, status, code) in cases {
            let api = ApiError::from(error);
            assert_eq!((api.status, api.code), (status, code), "{}", api.message);
            let body: serde_json::Value = serde_json::from_str(&api.body()).unwrap();
            assert_eq!(body["error"]["code"], code);
            assert!(!body["error"]["message"].as_str().unwrap().is_empty());
        }
    }
}
