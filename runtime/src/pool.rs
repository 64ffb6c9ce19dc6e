//! Per-thread pools of buffers: a frame reuses what an earlier frame of its thread allocated.

use std::cell::RefCell;
use std::thread::LocalKey;

/// A thread-local list of spare buffers.
pub(crate) type Pool<T> = LocalKey<RefCell<Vec<T>>>;

/// A spare buffer, if the thread has one. None while the thread is being torn down (the pool
/// may be gone) or while the pool is borrowed (a re-entrant drop), rather than a panic.
pub(crate) fn take<T>(pool: &'static Pool<T>) -> Option<T> {
    pool.try_with(|p| p.try_borrow_mut().ok().and_then(|mut p| p.pop())).ok().flatten()
}

/// Keeps `buf` for reuse if the pool holds fewer than `limit`; otherwise, or when the pool
/// cannot be reached (see [`take`]), `buf` is simply freed.
pub(crate) fn give<T>(pool: &'static Pool<T>, buf: T, limit: usize) {
    let _ = pool.try_with(|p| {
        if let Ok(mut p) = p.try_borrow_mut() {
            if p.len() < limit {
                p.push(buf);
            }
        }
    });
}
