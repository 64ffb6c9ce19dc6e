//! Optimization passes. Each does one thing and leaves verifiable IR.

pub mod const_fold;
pub mod dead_blocks;
pub mod jump_resolve;

use crate::function::Function;

/// The standard pipeline.
pub fn run_all(f: &mut Function) {
    const_fold::run(f);
    jump_resolve::run(f);
    dead_blocks::run(f);
}
