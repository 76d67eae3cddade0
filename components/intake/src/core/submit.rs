//! Filing a report: durable, sealed, idempotent, and handed on to triage.

use crate::context::Ctx;
use crate::core::client::Client;
use crate::core::limits::{Counting, Limit};
use crate::core::proof_of_work::{self, Proof, Rejected};
use crate::core::{advice, handoff};
use serde::{Deserialize, Serialize};
use shared::case::{
    case_key, case_receipt_key, pending_triage_log, receipt_key, CaseReceipt, CaseRecord, PendingTriage, ReceiptEntry,
    ReportFacts, ReporterDetails, RECEIPT_PURPOSE, REPORTER_FIELD,
};
use shared::case_keys::CaseCipher;
use shared::crypto::FieldSealer;
use shared::domain::{CaseStatus, Language};
use shared::id::CaseId;
use shared::kv::expiry::{Expiring, ExpiryClass};
use shared::kv::versioned::{self, Versioned};
use shared::kv::{claim, get_json, to_json, KeyValue};
use shared::outbound::Outbound;
use shared::problem::{Problem, ProblemKind};
use shared::receipt::ReceiptCode;
use shared::time::{Duration, Timestamp};

/// A valid report: the facts for triage, and the details that are only stored sealed.
/// Made at the edge by `NewReport::parse` (`http/forms.rs`); past it nothing re-checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReport {
    pub facts: ReportFacts,
    pub details: ReporterDetails,
}

/// How long a retried submission finds its first answer.
pub const IDEMPOTENCY_WINDOW: Duration = Duration::hours(24);

/// How long a claimed Idempotency-Key waits for its case. Between the claim and the
/// case write there are only a few store calls, so a claim this old whose case never
/// appeared belongs to a request that died (a trap, a lost instance): a retry may then
/// take the key over instead of getting 409 forever.
pub const IDEMPOTENCY_CLAIM_LEASE: Duration = Duration::seconds(60);

/// How many times a key can be taken over after dead requests before retries get 409.
const CLAIM_GENERATIONS: u32 = 8;

/// The expiry class of idempotency records.
pub fn expiring_idempotency() -> ExpiryClass {
    ExpiryClass::new("idempotency")
}

/// How many receipt codes we try before giving up on a (vanishingly unlikely) run of
/// collisions with codes already handed out.
const RECEIPT_ATTEMPTS: u32 = 5;

/// A client's `Idempotency-Key`, checked: 1 to 255 visible ASCII characters.
#[derive(Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Parses the header value.
    pub fn parse(raw: &str) -> Result<Self, Problem> {
        if raw.is_empty() || raw.len() > 255 || !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Problem::new(ProblemKind::InvalidParameter, "must be 1 to 255 visible ASCII characters")
                .at("idempotency-key"));
        }
        Ok(IdempotencyKey(raw.to_string()))
    }
}

/// What an idempotency key leads to, at `idem/<keyed hash>` (the key itself is never
/// stored: it may be guessable, and it unlocks the receipt code).
#[derive(Debug, Serialize, Deserialize)]
struct IdempotencyRecord {
    case_id: CaseId,
    /// Keyed hash of the request body: the same key with another body is refused.
    fingerprint: String,
    receipt_attempt: u32,
    created_at: Timestamp,
}

/// The answer to a filed report.
#[derive(Debug)]
pub struct Filed {
    pub case_id: CaseId,
    pub receipt: ReceiptCode,
    pub status: CaseStatus,
    pub advice: Vec<&'static str>,
    pub emergency: bool,
    /// True when this answers a retry of an earlier submission.
    pub replayed: bool,
}

struct Idempotency {
    record_key: String,
    /// The claim key of generation 0; generation `g > 0` adds `/g`.
    claim_key: String,
    fingerprint: String,
    derivation: String,
}

impl Idempotency {
    fn claim_key(&self, generation: u32) -> String {
        match generation {
            0 => self.claim_key.clone(),
            g => format!("{}/{g}", self.claim_key),
        }
    }
}

/// What claiming an Idempotency-Key came to.
enum KeyClaim {
    /// This request holds generation `n` of the key's claim.
    Won(u32),
    /// Another request holds it, and may still write its case.
    Busy,
}

/// Files `report`. `body` is the raw request body (fingerprinted for idempotency).
/// A client past its submission limit is admitted by a solved challenge (`proof`);
/// without one it gets the 112 advice and a fresh challenge.
pub fn file<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    report: NewReport,
    body: &[u8],
    client: &Client,
    key: Option<IdempotencyKey>,
    proof: Option<Proof>,
) -> Result<Filed, Problem> {
    let now = ctx.now();
    let idempotency = key.map(|k| idempotency_of(ctx, &k, body));
    if let Some(idem) = &idempotency {
        if let Some(filed) = replay(ctx, idem)? {
            return Ok(filed);
        }
    }

    // A valid proof admits the report whatever the bucket says, and is not counted.
    let (redeemed, rejected) = match proof.map(|p| proof_of_work::redeem(ctx, &p)).transpose()? {
        Some(Ok(redeemed)) => (Some(redeemed), None),
        Some(Err(rejected)) => (None, Some(rejected)),
        None => (None, None),
    };
    if redeemed.is_none() {
        let limit = Limit {
            purpose: "submit",
            max: ctx.config.submission_limit_per_hour,
            window_seconds: 3600,
            counting: Counting::Every,
        };
        let window = limit.window(&ctx.config.hasher, client, now);
        if !window.take(ctx.store)? {
            return Err(submission_limited(ctx, window.retry_after, report.facts.language, rejected)?);
        }
    }

    let filed = file_admitted(ctx, report, now, idempotency.as_ref());
    if filed.is_err() {
        if let Some(redeemed) = redeemed {
            proof_of_work::release(ctx, redeemed);
        }
    }
    filed
}

/// The refusal of a submission past the limit: never a bare "no". It carries the
/// 112 advice in the reporter's language and a challenge whose solution admits the
/// report at once.
fn submission_limited<S: KeyValue, O>(
    ctx: &Ctx<'_, S, O>,
    retry_after: u64,
    language: Language,
    rejected: Option<Rejected>,
) -> Result<Problem, Problem> {
    let challenge = proof_of_work::issue_challenge(ctx)?;
    let mut problem = Problem::too_many_requests(retry_after)
        .with_member("advice", member(&[advice::call_112(language)]))
        .with_member("proof_of_work", member(&challenge));
    problem.detail = match rejected {
        None => "too many reports from this address; to send this report now, solve the proof-of-work \
                 challenge and send it again with the Weerbaar-Proof-Of-Work header"
            .into(),
        Some(why) => format!(
            "too many reports from this address, and the proof of work was not accepted: {}; \
             solve this new challenge",
            why.reason()
        ),
    };
    Ok(problem)
}

/// A typed member of a problem body.
fn member<T: Serialize + ?Sized>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("plain data serialises")
}

/// Files a report that is within its limit (or admitted by a proof).
fn file_admitted<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    report: NewReport,
    now: Timestamp,
    idempotency: Option<&Idempotency>,
) -> Result<Filed, Problem> {
    let claimed = match idempotency {
        None => None,
        Some(idem) => match claim_key(ctx, idem, now)? {
            KeyClaim::Won(generation) => Some((idem, generation)),
            // Another request with this key holds the claim: answer as it did, or ask
            // the client to come back once it has.
            KeyClaim::Busy => {
                return match replay(ctx, idem)? {
                    Some(filed) => Ok(filed),
                    None => {
                        let mut p = Problem::new(
                            ProblemKind::Conflict,
                            "a submission with this Idempotency-Key is being processed; retry shortly",
                        )
                        .at("idempotency-key");
                        p.retry_after = Some(1);
                        Err(p)
                    }
                };
            }
        },
    };

    let written = write_case(ctx, report, now, claimed);
    if written.is_err() {
        if let Some((idem, generation)) = claimed {
            // Free the key so the client's retry can file the report.
            let _ = ctx.store.delete(&idem.claim_key(generation));
        }
    }
    let filed = written?;
    // The report is durable and queued for triage: the reporter has what they need.
    // Triage (and, for a P1, the coordinators' first webhook) follows right after the
    // answer, in this instance; if that fails, triage's sweep takes the case.
    let case = filed.case_id.clone();
    ctx.after_response(move |ctx| {
        handoff::triage_case(ctx, &case);
    });
    Ok(filed)
}

/// Claims the key for this request. A claim is a counter incremented by the claim
/// time in seconds: the first increment finds zero and gets back exactly its own
/// time; a later one learns when the claim was taken (what it got back less its own
/// time) and takes its time back out. A claim older than [`IDEMPOTENCY_CLAIM_LEASE`]
/// whose case was never written (the caller replays first) is dead, and the next
/// generation's key may be claimed. One store call when the key is free.
fn claim_key<S: KeyValue, O>(ctx: &Ctx<'_, S, O>, idem: &Idempotency, now: Timestamp) -> Result<KeyClaim, Problem> {
    let at = now.unix_seconds().max(1);
    let lease = IDEMPOTENCY_CLAIM_LEASE.whole_seconds();
    for generation in 0..CLAIM_GENERATIONS {
        let key = idem.claim_key(generation);
        let claimed_at = ctx.store.increment(&key, at)? - at;
        if claimed_at == 0 {
            return Ok(KeyClaim::Won(generation));
        }
        let _ = ctx.store.increment(&key, -at);
        // Claims from before claims carried their time hold 1: long dead. A value in
        // the future holds another loser's time not yet taken out: the claim is live.
        if claimed_at > at + lease || at - claimed_at < lease {
            return Ok(KeyClaim::Busy);
        }
    }
    Ok(KeyClaim::Busy)
}

fn idempotency_of<S, O>(ctx: &Ctx<'_, S, O>, key: &IdempotencyKey, body: &[u8]) -> Idempotency {
    let hasher = &ctx.config.hasher;
    let key_hash = hasher.hex("idempotency-key", key.0.as_bytes());
    let fingerprint = hasher.hex("idempotency-body", body);
    Idempotency {
        record_key: format!("idem/{key_hash}"),
        claim_key: format!("idem/{key_hash}/claim"),
        derivation: format!("{key_hash}:{fingerprint}"),
        fingerprint,
    }
}

/// The receipt code for attempt `n`: random without an idempotency key; with one,
/// derived from it and the body, so a retry can show the same code again without
/// the code ever being stored.
fn receipt_code<S, O>(ctx: &Ctx<'_, S, O>, idem: Option<&Idempotency>, attempt: u32) -> ReceiptCode {
    match idem {
        None => ReceiptCode::generate(ctx.random),
        Some(idem) => {
            let mac = ctx.config.hasher.mac("receipt-derivation", format!("{}:{attempt}", idem.derivation).as_bytes());
            ReceiptCode::derive(mac[..16].try_into().expect("16 bytes"))
        }
    }
}

fn replay<S: KeyValue, O>(ctx: &Ctx<'_, S, O>, idem: &Idempotency) -> Result<Option<Filed>, Problem> {
    let Some(record) = get_json::<_, IdempotencyRecord>(ctx.store, &idem.record_key)? else {
        return Ok(None);
    };
    if record.fingerprint != idem.fingerprint {
        return Err(Problem::new(
            ProblemKind::IdempotencyKeyReused,
            "this Idempotency-Key was used for a different report; use a fresh key for a new report",
        )
        .at("idempotency-key"));
    }
    let case: Versioned<CaseRecord> = versioned::read(ctx.store, &case_key(&record.case_id))?
        .ok_or_else(|| Problem::internal(anyhow::anyhow!("idempotency record points to a missing case")))?;
    let facts = &case.data.facts;
    Ok(Some(Filed {
        case_id: record.case_id,
        receipt: receipt_code(ctx, Some(idem), record.receipt_attempt),
        status: case.data.status,
        advice: advice::for_report(facts),
        emergency: facts.immediate_danger || facts.threat_to_life,
        replayed: true,
    }))
}

fn write_case<S: KeyValue, O>(
    ctx: &Ctx<'_, S, O>,
    report: NewReport,
    now: Timestamp,
    claimed: Option<(&Idempotency, u32)>,
) -> Result<Filed, Problem> {
    let idem = claimed.map(|(idem, _)| idem);
    let case_id = CaseId::generate(ctx.random);
    let (receipt, receipt_hash, attempt) = claim_receipt(ctx, idem)?;
    let pending = pending_triage_log();
    let slot = pending.reserve(ctx.store)?;
    let (cipher, key_entries) = CaseCipher::create(&ctx.config.keyring, &case_id, slot, ctx.random);
    let reporter = cipher.seal_json(&report.details, case_id.as_str(), REPORTER_FIELD, ctx.random);
    let advice = advice::for_report(&report.facts);
    let emergency = report.facts.immediate_danger || report.facts.threat_to_life;
    let record = CaseRecord {
        id: case_id.clone(),
        received_at: now,
        status: CaseStatus::Received,
        facts: report.facts,
        reporter,
        pending_triage_slot: Some(slot),
        assessment: None,
        acknowledged_at: None,
        next_check_in: None,
        work: None,
    };
    let mut entries = vec![
        (case_key(&case_id), Versioned::first(record, ctx.random).encode()),
        (receipt_key(&receipt_hash), to_json(&ReceiptEntry { case_id: case_id.clone() })),
        (pending.key(slot), to_json(&PendingTriage { case_id: case_id.clone(), since: now })),
        (case_receipt_key(&case_id), to_json(&CaseReceipt { receipt_hash: receipt_hash.clone() })),
    ];
    entries.extend(key_entries);
    if let Some((idem, generation)) = claimed {
        let record = IdempotencyRecord {
            case_id: case_id.clone(),
            fingerprint: idem.fingerprint.clone(),
            receipt_attempt: attempt,
            created_at: now,
        };
        entries.push((idem.record_key.clone(), to_json(&record)));
        let expiring = Expiring {
            keys: std::iter::once(idem.record_key.clone()).chain((0..=generation).map(|g| idem.claim_key(g))).collect(),
            expires_at: now + IDEMPOTENCY_WINDOW,
        };
        entries.push(expiring_idempotency().schedule(ctx.store, &expiring)?);
    }
    // One atomic write: the case, its data key, its receipt and its place in the
    // triage queue exist together or not at all.
    ctx.store.set_many(&entries)?;
    Ok(Filed { case_id, receipt, status: CaseStatus::Received, advice, emergency, replayed: false })
}

/// A receipt code no other case has: its hash claimed with an atomic increment.
fn claim_receipt<S: KeyValue, O>(
    ctx: &Ctx<'_, S, O>,
    idem: Option<&Idempotency>,
) -> Result<(ReceiptCode, String, u32), Problem> {
    for attempt in 0..RECEIPT_ATTEMPTS {
        let code = receipt_code(ctx, idem, attempt);
        let hash = ctx.config.hasher.hex(RECEIPT_PURPOSE, code.canonical().as_bytes());
        if claim(ctx.store, &format!("{}/claim", receipt_key(&hash)))? {
            return Ok((code, hash, attempt));
        }
    }
    Err(Problem::internal(anyhow::anyhow!("no free receipt code after {RECEIPT_ATTEMPTS} attempts")))
}
