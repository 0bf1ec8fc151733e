//! Presentation shared by the text renderers and the TUI: formatting of sizes, counts, ranges
//! and truncated strings ([`fmt`]), the one palette ([`theme`]), and the text rendering of the
//! report documents ([`text`] for info/check/dump, [`locks`], [`forensics`]). The wire contract
//! is [`crate::report`]; this is how people read it.

pub mod deep;
pub mod fmt;
pub mod forensics;
pub mod locks;
pub mod scan;
pub mod text;
pub mod theme;
