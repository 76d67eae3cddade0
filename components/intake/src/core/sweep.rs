//! Intake's sweep: forgets what must not be kept. Abuse counters go once their window
//! has passed, proof-of-work challenges after 10 minutes, idempotency records after 24
//! hours. Called by the scheduler with the
//! internal secret (see docs/operations.md); safe when two sweeps run at once.

use crate::context::Ctx;
use crate::core::limits::expiring_counters;
use crate::core::proof_of_work::expiring_challenges;
use crate::core::submit::expiring_idempotency;
use shared::kv::KeyValue;
use shared::problem::Problem;

/// Most entries one sweep purges per class, so a sweep stays well inside a request.
pub const SWEEP_BATCH: u64 = 500;

/// What a sweep purged (the answer to the sweep, and what the watchdog records of a run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    pub limit_counters: u64,
    pub proof_of_work_challenges: u64,
    pub idempotency_records: u64,
    /// True when expired entries are left for the next sweep.
    pub more: bool,
}

/// Purges expired limit counters, challenges and idempotency records.
pub fn sweep<S: KeyValue, O>(ctx: &Ctx<'_, S, O>) -> Result<SweepReport, Problem> {
    let now = ctx.now();
    let counters = expiring_counters().sweep(ctx.store, now, SWEEP_BATCH, ctx.random)?;
    let challenges = expiring_challenges().sweep(ctx.store, now, SWEEP_BATCH, ctx.random)?;
    let idempotency = expiring_idempotency().sweep(ctx.store, now, SWEEP_BATCH, ctx.random)?;
    Ok(SweepReport {
        limit_counters: counters.purged,
        proof_of_work_challenges: challenges.purged,
        idempotency_records: idempotency.purged,
        more: counters.more || challenges.more || idempotency.more,
    })
}
