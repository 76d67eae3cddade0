//! Intake's core: the rules and the store protocol, never HTTP. Filing a report
//! (`submit`), what a receipt code opens (`lookup`), the abuse limits (`limits`,
//! `client`, `proof_of_work`), the advice (`advice`), the handoff to triage
//! (`handoff`) and the sweep (`sweep`). Every function takes the request context first.

pub mod advice;
pub mod client;
pub mod handoff;
pub mod limits;
pub mod lookup;
pub mod proof_of_work;
pub mod submit;
pub mod sweep;
