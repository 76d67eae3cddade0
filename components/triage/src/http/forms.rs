//! Triage's request bodies.

use serde::Deserialize;
use shared::domain::{CaseStatus, CheckInOutcome, CheckInPurpose, Organisation, Priority};
use shared::id::{CaseId, MemberId};
use shared::time::Timestamp;

/// Free text of bounded length (1 to `N` characters after trimming).
#[derive(Debug, Clone)]
pub struct Text<const N: usize>(pub String);

impl<'de, const N: usize> Deserialize<'de> for Text<N> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.chars().count() > N {
            return Err(serde::de::Error::custom(format!("must be 1 to {N} characters")));
        }
        Ok(Text(trimmed.to_string()))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandoverForm {
    pub case_id: CaseId,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TakeInForm {
    pub case_id: CaseId,
    pub slot: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandOverForm {
    pub organisation: Organisation,
    pub reason: Text<2000>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkReadForm {
    /// The number of the last message read.
    pub up_to: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignForm {
    pub confidant: Text<100>,
    #[serde(default)]
    pub members: Members,
    #[serde(default)]
    pub reason: Option<Text<2000>>,
}

/// Network members on a case: at most 10, no repeats.
#[derive(Debug, Default)]
pub struct Members(Vec<MemberId>);

impl std::ops::Deref for Members {
    type Target = [MemberId];
    fn deref(&self) -> &[MemberId] {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let members = Vec::<MemberId>::deserialize(d)?;
        let mut unique = members.clone();
        unique.sort();
        unique.dedup();
        if members.len() > 10 || unique.len() != members.len() {
            return Err(serde::de::Error::custom("at most 10 members, each once"));
        }
        Ok(Members(members))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorityForm {
    pub priority: Priority,
    pub reason: Text<2000>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusForm {
    pub status: CaseStatus,
    pub reason: Text<2000>,
    /// Moving to aftercare without an open check-in: why no aftercare is wanted.
    #[serde(default)]
    pub no_aftercare_reason: Option<Text<2000>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckInForm {
    pub due_at: Timestamp,
    pub purpose: CheckInPurpose,
    #[serde(default)]
    pub note: Option<Text<2000>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompletionForm {
    pub outcome: CheckInOutcome,
    pub note: Text<2000>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageForm {
    pub text: Text<5000>,
}
