//! Memory maps, for offline evidence only (opt-in with `--mmap`).
//!
//! A map lets the WAL be verified in place, at memory speed, with no copy. Its hazard: if
//! another process truncates the file while it is mapped, touching the vanished pages raises
//! SIGBUS. SQLite truncates a `-wal` on `wal_checkpoint(TRUNCATE)` and with
//! `journal_size_limit`, so a live database must be read with positioned reads (the default,
//! and the only mode of the live UI). When a map is in use, [`install_sigbus_handler`] turns
//! such a SIGBUS into one clear line and exit status 2 instead of a crash.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;

/// A read-only map of a whole file.
pub struct Mapped {
    map: memmap2::Mmap,
}

impl Mapped {
    /// Map `file` read-only (private, never written back).
    ///
    /// # Safety
    /// The caller must accept that a concurrent truncation of the file raises SIGBUS when the
    /// vanished part is touched; call [`install_sigbus_handler`] first so that ends the process
    /// with a message rather than a crash. The map is never written through.
    pub unsafe fn map(file: &File) -> io::Result<Self> {
        // SAFETY: read-only private mapping of a file we opened read-only; the truncation hazard
        // is the caller's documented choice (see above).
        let map = unsafe { memmap2::MmapOptions::new().map(file)? };
        let _ = map.advise(memmap2::Advice::Sequential);
        Ok(Self { map })
    }

    /// The mapped bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Populate the page tables for a range before reading it (`MADV_POPULATE_READ`, Linux
    /// 5.14+; ignored where unsupported): one call instead of a fault per few pages, and each
    /// worker thread does its own range.
    pub fn will_read(&self, offset: u64, len: u64) {
        let (Ok(o), Ok(l)) = (usize::try_from(offset), usize::try_from(len)) else { return };
        let l = l.min(self.map.len().saturating_sub(o));
        if l > 0 {
            let _ = self.map.advise_range(memmap2::Advice::PopulateRead, o, l);
        }
    }
}

const SIGBUS_MESSAGE: &[u8] =
    b"walinspect: a mapped file was truncated while being read (SIGBUS); run again without --mmap\n";

extern "C" fn on_sigbus(_: libc::c_int) {
    // SAFETY: write(2) and _exit(2) are async-signal-safe; the buffer is a static.
    unsafe {
        let _ = libc::write(2, SIGBUS_MESSAGE.as_ptr().cast(), SIGBUS_MESSAGE.len());
        libc::_exit(2);
    }
}

/// Make SIGBUS end the process with one line on stderr and exit status 2.
pub fn install_sigbus_handler() {
    // SAFETY: a zeroed sigaction with a plain handler (no SA_SIGINFO) and an empty mask is valid;
    // the handler only calls async-signal-safe functions.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigbus as *const () as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGBUS, &sa, std::ptr::null_mut());
    }
}
