//! Analyses of the IR that lowering reads, kept apart from lowering itself (as Cranelift keeps
//! its dominator tree and loop analysis): each computes facts about a function or a block and
//! emits nothing.

pub mod jump_targets;
pub mod loops;
pub mod memory_checks;
pub mod stack_plan;
pub mod uses;
