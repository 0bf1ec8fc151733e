//! walinspect: look inside SQLite databases in WAL mode — the database file, its `-wal` log
//! and its `-shm` wal-index — explain what is wrong, and recover what can be recovered.
//!
//! Layers, dependencies pointing down only:
//! - [`format`]: pure decoders, bytes in, views out, no I/O;
//! - [`source`]: evidence-safe, read-only access to the three files;
//! - [`analysis`]: the WAL as SQLite's recovery sees it and as it lies on disk, the -shm
//!   checked against it, findings;
//! - [`repair`]: new files from the evidence (never the evidence itself);
//! - [`report`]: serde types that are the JSON contract;
//! - [`present`]: text rendering, formatting helpers and the one palette;
//! - [`cli`] and [`tui`]: the front ends.

#![deny(unsafe_code)]

pub mod analysis;
pub mod cli;
pub mod forensics;
pub mod format;
pub mod live;
pub mod present;
pub mod repair;
pub mod report;
pub mod session;
pub mod source;
pub mod tui;
