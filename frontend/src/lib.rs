//! Kiln's frontend: bytes to instructions.
//!
//! The opcode table ([`opcode`]) is the single source of opcode facts for every other crate.
//! [`analysis`] finds valid jump destinations.

pub mod analysis;
pub mod opcode;
pub mod spec;

pub use analysis::JumpTable;
pub use opcode::{info, info_in, OpInfo};
pub use spec::{SpecId, UnknownFork};
