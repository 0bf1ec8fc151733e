//! Pure decoders for SQLite's on-disk structures: the database header and b-tree page
//! headers, the write-ahead log (`-wal`) and the wal-index (`-shm`).
//!
//! Bytes in, views out: nothing here touches a file, a clock, a thread or a terminal, and no
//! input, however hostile, makes these functions panic. Multi-byte integers in the database and
//! the WAL are big-endian; the `-shm` is in the byte order of the host that wrote it (with the
//! salts as raw big-endian bytes), so its reader is parameterised over [`shm::ShmEndian`].
//!
//! Semantics follow SQLite's `src/wal.c`, `src/btree.c` and `src/pager.c`; see
//! `../shared/format-reference.md` for the distilled rules and test vectors.

pub mod btree;
pub mod bytes;
pub mod carve;
pub mod checksum;
pub mod db_header;
pub mod error;
pub mod escape;
pub mod fingerprint;
pub mod freelist;
pub mod journal;
pub mod ptrmap;
pub mod record;
pub mod shm;
pub mod sniff;
pub mod varint;
pub mod vocab;
pub mod wal;

pub use checksum::{FrameChecksummer, WordOrder, wal_checksum};
pub use error::{ParseError, ParseErrorKind};
