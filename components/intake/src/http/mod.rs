//! Intake's edge: the handler of each endpoint (`endpoints.rs`), what requests carry
//! (`forms.rs`), the JSON answers (`views.rs`), and the reporter pages in HTML
//! (`pages/`), which post to the same endpoints and are checked by the same rules.

pub mod endpoints;
pub mod forms;
pub mod pages;
pub mod views;

use shared::web::Response;

/// The header that marks the answer to a retried submission (an `Idempotency-Key`, or a
/// form's one-time key, seen before).
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// `response`, marked as the answer to a retry when `replayed`.
pub fn replayed(mut response: Response, replayed: bool) -> Response {
    if replayed {
        response.headers_mut().insert(REPLAYED_HEADER, http::HeaderValue::from_static("true"));
    }
    response
}
