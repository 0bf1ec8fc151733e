//! The integration tests, one binary: the crate and the bundled SQLite are linked once.
//! Each module was once its own test crate; run one with `cargo test --test it MODULE::`.
//! Snapshots live in tests/it/snapshots/ (named `it__MODULE__NAME.snap`).

// Tests may unwrap, expect, panic and index: a failing test should fail loudly. (Cargo.toml's
// `[lints]` deny them in the library and binaries.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

mod carving;
mod cli;
mod deep;
mod docs;
mod export;
mod fastpath;
mod forensics;
mod forensics_cli;
mod forensics_robustness;
mod forensics_states;
mod json_contract;
mod layering;
mod locks;
mod mutation_sweep;
mod real_world;
mod repair_extract;
mod repair_install;
mod repair_robustness;
mod repair_shm;
mod robustness;
mod scan;
mod scenarios;
mod trust_hostile;
mod trust_live;
mod trust_outputs;
mod tui_bench;
mod tui_live;
mod tui_operator;
mod tui_views;
