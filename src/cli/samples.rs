//! Sample states embedded in the binary, so a first run needs no setup. They are made by a
//! real SQLite with `samples/make-samples.py` (see `samples/README.md`).

use std::path::{Path, PathBuf};

/// An embedded sample: name, one-line description, and the three files.
pub struct Sample {
    pub name: &'static str,
    pub about: &'static str,
    pub db: &'static [u8],
    pub wal: &'static [u8],
    pub shm: &'static [u8],
}

macro_rules! sample {
    ($name:literal, $about:literal) => {
        Sample {
            name: $name,
            about: $about,
            db: include_bytes!(concat!("../../samples/", $name, "/app.db")),
            wal: include_bytes!(concat!("../../samples/", $name, "/app.db-wal")),
            shm: include_bytes!(concat!("../../samples/", $name, "/app.db-shm")),
        }
    };
}

pub const SAMPLES: &[Sample] = &[
    sample!("crashed", "a writer died inside a large transaction; its last frame is torn"),
    sample!("healthy", "several commits, a reader holding a snapshot, a partial checkpoint"),
    sample!("reset", "a WAL restarted twice, frames of two earlier generations left behind"),
    sample!("damaged", "one flipped byte in a committed frame; the -shm is now ahead of the WAL"),
];

pub fn find(name: &str) -> Option<&'static Sample> {
    SAMPLES.iter().find(|s| s.name == name)
}

/// Write a sample's files into `dir` (a fresh temporary directory) and return the db path.
pub fn materialise(s: &Sample, dir: &Path) -> std::io::Result<PathBuf> {
    let db = dir.join("app.db");
    std::fs::write(&db, s.db)?;
    std::fs::write(dir.join("app.db-wal"), s.wal)?;
    std::fs::write(dir.join("app.db-shm"), s.shm)?;
    Ok(db)
}
