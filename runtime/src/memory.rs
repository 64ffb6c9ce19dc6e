//! Frame memory: a byte array that grows in 32-byte words and is paid for quadratically.

use crate::context::Status;
use crate::gas;
use alloy_primitives::U256;
use std::cell::RefCell;

/// Memory buffers kept per thread for reuse, so a frame does not allocate its first pages.
/// A pooled buffer is emptied; growing zero-fills, so stale bytes are never visible.
const POOL_LIMIT: usize = 32;
/// Buffers larger than this are freed rather than pooled.
const POOL_MAX_CAPACITY: usize = 128 << 10;
const INITIAL_CAPACITY: usize = 4096;
/// Most zeroed bytes one growth puts ahead of the length: growth doubles the zeroed part, up
/// to this much more than asked, so memory growing a word at a time (Solidity's allocator) is
/// not resized and zero-filled at every step.
const ZEROED_AHEAD: usize = 64 << 10;

thread_local! {
    static POOL: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// Memory of one frame. `ptr`, `len` and `limit` are mirrored for native code (ABI), `buf`
/// owns the bytes. `len` is the EVM's memory size, always a multiple of 32; `buf` may be
/// longer (`limit` is its length), and is zero past `len`: growth within it only moves `len`,
/// which compiled code does inline.
#[repr(C)]
#[derive(Debug)]
pub struct Memory {
    ptr: *mut u8,
    len: usize,
    limit: usize,
    buf: Vec<u8>,
}

// SAFETY: `ptr` points into `buf`, which the Memory owns.
unsafe impl Send for Memory {}

impl Drop for Memory {
    fn drop(&mut self) {
        let mut buf = std::mem::take(&mut self.buf);
        if buf.capacity() > POOL_MAX_CAPACITY || buf.capacity() < INITIAL_CAPACITY {
            return;
        }
        buf.clear();
        crate::pool::give(&POOL, buf, POOL_LIMIT);
    }
}

impl Default for Memory {
    fn default() -> Self {
        Self::new()
    }
}

/// Memory beyond this many bytes is refused as out of gas: its expansion alone would cost
/// more than 2^45 gas, far beyond any block's gas limit, and refusing keeps an absurd offset
/// from allocating.
pub const MAX_MEMORY: u64 = 1 << 32;

/// The most bytes one bounds check of compiled code covers: an access of up to 32 bytes, or
/// a group of accesses at constant distances from the first (the builtin table's
/// `memory_expand` takes widths up to this).
pub const MAX_ACCESS_SPAN: u64 = 1024;

impl Memory {
    pub const PTR_OFFSET: usize = std::mem::offset_of!(Memory, ptr);
    pub const LEN_OFFSET: usize = std::mem::offset_of!(Memory, len);
    pub const LIMIT_OFFSET: usize = std::mem::offset_of!(Memory, limit);

    pub fn new() -> Self {
        let mut buf =
            crate::pool::take(&POOL).unwrap_or_else(|| Vec::with_capacity(INITIAL_CAPACITY));
        debug_assert!(buf.is_empty());
        Self { ptr: buf.as_mut_ptr(), len: 0, limit: 0, buf }
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

    /// Makes `[offset, offset+len)` addressable, charging expansion gas to `gas`, and returns
    /// the range as host integers. A zero length touches nothing, whatever the offset.
    #[inline(always)]
    pub fn range(
        &mut self,
        gas: &mut u64,
        offset: U256,
        len: U256,
    ) -> Result<(usize, usize), Status> {
        if len.is_zero() {
            return Ok((0, 0));
        }
        let (Ok(offset), Ok(len)) = (u64::try_from(offset), u64::try_from(len)) else {
            return Err(Status::OutOfGas);
        };
        if offset > MAX_MEMORY || len > MAX_MEMORY || offset + len > MAX_MEMORY {
            return Err(Status::OutOfGas);
        }
        let end = offset + len;
        if end > self.len as u64 {
            *gas = self.expand(*gas, end)?;
        }
        Ok((offset as usize, len as usize))
    }

    /// [`Memory::range`] for a length of 1 to [`MAX_ACCESS_SPAN`] bytes (MLOAD, MSTORE,
    /// MSTORE8, or compiled code's check for a group of them): returns the offset.
    #[inline(always)]
    pub fn range_fixed(&mut self, gas: &mut u64, offset: U256, len: u64) -> Result<usize, Status> {
        let limbs = offset.as_limbs();
        if (limbs[1] | limbs[2] | limbs[3]) != 0 || limbs[0] > MAX_MEMORY {
            return Err(Status::OutOfGas);
        }
        let end = limbs[0] + len;
        if end > self.len as u64 {
            if end > MAX_MEMORY {
                return Err(Status::OutOfGas);
            }
            *gas = self.expand(*gas, end)?;
        }
        Ok(limbs[0] as usize)
    }

    /// Charges for and performs growth to `end` bytes (`end` above the current length and at
    /// most [`MAX_MEMORY`]). Takes and returns the gas left by value, so that a caller's gas
    /// counter can stay in a register.
    #[inline(never)]
    fn expand(&mut self, gas: u64, end: u64) -> Result<u64, Status> {
        let cost = gas::memory_cost(gas::words(end)) - gas::memory_cost(self.words());
        if gas < cost {
            return Err(Status::OutOfGas);
        }
        self.grow(end);
        Ok(gas - cost)
    }

    /// The 32 bytes at `offset`, which [`Memory::range_fixed`] made addressable.
    #[inline(always)]
    pub fn word(&self, offset: usize) -> &[u8; 32] {
        self.buf[offset..offset + 32].try_into().expect("32 bytes")
    }

    /// The 32 bytes at `offset`, mutable.
    #[inline(always)]
    pub fn word_mut(&mut self, offset: usize) -> &mut [u8; 32] {
        (&mut self.buf[offset..offset + 32]).try_into().expect("32 bytes")
    }

    /// Grows to hold `end` bytes (rounded up to a word), zero-filled.
    pub fn grow(&mut self, end: u64) {
        let new_len = (gas::words(end) * 32) as usize;
        if new_len > self.len {
            if new_len > self.buf.len() {
                let ahead = self.buf.len().min(ZEROED_AHEAD);
                self.buf.resize(new_len.max(self.buf.len() + ahead), 0);
                self.ptr = self.buf.as_mut_ptr();
                self.limit = self.buf.len();
            }
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
        &self.buf[..self.len]
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
    fn growth_keeps_the_bytes_past_the_length_zero() {
        let mut m = Memory::new();
        m.grow(32);
        m.slice_mut(0, 32).fill(0xff);
        for end in [64, 96, 4096, 100_000, 200_000] {
            m.grow(end);
            let len = m.len();
            assert_eq!(m.as_slice().len(), len);
            assert!(m.buf[32..].iter().all(|&b| b == 0), "after growing to {end}");
            assert!(m.buf.len() - len <= ZEROED_AHEAD + 32, "zeroed ahead is bounded");
            assert_eq!(m.limit, m.buf.len(), "native code sees the zeroed length");
            m.slice_mut(len - 32, 32).fill(0);
        }
    }

    #[test]
    fn a_reused_buffer_grows_zeroed() {
        let mut m = Memory::new();
        m.grow(64);
        m.slice_mut(0, 64).fill(0xff);
        drop(m);
        let mut m = Memory::new();
        assert!(m.is_empty());
        m.grow(64);
        assert_eq!(m.as_slice(), &[0; 64]);
    }

    #[test]
    fn range_charges_expansion_once() {
        let mut m = Memory::new();
        let mut gas = 100;
        assert_eq!(m.range_fixed(&mut gas, U256::from(0), 32), Ok(0));
        assert_eq!((gas, m.len()), (97, 32));
        assert_eq!(m.range(&mut gas, U256::from(16), U256::from(16)), Ok((16, 16)));
        assert_eq!(gas, 97, "inside paid memory");
        assert_eq!(m.range(&mut gas, U256::MAX, U256::ZERO), Ok((0, 0)));
        assert_eq!(m.range_fixed(&mut gas, U256::from(1) << 64, 32), Err(Status::OutOfGas));
        assert_eq!(m.range_fixed(&mut gas, U256::from(MAX_MEMORY), 1), Err(Status::OutOfGas));
        let mut little = 2;
        assert_eq!(m.range_fixed(&mut little, U256::from(32), 32), Err(Status::OutOfGas));
        assert_eq!(m.len(), 32, "nothing grows when the gas does not cover it");
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
