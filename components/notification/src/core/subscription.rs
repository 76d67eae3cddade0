//! Webhook subscriptions: who gets which events, where, signed with which secret.
//!
//! Key layout:
//! - `ntf/sub/<sub_id>`: the [`Subscription`], a `Versioned` document (CAS updates);
//! - `ntf/subs/…`: a `SlotLog` of subscription ids, the index the fan-out reads
//!   (never a key listing);
//! - `ntf/sub/<sub_id>/msgs/…`: a `SlotLog` of the subscription's messages, newest last.
//!
//! Ownership: a subscription belongs to its creator's organisation and sees only that
//! organisation's cases; only a programme admin makes a cross-organisation one, which
//! belongs to the programme ([`Owner`]). Admins reach only what their organisation
//! owns, programme admins everything; anything else is 404, so existence is not told.
//!
//! Its signing secrets, sealed at rest and rotated with an overlap, are
//! [`crate::core::secrets`].

use crate::context::Ctx;
use crate::core::secrets::{self, StoredSecret};
use crate::core::signing::SigningSecret;
use crate::core::url_policy;
use serde::{Deserialize, Deserializer, Serialize};
use shared::auth::Principal;
use shared::domain::{Organisation, Priority, RegionCode};
use shared::events::{CaseEvent, EventType};
use shared::id::SubscriptionId;
use shared::kv::slots::SlotLog;
use shared::kv::versioned::{self, Change, Versioned};
use shared::kv::{to_json, KeyValue, StoreError};
use shared::problem::Problem;
use shared::text::Paragraphs;
use shared::time::Timestamp;

/// Longest description.
pub const MAX_DESCRIPTION: usize = 500;

/// The key of a subscription.
pub fn subscription_key(id: &SubscriptionId) -> String {
    format!("ntf/sub/{id}")
}

/// The index of every subscription.
pub fn index() -> SlotLog {
    SlotLog::new("ntf/subs")
}

/// The messages of one subscription, oldest first.
pub fn messages_log(id: &SubscriptionId) -> SlotLog {
    SlotLog::new(format!("ntf/sub/{id}/msgs"))
}

shared::wire_enum!(
    /// Why a subscription is disabled.
    DisabledReason {
        /// An admin disabled it.
        Admin => "admin",
        /// The receiver answered 410 Gone.
        Gone => "gone",
        /// The endpoint failed for five days.
        Failing => "failing",
    }
);

/// Who a subscription belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "organisation")]
pub enum Owner {
    /// One organisation: its admins manage it, and it receives that organisation's
    /// cases only.
    Organisation(Organisation),
    /// The programme (cross-organisation): programme admins only.
    Programme,
}

impl Owner {
    /// The owner a filter implies for a subscription made (or changed) on behalf of
    /// `organisation`: that organisation while the filter is exactly it, else the
    /// programme.
    fn of_filter(organisation: Organisation, filter: &[Organisation]) -> Owner {
        if filter == [organisation] {
            Owner::Organisation(organisation)
        } else {
            Owner::Programme
        }
    }
}

/// A subscription, as stored at [`subscription_key`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Subscription {
    pub id: SubscriptionId,
    pub url: String,
    /// Case event types wanted; empty: all.
    pub event_types: Vec<EventType>,
    /// Only cases of these organisations; empty: all.
    pub organisations: Vec<Organisation>,
    /// Only cases in these safety regions; empty: all.
    pub regions: Vec<RegionCode>,
    /// Only cases at least this urgent (a case not yet triaged has no priority and
    /// does not pass this filter).
    pub min_priority: Option<Priority>,
    pub description: String,
    pub enabled: bool,
    pub disabled_reason: Option<DisabledReason>,
    /// Also receives operator events (`operator.endpoint_disabled`).
    pub operator_events: bool,
    pub secrets: Vec<StoredSecret>,
    pub failing_since: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// This subscription's slot in [`index`].
    pub index_slot: u64,
    /// Who it belongs to; `None` for subscriptions written before ownership existed
    /// (see [`Subscription::owner`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
}

impl Subscription {
    /// Who it belongs to. A subscription from before ownership belongs to the one
    /// organisation its filter names (it only ever received that organisation's cases,
    /// so its admins learn nothing new), and otherwise to the programme.
    pub fn owner(&self) -> Owner {
        match (self.owner, self.organisations.as_slice()) {
            (Some(owner), _) => owner,
            (None, [only]) => Owner::Organisation(*only),
            (None, _) => Owner::Programme,
        }
    }

    /// Whether `who` may see and manage it: a programme admin every subscription, any
    /// other admin their own organisation's.
    pub fn visible_to(&self, who: &Principal) -> bool {
        who.is_programme_admin() || self.owner() == Owner::Organisation(who.organisation)
    }

    /// Whether it receives the operator event about `disabled`: programme-owned operator
    /// subscriptions hear of every endpoint, an organisation's of its own.
    pub fn hears_operator_event_of(&self, disabled: &Subscription) -> bool {
        self.enabled
            && self.operator_events
            && self.id != disabled.id
            && (self.owner() == Owner::Programme || self.owner() == disabled.owner())
    }

    /// Whether a case event passes this subscription's filters.
    pub fn wants(&self, event: &CaseEvent) -> bool {
        let d = &event.data;
        self.enabled
            && (self.event_types.is_empty() || self.event_types.contains(&event.event_type))
            && (self.organisations.is_empty() || d.organisation.is_some_and(|o| self.organisations.contains(&o)))
            && (self.regions.is_empty() || self.regions.contains(&d.region))
            && self.min_priority.is_none_or(|min| d.priority.is_some_and(|p| p.at_least(min)))
    }
}

/// A new subscription, as an admin sends it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSubscription {
    pub url: String,
    #[serde(default)]
    pub event_types: Vec<EventType>,
    #[serde(default)]
    pub organisations: Vec<Organisation>,
    #[serde(default)]
    pub regions: Vec<RegionCode>,
    #[serde(default)]
    pub min_priority: Option<Priority>,
    #[serde(default)]
    pub description: String,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    #[serde(default)]
    pub operator_events: bool,
}

fn enabled_by_default() -> bool {
    true
}

/// A change to a subscription: absent fields stay as they are; `min_priority: null`
/// removes the filter.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionPatch {
    #[serde(default, deserialize_with = "not_null")]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "not_null")]
    pub event_types: Option<Vec<EventType>>,
    #[serde(default, deserialize_with = "not_null")]
    pub organisations: Option<Vec<Organisation>>,
    #[serde(default, deserialize_with = "not_null")]
    pub regions: Option<Vec<RegionCode>>,
    #[serde(default, deserialize_with = "present")]
    pub min_priority: Option<Option<Priority>>,
    #[serde(default, deserialize_with = "not_null")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "not_null")]
    pub enabled: Option<bool>,
    #[serde(default, deserialize_with = "not_null")]
    pub operator_events: Option<bool>,
}

/// A field that may be absent but not `null` (only `min_priority` has a meaning for
/// null: no minimum). serde would read `"enabled": null` as absent, and the patch as
/// a change of nothing.
fn not_null<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// Tells "absent" (outer `None`) from "null" (`Some(None)`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

fn check_url(url: &str, config: &crate::config::NotificationConfig) -> Result<String, Problem> {
    url_policy::check(url.trim(), &config.local_hosts).map_err(|e| Problem::invalid_field("/url", e))?;
    Ok(url.trim().to_string())
}

/// A description: up to [`MAX_DESCRIPTION`] characters, may be empty, may span lines.
fn check_description(text: &str) -> Result<String, Problem> {
    Paragraphs::<MAX_DESCRIPTION>::parse_between(text, 0)
        .map(Paragraphs::into_inner)
        .map_err(|e| Problem::invalid_field("/description", e))
}

fn dedup<T: Ord + Copy>(mut items: Vec<T>) -> Vec<T> {
    items.sort();
    items.dedup();
    items
}

/// The organisation filter `who` may set, and the owner it implies. An admin's filter
/// is forced to their own organisation (naming another is refused); a programme admin
/// may name any, or none (every organisation).
fn scoped_filter(
    who: &Principal,
    organisation: Organisation,
    filter: Vec<Organisation>,
) -> Result<(Vec<Organisation>, Owner), Problem> {
    let filter = dedup(filter);
    if who.is_programme_admin() {
        let owner = Owner::of_filter(organisation, &filter);
        return Ok((filter, owner));
    }
    if filter.iter().any(|o| *o != who.organisation) {
        return Err(Problem::invalid_field(
            "/organisations",
            "only a programme admin may subscribe to another organisation's cases",
        ));
    }
    Ok((vec![who.organisation], Owner::Organisation(who.organisation)))
}

/// Creates a subscription owned by `who`'s organisation (or the programme, for a
/// programme admin's cross-organisation one); the secret in the answer is never shown
/// again.
pub fn create<S: KeyValue, O>(
    ctx: &Ctx<'_, S, O>,
    who: &Principal,
    form: NewSubscription,
) -> Result<(Versioned<Subscription>, SigningSecret), Problem> {
    let (organisations, owner) = scoped_filter(who, who.organisation, form.organisations)?;
    let url = check_url(&form.url, ctx.config)?;
    let description = check_description(&form.description)?;
    let now = ctx.clock.now();
    let id = SubscriptionId::generate(ctx.random);
    let (stored, secret) = secrets::seal_secret(&ctx.config.keyring, &id, 1, ctx.random);
    let slot = index().reserve(ctx.store)?;
    let subscription = Subscription {
        id: id.clone(),
        url,
        event_types: dedup(form.event_types),
        organisations,
        regions: dedup(form.regions),
        min_priority: form.min_priority,
        description,
        enabled: form.enabled,
        disabled_reason: (!form.enabled).then_some(DisabledReason::Admin),
        operator_events: form.operator_events,
        secrets: vec![stored],
        failing_since: None,
        created_at: now,
        updated_at: now,
        index_slot: slot,
        owner: Some(owner),
    };
    let doc = Versioned::first(subscription, ctx.random);
    ctx.store.set_many(&[(subscription_key(&id), doc.encode()), (index().key(slot), to_json(&id))])?;
    Ok((doc, secret))
}

/// Reads a subscription `who` may see: any other is 404, like one that does not exist.
pub fn load_visible<S: KeyValue>(
    store: &S,
    who: &Principal,
    id: &SubscriptionId,
) -> Result<Versioned<Subscription>, Problem> {
    load(store, id)?.filter(|doc| doc.data.visible_to(who)).ok_or_else(Problem::not_found)
}

/// Reads a subscription.
pub fn load<S: KeyValue>(store: &S, id: &SubscriptionId) -> Result<Option<Versioned<Subscription>>, StoreError> {
    versioned::read(store, &subscription_key(id))
}

/// Every subscription, in creation order: the index in pages, then the documents.
pub fn load_all<S: KeyValue>(store: &S) -> Result<Vec<Versioned<Subscription>>, StoreError> {
    const PAGE: u64 = 100;
    let log = index();
    let last = log.last_slot(store)?;
    let mut all = Vec::new();
    let mut from = 1;
    while from <= last {
        let to = (from + PAGE - 1).min(last);
        let ids: Vec<SubscriptionId> =
            log.read(store, from, to)?.into_iter().filter_map(|(_, v)| serde_json::from_slice(&v).ok()).collect();
        let keys: Vec<String> = ids.iter().map(subscription_key).collect();
        for value in store.get_many(&keys)?.into_iter().flatten() {
            if let Ok(doc) = serde_json::from_slice::<Versioned<Subscription>>(&value) {
                all.push(doc);
            }
        }
        from = to + 1;
    }
    Ok(all)
}

/// Applies an admin's change, if the subscription is still at `version` and `who`
/// may manage it.
pub fn update<S: KeyValue, O>(
    ctx: &Ctx<'_, S, O>,
    who: &Principal,
    id: &SubscriptionId,
    version: u64,
    patch: SubscriptionPatch,
) -> Result<Versioned<Subscription>, Problem> {
    let url = patch.url.as_deref().map(|u| check_url(u, ctx.config)).transpose()?;
    let description = patch.description.as_deref().map(check_description).transpose()?;
    let now = ctx.clock.now();
    let (doc, ()) =
        versioned::update(ctx.store, &subscription_key(id), ctx.random, |sub: &mut Subscription, current| {
            if !sub.visible_to(who) {
                return Err(Problem::not_found());
            }
            if current != version {
                return Err(shared::web::stale(current));
            }
            if let Some(url) = &url {
                sub.url = url.clone();
            }
            if let Some(types) = &patch.event_types {
                sub.event_types = dedup(types.clone());
            }
            if let Some(orgs) = &patch.organisations {
                // A programme admin keeps an organisation's subscription that
                // organisation's while the filter stays on it.
                let on_behalf_of = match sub.owner() {
                    Owner::Organisation(o) => o,
                    Owner::Programme => who.organisation,
                };
                let (filter, owner) = scoped_filter(who, on_behalf_of, orgs.clone())?;
                let owner = if sub.owner() == Owner::Programme { Owner::Programme } else { owner };
                sub.organisations = filter;
                sub.owner = Some(owner);
            }
            if let Some(regions) = &patch.regions {
                sub.regions = dedup(regions.clone());
            }
            if let Some(min) = patch.min_priority {
                sub.min_priority = min;
            }
            if let Some(text) = &description {
                sub.description = text.clone();
            }
            if let Some(flag) = patch.operator_events {
                sub.operator_events = flag;
            }
            if let Some(enabled) = patch.enabled {
                if enabled && !sub.enabled {
                    // Re-enabling starts the failure clock afresh.
                    sub.failing_since = None;
                }
                sub.enabled = enabled;
                sub.disabled_reason = if enabled { None } else { sub.disabled_reason.or(Some(DisabledReason::Admin)) };
            }
            sub.updated_at = now;
            Ok(Change::Write(()))
        })
        .map_err(Problem::from)?;
    Ok(doc)
}

/// Removes a subscription `who` may manage. Its pending messages fail at their next
/// attempt.
pub fn delete<S: KeyValue>(store: &S, who: &Principal, id: &SubscriptionId) -> Result<(), Problem> {
    let doc = load_visible(store, who, id)?;
    store.delete_many(&[index().key(doc.data.index_slot), subscription_key(id)])?;
    Ok(())
}
