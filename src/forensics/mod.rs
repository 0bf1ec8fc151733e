//! Forensics: the database as of any commit, and what each commit changed.
//!
//! Built on [`crate::analysis`] (which frames SQLite reads) and the b-tree decoders of
//! [`crate::format`]: page snapshots ([`snapshot`]), bounded b-tree walks ([`walk`]), the schema
//! ([`schema`]), page ownership ([`ownership`]), the per-commit row timeline ([`timeline`]),
//! every version of one row ([`history`]) and rows SQLite no longer shows ([`salvage`]); which
//! commit the database file already holds ([`checkpoint`]).

pub mod carve;
pub mod checkpoint;
pub mod deep;
pub mod history;
pub mod ownership;
pub mod salvage;
pub mod schema;
pub mod snapshot;
pub mod timeline;
pub mod walk;
