//! What a webhook says: `{type, timestamp, data}` with only non-identifying case facts.
//!
//! [`WebhookData`] copies the allowed fields of [`CaseEventData`] one by one rather
//! than serialising the event, so a field added to events later does not reach a
//! coordinator's chat bridge without someone deciding it should.

use serde::Serialize;
use shared::domain::{CaseStatus, Organisation, Priority, RegionCode};
use shared::events::{CaseEvent, CaseEventData};
use shared::id::{CaseId, CheckInId, SubscriptionId};
use shared::time::Timestamp;

/// The case facts a webhook may carry: enough to act, nothing to leak.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebhookData {
    pub case_reference: CaseId,
    pub priority: Option<Priority>,
    pub organisation: Option<Organisation>,
    pub region: RegionCode,
    pub status: CaseStatus,
    /// When first contact is due: the deadline a coordinator works to.
    pub first_contact_due: Option<Timestamp>,
    pub escalation_level: Option<u32>,
    /// Where a confidant reads the case (behind their own login).
    pub api_link: String,
    /// `case.reporter_message` only: unread reporter messages (a count, never text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unread_reporter_messages: Option<u32>,
    /// Check-in events only: which check-in, and when it was due (never its purpose,
    /// note or outcome).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_in_id: Option<CheckInId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_in_due_at: Option<Timestamp>,
}

impl From<&CaseEventData> for WebhookData {
    fn from(d: &CaseEventData) -> Self {
        WebhookData {
            case_reference: d.case_reference.clone(),
            priority: d.priority,
            organisation: d.organisation,
            region: d.region,
            status: d.status,
            first_contact_due: d.first_contact_due,
            escalation_level: d.escalation_level,
            api_link: d.api_link.clone(),
            unread_reporter_messages: d.unread_reporter_messages,
            check_in_id: d.check_in_id.clone(),
            check_in_due_at: d.check_in_due_at,
        }
    }
}

/// The body of a webhook, in Standard Webhooks' recommended shape.
#[derive(Debug, Clone, Serialize)]
pub struct Webhook<D: Serialize> {
    #[serde(rename = "type")]
    pub event_type: String,
    /// When the event happened (not when it was delivered: that is `webhook-timestamp`).
    pub timestamp: Timestamp,
    pub data: D,
}

impl<D: Serialize> Webhook<D> {
    /// The exact bytes to send and sign: stored once, so every retry signs the same body.
    pub fn body(&self) -> String {
        serde_json::to_string(self).expect("webhooks serialise")
    }
}

/// The webhook for a case event.
pub fn for_case_event(event: &CaseEvent) -> Webhook<WebhookData> {
    Webhook {
        event_type: event.event_type.as_str().to_string(),
        timestamp: event.timestamp,
        data: (&event.data).into(),
    }
}

/// The event type of a test send.
pub const PING_TYPE: &str = "webhook.ping";

/// The type of the operator event sent when an endpoint is disabled.
pub const ENDPOINT_DISABLED_TYPE: &str = "operator.endpoint_disabled";

/// The type of the operator event sent when a sweep has stopped running.
pub const SWEEP_LATE_TYPE: &str = "operator.sweep_late";

/// Data of the operator event for a late sweep: which one, how often it should run,
/// and when it last did (`None`: never, since the watchdog started looking).
#[derive(Debug, Clone, Serialize)]
pub struct SweepLateData {
    pub sweep: String,
    pub interval_seconds: i64,
    pub last_run_at: Option<Timestamp>,
}

/// Data of a test send: which subscription, nothing else.
#[derive(Debug, Clone, Serialize)]
pub struct PingData {
    pub subscription_id: SubscriptionId,
}

/// Data of the operator event for a disabled endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointDisabledData {
    pub subscription_id: SubscriptionId,
    pub reason: String,
    pub failing_since: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::events::{case_api_link, EventType};
    use shared::id::EventId;
    use shared::random::SeededRandom;

    fn event(event_type: EventType) -> CaseEvent {
        let r = SeededRandom::new(5);
        let case = CaseId::generate(&r);
        let check_in = matches!(event_type, EventType::CaseCheckInDue | EventType::CaseCheckInOverdue);
        CaseEvent {
            id: EventId::generate(&r),
            event_type,
            timestamp: Timestamp::parse("2026-11-28T12:00:00Z").unwrap(),
            data: CaseEventData {
                api_link: case_api_link(&case),
                case_reference: case,
                priority: Some(Priority::P1),
                organisation: Some(Organisation::Ngb),
                region: RegionCode::Vr09,
                status: CaseStatus::Triaged,
                first_contact_due: Some(Timestamp::parse("2026-11-28T12:15:00Z").unwrap()),
                escalation_level: Some(1),
                unread_reporter_messages: (event_type == EventType::CaseReporterMessage).then_some(2),
                check_in_id: check_in.then(|| shared::id::CheckInId::generate(&r)),
                check_in_due_at: check_in.then(|| Timestamp::parse("2026-11-28T11:00:00Z").unwrap()),
            },
        }
    }

    /// Every key the body of any case webhook may contain, anywhere.
    const ALLOWED_KEYS: &[&str] = &[
        "type",
        "timestamp",
        "data",
        "case_reference",
        "priority",
        "organisation",
        "region",
        "status",
        "first_contact_due",
        "escalation_level",
        "api_link",
        "unread_reporter_messages",
        "check_in_id",
        "check_in_due_at",
    ];

    fn keys(value: &serde_json::Value, out: &mut Vec<String>) {
        if let Some(object) = value.as_object() {
            for (k, v) in object {
                out.push(k.clone());
                keys(v, out);
            }
        }
    }

    #[test]
    fn no_event_type_can_carry_personal_data() {
        for event_type in EventType::ALL {
            let body = for_case_event(&event(*event_type)).body();
            let value: serde_json::Value = serde_json::from_str(&body).unwrap();
            let mut found = Vec::new();
            keys(&value, &mut found);
            for key in &found {
                assert!(ALLOWED_KEYS.contains(&key.as_str()), "{event_type}: unexpected field {key}");
            }
            for word in ["name", "contact", "phone", "email", "description", "receipt", "municipality", "message"] {
                let named =
                    |k: &String| k == word || k.starts_with(&format!("{word}_")) || k.ends_with(&format!("_{word}"));
                assert!(!found.iter().any(named), "{event_type}: a {word} field");
            }
            assert_eq!(value["type"], event_type.as_str());
            let fields = match event_type {
                EventType::CaseReporterMessage => 9,
                EventType::CaseCheckInDue | EventType::CaseCheckInOverdue => 10,
                _ => 8,
            };
            assert_eq!(value["data"].as_object().unwrap().len(), fields, "{event_type}");
        }
    }

    /// Every kind of body the component sends fits openapi.yaml's `WebhookPayload`,
    /// which accepts a body only if exactly one of its branches does.
    #[test]
    fn every_webhook_body_fits_exactly_one_branch_of_the_contract() {
        let mut bodies: Vec<String> = EventType::ALL.iter().map(|t| for_case_event(&event(*t)).body()).collect();
        let mut untriaged = event(EventType::CaseCreated);
        (untriaged.data.priority, untriaged.data.organisation, untriaged.data.first_contact_due) = (None, None, None);
        bodies.push(for_case_event(&untriaged).body());
        let (r, now) = (SeededRandom::new(6), Timestamp::parse("2026-11-28T12:00:00Z").unwrap());
        let subscription_id = SubscriptionId::generate(&r);
        bodies.push(
            Webhook {
                event_type: PING_TYPE.into(),
                timestamp: now,
                data: PingData { subscription_id: subscription_id.clone() },
            }
            .body(),
        );
        for failing_since in [Some(now), None] {
            let data =
                EndpointDisabledData { subscription_id: subscription_id.clone(), reason: "gone".into(), failing_since };
            bodies.push(Webhook { event_type: ENDPOINT_DISABLED_TYPE.into(), timestamp: now, data }.body());
        }
        for body in bodies {
            let value = serde_json::from_str(&body).unwrap();
            shared::contract::validate_schema("WebhookPayload", &value).unwrap_or_else(|e| panic!("{body}: {e}"));
        }
    }
}
