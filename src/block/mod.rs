//! Whole blocks (issue 19; the plan is `docs/blocks.md`). So far: which fork's rules a block
//! runs under ([`ChainConfig`]) and a header's validation against its parent
//! ([`validate_header`]); the executor (`Evm::execute_block`) is still to come.
//!
//! Headers and blocks are alloy-consensus types, blob parameters alloy-eips'.

pub mod chain;
pub mod error;
pub mod header;

pub use alloy_consensus::Header;
pub use alloy_eips::eip7840::BlobParams;
pub use chain::{Activation, ChainConfig, Fork, NetworkError};
pub use error::BlockError;
pub use header::validate_header;
