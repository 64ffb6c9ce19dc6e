//! The EVM operand stack: 1024 words in one allocation, laid out for native code.

mod guarded;

use crate::gas::STACK_LIMIT;
use alloy_primitives::U256;
use guarded::GuardedBuf;
use std::cell::RefCell;
use std::mem::ManuallyDrop;

/// Stack buffers kept per thread for reuse: a frame's 32 KiB buffer, mapped between guard pages
/// (see `guarded`), is allocated once per thread rather than once per frame. Buffers are
/// never zeroed; only slots below `len`, which were written by a push, are ever read.
///
/// As many as a transaction can have frames (the call depth limit and the first frame): a
/// mapping costs system calls (about 20 us here against 50 ns for a heap allocation), so a
/// thread that runs deep call chains maps each buffer once, not once per frame past the pool.
/// A buffer's untouched pages are never resident; the pool holds address space, not memory.
pub const POOL_LIMIT: usize = crate::gas::CALL_DEPTH_LIMIT + 1;

thread_local! {
    static POOL: RefCell<Vec<GuardedBuf>> = const { RefCell::new(Vec::new()) };
}

/// The operand stack. Compiled code reads `ptr` and `len` through the context, so the layout is
/// part of the ABI. Bounds are checked once per instruction (interpreter) or per block
/// (compiled code) against the opcode table's stack effects; the accessors here trust that
/// check and only assert it in debug builds.
///
/// `buf` holds [`STACK_LIMIT`] slots, starting at `ptr`, with inaccessible pages on either side:
/// a write just below slot 0 or just above the last slot faults. The slots are written and read
/// through `ptr` only, below `len` for reads, so no slot is read before it is written and the
/// buffer never needs zeroing.
#[repr(C)]
pub struct Stack {
    ptr: *mut U256,
    len: usize,
    /// Taken out only in `drop`, to go back to the pool.
    buf: ManuallyDrop<GuardedBuf>,
}

// Native code finds `ptr` and `len` at these offsets (through `offsets::STACK_PTR`/`STACK_LEN`);
// the buffer's owner comes after them and may change without moving them.
const _: () = assert!(Stack::PTR_OFFSET == 0 && Stack::LEN_OFFSET == size_of::<*mut U256>());

impl Drop for Stack {
    fn drop(&mut self) {
        // SAFETY: `buf` is taken out once, here, and not used again: the Stack is being dropped,
        // and `ptr`, which points into it, is not read after this.
        let buf = unsafe { ManuallyDrop::take(&mut self.buf) };
        crate::pool::give(&POOL, buf, POOL_LIMIT);
    }
}

// SAFETY: `ptr` points into `buf`, which the Stack owns (and which is Send itself); moving the
// Stack between threads moves that ownership with it.
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
        let mut buf = crate::pool::take(&POOL).unwrap_or_else(GuardedBuf::new);
        Self { ptr: buf.slots().as_ptr(), len: 0, buf: ManuallyDrop::new(buf) }
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
        // SAFETY: `ptr` is the start of an allocation of STACK_LIMIT words, `len` is at most
        // STACK_LIMIT, and every slot below `len` was written by a push before it is read.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// Checked push for code paths outside the instruction loop.
    pub fn try_push(&mut self, value: U256) -> bool {
        if self.len == STACK_LIMIT {
            return false;
        }
        // SAFETY: `len < STACK_LIMIT`, within the buffer's capacity.
        unsafe { self.ptr.add(self.len).write(value) };
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
        debug_assert!(n >= 1 && self.len >= n && self.len < STACK_LIMIT);
        // SAFETY: the caller checked that n items are present and that one more fits.
        unsafe {
            let from = self.ptr.add(self.len - n).cast::<u64>();
            copy_limbs(from, self.ptr.add(self.len).cast::<u64>());
        }
        self.len += 1;
    }

    /// SWAPn, n in 1..=16.
    #[inline(always)]
    pub fn swap(&mut self, n: usize) {
        debug_assert!(self.len > n);
        // SAFETY: the caller checked that n+1 items are present; the two indices differ.
        unsafe {
            let top = self.ptr.add(self.len - 1).cast::<u64>();
            let other = self.ptr.add(self.len - 1 - n).cast::<u64>();
            for i in 0..4 {
                let (a, b) = (top.add(i).read(), other.add(i).read());
                top.add(i).write(b);
                other.add(i).write(a);
            }
        }
    }

    pub fn clear(&mut self) {
        self.len = 0;
    }
}

/// Copies one word limb by limb. Arithmetic writes its results a limb (8 bytes) at a time;
/// a wider load of a word just written that way cannot take its bytes from the pending
/// stores and waits for them, which profiles of the interpreter showed as a fifth of a loop
/// of MUL, DUP and SWAP. The compiler may still pair limbs into 16-byte moves (it does for
/// SWAP), but no longer reads a whole word through the stack frame: measured side by side,
/// the interpreter ran factorial and fibonacci 10% faster (volatile limb accesses, which
/// keep every access 8 bytes wide, measured slower).
///
/// # Safety
/// `from` and `to` point to words (four limbs) in the stack buffer.
#[inline(always)]
unsafe fn copy_limbs(from: *const u64, to: *mut u64) {
    for i in 0..4 {
        // SAFETY: both words are four limbs long (the caller's contract).
        unsafe { to.add(i).write(from.add(i).read()) };
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

    /// DUPn and SWAPn for every n against a model, on words whose four limbs all differ (a
    /// limb copied from the wrong word or left behind shows).
    #[test]
    fn dup_and_swap_move_whole_words() {
        let word = |i: u64| U256::from_limbs([i, i << 8 | 1, i << 16 | 2, i << 24 | 3]);
        let mut s = Stack::new();
        let mut model: Vec<U256> = (1..=17).map(word).collect();
        for &w in &model {
            s.push(w);
        }
        for n in 1..=16 {
            s.dup(n);
            model.push(model[model.len() - n]);
            s.swap(n);
            let top = model.len() - 1;
            model.swap(top, top - n);
            assert_eq!(s.as_slice(), &model[..], "after DUP{n} and SWAP{n}");
        }
    }

    #[test]
    fn a_reused_buffer_starts_empty() {
        let mut s = Stack::new();
        s.push(U256::from(7));
        drop(s);
        let mut s = Stack::new();
        assert!(s.is_empty() && s.as_slice().is_empty());
        s.push(U256::from(1));
        assert_eq!(s.as_slice(), &[U256::from(1)]);
    }

    #[test]
    fn a_dropped_stack_gives_its_buffer_to_the_next() {
        let first = Stack::new();
        let ptr = first.ptr;
        drop(first);
        assert_eq!(Stack::new().ptr, ptr, "the buffer came back from the pool");
    }

    #[test]
    fn every_slot_holds_its_push() {
        let mut s = Stack::new();
        let words: Vec<U256> = (0..STACK_LIMIT).map(|i| U256::MAX - U256::from(i)).collect();
        for &w in &words {
            s.push(w);
        }
        assert_eq!(s.as_slice(), &words[..]);
        for &w in words.iter().rev() {
            assert_eq!(s.pop(), w);
        }
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
