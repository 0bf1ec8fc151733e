//! SQLite's WAL checksum (`walChecksumBytes` in `src/wal.c`).
//!
//! The input is read as 32-bit words, two at a time, into a running state `(s0, s1)`:
//! `s0 += a + s1; s1 += b + s0` (wrapping). The word byte order is chosen by the low bit of the
//! WAL magic (0x377f0683: big-endian words, 0x377f0682: little-endian words), independent of
//! the host. The -shm header checksum uses the same recurrence in the -shm's native order.

/// Byte order of the 32-bit words fed into the checksum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WordOrder {
    Little,
    Big,
}

/// Continue the checksum `seed` over `data`. Trailing bytes beyond a multiple of 8 are ignored
/// (SQLite only ever checksums multiples of 8 bytes).
#[inline]
pub fn wal_checksum(order: WordOrder, data: &[u8], seed: [u32; 2]) -> [u32; 2] {
    match order {
        WordOrder::Little => checksum_words(data, seed, u32::from_le_bytes),
        WordOrder::Big => checksum_words(data, seed, u32::from_be_bytes),
    }
}

#[inline(always)]
fn checksum_words(data: &[u8], seed: [u32; 2], word: fn([u8; 4]) -> u32) -> [u32; 2] {
    let [mut s0, mut s1] = seed;
    for pair in data.chunks_exact(8) {
        let (a, b) = pair.split_at(4);
        let a = word(a.try_into().unwrap_or([0; 4]));
        let b = word(b.try_into().unwrap_or([0; 4]));
        s0 = s0.wrapping_add(a).wrapping_add(s1);
        s1 = s1.wrapping_add(b).wrapping_add(s0);
    }
    [s0, s1]
}

/// The checksum of one frame continued from `seed` (`walEncodeFrame` in `src/wal.c`): the
/// first 8 bytes of the 24-byte frame header (page number and commit size), then the page after
/// the header. `frame` is the whole frame; a short one is checksummed as far as it goes.
#[inline]
pub fn frame_checksum(order: WordOrder, seed: [u32; 2], frame: &[u8]) -> [u32; 2] {
    let head = frame.get(..8).unwrap_or(&[]);
    let page = frame.get(24..).unwrap_or(&[]);
    wal_checksum(order, page, wal_checksum(order, head, seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_from_the_reference() {
        let w = [0u8, 0, 0, 1, 0, 0, 0, 2];
        assert_eq!(wal_checksum(WordOrder::Big, &w, [0, 0]), [1, 3]);
        assert_eq!(wal_checksum(WordOrder::Little, &w, [0, 0]), [0x0100_0000, 0x0300_0000]);
        // A real WAL header (magic 0x377f0682 => little-endian words).
        let hdr: [u8; 24] = [
            0x37, 0x7f, 0x06, 0x82, 0x00, 0x2d, 0xe2, 0x18, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x02, 0x85, 0x5a,
            0x7b, 0x97, 0x4f, 0x1a, 0xff, 0xfe,
        ];
        assert_eq!(wal_checksum(WordOrder::Little, &hdr, [0, 0]), [0x6e4a_5d98, 0x2725_4f8c]);
    }

    #[test]
    fn shm_header_vector() {
        let words: [u32; 10] = [
            0x18e22d00, 0, 0x0b000000, 0x01000004, 0x02000000, 0x07000000, 0xc9abeb41, 0xd7e3fffd, 0x855a7b97,
            0x4f1afffe,
        ];
        let mut bytes = Vec::new();
        for w in words {
            bytes.extend_from_slice(&w.to_be_bytes());
        }
        let c = wal_checksum(WordOrder::Little, &bytes, [0, 0]);
        let mut out = Vec::new();
        out.extend_from_slice(&c[0].to_le_bytes());
        out.extend_from_slice(&c[1].to_le_bytes());
        assert_eq!(out, [0xd4, 0x9d, 0x6a, 0x3f, 0x2c, 0xd4, 0x18, 0x96]);
    }

    #[test]
    fn seed_continues() {
        let data: Vec<u8> = (0..64u8).collect();
        let whole = wal_checksum(WordOrder::Big, &data, [7, 9]);
        let (a, b) = data.split_at(24);
        let part = wal_checksum(WordOrder::Big, b, wal_checksum(WordOrder::Big, a, [7, 9]));
        assert_eq!(whole, part);
        // odd tail ignored
        assert_eq!(
            wal_checksum(WordOrder::Big, &data[..67.min(data.len())], [0, 0]),
            wal_checksum(WordOrder::Big, &data, [0, 0])
        );
    }
}

/// The checksum of whole WAL frames of one page size, computed in linear form.
///
/// One step maps the state `S = (s0, s1)` and a word pair `(a, b)` to `M·S + (a, a + b)` with
/// `M = [[1, 1], [1, 2]]` (mod 2³²). Over the `n` word pairs of a frame (the first 8 header
/// bytes, then the page) this unrolls to `Mⁿ·S₀ + Σᵢ M^(n−1−i)·(aᵢ, aᵢ + bᵢ)`, so a frame's
/// checksum is a 2×2 product with the seed plus two dot products of its words with fixed
/// coefficient tables. The dot products have no serial dependency and vectorise; the result is
/// bit-for-bit the serial recurrence's (tested against [`wal_checksum`]).
#[derive(Clone, Debug)]
pub struct FrameChecksummer {
    order: WordOrder,
    page_size: usize,
    /// Coefficients for s0 and s1, one per 32-bit word of the page (interleaved a, b).
    c0: Vec<u32>,
    c1: Vec<u32>,
    /// Coefficients for the two header words.
    h0: [u32; 2],
    h1: [u32; 2],
    /// Mⁿ = [[p, q], [q, r]].
    mn: [u32; 3],
}

impl FrameChecksummer {
    /// Tables for frames of `page_size` bytes (a multiple of 8).
    pub fn new(order: WordOrder, page_size: u32) -> Self {
        let page_size = page_size as usize & !7;
        let n = 1 + page_size / 8; // word pairs: header + page
        // M^m for m = 0..n, as (p, q, r) with r = p + q.
        let mut pow = Vec::with_capacity(n + 1);
        let (mut p, mut q) = (1u32, 0u32);
        for _ in 0..=n {
            pow.push((p, q, p.wrapping_add(q)));
            // M^(m+1) = M^m · M: p' = p + q, q' = p + 2q.
            let (np, nq) = (p.wrapping_add(q), p.wrapping_add(q.wrapping_mul(2)));
            p = np;
            q = nq;
        }
        let coef = |i: usize| -> (u32, u32, u32, u32) {
            let (p, q, r) = pow.get(n - 1 - i).copied().unwrap_or((0, 0, 0));
            (p.wrapping_add(q), q, q.wrapping_add(r), r)
        };
        let mut c0 = Vec::with_capacity(page_size / 4);
        let mut c1 = Vec::with_capacity(page_size / 4);
        for i in 1..n {
            let (a0, b0, a1, b1) = coef(i);
            c0.extend([a0, b0]);
            c1.extend([a1, b1]);
        }
        let (a0, b0, a1, b1) = coef(0);
        let (p, q, r) = pow.get(n).copied().unwrap_or((1, 0, 1));
        Self { order, page_size, c0, c1, h0: [a0, b0], h1: [a1, b1], mn: [p, q, r] }
    }

    /// The page size these tables are for.
    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// The checksum of `frame` (24-byte header + page) continued from `seed`; the same value as
    /// [`frame_checksum`]. A frame of the wrong length falls back to the serial form.
    pub fn checksum(&self, seed: [u32; 2], frame: &[u8]) -> [u32; 2] {
        let (Some(head), Some(page)) = (frame.get(..8), frame.get(24..)) else {
            return frame_checksum(self.order, seed, frame);
        };
        if page.len() != self.page_size {
            return frame_checksum(self.order, seed, frame);
        }
        let word = |b: &[u8], i: usize| -> u32 {
            let w: [u8; 4] = b.get(i * 4..i * 4 + 4).and_then(|s| s.try_into().ok()).unwrap_or([0; 4]);
            match self.order {
                WordOrder::Little => u32::from_le_bytes(w),
                WordOrder::Big => u32::from_be_bytes(w),
            }
        };
        let (ha, hb) = (word(head, 0), word(head, 1));
        let (d0, d1) = dot2(self.order, page, &self.c0, &self.c1);
        let [p, q, r] = self.mn;
        let s0 = p
            .wrapping_mul(seed[0])
            .wrapping_add(q.wrapping_mul(seed[1]))
            .wrapping_add(self.h0[0].wrapping_mul(ha))
            .wrapping_add(self.h0[1].wrapping_mul(hb))
            .wrapping_add(d0);
        let s1 = q
            .wrapping_mul(seed[0])
            .wrapping_add(r.wrapping_mul(seed[1]))
            .wrapping_add(self.h1[0].wrapping_mul(ha))
            .wrapping_add(self.h1[1].wrapping_mul(hb))
            .wrapping_add(d1);
        [s0, s1]
    }
}

/// Two dot products of `bytes` (as u32 words in `order`) with `c0` and `c1`, wrapping.
#[inline(always)]
fn dot2_generic(order: WordOrder, bytes: &[u8], c0: &[u32], c1: &[u32]) -> (u32, u32) {
    match order {
        WordOrder::Little => dot2_words::<false>(bytes, c0, c1),
        WordOrder::Big => dot2_words::<true>(bytes, c0, c1),
    }
}

/// The loop the compiler vectorises: one load, two multiplies and two adds per word, no
/// dependency between iterations except the (associative) sums.
#[inline(always)]
fn dot2_words<const BIG: bool>(bytes: &[u8], c0: &[u32], c1: &[u32]) -> (u32, u32) {
    let mut s0 = 0u32;
    let mut s1 = 0u32;
    for ((w, k0), k1) in bytes.chunks_exact(4).zip(c0).zip(c1) {
        let w = <[u8; 4]>::try_from(w).unwrap_or([0; 4]);
        let w = if BIG { u32::from_be_bytes(w) } else { u32::from_le_bytes(w) };
        s0 = s0.wrapping_add(k0.wrapping_mul(w));
        s1 = s1.wrapping_add(k1.wrapping_mul(w));
    }
    (s0, s1)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn dot2_avx2(order: WordOrder, bytes: &[u8], c0: &[u32], c1: &[u32]) -> (u32, u32) {
    dot2_generic(order, bytes, c0, c1)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
fn dot2_avx512(order: WordOrder, bytes: &[u8], c0: &[u32], c1: &[u32]) -> (u32, u32) {
    dot2_generic(order, bytes, c0, c1)
}

/// Dispatch to the widest vector unit this CPU has.
#[allow(unsafe_code)]
fn dot2(order: WordOrder, bytes: &[u8], c0: &[u32], c1: &[u32]) -> (u32, u32) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512bw") {
        // SAFETY: the CPU supports AVX-512F/BW (checked just above), the only requirement of
        // calling a function compiled with those target features; the function is safe Rust.
        return unsafe { dot2_avx512(order, bytes, c0, c1) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above), the only requirement of calling a
        // function compiled with `target_feature(enable = "avx2")`; the function itself is
        // safe Rust.
        return unsafe { dot2_avx2(order, bytes, c0, c1) };
    }
    dot2_generic(order, bytes, c0, c1)
}

#[cfg(test)]
mod linear_tests {
    use super::*;

    fn rnd(seed: &mut u64, n: usize) -> Vec<u8> {
        (0..n)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                *seed as u8
            })
            .collect()
    }

    #[test]
    fn linear_form_equals_the_serial_recurrence() {
        let mut s = 0x1234_5678_9abc_def1u64;
        for ps in [512u32, 1024, 4096, 65536] {
            for order in [WordOrder::Little, WordOrder::Big] {
                let fc = FrameChecksummer::new(order, ps);
                for _ in 0..4 {
                    let frame = rnd(&mut s, 24 + ps as usize);
                    let seed = [s as u32, (s >> 32) as u32];
                    assert_eq!(fc.checksum(seed, &frame), frame_checksum(order, seed, &frame), "page {ps} {order:?}");
                    assert_eq!(
                        dot2_generic(order, &frame[24..], &fc.c0, &fc.c1),
                        dot2(order, &frame[24..], &fc.c0, &fc.c1)
                    );
                }
                // Wrong length: same answer as the serial form.
                let short = rnd(&mut s, 100);
                assert_eq!(fc.checksum([1, 2], &short), frame_checksum(order, [1, 2], &short));
            }
        }
    }
}
