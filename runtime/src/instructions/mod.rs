//! Instruction semantics, split by family. The interpreter dispatches here and compiled code
//! calls the same functions through the builtin table, so each opcode's meaning lives once.

pub mod arithmetic;
pub mod bitwise;
pub mod contract;
pub mod control;
pub mod host_ops;
pub mod memory;
pub mod system;
