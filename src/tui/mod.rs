//! The live terminal UI: `walinspect tui PATH`.

pub mod live;
