//! A subscription's signing secrets: stored sealed with the keyring, bound to the
//! subscription id and the secret's generation, shown in clear only in the create and
//! rotate answers. A rotated-out secret keeps signing next to the new one for
//! [`ROTATION_OVERLAP`], so receivers can switch without losing a webhook.

use crate::context::Ctx;
use crate::core::signing::SigningSecret;
use crate::core::subscription::{load_visible, subscription_key, Subscription};
use serde::{Deserialize, Serialize};
use shared::auth::Principal;
use shared::crypto::{Keyring, Sealed};
use shared::id::SubscriptionId;
use shared::kv::versioned::{self, Change, Versioned};
use shared::kv::KeyValue;
use shared::problem::Problem;
use shared::time::{Duration, Timestamp};

/// How long a rotated-out secret keeps signing alongside the new one.
pub const ROTATION_OVERLAP: Duration = Duration::hours(24);

/// A signing secret as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredSecret {
    pub generation: u32,
    pub sealed: Sealed,
    /// When a rotated-out secret stops signing; `None` for the current one.
    pub retires_at: Option<Timestamp>,
}

impl Subscription {
    /// The secrets that sign at `now`, newest first.
    pub fn signing_secrets(&self, keyring: &Keyring, now: Timestamp) -> Result<Vec<SigningSecret>, anyhow::Error> {
        let mut valid: Vec<&StoredSecret> =
            self.secrets.iter().filter(|s| s.retires_at.is_none_or(|t| t > now)).collect();
        valid.sort_by_key(|s| std::cmp::Reverse(s.generation));
        valid
            .into_iter()
            .map(|s| {
                let text = keyring
                    .open(&s.sealed, self.id.as_str(), &secret_field(s.generation))
                    .map_err(|e| anyhow::anyhow!("opening a signing secret of {}: {e}", self.id))?;
                SigningSecret::parse(&String::from_utf8_lossy(&text)).map_err(|e| anyhow::anyhow!("stored secret: {e}"))
            })
            .collect()
    }

    /// Until when a rotated-out secret still signs, if one does at `now`.
    pub fn previous_secret_valid_until(&self, now: Timestamp) -> Option<Timestamp> {
        self.secrets.iter().filter_map(|s| s.retires_at).filter(|t| *t > now).max()
    }

    /// The newest generation of its secrets.
    fn current_generation(&self) -> u32 {
        self.secrets.iter().map(|s| s.generation).max().unwrap_or(0)
    }
}

fn secret_field(generation: u32) -> String {
    format!("signing-secret/{generation}")
}

/// A new secret of `generation` for subscription `id`, and its sealed form.
pub(crate) fn seal_secret(
    keyring: &Keyring,
    id: &SubscriptionId,
    generation: u32,
    ctx_random: &dyn shared::random::Random,
) -> (StoredSecret, SigningSecret) {
    let secret = SigningSecret::generate(ctx_random);
    let sealed = keyring.seal(secret.expose().as_bytes(), id.as_str(), &secret_field(generation), ctx_random);
    (StoredSecret { generation, sealed, retires_at: None }, secret)
}

/// Makes a new secret; the previous ones keep signing for [`ROTATION_OVERLAP`].
pub fn rotate_secret<S: KeyValue, O>(
    ctx: &Ctx<'_, S, O>,
    who: &Principal,
    id: &SubscriptionId,
) -> Result<(Versioned<Subscription>, SigningSecret, Timestamp), Problem> {
    let now = ctx.clock.now();
    let retires_at = now + ROTATION_OVERLAP;
    // The secret is made outside the closure: a retried closure must not make another.
    let current = load_visible(ctx.store, who, id)?;
    let mut made: Option<(StoredSecret, SigningSecret)> = None;
    let (doc, ()) = versioned::update(ctx.store, &subscription_key(id), ctx.random, |sub: &mut Subscription, _| {
        let generation = sub.current_generation().max(current.data.current_generation()) + 1;
        if made.as_ref().is_none_or(|(s, _)| s.generation != generation) {
            made = Some(seal_secret(&ctx.config.keyring, id, generation, ctx.random));
        }
        let (stored, _) = made.clone().expect("made above");
        sub.secrets.retain(|s| s.retires_at.is_none_or(|t| t > now));
        for s in sub.secrets.iter_mut().filter(|s| s.retires_at.is_none()) {
            s.retires_at = Some(retires_at);
        }
        sub.secrets.push(stored);
        sub.updated_at = now;
        Ok(Change::Write(()))
    })
    .map_err(Problem::from)?;
    let (_, secret) = made.expect("the update ran");
    Ok((doc, secret, retires_at))
}
