//! Why a block is rejected.

use alloy_primitives::{B256, U256};
use kiln_runtime::InvalidTransaction;

/// Why a block is invalid. Each reason names the execution-spec-tests exceptions it stands
/// for ([`BlockError::eest_names`]), as the runtime's `InvalidTransaction` does.
///
/// The header checks of [`super::validate_header`], ommer validation
/// ([`super::validate_ommers`]) and the executor ([`crate::Evm::execute_block`]) produce
/// these.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    #[error("parent hash {got} is not the parent's hash {expected}")]
    UnknownParent { expected: B256, got: B256 },
    #[error("block number {got} is not the parent's plus one ({expected})")]
    Number { expected: u64, got: u64 },
    #[error("timestamp {got} is not after the parent's {parent}")]
    Timestamp { parent: u64, got: u64 },
    #[error("extra data of {0} bytes (at most 32)")]
    ExtraDataTooLong(usize),
    #[error("gas limit {got} out of bounds (parent {parent})")]
    GasLimit { parent: u64, got: u64 },
    #[error("gas used {used} over the gas limit {limit}")]
    GasUsedOverLimit { used: u64, limit: u64 },
    #[error("header field {0} is missing under this fork")]
    MissingField(&'static str),
    #[error("header field {0} is present before its fork")]
    UnexpectedField(&'static str),
    #[error("base fee {got} is not the expected {expected}")]
    BaseFee { expected: u64, got: u64 },
    #[error("difficulty {got} is not the expected {expected}")]
    Difficulty { expected: U256, got: U256 },
    #[error("nonce is not zero after the merge")]
    NonceNotZero,
    #[error("ommers hash is not the empty list's after the merge")]
    OmmersAfterMerge,
    #[error("blob gas used {got} over the block's maximum {max}, or not whole blobs")]
    BlobGasUsed { max: u64, got: u64 },
    #[error("excess blob gas {got} is not the expected {expected}")]
    ExcessBlobGas { expected: u64, got: u64 },
    #[error("transactions root {got} is not the header's {expected}")]
    TransactionsRoot { expected: B256, got: B256 },
    #[error("ommers hash is not the header's")]
    OmmersHash,
    #[error("withdrawals root is not the header's")]
    WithdrawalsRoot,
    #[error("transaction {index}: gas limit {gas_limit} over the {available} left in the block")]
    BlockGasExhausted { index: usize, gas_limit: u64, available: u64 },
    #[error("transaction {index}: {error}")]
    Transaction { index: usize, error: InvalidTransaction },
    #[error("transaction {index}: blob gas over the block's maximum")]
    BlobGasExhausted { index: usize },
    #[error("gas used {got} is not the header's {expected}")]
    GasUsed { expected: u64, got: u64 },
    #[error("blob gas used {got} is not the header's {expected}")]
    BlobGasUsedMismatch { expected: u64, got: u64 },
    #[error("system contract {0} has no code")]
    SystemContractEmpty(alloy_primitives::Address),
    #[error("system call to {0} failed")]
    SystemContractCallFailed(alloy_primitives::Address),
    #[error("a deposit contract log does not have the DepositEvent layout")]
    InvalidDepositEventLayout,
    #[error("requests hash is not the header's")]
    RequestsHash,
    #[error("receipts root {got} is not the header's {expected}")]
    ReceiptsRoot { expected: B256, got: B256 },
    #[error("logs bloom is not the header's")]
    LogsBloom,
    #[error("state root {got} is not the header's {expected}")]
    StateRoot { expected: B256, got: B256 },
    #[error("{0} ommers (at most 2)")]
    TooManyOmmers(usize),
    #[error("ommer {index} appears twice in the block")]
    OmmerDuplicate { index: usize },
    #[error("ommer {index} is an ancestor of the block")]
    OmmerIsAncestor { index: usize },
    #[error("ommer {index} was included by an ancestor already")]
    OmmerIncludedBefore { index: usize },
    #[error("ommer {index}'s parent is not one of the 6 ancestors before the block's parent")]
    OmmerParent { index: usize },
    #[error("ommer {index}: {error}")]
    InvalidOmmer { index: usize, error: Box<BlockError> },
    #[error("block RLP of {size} bytes over the {max} allowed (EIP-7934)")]
    RlpTooLarge { size: usize, max: usize },
    /// The caller's mistake, not a verdict on the block.
    #[error("{senders} senders for {transactions} transactions")]
    SenderCount { transactions: usize, senders: usize },
    /// What the executor cannot do yet: not a verdict on the block.
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
    /// A database error or a native fault: not a verdict on the block either.
    #[error("execution failed: {0}")]
    Evm(String),
}

impl BlockError {
    /// The execution-spec-tests exception names this reason satisfies.
    pub fn eest_names(&self) -> &'static [&'static str] {
        use BlockError::*;
        match self {
            UnknownParent { .. } => &["BlockException.UNKNOWN_PARENT"],
            Number { .. } => &["BlockException.INVALID_BLOCK_NUMBER"],
            Timestamp { .. } => &["BlockException.INVALID_BLOCK_TIMESTAMP_OLDER_THAN_PARENT"],
            ExtraDataTooLong(_) => &["BlockException.EXTRA_DATA_TOO_BIG"],
            GasLimit { .. } => &["BlockException.INVALID_GASLIMIT"],
            GasUsedOverLimit { .. } => &["BlockException.GAS_USED_OVERFLOW"],
            MissingField(_) | UnexpectedField(_) => {
                &["BlockException.INCORRECT_BLOCK_FORMAT", "BlockException.RLP_STRUCTURES_ENCODING"]
            }
            BaseFee { .. } => &["BlockException.INVALID_BASEFEE_PER_GAS"],
            Difficulty { .. } => &["BlockException.INVALID_DIFFICULTY"],
            NonceNotZero => &["BlockException.INVALID_BLOCK_NONCE"],
            OmmersAfterMerge => &["BlockException.INVALID_UNCLES_HASH"],
            // A header claiming more blob gas than a block may hold is a block whose
            // transactions exceed the allowance, which is how the fixtures name it.
            BlobGasUsed { .. } => &[
                "BlockException.BLOB_GAS_USED_ABOVE_LIMIT",
                "BlockException.INCORRECT_BLOB_GAS_USED",
                "TransactionException.TYPE_3_TX_MAX_BLOB_GAS_ALLOWANCE_EXCEEDED",
            ],
            ExcessBlobGas { .. } => &["BlockException.INCORRECT_EXCESS_BLOB_GAS"],
            TransactionsRoot { .. } => &["BlockException.INVALID_TRANSACTIONS_ROOT"],
            OmmersHash => &["BlockException.INVALID_UNCLES_HASH"],
            WithdrawalsRoot => &["BlockException.INVALID_WITHDRAWALS_ROOT"],
            BlockGasExhausted { .. } => &["TransactionException.GAS_ALLOWANCE_EXCEEDED"],
            Transaction { error, .. } => error.eest_names(),
            BlobGasExhausted { .. } => {
                &["TransactionException.TYPE_3_TX_MAX_BLOB_GAS_ALLOWANCE_EXCEEDED"]
            }
            GasUsed { .. } => &["BlockException.INCORRECT_BLOCK_GAS_USED"],
            BlobGasUsedMismatch { .. } => &["BlockException.INCORRECT_BLOB_GAS_USED"],
            SystemContractEmpty(_) => &["BlockException.SYSTEM_CONTRACT_EMPTY"],
            SystemContractCallFailed(_) => &["BlockException.SYSTEM_CONTRACT_CALL_FAILED"],
            InvalidDepositEventLayout => &["BlockException.INVALID_DEPOSIT_EVENT_LAYOUT"],
            RequestsHash => &["BlockException.INVALID_REQUESTS"],
            ReceiptsRoot { .. } => &["BlockException.INVALID_RECEIPTS_ROOT"],
            LogsBloom => &["BlockException.INVALID_LOG_BLOOM"],
            StateRoot { .. } => &["BlockException.INVALID_STATE_ROOT"],
            TooManyOmmers(_) => &["BlockException.TOO_MANY_UNCLES"],
            OmmerDuplicate { .. } => &["BlockException.UNCLE_IS_BROTHER"],
            OmmerIsAncestor { .. } => &["BlockException.UNCLE_IS_ANCESTOR"],
            OmmerIncludedBefore { .. } => &["BlockException.UNCLE_IN_CHAIN"],
            // A parent outside the window may be unknown or known but too old: which one,
            // a window of headers cannot tell.
            OmmerParent { .. } => {
                &["BlockException.UNCLE_PARENT_INCORRECT", "BlockException.UNCLE_UNKNOWN_PARENT"]
            }
            InvalidOmmer { error, .. } => error.eest_names(),
            RlpTooLarge { .. } => &["BlockException.RLP_BLOCK_LIMIT_EXCEEDED"],
            SenderCount { .. } | Unsupported(_) | Evm(_) => &[],
        }
    }
}
