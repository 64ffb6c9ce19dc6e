//! Frame memory: a byte array that grows in 32-byte words and is paid for quadratically.

use crate::gas;

/// Memory of one frame. `ptr` and `len` are mirrored for native code (ABI), `buf` owns the
/// bytes. `len` is always a multiple of 32.
#[repr(C)]
#[derive(Debug)]
pub struct Memory {
    ptr: *mut u8,
    len: usize,
    buf: Vec<u8>,
}

// SAFETY: `ptr` points into `buf`, which the Memory owns.
unsafe impl Send for Memory {}

impl Default for Memory {
    fn default() -> Self {
        Self::new()
    }
}

/// Memory beyond this many bytes is refused as out of gas: its expansion alone would cost
/// more than 2^45 gas, far beyond any block's gas limit, and refusing keeps an absurd offset
/// from allocating.
pub const MAX_MEMORY: u64 = 1 << 32;

impl Memory {
    pub const PTR_OFFSET: usize = std::mem::offset_of!(Memory, ptr);
    pub const LEN_OFFSET: usize = std::mem::offset_of!(Memory, len);

    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(4096);
        Self { ptr: buf.as_mut_ptr(), len: 0, buf }
    }

    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Words currently paid for.
    #[inline(always)]
    pub fn words(&self) -> u64 {
        (self.len / 32) as u64
    }

    /// The gas to grow memory so that `end` bytes are addressable, or `None` if it does not
    /// need to grow. `end` must be at most [`MAX_MEMORY`].
    #[inline]
    pub fn expansion_cost(&self, end: u64) -> Option<u64> {
        if end <= self.len as u64 {
            return None;
        }
        let new_words = gas::words(end);
        Some(gas::memory_cost(new_words) - gas::memory_cost(self.words()))
    }

    /// Grows to hold `end` bytes (rounded up to a word), zero-filled.
    pub fn grow(&mut self, end: u64) {
        let new_len = (gas::words(end) * 32) as usize;
        if new_len > self.len {
            self.buf.resize(new_len, 0);
            self.ptr = self.buf.as_mut_ptr();
            self.len = new_len;
        }
    }

    #[inline]
    pub fn slice(&self, offset: usize, len: usize) -> &[u8] {
        &self.buf[offset..offset + len]
    }

    #[inline]
    pub fn slice_mut(&mut self, offset: usize, len: usize) -> &mut [u8] {
        &mut self.buf[offset..offset + len]
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.buf
    }

    /// Writes `len` bytes at `offset` taken from `data[data_offset..]`, zero-filling where
    /// `data` ends (CALLDATACOPY, CODECOPY, EXTCODECOPY semantics).
    pub fn set_data(&mut self, offset: usize, data_offset: u64, len: usize, data: &[u8]) {
        let dst = self.slice_mut(offset, len);
        if data_offset >= data.len() as u64 {
            dst.fill(0);
            return;
        }
        let start = data_offset as usize;
        let n = (data.len() - start).min(len);
        dst[..n].copy_from_slice(&data[start..start + n]);
        dst[n..].fill(0);
    }

    /// MCOPY: overlapping copy within memory.
    pub fn copy_within(&mut self, dst: usize, src: usize, len: usize) {
        self.buf.copy_within(src..src + len, dst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_cost_is_incremental() {
        let mut m = Memory::new();
        assert_eq!(m.expansion_cost(0), None);
        assert_eq!(m.expansion_cost(1), Some(3));
        m.grow(1);
        assert_eq!(m.len(), 32);
        assert_eq!(m.expansion_cost(32), None);
        assert_eq!(m.expansion_cost(64), Some(3));
        // 724 words cost 3*724 + 724²/512 = 2172 + 1023.
        assert_eq!(m.expansion_cost(724 * 32), Some(2172 + 1023 - 3));
    }

    #[test]
    fn set_data_zero_fills() {
        let mut m = Memory::new();
        m.grow(64);
        m.slice_mut(0, 64).fill(0xff);
        m.set_data(0, 2, 8, &[1, 2, 3, 4]);
        assert_eq!(m.slice(0, 8), &[3, 4, 0, 0, 0, 0, 0, 0]);
        m.set_data(8, u64::MAX, 4, &[1]);
        assert_eq!(m.slice(8, 4), &[0; 4]);
        assert_eq!(m.slice(12, 4), &[0xff; 4]);
    }

    #[test]
    fn copy_within_overlaps() {
        let mut m = Memory::new();
        m.grow(32);
        m.slice_mut(0, 4).copy_from_slice(&[1, 2, 3, 4]);
        m.copy_within(1, 0, 4);
        assert_eq!(m.slice(0, 5), &[1, 1, 2, 3, 4]);
    }
}
