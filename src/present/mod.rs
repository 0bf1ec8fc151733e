//! Presentation shared by the text renderers and the TUI: formatting of sizes, counts, ranges
//! and truncated strings ([`fmt`]). The wire contract is [`crate::report`]; this is how people
//! read it.

pub mod fmt;
