//! Optimization passes. Each does one thing and leaves verifiable IR.

pub mod const_fold;
pub mod dead_blocks;
pub mod jump_resolve;
pub mod jumpdest_chains;
pub mod merge_blocks;
pub mod prepay_gas;
pub mod uncovered;

use crate::function::Function;

/// The standard pipeline.
pub fn run_all(f: &mut Function) {
    const_fold::run(f);
    jump_resolve::run(f);
    // Merging exposes constants across former block edges (a return address pushed in one
    // block and jumped to in the next), so folding and resolution run again after it.
    merge_blocks::run(f);
    const_fold::run(f);
    jump_resolve::run(f);
    merge_blocks::run(f);
    jumpdest_chains::run(f);
    dead_blocks::run(f);
    prepay_gas::run(f);
}
