//! walinspect: look inside SQLite databases in WAL mode — the database file, its `-wal` log
//! and its `-shm` wal-index — explain what is wrong, and recover what can be recovered.
//!
//! Layers, dependencies pointing down only:
//! - [`format`](mod@format): pure decoders, bytes in, views out, no I/O;
//! - [`source`]: evidence-safe, read-only access to the three files;
//! - [`analysis`]: the WAL as SQLite's recovery sees it and as it lies on disk, the -shm
//!   checked against it, findings;
//! - [`repair`]: new files from the evidence (never the evidence itself);
//! - [`report`]: serde types that are the JSON contract;
//! - [`present`]: text rendering, formatting helpers and the one palette;
//! - [`export`]: row versions written for other tools (CSV, SQLite, JSON Lines, xlsx);
//! - [`cli`] and [`tui`]: the front ends.

// `unsafe_code`, `unwrap`, `expect`, `panic!` and unchecked indexing are denied for every file by
// the `[lints]` table in Cargo.toml; tests may use them (clippy.toml).

// The evidence is opened with O_NOATIME, locks are probed with F_OFD_GETLK and holders found in
// /proc: Linux only.
#[cfg(not(target_os = "linux"))]
compile_error!("walinspect runs on Linux only (it uses O_NOATIME, F_OFD_GETLK and /proc)");

pub mod analysis;
pub mod cli;
pub mod export;
pub mod forensics;
pub mod format;
pub mod live;
pub mod present;
pub mod repair;
pub mod report;
pub mod session;
pub mod source;
pub mod tui;
