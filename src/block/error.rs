//! Why a block is rejected.

use alloy_primitives::{Address, B256, U256};
use kiln_runtime::InvalidTransaction;

/// Declares [`BlockError`] from one table: each reason with its message and the
/// execution-spec-tests exception names it stands for (`[...]`), or `delegated` where the
/// names are those of the error it wraps. One row per reason keeps the enum, its messages
/// and [`BlockError::eest_names`] from drifting apart.
macro_rules! block_errors {
    ($(
        $(#[$meta:meta])*
        $variant:ident $({ $($field:ident: $field_ty:ty),* $(,)? })? $(($($tuple_ty:ty),*))?
            => $names:tt;
    )*) => {
        /// Why a block is invalid. Each reason names the execution-spec-tests exceptions it
        /// stands for ([`BlockError::eest_names`]), as the runtime's `InvalidTransaction`
        /// does.
        ///
        /// The header checks of [`super::validate_header`], ommer validation
        /// ([`super::validate_ommers`]) and the executor ([`crate::Evm::execute_block`])
        /// produce these.
        #[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
        pub enum BlockError {
            $($(#[$meta])* $variant $({ $($field: $field_ty),* })? $(($($tuple_ty),*))?,)*
        }

        impl BlockError {
            /// The execution-spec-tests exception names this reason satisfies (none for
            /// what is not a verdict on the block).
            pub fn eest_names(&self) -> &'static [&'static str] {
                match self {
                    $(Self::$variant { .. } => block_errors!(@names self $names),)*
                }
            }
        }
    };
    (@names $this:ident [$($name:literal),* $(,)?]) => { &[$($name),*] };
    (@names $this:ident delegated) => { $this.delegated_names() };
}

block_errors! {
    // The header against its parent and its fork.
    #[error("parent hash {0}")]
    UnknownParent(Mismatch<B256>) => ["BlockException.UNKNOWN_PARENT"];
    #[error("block number {0}")]
    Number(Mismatch<u64>) => ["BlockException.INVALID_BLOCK_NUMBER"];
    /// Strictly after the parent's.
    #[error("timestamp {got} is not after the parent's {parent}")]
    Timestamp { parent: u64, got: u64 }
        => ["BlockException.INVALID_BLOCK_TIMESTAMP_OLDER_THAN_PARENT"];
    #[error("extra data of {0} bytes (at most 32)")]
    ExtraDataTooLong(usize) => ["BlockException.EXTRA_DATA_TOO_BIG"];
    /// Within 1/1024 of the parent's (doubled at the London fork block), at least 5000,
    /// below 2^63.
    #[error("gas limit {got} out of bounds (parent {parent})")]
    GasLimit { parent: u64, got: u64 }
        => ["BlockException.INVALID_GASLIMIT", "BlockException.GASLIMIT_TOO_BIG"];
    #[error("gas used {used} over the gas limit {limit}")]
    GasUsedOverLimit { used: u64, limit: u64 }
        => ["BlockException.GAS_USED_OVERFLOW", "BlockException.INVALID_GAS_USED_ABOVE_LIMIT"];
    /// A field of a fork the block is under is absent (`baseFeePerGas` from London,
    /// `withdrawalsRoot` from Shanghai, the blob fields and `parentBeaconBlockRoot` from
    /// Cancun, `requestsHash` from Prague), or a field is present before its fork.
    #[error("header field {0} is missing under this fork")]
    MissingField(&'static str)
        => ["BlockException.INCORRECT_BLOCK_FORMAT", "BlockException.RLP_STRUCTURES_ENCODING"];
    #[error("header field {0} is present before its fork")]
    UnexpectedField(&'static str)
        => ["BlockException.INCORRECT_BLOCK_FORMAT", "BlockException.RLP_STRUCTURES_ENCODING"];
    #[error("base fee {0}")]
    BaseFee(Mismatch<u64>) => ["BlockException.INVALID_BASEFEE_PER_GAS"];
    #[error("difficulty {0}")]
    Difficulty(Mismatch<U256>) => [
        "BlockException.INVALID_DIFFICULTY",
        "BlockException.IMPORT_IMPOSSIBLE_DIFFICULTY_OVER_PARIS",
    ];
    /// After the merge (EIP-3675) the proof-of-work fields are constants.
    #[error("nonce is not zero after the merge")]
    NonceNotZero => ["BlockException.INVALID_BLOCK_NONCE"];
    #[error("ommers hash is not the empty list's after the merge")]
    OmmersAfterMerge => [
        "BlockException.INVALID_UNCLES_HASH",
        "BlockException.IMPORT_IMPOSSIBLE_UNCLES_OVER_PARIS",
    ];
    /// EIP-4844: at most the schedule's maximum, in whole blobs. A header claiming more blob
    /// gas than a block may hold is a block whose transactions exceed the allowance, which
    /// is how the fixtures name it.
    #[error("blob gas used {got} over the block's maximum {max}, or not whole blobs")]
    BlobGasUsed { max: u64, got: u64 } => [
        "BlockException.BLOB_GAS_USED_ABOVE_LIMIT",
        "BlockException.INCORRECT_BLOB_GAS_USED",
        "TransactionException.TYPE_3_TX_MAX_BLOB_GAS_ALLOWANCE_EXCEEDED",
    ];
    #[error("excess blob gas {0}")]
    ExcessBlobGas(Mismatch<u64>) => ["BlockException.INCORRECT_EXCESS_BLOB_GAS"];

    // The body against the header, before execution.
    #[error("transactions root {0}")]
    TransactionsRoot(Mismatch<B256>) => ["BlockException.INVALID_TRANSACTIONS_ROOT"];
    #[error("ommers hash is not the header's")]
    OmmersHash => ["BlockException.INVALID_UNCLES_HASH"];
    #[error("withdrawals root is not the header's")]
    WithdrawalsRoot => ["BlockException.INVALID_WITHDRAWALS_ROOT"];
    #[error("{0} ommers (at most 2)")]
    TooManyOmmers(usize) => ["BlockException.TOO_MANY_UNCLES"];
    #[error("ommer {index}: {reason}")]
    Ommer { index: usize, reason: OmmerError } => delegated;
    /// EIP-7934, from Osaka on.
    #[error("block RLP of {size} bytes over the {max} allowed (EIP-7934)")]
    RlpTooLarge { size: usize, max: usize } => ["BlockException.RLP_BLOCK_LIMIT_EXCEEDED"];

    // Execution.
    /// A transaction's gas limit over what the transactions before it left of the block's.
    #[error("transaction {index}: gas limit {gas_limit} over the {available} left in the block")]
    BlockGasExhausted { index: usize, gas_limit: u64, available: u64 }
        => ["TransactionException.GAS_ALLOWANCE_EXCEEDED"];
    #[error("transaction {index}: {error}")]
    Transaction { index: usize, error: InvalidTransaction } => delegated;
    /// EIP-4844: the block's blob gas, counted transaction by transaction.
    #[error("transaction {index}: blob gas over the block's maximum")]
    BlobGasExhausted { index: usize }
        => ["TransactionException.TYPE_3_TX_MAX_BLOB_GAS_ALLOWANCE_EXCEEDED"];
    /// EIP-7002 and EIP-7251: the post-block system calls need their contracts (EIP-4788's
    /// and EIP-2935's are skipped when empty) and must succeed.
    #[error("system contract {0} has no code")]
    SystemContractEmpty(Address) => ["BlockException.SYSTEM_CONTRACT_EMPTY"];
    #[error("system call to {0} failed")]
    SystemContractCallFailed(Address) => ["BlockException.SYSTEM_CONTRACT_CALL_FAILED"];
    /// EIP-6110: every offset and size of the ABI-encoded event is fixed.
    #[error("a deposit contract log does not have the DepositEvent layout")]
    InvalidDepositEventLayout => ["BlockException.INVALID_DEPOSIT_EVENT_LAYOUT"];

    // The header's execution fields against the outcome.
    #[error("gas used {0}")]
    GasUsed(Mismatch<u64>) => ["BlockException.INVALID_GAS_USED"];
    #[error("blob gas used {0}")]
    BlobGasUsedMismatch(Mismatch<u64>) => ["BlockException.INCORRECT_BLOB_GAS_USED"];
    #[error("requests hash is not the header's")]
    RequestsHash => ["BlockException.INVALID_REQUESTS"];
    #[error("receipts root {0}")]
    ReceiptsRoot(Mismatch<B256>) => ["BlockException.INVALID_RECEIPTS_ROOT"];
    #[error("logs bloom is not the header's")]
    LogsBloom => ["BlockException.INVALID_LOG_BLOOM"];
    #[error("state root {0}")]
    StateRoot(Mismatch<B256>) => ["BlockException.INVALID_STATE_ROOT"];

    // Not verdicts on the block: a runner reports these as its own failures.
    /// The caller's mistake.
    #[error("{senders} senders for {transactions} transactions")]
    SenderCount { transactions: usize, senders: usize } => [];
    /// What the executor cannot do yet.
    #[error("unsupported: {0}")]
    Unsupported(&'static str) => [];
    /// A database error or a native fault.
    #[error("execution failed: {0}")]
    Evm(String) => [];
}

impl BlockError {
    /// The names of the reasons that wrap another: a transaction's, an ommer's.
    fn delegated_names(&self) -> &'static [&'static str] {
        match self {
            Self::Transaction { error, .. } => error.eest_names(),
            Self::Ommer { reason, .. } => reason.eest_names(),
            _ => &[],
        }
    }
}

/// A value a block carries (`got`) that is not what the rules or the block's execution give
/// (`expected`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mismatch<T> {
    pub expected: T,
    pub got: T,
}

impl<T: std::fmt::Display> std::fmt::Display for Mismatch<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} where {} was expected", self.got, self.expected)
    }
}

/// Why an ommer may not be included (before the merge; see [`super::validate_ommers`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OmmerError {
    #[error("appears twice in the block")]
    Duplicate,
    #[error("is an ancestor of the block")]
    IsAncestor,
    #[error("was included by an ancestor already")]
    IncludedBefore,
    #[error("its parent is not one of the 6 ancestors before the block's parent")]
    Parent,
    #[error("{0}")]
    Header(Box<BlockError>),
}

impl OmmerError {
    /// The execution-spec-tests exception names this reason satisfies.
    pub fn eest_names(&self) -> &'static [&'static str] {
        match self {
            Self::Duplicate => &["BlockException.UNCLE_IS_BROTHER"],
            Self::IsAncestor => &["BlockException.UNCLE_IS_ANCESTOR"],
            Self::IncludedBefore => &["BlockException.UNCLE_IN_CHAIN"],
            // A parent outside the window may be unknown or known but too old: which one, a
            // window of headers cannot tell.
            Self::Parent => {
                &["BlockException.UNCLE_PARENT_INCORRECT", "BlockException.UNCLE_UNKNOWN_PARENT"]
            }
            Self::Header(error) => error.eest_names(),
        }
    }
}
