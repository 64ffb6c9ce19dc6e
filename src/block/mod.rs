//! Whole blocks (issue 19; the plan is `docs/blocks.md`). So far: which fork's rules a block
//! runs under ([`ChainConfig`]), a header's validation against its parent
//! ([`validate_header`]) and a prototype executor for the forks before Cancun
//! ([`execute_block_in_memory`]); `Evm::execute_block` is still to come.
//!
//! Headers and blocks are alloy-consensus types, blob parameters alloy-eips'.

pub mod chain;
pub mod error;
pub mod execute;
pub mod header;

pub use alloy_consensus::Header;
pub use alloy_eips::eip7840::BlobParams;
pub use chain::{Activation, ChainConfig, Fork, NetworkError};
pub use error::BlockError;
pub use execute::{
    apply_block, apply_block_with, execute_block_in_memory, execute_block_in_memory_with,
    BlockOutcome, BlockTx, EthBlock, Transactor,
};
pub use header::validate_header;
