//! The EVM operand stack: 1024 words in one allocation, laid out for native code.

use crate::gas::STACK_LIMIT;
use alloy_primitives::U256;

/// The operand stack. Compiled code reads `ptr` and `len` through the context, so the layout is
/// part of the ABI. Bounds are checked once per instruction (interpreter) or per block
/// (compiled code) against the opcode table's stack effects; the accessors here trust that
/// check and only assert it in debug builds.
#[repr(C)]
pub struct Stack {
    ptr: *mut U256,
    len: usize,
    buf: Vec<U256>,
}

// SAFETY: `ptr` points into `buf`, which the Stack owns; moving the Stack between threads moves
// that ownership with it.
unsafe impl Send for Stack {}

impl Default for Stack {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl Stack {
    pub const PTR_OFFSET: usize = std::mem::offset_of!(Stack, ptr);
    pub const LEN_OFFSET: usize = std::mem::offset_of!(Stack, len);

    pub fn new() -> Self {
        let mut buf = vec![U256::ZERO; STACK_LIMIT];
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

    /// Bottom to top.
    pub fn as_slice(&self) -> &[U256] {
        &self.buf[..self.len]
    }

    /// Checked push for code paths outside the instruction loop.
    pub fn try_push(&mut self, value: U256) -> bool {
        if self.len == STACK_LIMIT {
            return false;
        }
        self.buf[self.len] = value;
        self.len += 1;
        true
    }

    #[inline(always)]
    pub fn push(&mut self, value: U256) {
        debug_assert!(self.len < STACK_LIMIT);
        // SAFETY: the caller checked the opcode's stack growth against STACK_LIMIT.
        unsafe { self.ptr.add(self.len).write(value) };
        self.len += 1;
    }

    #[inline(always)]
    pub fn pop(&mut self) -> U256 {
        debug_assert!(self.len > 0);
        self.len -= 1;
        // SAFETY: the caller checked the opcode's inputs against the stack height.
        unsafe { self.ptr.add(self.len).read() }
    }

    /// The `n`-th item from the top (0 is the top).
    #[inline(always)]
    pub fn peek(&self, n: usize) -> &U256 {
        debug_assert!(n < self.len);
        // SAFETY: the caller checked the opcode's inputs against the stack height.
        unsafe { &*self.ptr.add(self.len - 1 - n) }
    }

    #[inline(always)]
    pub fn top(&mut self) -> &mut U256 {
        debug_assert!(self.len > 0);
        // SAFETY: as for `peek`.
        unsafe { &mut *self.ptr.add(self.len - 1) }
    }

    /// Pops `N` items, top first.
    #[inline(always)]
    pub fn popn<const N: usize>(&mut self) -> [U256; N] {
        debug_assert!(self.len >= N);
        let mut out = [U256::ZERO; N];
        for (i, slot) in out.iter_mut().enumerate() {
            // SAFETY: as for `pop`.
            *slot = unsafe { self.ptr.add(self.len - 1 - i).read() };
        }
        self.len -= N;
        out
    }

    /// DUPn, n in 1..=16.
    #[inline(always)]
    pub fn dup(&mut self, n: usize) {
        let v = *self.peek(n - 1);
        self.push(v);
    }

    /// SWAPn, n in 1..=16.
    #[inline(always)]
    pub fn swap(&mut self, n: usize) {
        debug_assert!(self.len > n);
        // SAFETY: the caller checked that n+1 items are present; the two indices differ.
        unsafe {
            let top = self.ptr.add(self.len - 1);
            let other = self.ptr.add(self.len - 1 - n);
            std::ptr::swap(top, other);
        }
    }

    pub fn clear(&mut self) {
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_pop_dup_swap() {
        let mut s = Stack::new();
        for i in 1..=3u64 {
            s.push(U256::from(i));
        }
        s.dup(3);
        assert_eq!(*s.peek(0), U256::from(1));
        s.swap(2);
        assert_eq!(s.as_slice(), &[1u64, 1, 3, 2].map(U256::from));
        let [a, b] = s.popn::<2>();
        assert_eq!((a, b), (U256::from(2), U256::from(3)));
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn try_push_stops_at_limit() {
        let mut s = Stack::new();
        for _ in 0..STACK_LIMIT {
            assert!(s.try_push(U256::ZERO));
        }
        assert!(!s.try_push(U256::ZERO));
    }
}
