//! The environment a transaction runs in: chain configuration, block, and the transaction.

use alloy_primitives::{Address, Bytes, B256, U256};
use kiln_frontend::SpecId;

/// Chain-level configuration.
#[derive(Clone, Debug)]
pub struct CfgEnv {
    pub chain_id: u64,
    pub spec: SpecId,
    /// EIP-4844 blob schedule of the fork: target and maximum blobs per block, and the
    /// base-fee update fraction. Fixtures may override it (`config.blobSchedule`).
    pub blob_schedule: BlobSchedule,
    /// The most gas a transaction may ask for: EIP-7825's cap from Osaka on, none before.
    /// Benchmarks lift it to run workloads written for older forks under the newest rules
    /// (revm's `CfgEnv::tx_gas_limit_cap` is the same knob).
    pub tx_gas_limit_cap: u64,
}

impl CfgEnv {
    pub fn new(spec: SpecId) -> Self {
        let tx_gas_limit_cap =
            if spec.is_enabled_in(SpecId::Osaka) { crate::gas::TX_GAS_LIMIT_CAP } else { u64::MAX };
        Self { chain_id: 1, spec, blob_schedule: BlobSchedule::for_spec(spec), tx_gas_limit_cap }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlobSchedule {
    pub target: u64,
    pub max: u64,
    pub update_fraction: u64,
}

impl BlobSchedule {
    /// The schedule each fork shipped with (EIP-4844, EIP-7691; Osaka keeps Prague's until a
    /// BPO fork changes it).
    pub fn for_spec(spec: SpecId) -> Self {
        if spec.is_enabled_in(SpecId::Prague) {
            Self { target: 6, max: 9, update_fraction: 5_007_716 }
        } else {
            Self { target: 3, max: 6, update_fraction: 3_338_477 }
        }
    }
}

/// The block a transaction executes in.
#[derive(Clone, Debug, Default)]
pub struct BlockEnv {
    pub number: U256,
    pub coinbase: Address,
    pub timestamp: U256,
    pub gas_limit: u64,
    pub basefee: u64,
    /// PREVRANDAO (post-merge `mixHash`).
    pub prevrandao: B256,
    pub difficulty: U256,
    /// `excessBlobGas` of the block; the blob base fee derives from it.
    pub excess_blob_gas: u64,
}

/// Where a transaction goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxKind {
    Call(Address),
    Create,
}

/// One entry of an EIP-2930 access list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessListItem {
    pub address: Address,
    pub storage_keys: Vec<B256>,
}

/// One signed EIP-7702 authorization tuple. The authority is recovered from the signature by
/// the runtime; an unrecoverable signature makes the tuple invalid (skipped), not the tx.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorization {
    pub chain_id: U256,
    pub address: Address,
    pub nonce: u64,
    pub y_parity: U256,
    pub r: U256,
    pub s: U256,
}

/// The transaction type, which decides which fields are meaningful.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxType {
    Legacy = 0,
    AccessList = 1,
    Eip1559 = 2,
    Blob = 3,
    SetCode = 4,
}

/// A transaction whose sender is already known (signature checking of the outer transaction
/// is the caller's business; fixtures give the sender).
#[derive(Clone, Debug)]
pub struct TxEnv {
    pub tx_type: TxType,
    pub caller: Address,
    pub gas_limit: u64,
    /// `gasPrice` for legacy and access-list transactions, `maxFeePerGas` otherwise.
    pub gas_price: U256,
    /// `maxPriorityFeePerGas` (types 2, 3, 4).
    pub gas_priority_fee: Option<U256>,
    pub kind: TxKind,
    pub value: U256,
    pub data: Bytes,
    pub nonce: u64,
    /// `None` means the chain id is not part of the signature (pre-EIP-155 legacy).
    pub chain_id: Option<u64>,
    pub access_list: Vec<AccessListItem>,
    pub blob_hashes: Vec<B256>,
    pub max_fee_per_blob_gas: U256,
    pub authorization_list: Vec<Authorization>,
}

impl Default for TxEnv {
    fn default() -> Self {
        Self {
            tx_type: TxType::Legacy,
            caller: Address::ZERO,
            gas_limit: 30_000_000,
            gas_price: U256::ZERO,
            gas_priority_fee: None,
            kind: TxKind::Call(Address::ZERO),
            value: U256::ZERO,
            data: Bytes::new(),
            nonce: 0,
            chain_id: Some(1),
            access_list: Vec::new(),
            blob_hashes: Vec::new(),
            max_fee_per_blob_gas: U256::ZERO,
            authorization_list: Vec::new(),
        }
    }
}
