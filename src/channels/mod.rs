//! Channel adapters: each verifies and parses its platform's requests into a
//! [`crate::pipeline::Question`] and renders the [`crate::pipeline::Reply`] back. Only this
//! module knows the platforms.

pub mod slack;
pub mod teams;
pub mod web;
