//! The one error type of every component, rendered as RFC 9457 problem details.
//!
//! A client sees a stable `type`, a human `title`, the `status`, a `detail`, the
//! offending field as a JSON pointer and the correlation id of its request. Internal
//! causes are logged for the operator under that correlation id and never shown.

use serde::Serialize;
use std::fmt;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Base of the stable problem `type` URIs.
pub const TYPE_BASE: &str = "urn:weerbaar:problem:";

macro_rules! problem_kinds {
    ($($variant:ident => ($slug:literal, $status:literal, $title:literal)),+ $(,)?) => {
        /// Every kind of failure a client can see. The slug is part of the API: never rename one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ProblemKind { $($variant),+ }

        impl ProblemKind {
            /// Every kind, for documentation and contract tests.
            pub const ALL: &'static [ProblemKind] = &[$(ProblemKind::$variant),+];

            /// The stable slug in the `type` URI.
            pub fn slug(self) -> &'static str { match self { $(ProblemKind::$variant => $slug),+ } }

            /// The HTTP status code.
            pub fn status(self) -> u16 { match self { $(ProblemKind::$variant => $status),+ } }

            /// The short human summary.
            pub fn title(self) -> &'static str { match self { $(ProblemKind::$variant => $title),+ } }
        }
    };
}

problem_kinds! {
    MalformedBody => ("malformed-body", 400, "The request body is not well-formed JSON"),
    InvalidField => ("invalid-field", 422, "A field has an invalid value"),
    InvalidFields => ("invalid-fields", 422, "Several records or fields are invalid"),
    InvalidParameter => ("invalid-parameter", 400, "A query parameter or header is invalid"),
    UnsupportedMediaType => ("unsupported-media-type", 415, "The request body must be application/json"),
    PayloadTooLarge => ("payload-too-large", 413, "The request body is too large"),
    Unauthorized => ("unauthorized", 401, "Authentication is required"),
    Forbidden => ("forbidden", 403, "This credential may not do this"),
    NotFound => ("not-found", 404, "No such resource"),
    MethodNotAllowed => ("method-not-allowed", 405, "This method is not allowed here"),
    Conflict => ("conflict", 409, "The request conflicts with the resource's state"),
    InvalidTransition => ("invalid-transition", 409, "This status change is not allowed"),
    IdempotencyKeyReused => ("idempotency-key-reused", 422, "This Idempotency-Key was used for a different request"),
    PreconditionFailed => ("precondition-failed", 412, "The resource changed since you read it"),
    PreconditionRequired => ("precondition-required", 428, "Send If-Match with the version you read"),
    TooManyRequests => ("too-many-requests", 429, "Too many requests; try again later"),
    StoreUnavailable => ("store-unavailable", 503, "Storage is unavailable; nothing was changed, try again"),
    DownstreamUnavailable => ("downstream-unavailable", 503, "A service this request needs is unavailable; try again"),
    Misconfigured => ("misconfigured", 503, "The service is not configured correctly; the operator has been told"),
    Internal => ("internal", 500, "Something went wrong on our side"),
}

/// One offending field, for problems that list several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// JSON pointer to the field (RFC 6901), e.g. `/incident_kinds/2`.
    pub field: String,
    /// What is wrong with it.
    pub detail: String,
}

/// A failure to show the client.
pub struct Problem {
    /// What kind of failure.
    pub kind: ProblemKind,
    /// Human explanation for this occurrence; never personal data.
    pub detail: String,
    /// The offending field as a JSON pointer, where one field is at fault.
    pub field: Option<String>,
    /// Every offending field, where several are.
    pub errors: Vec<FieldError>,
    /// Seconds to wait before retrying (429, 503); `u32` keeps `Problem` small.
    pub retry_after: Option<u32>,
    /// The methods allowed, for 405 (boxed: keeps `Problem` small in every `Result`).
    pub allow: Option<Box<str>>,
    /// For the operator's log only.
    pub cause: Option<anyhow::Error>,
    /// Extension members of this problem type (RFC 9457, section 3.2), added to the
    /// body beside the standard ones (boxed: keeps `Problem` small in every `Result`).
    pub extensions: Option<Box<serde_json::Map<String, serde_json::Value>>>,
}

impl Problem {
    /// A problem of `kind` with a detail.
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Problem {
            kind,
            detail: detail.into(),
            field: None,
            errors: Vec::new(),
            retry_after: None,
            allow: None,
            cause: None,
            extensions: None,
        }
    }

    /// A field with an invalid value.
    pub fn invalid_field(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Problem::new(ProblemKind::InvalidField, detail).at(pointer)
    }

    /// Several invalid fields or records at once.
    pub fn invalid_fields(errors: Vec<FieldError>) -> Self {
        let detail = format!("{} invalid field(s); see errors", errors.len());
        Problem { errors, ..Problem::new(ProblemKind::InvalidFields, detail) }
    }

    /// Not found, or not yours: the two are indistinguishable on purpose.
    pub fn not_found() -> Self {
        Problem::new(ProblemKind::NotFound, "no such resource")
    }

    /// The path exists, the method does not; `allow` lists the methods that do.
    pub fn method_not_allowed(allow: impl Into<String>) -> Self {
        let allow = allow.into();
        let mut p = Problem::new(ProblemKind::MethodNotAllowed, format!("allowed: {allow}"));
        p.allow = Some(allow.into_boxed_str());
        p
    }

    /// Too many requests; try again after `seconds`.
    pub fn too_many_requests(seconds: u64) -> Self {
        let mut p = Problem::new(ProblemKind::TooManyRequests, "too many requests from this client; try again later");
        p.retry_after = Some(u32::try_from(seconds.max(1)).unwrap_or(u32::MAX));
        p
    }

    /// Our fault: the client sees only the correlation id, the log the cause.
    pub fn internal(cause: anyhow::Error) -> Self {
        Problem {
            cause: Some(cause),
            ..Problem::new(ProblemKind::Internal, "an internal error occurred; quote the correlation id")
        }
    }

    /// Names the field at fault (a JSON pointer, or a parameter/header name).
    pub fn at(mut self, pointer: impl Into<String>) -> Self {
        self.field = Some(pointer.into());
        self
    }

    /// Adds the extension member `name`; the standard members cannot be overridden.
    pub fn with_member(mut self, name: &str, value: serde_json::Value) -> Self {
        self.extensions.get_or_insert_with(Default::default).insert(name.to_string(), value);
        self
    }

    /// The body, as sent.
    pub fn body(&self, correlation_id: &str) -> serde_json::Value {
        let mut body = serde_json::json!({
            "type": format!("{TYPE_BASE}{}", self.kind.slug()),
            "title": self.kind.title(),
            "status": self.kind.status(),
            "detail": self.detail,
            "correlation_id": correlation_id,
        });
        if let Some(field) = &self.field {
            body["field"] = field.clone().into();
        }
        if !self.errors.is_empty() {
            body["errors"] = serde_json::to_value(&self.errors).expect("field errors serialise");
        }
        for (name, value) in self.extensions.iter().flat_map(|members| members.iter()) {
            if body.get(name).is_none() {
                body[name] = value.clone();
            }
        }
        body
    }

    /// The HTTP response.
    pub fn into_response(self, correlation_id: &str) -> http::Response<Vec<u8>> {
        let body = serde_json::to_vec(&self.body(correlation_id)).expect("problem serialises");
        let mut builder =
            http::Response::builder().status(self.kind.status()).header(http::header::CONTENT_TYPE, PROBLEM_JSON);
        if let Some(seconds) = self.retry_after {
            builder = builder.header(http::header::RETRY_AFTER, seconds.to_string());
        }
        if let Some(allow) = &self.allow {
            builder = builder.header(http::header::ALLOW, &**allow);
        }
        builder.body(body).expect("valid response parts")
    }
}

impl fmt::Debug for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.kind.slug(), self.kind.status(), self.detail)?;
        if let Some(field) = &self.field {
            write!(f, " at {field}")?;
        }
        if let Some(cause) = &self.cause {
            write!(f, "; cause: {cause:#}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl Problem {
    /// A change that kept losing its compare-and-swap to other writers: nothing was
    /// changed, and the same request will very likely go through a second later. The one
    /// answer of every component for this (503 with `Retry-After`).
    pub fn contended() -> Self {
        let mut p =
            Problem::new(ProblemKind::StoreUnavailable, "too many concurrent changes; nothing was changed, try again");
        p.retry_after = Some(1);
        p
    }
}

/// What a versioned update's failure is to a client: the change's own refusal, 404 for a
/// record that is gone, 503 for the store or for contention (see [`Problem::contended`]).
impl From<crate::kv::versioned::UpdateError<Problem>> for Problem {
    fn from(err: crate::kv::versioned::UpdateError<Problem>) -> Self {
        use crate::kv::versioned::UpdateError;
        match err {
            UpdateError::NotFound => Problem::not_found(),
            UpdateError::Rejected(p) => p,
            UpdateError::Store(e) => e.into(),
            UpdateError::Contended => Problem::contended(),
        }
    }
}

impl From<crate::kv::StoreError> for Problem {
    fn from(err: crate::kv::StoreError) -> Self {
        let mut p =
            Problem::new(ProblemKind::StoreUnavailable, "storage is unavailable; nothing was changed, try again");
        p.retry_after = Some(1);
        p.cause = Some(anyhow::anyhow!(err));
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_problem_renders_as_rfc9457_with_the_pointer_and_correlation_id() {
        let response = Problem::invalid_field("/role", "must be one of: mayor").into_response("c0ffee");
        assert_eq!(response.status(), 422);
        assert_eq!(response.headers()[http::header::CONTENT_TYPE], PROBLEM_JSON);
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body["type"], "urn:weerbaar:problem:invalid-field");
        assert_eq!(body["status"], 422);
        assert_eq!(body["field"], "/role");
        assert_eq!(body["correlation_id"], "c0ffee");
        assert!(body["title"].is_string());
    }

    #[test]
    fn an_internal_problem_never_shows_its_cause() {
        let p = Problem::internal(anyhow::anyhow!("secret detail: key k1 missing"));
        let body = p.body("abc").to_string();
        assert!(!body.contains("secret detail"));
        assert!(format!("{p:?}").contains("secret detail"));
    }

    #[test]
    fn slugs_are_unique() {
        let mut slugs: Vec<_> = ProblemKind::ALL.iter().map(|k| k.slug()).collect();
        slugs.sort();
        slugs.dedup();
        assert_eq!(slugs.len(), ProblemKind::ALL.len());
    }

    #[test]
    fn extension_members_are_added_but_never_replace_standard_ones() {
        let p = Problem::too_many_requests(5)
            .with_member("advice", serde_json::json!(["call 112"]))
            .with_member("status", serde_json::json!(200));
        let body = p.body("abc");
        assert_eq!(body["advice"][0], "call 112");
        assert_eq!(body["status"], 429);
    }

    #[test]
    fn too_many_requests_carries_retry_after() {
        let r = Problem::too_many_requests(42).into_response("x");
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()[http::header::RETRY_AFTER], "42");
    }

    #[test]
    fn an_update_that_keeps_losing_is_the_same_503_with_retry_after_everywhere() {
        use crate::kv::versioned::UpdateError;
        let r = Problem::from(UpdateError::<Problem>::Contended).into_response("x");
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()[http::header::RETRY_AFTER], "1");
        // The other failures keep their own answers.
        assert_eq!(Problem::from(UpdateError::<Problem>::NotFound).kind, ProblemKind::NotFound);
        let refused = Problem::new(ProblemKind::Conflict, "no");
        assert_eq!(Problem::from(UpdateError::Rejected(refused)).kind, ProblemKind::Conflict);
    }
}
