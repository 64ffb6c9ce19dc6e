//! Whole blocks (issue 19; the plan and its state are `docs/blocks.md`): which fork's rules
//! a block runs under ([`ChainConfig`]), a header's validation against its parent
//! ([`validate_header`]), ommers against the chain behind ([`validate_ommers`],
//! [`BlockHistory`]), and the executor, [`crate::Evm::execute_block`], over an overlay
//! ([`BlockState`]) of any database that can give its state root ([`StateRoot`]).
//!
//! Headers and blocks are alloy-consensus types, blob parameters alloy-eips'.

pub mod chain;
pub mod error;
pub mod execute;
pub mod header;
pub mod ommers;
pub mod state;

pub use alloy_consensus::Header;
pub use alloy_eips::eip7840::BlobParams;
pub use chain::{Activation, ChainConfig, Fork, NetworkError};
pub use error::{BlockError, Mismatch, OmmerError};
pub use execute::{BlockOutcome, BlockTx, EthBlock, RecoveredBlock, MAX_RLP_BLOCK_SIZE};
pub use header::validate_header;
pub use ommers::{validate_ommers, BlockHistory, RecentBlocks};
pub use state::{BlockState, PendingState, StateRoot};
