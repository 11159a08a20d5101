//! The fuzz targets' bodies live in [`targets`] (shared with the main workspace's replay test,
//! `tests/fuzz_corpus.rs`); each `fuzz_targets/<name>.rs` is one `fuzz_target!` line over one of
//! them.

pub mod targets;

pub use targets::{ACS_URL, IDP_ENTITY_ID, NOW, SP_ENTITY_ID, policy};
