//! The Microsoft Teams channel (skeleton; being built for issue 5).

pub mod auth;
pub mod cards;
