//! Intake's HTTP surface: a route table matching `openapi.yaml`, and thin handlers
//! that parse, call the core, and shape the answer.

use crate::core::client::Client;
use crate::config::IntakeConfig;
use crate::context::Intake;
use crate::http::pages;
use crate::core::proof_of_work::{self, Proof};
use crate::http::forms::{follow_up, preferred_language, MessageText, NewReport, ReportForm};
use crate::core::submit::{Filed, IdempotencyKey};
use serde::Deserialize;
use serde_json::json;
use shared::domain::IncidentKind;
use shared::kv::{KeyValue, StoreError};
use shared::outbound::Outbound;
use shared::receipt::ReceiptCode;
use shared::web::{self, Request, Response, RouteTable};

/// Intake's endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /intake/`: the report form (HTML).
    ReportPage,
    /// `GET /intake/follow-up`: the form that asks for the receipt code (HTML).
    FollowUpPage,
    /// `GET /intake/style.css`: the pages' one stylesheet.
    Stylesheet,
    FileReport,
    Status,
    AddMessage,
    Sweep,
    /// `GET …/sweep/tick`: a platform scheduler that cannot send a header.
    SweepTick,
    Health,
}

/// Every route, exactly as in `openapi.yaml`.
pub const ROUTES: &RouteTable<Endpoint> = &[
    ("GET", "/intake/", Endpoint::ReportPage),
    // The address as people type it, without the slash.
    ("GET", "/intake", Endpoint::ReportPage),
    ("GET", "/intake/follow-up", Endpoint::FollowUpPage),
    ("GET", "/intake/style.css", Endpoint::Stylesheet),
    ("POST", "/intake/reports", Endpoint::FileReport),
    ("POST", "/intake/reports/status", Endpoint::Status),
    ("POST", "/intake/reports/messages", Endpoint::AddMessage),
    ("POST", "/intake/sweep", Endpoint::Sweep),
    ("GET", "/intake/sweep/tick", Endpoint::SweepTick),
    ("GET", "/intake/health", Endpoint::Health),
];

/// The component's version, reported by the health endpoint.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub use shared::web::Ports;

/// Serves one request.
pub fn handle<S: KeyValue, O: Outbound>(
    req: Request,
    open_store: impl FnOnce() -> Result<S, StoreError>,
    ports: Ports<'_, O>,
) -> Response {
    web::serve("intake", &req, ports.random, |correlation_id| {
        let (endpoint, _) = web::route(ROUTES, req.method(), req.uri().path())?;
        if endpoint == Endpoint::Health {
            let interval = IntakeConfig::load(ports.variables).map(|c| c.sweep_interval);
            let now = ports.clock.now();
            return Ok(shared::watchdog::health("intake", VERSION, interval, open_store, now, |_, _| {
                Default::default()
            }));
        }
        match endpoint {
            Endpoint::ReportPage => return Ok(pages::report_page(&req, ports.random)),
            Endpoint::FollowUpPage => return Ok(pages::follow_up_page(&req)),
            Endpoint::Stylesheet => return Ok(pages::stylesheet()),
            _ => {}
        }
        // A form posted by a browser is answered in HTML, whatever goes wrong.
        let form_post =
            matches!(endpoint, Endpoint::FileReport | Endpoint::Status | Endpoint::AddMessage) && pages::is_form(&req);
        let config = match IntakeConfig::load(ports.variables) {
            Ok(config) => config,
            Err(e) if form_post => {
                let report = endpoint == Endpoint::FileReport;
                return Ok(pages::unavailable(&req, report, ports.random, e.into(), correlation_id));
            }
            Err(e) => return Err(e.into()),
        };
        let client = Client::of(req.headers(), &config.trusted_proxies);
        if client == Client::Unidentified && endpoint != Endpoint::Sweep {
            let why = "no usable client address (spin-client-addr, or forwarding headers of a trusted proxy): \
                       this request is not limited";
            shared::log::warn("intake", correlation_id, "client-address-unknown", why);
        }
        if form_post {
            let store = match open_store() {
                Ok(store) => store,
                Err(e) => {
                    let report = endpoint == Endpoint::FileReport;
                    return Ok(pages::unavailable(&req, report, ports.random, e.into(), correlation_id));
                }
            };
            let intake = intake(&store, &ports, &config, correlation_id);
            return Ok(match endpoint {
                Endpoint::FileReport => pages::file_report(&intake, &req, &client),
                Endpoint::Status => pages::show_status(&intake, &req, &client),
                _ => pages::add_message(&intake, &req, &client),
            });
        }
        // Parse before touching the store: bad input writes nothing.
        let store = match endpoint {
            Endpoint::FileReport => {
                let language = preferred_language(accept_language(&req));
                let form: ReportForm = web::read_json_object(&req)?;
                let report = NewReport::parse(form, ports.clock.now(), language)?;
                let key = match req.headers().get("idempotency-key") {
                    Some(v) => Some(IdempotencyKey::parse(v.to_str().unwrap_or(""))?),
                    None => None,
                };
                let proof = match req.headers().get(proof_of_work::HEADER) {
                    Some(v) => Some(Proof::parse(v.to_str().unwrap_or(""))?),
                    None => None,
                };
                let store = open_store()?;
                let intake = intake(&store, &ports, &config, correlation_id);
                return Ok(filed_response(intake.file(report, req.body(), &client, key, proof)?));
            }
            _ => open_store()?,
        };
        let intake = intake(&store, &ports, &config, correlation_id);
        match endpoint {
            Endpoint::Status => {
                let form: StatusForm = web::read_json_object(&req)?;
                let view = intake.status(&form.receipt_code.0, &client)?;
                Ok(web::no_store(web::json(200, &view)))
            }
            Endpoint::AddMessage => {
                let form: MessageForm = web::read_json_object(&req)?;
                // Checked before the receipt code is looked up: bad input writes nothing.
                let follow_up = follow_up(form.immediate_danger, form.threat_to_life, form.incident_kinds)?;
                let added = intake.add_message(&form.receipt_code.0, form.text, follow_up, &client)?;
                Ok(web::no_store(web::json(201, &added)))
            }
            Endpoint::Sweep => {
                shared::auth::verify_internal(req.headers(), &config.internal_secret)?;
                let swept = intake.sweep()?;
                shared::watchdog::record_run(&store, "intake", config.sweep_interval, ports.clock.now(), &swept)?;
                Ok(web::json(200, &swept))
            }
            Endpoint::SweepTick => {
                let (now, random) = (ports.clock.now(), ports.random);
                let ticked =
                    shared::watchdog::tick(&store, "intake", config.sweep_interval, now, random, || intake.sweep())?;
                Ok(web::json(200, &ticked))
            }
            Endpoint::FileReport
            | Endpoint::Health
            | Endpoint::ReportPage
            | Endpoint::FollowUpPage
            | Endpoint::Stylesheet => unreachable!("served above"),
        }
    })
}

fn intake<'a, S, O>(
    store: &'a S,
    ports: &'a Ports<'a, O>,
    config: &'a IntakeConfig,
    correlation_id: &'a str,
) -> Intake<'a, S, O> {
    Intake { store, outbound: ports.outbound, clock: ports.clock, random: ports.random, config, correlation_id }
}

fn accept_language(req: &Request) -> Option<&str> {
    req.headers().get(http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok())
}

fn filed_response(filed: Filed) -> Response {
    let body = json!({
        "case_reference": filed.case_id,
        "receipt_code": filed.receipt.to_string(),
        "status": filed.status,
        "emergency": filed.emergency,
        "advice": filed.advice,
    });
    let mut response = web::no_store(web::json(201, &body));
    if filed.replayed {
        response.headers_mut().insert("idempotent-replayed", "true".parse().expect("ascii"));
    }
    response
}

/// A receipt code as typed by the reporter, parsed where the body is read.
#[derive(Debug)]
pub(crate) struct ReceiptInput(pub(crate) ReceiptCode);

impl<'de> Deserialize<'de> for ReceiptInput {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        ReceiptCode::parse(&text).map(ReceiptInput).map_err(serde::de::Error::custom)
    }
}

/// The body of a status lookup (the follow-up form sends the same field).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusForm {
    pub(crate) receipt_code: ReceiptInput,
}

/// The body of a follow-up message (the reply form sends the same fields).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MessageForm {
    pub(crate) receipt_code: ReceiptInput,
    pub(crate) text: MessageText,
    #[serde(default)]
    pub(crate) immediate_danger: bool,
    #[serde(default)]
    pub(crate) threat_to_life: bool,
    #[serde(default)]
    pub(crate) incident_kinds: Vec<IncidentKind>,
}
