//! The stack's buffer: [`STACK_LIMIT`](crate::gas::STACK_LIMIT) words between guard pages.
//!
//! Compiled code reads and writes the stack through a raw pointer, trusting the block's stack
//! check. When that trust is misplaced (a compiler defect that writes slot -1 or slot
//! `STACK_LIMIT`), a heap buffer lets the write land in malloc's bookkeeping or a neighbour's
//! data, to fail much later or not at all. Here the words on either side of the buffer lie on
//! pages mapped without access, so such a write faults at once, at the instruction that makes it.
//!
//! Layout of one mapping, low addresses first:
//!
//! ```text
//! [ guard page ][ slot 0 .. slot STACK_LIMIT-1, rounded up to pages ][ guard page ]
//!   PROT_NONE            PROT_READ | PROT_WRITE                         PROT_NONE
//! ```
//!
//! Slot 0 starts right after the lower guard page. With 4 KiB or 16 KiB pages the 32 KiB of
//! slots are a whole number of pages, so the last slot also ends right before the upper guard
//! page; with larger pages the rest of the last page lies between them, and only a write past
//! that rest faults.
//!
//! A buffer costs an `mmap`, an `mprotect` and, when freed, a `munmap`, rather than a `malloc`
//! and `free`; the per-thread pool in the parent module keeps that to once per buffer per
//! thread while no more than `POOL_LIMIT` stacks are live on it. Calls nested deeper than
//! that map a fresh buffer for each frame the pool cannot serve, and unmap one for each frame
//! that returns to a full pool. Targets without `mmap` get a plain heap buffer, without guards.

pub(crate) use imp::GuardedBuf;

#[cfg(unix)]
mod imp {
    use crate::gas::STACK_LIMIT;
    use alloy_primitives::U256;
    use std::alloc::{handle_alloc_error, Layout};
    use std::ptr::NonNull;

    /// Bytes of slots in one buffer.
    pub(super) const SLOT_BYTES: usize = STACK_LIMIT * size_of::<U256>();

    /// The system's page size.
    pub(super) fn page_size() -> usize {
        // SAFETY: sysconf only reads a configuration value; _SC_PAGESIZE is a valid name.
        let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(size)
            .ok()
            .filter(|size| size.is_power_of_two())
            .expect("sysconf(_SC_PAGESIZE) gives a power of two")
    }

    /// The length of one buffer's mapping: the slots rounded up to whole pages, and a guard
    /// page on either side.
    fn map_len(page: usize) -> usize {
        SLOT_BYTES.next_multiple_of(page) + 2 * page
    }

    /// Owns one mapping laid out as in the module's documentation, of [`map_len`] bytes.
    ///
    /// Only slot 0 is kept (the mapping starts one page below it): one word, which the pool
    /// moves in and out as a single load and store.
    pub(crate) struct GuardedBuf {
        /// Slot 0, right after the lower guard page.
        slots: NonNull<U256>,
    }

    /// The one allocation path failed: treated as an allocation failure, as a `Vec` would.
    #[cold]
    fn mapping_failed(map_len: usize, page: usize) -> ! {
        handle_alloc_error(Layout::from_size_align(map_len, page).expect("a page-aligned layout"))
    }

    // SAFETY: a GuardedBuf is the only owner of its mapping, as a Box is of its allocation;
    // nothing about the mapping is tied to the thread that made it, and munmap may be called
    // from any thread.
    unsafe impl Send for GuardedBuf {}

    impl GuardedBuf {
        pub(crate) fn new() -> Self {
            let page = page_size();
            let map_len = map_len(page);
            // SAFETY: a new anonymous private mapping at an address the kernel chooses; it
            // overlaps nothing that already exists, and no other arguments refer to memory.
            let map = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    map_len,
                    libc::PROT_NONE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            let Some(map) = NonNull::new(map).filter(|&map| map.as_ptr() != libc::MAP_FAILED)
            else {
                mapping_failed(map_len, page)
            };
            // SAFETY: `page` is less than `map_len`, so the pointer stays inside the mapping.
            let slots = unsafe { map.byte_add(page) };
            // SAFETY: [slots, slots + map_len - 2 pages) is the page-aligned middle of the
            // mapping just made, which nothing else refers to yet; only its protection changes.
            let rc = unsafe {
                libc::mprotect(
                    slots.as_ptr(),
                    map_len - 2 * page,
                    libc::PROT_READ | libc::PROT_WRITE,
                )
            };
            if rc != 0 {
                // SAFETY: the whole mapping just made, which nothing refers to.
                unsafe { libc::munmap(map.as_ptr(), map_len) };
                mapping_failed(map_len, page)
            }
            Self { slots: slots.cast() }
        }

        /// Slot 0; the [`STACK_LIMIT`] slots from here are readable and writable for as long
        /// as `self` lives.
        pub(crate) fn slots(&mut self) -> NonNull<U256> {
            self.slots
        }
    }

    impl Drop for GuardedBuf {
        fn drop(&mut self) {
            let page = page_size();
            // SAFETY: `slots` is one page into the mapping made in `new` (the page size does
            // not change while the process runs), so this is the mapping's start.
            let map = unsafe { self.slots.cast::<libc::c_void>().byte_sub(page) };
            // SAFETY: `map` and `map_len(page)` are exactly the mapping made in `new`, which
            // this value owns; its owner (the Stack or the pool) no longer uses pointers into it.
            let rc = unsafe { libc::munmap(map.as_ptr(), map_len(page)) };
            debug_assert_eq!(rc, 0, "munmap of a stack buffer");
        }
    }
}

#[cfg(not(unix))]
mod imp {
    use crate::gas::STACK_LIMIT;
    use alloy_primitives::U256;
    use std::ptr::NonNull;

    /// A plain heap buffer: no guard pages on this target.
    pub(crate) struct GuardedBuf {
        /// Capacity STACK_LIMIT, length zero: the slots are used through `slots()` only.
        heap: Vec<U256>,
    }

    impl GuardedBuf {
        pub(crate) fn new() -> Self {
            Self { heap: Vec::with_capacity(STACK_LIMIT) }
        }

        pub(crate) fn slots(&mut self) -> NonNull<U256> {
            NonNull::new(self.heap.as_mut_ptr()).expect("a vector with capacity")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gas::STACK_LIMIT;
    use alloy_primitives::U256;
    #[cfg(unix)]
    use imp::SLOT_BYTES;
    use std::ptr::NonNull;

    fn word(i: usize) -> U256 {
        U256::from(i) << 200 | U256::from(!i)
    }

    #[test]
    fn every_slot_is_readable_and_writable() {
        let mut buf = GuardedBuf::new();
        let slots: NonNull<U256> = buf.slots();
        for i in 0..STACK_LIMIT {
            // SAFETY: slot i < STACK_LIMIT lies in the buffer's read/write pages.
            unsafe { slots.add(i).write(word(i)) };
        }
        for i in 0..STACK_LIMIT {
            // SAFETY: as above; slot i was written in the loop before.
            assert_eq!(unsafe { slots.add(i).read() }, word(i), "slot {i}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn the_slots_abut_the_guard_pages() {
        let page = imp::page_size();
        let start = GuardedBuf::new().slots().as_ptr() as usize;
        assert_eq!(start % page, 0, "slot 0 starts a page");
        if SLOT_BYTES.is_multiple_of(page) {
            assert_eq!((start + SLOT_BYTES) % page, 0, "the last slot ends a page");
        }
    }

    /// Set in the child process of a fault test: the test then does its bad write.
    #[cfg(unix)]
    const BAD_WRITE: &str = "KILN_STACK_GUARD_BAD_WRITE";

    /// Runs the test `name` of this module again in a child process (this test binary, with
    /// [`BAD_WRITE`] set) and asserts that the child died of SIGSEGV.
    #[cfg(unix)]
    fn assert_segfaults_in_child(name: &str) {
        use std::os::unix::process::ExitStatusExt;
        let module = module_path!().split_once("::").map_or(module_path!(), |(_, path)| path);
        let test = format!("{module}::{name}");
        let exe = std::env::current_exe().expect("the test binary");
        let out = std::process::Command::new(exe)
            .args(["--exact", &test, "--nocapture", "--test-threads=1"])
            .env(BAD_WRITE, "1")
            .output()
            .expect("the child runs");
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGSEGV),
            "{test} in a child: {} instead of SIGSEGV\n--- stdout\n{}--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
    }

    /// In the child: writes one word at `slot` (in words from slot 0) of a pooled Stack's
    /// buffer through the pointer compiled code uses, as a defective block would. Returns,
    /// and the child exits normally, only if the write did not fault.
    #[cfg(unix)]
    fn bad_write(slot: isize) {
        let no_core = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: setrlimit reads the rlimit value it is given, a local that outlives the call.
        unsafe { libc::setrlimit(libc::RLIMIT_CORE, &no_core) };
        // The second Stack gets the first one's buffer back from the pool.
        drop(crate::stack::Stack::new());
        let stack = crate::stack::Stack::new();
        let target = stack.ptr.wrapping_offset(slot);
        // SAFETY: none, deliberately: `target` lies just outside the buffer, on a guard page,
        // and this is the defect the guard pages are there to catch. The volatile write is
        // emitted as written and faults before anything else runs; it runs only in a child
        // process whose death by SIGSEGV is the expected outcome.
        unsafe { target.write_volatile(U256::MAX) };
        eprintln!("the write at slot {slot} did not fault");
    }

    #[cfg(unix)]
    #[test]
    fn a_write_below_slot_0_faults() {
        if std::env::var_os(BAD_WRITE).is_some() {
            return bad_write(-1);
        }
        assert_segfaults_in_child("a_write_below_slot_0_faults");
    }

    #[cfg(unix)]
    #[test]
    fn a_write_above_the_last_slot_faults() {
        if !SLOT_BYTES.is_multiple_of(imp::page_size()) {
            eprintln!("skipped: pages larger than the buffer leave room above its last slot");
            return;
        }
        if std::env::var_os(BAD_WRITE).is_some() {
            return bad_write(STACK_LIMIT as isize);
        }
        assert_segfaults_in_child("a_write_above_the_last_slot_faults");
    }
}
