//! Bounds-checked integer reads. Every accessor returns `None` (or 0 for the `*_or0` forms used
//! on fixed-size arrays whose length is known) instead of panicking on short input.

/// Big-endian u32 at `off`, or `None` when `b` is too short.
#[inline]
pub fn be_u32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_be_bytes(s.try_into().ok()?))
}

/// Big-endian u16 at `off`, or `None` when `b` is too short.
#[inline]
pub fn be_u16(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_be_bytes(s.try_into().ok()?))
}

/// Little-endian u32 at `off`, or `None` when `b` is too short.
#[inline]
pub fn le_u32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes(s.try_into().ok()?))
}

/// Big-endian u32 at `off` of a buffer whose length the caller has already checked.
#[inline]
pub fn be_u32_or0(b: &[u8], off: usize) -> u32 {
    be_u32(b, off).unwrap_or(0)
}

/// Big-endian u16 at `off` of a buffer whose length the caller has already checked.
#[inline]
pub fn be_u16_or0(b: &[u8], off: usize) -> u16 {
    be_u16(b, off).unwrap_or(0)
}

/// One byte at `off`, or 0.
#[inline]
pub fn u8_or0(b: &[u8], off: usize) -> u8 {
    b.get(off).copied().unwrap_or(0)
}

/// Copy `N` bytes starting at `off` into an array, or `None` when `b` is too short.
#[inline]
pub fn array_at<const N: usize>(b: &[u8], off: usize) -> Option<[u8; N]> {
    b.get(off..off.checked_add(N)?)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_input_is_none_not_panic() {
        assert_eq!(be_u32(&[1, 2, 3], 0), None);
        assert_eq!(be_u32(&[1, 2, 3, 4], 1), None);
        assert_eq!(be_u32(&[1, 2, 3, 4], usize::MAX), None);
        assert_eq!(be_u32(&[0, 0, 1, 2], 0), Some(258));
        assert_eq!(le_u32(&[2, 1, 0, 0], 0), Some(258));
        assert_eq!(be_u16(&[1, 0], 0), Some(256));
        assert_eq!(array_at::<2>(&[1, 2, 3], 2), None);
        assert_eq!(array_at::<2>(&[1, 2, 3], 1), Some([2, 3]));
    }
}
