//! What executing a transaction produces, and the ways a transaction can be invalid.

use alloy_primitives::{Address, Bytes, B256};

/// A log record emitted by LOG0..LOG4.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Log {
    pub address: Address,
    pub topics: Vec<B256>,
    pub data: Bytes,
}

/// Why execution stopped exceptionally (all remaining gas of the frame is consumed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HaltReason {
    OutOfGas,
    StackUnderflow,
    StackOverflow,
    InvalidJump,
    InvalidOpcode,
    /// A state change was attempted inside STATICCALL.
    StateChangeDuringStaticCall,
    /// RETURNDATACOPY past the end of the return data.
    ReturnDataOutOfBounds,
    /// Deployed code starts with 0xEF (EIP-3541).
    CreateContractStartingWithEF,
    /// Deployed code exceeds the EIP-170 limit.
    CreateContractSizeLimit,
    /// The created address already has code or nonce (EIP-684, EIP-7610).
    CreateCollision,
    /// A precompile rejected its input.
    PrecompileError,
    /// Nonce would overflow 2^64-1 (EIP-2681).
    NonceOverflow,
    /// Initcode of CREATE/CREATE2 above the EIP-3860 limit.
    CreateInitCodeSizeLimit,
    CallTooDeep,
}

/// The outcome of a transaction that was valid and therefore included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExecutionResult {
    Success { gas_used: u64, gas_refunded: u64, output: Bytes, logs: Vec<Log> },
    Revert { gas_used: u64, output: Bytes },
    Halt { gas_used: u64, reason: HaltReason },
}

impl ExecutionResult {
    pub fn gas_used(&self) -> u64 {
        match self {
            Self::Success { gas_used, .. }
            | Self::Revert { gas_used, .. }
            | Self::Halt { gas_used, .. } => *gas_used,
        }
    }

    pub fn is_success(&self) -> bool {
        matches!(self, Self::Success { .. })
    }

    pub fn logs(&self) -> &[Log] {
        match self {
            Self::Success { logs, .. } => logs,
            _ => &[],
        }
    }

    pub fn output(&self) -> &[u8] {
        match self {
            Self::Success { output, .. } | Self::Revert { output, .. } => output,
            Self::Halt { .. } => &[],
        }
    }
}

/// Why a transaction cannot be included. Names follow the execution-spec-tests
/// `TransactionException` kinds, see [`InvalidTransaction::eest_names`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidTransaction {
    #[error("intrinsic gas {intrinsic} exceeds gas limit {gas_limit}")]
    IntrinsicGasTooLow { intrinsic: u64, gas_limit: u64 },
    #[error("calldata floor gas {floor} exceeds gas limit {gas_limit} (EIP-7623)")]
    FloorGasTooLow { floor: u64, gas_limit: u64 },
    #[error("sender cannot pay for gas and value")]
    InsufficientFunds,
    #[error("gas limit times price overflows")]
    GasLimitPriceProductOverflow,
    #[error("sender has code that is not a delegation (EIP-3607)")]
    SenderNotEoa,
    #[error("max fee per gas below the block base fee")]
    InsufficientMaxFeePerGas,
    #[error("priority fee greater than max fee per gas")]
    PriorityGreaterThanMaxFee,
    #[error("max fee per blob gas below the blob base fee")]
    InsufficientMaxFeePerBlobGas,
    #[error("initcode size {size} exceeds the limit (EIP-3860)")]
    InitcodeSizeExceeded { size: usize },
    #[error("transaction gas limit {gas_limit} exceeds the block gas limit")]
    GasAllowanceExceeded { gas_limit: u64 },
    #[error("transaction gas limit {gas_limit} exceeds the per-transaction cap (EIP-7825)")]
    GasLimitExceedsMaximum { gas_limit: u64 },
    #[error("sender nonce is 2^64-1 (EIP-2681)")]
    NonceIsMax,
    #[error("nonce too high: tx {tx}, state {state}")]
    NonceTooHigh { tx: u64, state: u64 },
    #[error("nonce too low: tx {tx}, state {state}")]
    NonceTooLow { tx: u64, state: u64 },
    #[error("wrong chain id")]
    InvalidChainId,
    #[error("blob transaction without blobs")]
    BlobTxZeroBlobs,
    #[error("blob transaction may not create a contract")]
    BlobTxContractCreation,
    #[error("blob versioned hash has the wrong version byte")]
    InvalidBlobVersionedHash,
    #[error("too many blobs: {count} over {max}")]
    BlobCountExceeded { count: usize, max: u64 },
    #[error("set-code transaction with an empty authorization list")]
    EmptyAuthorizationList,
    #[error("set-code transaction may not create a contract")]
    SetCodeTxContractCreation,
    #[error("transaction type {0} is not active in this fork")]
    TypeNotSupported(u8),
    #[error("value or fee overflow")]
    Overflow,
}

impl InvalidTransaction {
    /// The execution-spec-tests exception names this error matches. A fixture's
    /// `expectException` is satisfied when any of its `|`-separated names is among them.
    pub fn eest_names(&self) -> &'static [&'static str] {
        use InvalidTransaction::*;
        match self {
            IntrinsicGasTooLow { .. } => &["TransactionException.INTRINSIC_GAS_TOO_LOW"],
            FloorGasTooLow { .. } => &[
                "TransactionException.INTRINSIC_GAS_BELOW_FLOOR_GAS_COST",
                "TransactionException.INTRINSIC_GAS_TOO_LOW",
            ],
            InsufficientFunds => &["TransactionException.INSUFFICIENT_ACCOUNT_FUNDS"],
            GasLimitPriceProductOverflow => &[
                "TransactionException.GASLIMIT_PRICE_PRODUCT_OVERFLOW",
                "TransactionException.INSUFFICIENT_ACCOUNT_FUNDS",
            ],
            SenderNotEoa => &["TransactionException.SENDER_NOT_EOA"],
            InsufficientMaxFeePerGas => &["TransactionException.INSUFFICIENT_MAX_FEE_PER_GAS"],
            PriorityGreaterThanMaxFee => {
                &["TransactionException.PRIORITY_GREATER_THAN_MAX_FEE_PER_GAS"]
            }
            InsufficientMaxFeePerBlobGas => {
                &["TransactionException.INSUFFICIENT_MAX_FEE_PER_BLOB_GAS"]
            }
            InitcodeSizeExceeded { .. } => &["TransactionException.INITCODE_SIZE_EXCEEDED"],
            GasAllowanceExceeded { .. } => &["TransactionException.GAS_ALLOWANCE_EXCEEDED"],
            GasLimitExceedsMaximum { .. } => &["TransactionException.GAS_LIMIT_EXCEEDS_MAXIMUM"],
            NonceIsMax => &["TransactionException.NONCE_IS_MAX"],
            NonceTooHigh { .. } => &["TransactionException.NONCE_MISMATCH_TOO_HIGH"],
            NonceTooLow { .. } => &["TransactionException.NONCE_MISMATCH_TOO_LOW"],
            InvalidChainId => &["TransactionException.INVALID_CHAINID"],
            BlobTxZeroBlobs => &["TransactionException.TYPE_3_TX_ZERO_BLOBS"],
            BlobTxContractCreation => &["TransactionException.TYPE_3_TX_CONTRACT_CREATION"],
            InvalidBlobVersionedHash => {
                &["TransactionException.TYPE_3_TX_INVALID_BLOB_VERSIONED_HASH"]
            }
            BlobCountExceeded { .. } => &[
                "TransactionException.TYPE_3_TX_BLOB_COUNT_EXCEEDED",
                "TransactionException.TYPE_3_TX_MAX_BLOB_GAS_ALLOWANCE_EXCEEDED",
            ],
            EmptyAuthorizationList => &["TransactionException.TYPE_4_EMPTY_AUTHORIZATION_LIST"],
            SetCodeTxContractCreation => &["TransactionException.TYPE_4_TX_CONTRACT_CREATION"],
            TypeNotSupported(1) => &["TransactionException.TYPE_1_TX_PRE_FORK"],
            TypeNotSupported(2) => &["TransactionException.TYPE_2_TX_PRE_FORK"],
            TypeNotSupported(3) => &["TransactionException.TYPE_3_TX_PRE_FORK"],
            TypeNotSupported(_) => &["TransactionException.TYPE_4_TX_PRE_FORK"],
            Overflow => &["TransactionException.INSUFFICIENT_ACCOUNT_FUNDS"],
        }
    }
}

/// Errors that are not the transaction's fault: the database failed, or the requested fork is
/// not one Kiln executes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EvmError {
    #[error("invalid transaction: {0}")]
    Transaction(#[from] InvalidTransaction),
    #[error("database error: {0}")]
    Database(String),
    #[error("precompile failed fatally: {0}")]
    Precompile(String),
    /// Compiled code stopped at one of its checked-mode bounds assertions.
    #[error("native bounds fault: {0}")]
    NativeFault(String),
}

/// The hash of a transaction's logs as state tests record it: keccak256 of the RLP list of
/// `[address, [topics...], data]` entries.
pub fn logs_hash(logs: &[Log]) -> B256 {
    use alloy_rlp::{Encodable, Header};
    struct L<'a>(&'a Log);
    impl Encodable for L<'_> {
        fn encode(&self, out: &mut dyn alloy_rlp::BufMut) {
            let l = self.0;
            let payload = l.address.length() + l.topics.length() + l.data.length();
            Header { list: true, payload_length: payload }.encode(out);
            l.address.encode(out);
            l.topics.encode(out);
            l.data.encode(out);
        }
        fn length(&self) -> usize {
            let l = self.0;
            let payload = l.address.length() + l.topics.length() + l.data.length();
            payload + alloy_rlp::length_of_length(payload)
        }
    }
    let items: Vec<L<'_>> = logs.iter().map(L).collect();
    let mut buf = Vec::new();
    alloy_rlp::encode_list(&items, &mut buf);
    alloy_primitives::keccak256(buf)
}
