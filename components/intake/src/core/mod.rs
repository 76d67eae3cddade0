pub mod advice;
pub mod client;
pub mod handoff;
pub mod limits;
pub mod lookup;
pub mod proof_of_work;
pub mod submit;
pub mod sweep;
