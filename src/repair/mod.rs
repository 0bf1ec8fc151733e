//! Repair: new files built from the evidence (never the evidence itself).
