//! What a stack buffer costs a frame: `Stack::new` and drop with a buffer in the per-thread
//! pool (every frame while no more than `POOL_LIMIT` stacks are live at once), and a chain of
//! twice `POOL_LIMIT` live stacks, whose deeper half finds the pool empty and allocates a fresh
//! buffer, then frees it on drop as the pool is full again.
//!
//! `cargo bench -p kiln-runtime --bench stack`. Each stack gets one push, so the first write
//! to a fresh buffer is in the measurement.

use alloy_primitives::U256;
use criterion::{criterion_group, criterion_main, Criterion};
use kiln_runtime::stack::{Stack, POOL_LIMIT};
use std::hint::black_box;

fn pooled(c: &mut Criterion) {
    // The pool starts empty on this thread; one drop fills it.
    drop(Stack::new());
    c.bench_function("stack/new_push_drop_pooled", |b| {
        b.iter(|| {
            let mut stack = Stack::new();
            stack.push(black_box(U256::from(1)));
            black_box(&stack);
        })
    });
}

fn deeper_than_pool(c: &mut Criterion) {
    let depth = 2 * POOL_LIMIT;
    let mut chain: Vec<Stack> = Vec::with_capacity(depth);
    c.bench_function("stack/chain_of_2x_pool_limit", |b| {
        b.iter(|| {
            for _ in 0..depth {
                let mut stack = Stack::new();
                stack.push(black_box(U256::from(1)));
                chain.push(stack);
            }
            // Innermost frame first, as calls return.
            while let Some(stack) = chain.pop() {
                black_box(&stack);
            }
        })
    });
}

criterion_group!(benches, pooled, deeper_than_pool);
criterion_main!(benches);
