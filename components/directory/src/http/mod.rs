//! The directory's edge: one handler per endpoint ([`endpoints`]) that authenticates,
//! parses ([`forms`]), calls the core and answers with a typed body ([`views`]).

pub mod endpoints;
pub mod forms;
pub mod views;
