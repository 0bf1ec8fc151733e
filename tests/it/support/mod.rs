//! Helpers shared by the integration tests.

pub mod common;
pub mod forensics;
pub mod repair;
pub mod tree;
