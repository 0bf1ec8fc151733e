//! Helpers shared by the integration tests.

pub mod carve_corpus;
pub mod common;
pub mod forensics;
pub mod repair;
pub mod tmux;
pub mod tree;
