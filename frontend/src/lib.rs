//! Kiln's frontend: bytes to instructions.
//!
//! The opcode table ([`opcode`]) is the single source of opcode facts for every other crate.
//! [`analysis`] finds valid jump destinations, [`blocks`] splits code into basic blocks with
//! static jump targets, and [`disasm`] prints code. [`semantics`] defines what the pure
//! opcodes compute, for the interpreter and constant folding alike.

pub mod analysis;
pub mod blocks;
pub mod disasm;
pub mod opcode;
pub mod semantics;
pub mod spec;

pub use analysis::JumpTable;
pub use blocks::{BasicBlock, Cfg, Instruction, JumpTarget, Terminator};
pub use opcode::{info, info_in, OpInfo};
pub use spec::{SpecId, UnknownFork};
