//! Escalation: a case whose first contact is overdue and that no confidant has
//! acknowledged is escalated at its deadline, and again every interval after, until
//! it is acknowledged. Which priorities escalate, and how often, is configuration
//! (`escalation_interval_minutes`, by default P1 every 15 minutes, P2 every hour, P3
//! every 4 hours, P4 every day; a priority left out never escalates).

use crate::context::Ctx;
use crate::core::audit::By;
use crate::core::commit::{commit, Base, Decision};
use shared::events::EventType;
use shared::id::CaseId;
use shared::kv::KeyValue;
use shared::outbound::Outbound;
use shared::problem::Problem;
use shared::time::{Duration, Timestamp};

/// The escalation level a case should be at: 0 before its deadline, 1 at it, and one
/// more for every full `interval` after.
pub fn level_due(deadline: Timestamp, interval: Duration, now: Timestamp) -> u32 {
    if now < deadline {
        return 0;
    }
    let late = now.unix_millis() - deadline.unix_millis();
    let step = interval.whole_milliseconds().max(1) as i64;
    (1 + late / step).min(u32::MAX as i64) as u32
}

/// Escalates case `id` if it is due; true if this call escalated it. Two sweeps at
/// once escalate a level once: the level is part of the compare-and-swap.
pub fn escalate<S: KeyValue, O: Outbound>(ctx: &Ctx<'_, S, O>, id: &CaseId) -> Result<bool, Problem> {
    let done = commit(ctx, id, None, Base::Latest, &By::system(), |record, work, now| {
        let Some(assessment) = &record.assessment else { return Ok(None) };
        let Some(interval) = ctx.config.escalation.get(assessment.priority) else { return Ok(None) };
        if record.acknowledged_at.is_some() || !record.status.is_open() {
            return Ok(None);
        }
        let level = level_due(assessment.first_contact_due, interval, now);
        if level <= work.escalation_level {
            return Ok(None);
        }
        work.escalation_level = level;
        work.last_escalated_at = Some(now);
        Ok(Some(Decision::new(format!("escalated:{level}"), vec![EventType::CaseEscalated])))
    })?;
    Ok(done.changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escalation_levels_start_at_the_deadline_and_step_each_interval() {
        let deadline = Timestamp::from_unix_millis(1_000_000);
        let every = Duration::minutes(15);
        assert_eq!(level_due(deadline, every, deadline - Duration::seconds(1)), 0);
        assert_eq!(level_due(deadline, every, deadline), 1);
        assert_eq!(level_due(deadline, every, deadline + Duration::minutes(14)), 1);
        assert_eq!(level_due(deadline, every, deadline + Duration::minutes(15)), 2);
        assert_eq!(level_due(deadline, every, deadline + Duration::minutes(46)), 4);
    }
}
