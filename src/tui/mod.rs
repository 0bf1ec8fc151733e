//! The live terminal UI.
