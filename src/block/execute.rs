//! The block executor: [`Evm::execute_block`]. It validates the header against its parent
//! and the body against the header (roots, ommers before the merge, EIP-7934's size cap in
//! Osaka), runs the pre-block system calls (EIP-4788 from Cancun, EIP-2935 from Prague), the
//! transactions with their receipts and the block's gas and blob gas allowances, pays the
//! block and ommer rewards before the merge and the withdrawals from Shanghai on, collects
//! the requests from Prague on (EIP-6110 deposits from the logs, the EIP-7002 and EIP-7251
//! system calls), and checks gas used, blob gas used, the receipts root, the logs bloom, the
//! requests hash and the state root against the header.
//!
//! Transactions and system calls run on the `Evm`'s engine (interpreter, JIT, AOT library
//! or tier policy, with its code cache), over a [`BlockState`] overlay of the `Evm`'s
//! database: only a valid block's changes are committed to it, so an invalid block leaves
//! the state as it was.

use alloy_consensus::proofs;
use alloy_consensus::{
    Block, EthereumTxEnvelope, Header, Receipt, ReceiptEnvelope, ReceiptWithBloom,
    Transaction as _, TxEip4844, TxReceipt as _,
};
use alloy_eips::eip2935::HISTORY_STORAGE_ADDRESS;
use alloy_eips::eip4788::BEACON_ROOTS_ADDRESS;
use alloy_eips::eip6110::{DEPOSIT_REQUEST_TYPE, MAINNET_DEPOSIT_CONTRACT_ADDRESS};
use alloy_eips::eip7002::{WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS, WITHDRAWAL_REQUEST_TYPE};
use alloy_eips::eip7251::{CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS, CONSOLIDATION_REQUEST_TYPE};
use alloy_eips::eip7685::Requests;
use alloy_primitives::{Address, Bloom, Bytes, B256, KECCAK256_EMPTY, U256};
use alloy_rlp::Encodable as _;
use kiln_runtime::{
    AccessListItem, AccountChange, AccountInfo, Authorization, BlobSchedule, BlockEnv, CfgEnv,
    Database, DatabaseCommit, EvmError, SpecId, StateChanges, TxEnv, TxKind, TxType,
};

use super::chain::ChainConfig;
use super::error::{BlockError, Mismatch};
use super::header::validate_header;
use super::ommers::{validate_ommers, BlockHistory};
use super::state::{BlockState, StateRoot};
use crate::evm::engine::Lease;
use crate::Evm;

/// A transaction as a block carries it (a blob transaction without its sidecar).
pub type BlockTx = EthereumTxEnvelope<TxEip4844>;
/// A block of [`BlockTx`].
pub type EthBlock = Block<BlockTx>;

/// EIP-7934 (Osaka): a block's RLP may be at most `MAX_BLOCK_SIZE - SAFETY_MARGIN` bytes,
/// 10 MiB less 2 MiB for the consensus layer's envelope.
pub const MAX_RLP_BLOCK_SIZE: usize = 10 * 1024 * 1024 - 2 * 1024 * 1024;

/// What executing a block produced: what its header must commit to.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockOutcome {
    pub receipts: Vec<ReceiptEnvelope>,
    pub gas_used: u64,
    pub blob_gas_used: u64,
    pub receipts_root: B256,
    pub logs_bloom: Bloom,
    /// From Prague on.
    pub requests_hash: Option<B256>,
    pub state_root: B256,
    /// The block's hash, for the caller's chain (the next block's parent hash).
    pub hash: B256,
}

impl BlockOutcome {
    /// Checks the header's execution fields (requests hash, gas used, blob gas used,
    /// receipts root, logs bloom, state root) against what execution produced.
    pub fn check(&self, header: &Header) -> Result<(), BlockError> {
        if self.requests_hash.is_some() && self.requests_hash != header.requests_hash {
            return Err(BlockError::RequestsHash);
        }
        if self.gas_used != header.gas_used {
            return Err(BlockError::GasUsed(Mismatch {
                expected: header.gas_used,
                got: self.gas_used,
            }));
        }
        if let Some(expected) = header.blob_gas_used {
            if self.blob_gas_used != expected {
                return Err(BlockError::BlobGasUsedMismatch(Mismatch {
                    expected,
                    got: self.blob_gas_used,
                }));
            }
        }
        if self.receipts_root != header.receipts_root {
            return Err(BlockError::ReceiptsRoot(Mismatch {
                expected: header.receipts_root,
                got: self.receipts_root,
            }));
        }
        if self.logs_bloom != header.logs_bloom {
            return Err(BlockError::LogsBloom);
        }
        if self.state_root != header.state_root {
            return Err(BlockError::StateRoot(Mismatch {
                expected: header.state_root,
                got: self.state_root,
            }));
        }
        Ok(())
    }
}

/// A block with its transactions' senders, in order (recovered from the signatures by the
/// caller, who also decides what a signature that does not recover means).
#[derive(Clone, Copy, Debug)]
pub struct RecoveredBlock<'a> {
    block: &'a EthBlock,
    senders: &'a [Address],
}

impl<'a> RecoveredBlock<'a> {
    /// Fails when there are not as many senders as transactions.
    pub fn new(block: &'a EthBlock, senders: &'a [Address]) -> Result<Self, BlockError> {
        if block.body.transactions.len() != senders.len() {
            return Err(BlockError::SenderCount {
                transactions: block.body.transactions.len(),
                senders: senders.len(),
            });
        }
        Ok(Self { block, senders })
    }

    pub fn block(&self) -> &'a EthBlock {
        self.block
    }

    pub fn senders(&self) -> &'a [Address] {
        self.senders
    }
}

impl<DB: Database + DatabaseCommit + StateRoot> Evm<DB> {
    /// Validates `block` against `parent` under the chain's fork at the block, executes it on this EVM's engine and
    /// commits its state changes to the database; on any error the database is as it was.
    /// `history` holds the imported blocks behind `parent` that ommer validation needs
    /// (a [`super::RecentBlocks`]; `&()` after the merge). The EVM's fork and block
    /// environment become the block's.
    pub fn execute_block<H: BlockHistory + ?Sized>(
        &mut self,
        chain: &ChainConfig,
        parent: &Header,
        block: RecoveredBlock<'_>,
        history: &H,
    ) -> Result<BlockOutcome, BlockError> {
        let (outcome, changes) = self.apply_block(chain, parent, block, history)?;
        outcome.check(&block.block().header)?;
        self.db.commit(changes);
        Ok(outcome)
    }
}

impl<DB: Database + StateRoot> Evm<DB> {
    /// Executes `block` as [`Evm::execute_block`] does, but returns its state changes rather
    /// than committing them, and does not check the header's execution fields (gas used,
    /// roots, bloom, requests hash) against the outcome: how a block builder fills them in.
    /// The header is validated against the parent, and the body against the header, first.
    pub fn apply_block<H: BlockHistory + ?Sized>(
        &mut self,
        chain: &ChainConfig,
        parent: &Header,
        block: RecoveredBlock<'_>,
        history: &H,
    ) -> Result<(BlockOutcome, StateChanges), BlockError> {
        let RecoveredBlock { block, senders } = block;
        let header = &block.header;
        let fork = chain.fork_at(header.number, header.timestamp);
        let spec = fork.spec;
        // EIP-7934 first, as execution-specs' `state_transition` does.
        if spec.is_enabled_in(SpecId::Osaka) {
            let size = block.length();
            if size > MAX_RLP_BLOCK_SIZE {
                return Err(BlockError::RlpTooLarge { size, max: MAX_RLP_BLOCK_SIZE });
            }
        }
        validate_header(chain, parent, header)?;
        check_body_roots(spec, block)?;
        if !spec.is_enabled_in(SpecId::Paris) {
            validate_ommers(chain, parent, block, history)?;
        }

        let mut cfg = CfgEnv::new(spec);
        cfg.chain_id = chain.chain_id;
        if let Some(blob) = fork.blob {
            cfg.blob_schedule = BlobSchedule {
                target: blob.target_blob_count,
                max: blob.max_blob_count,
                update_fraction: blob.update_fraction as u64,
            };
        }
        self.cfg = cfg;
        self.block = BlockEnv {
            number: U256::from(header.number),
            coinbase: header.beneficiary,
            timestamp: U256::from(header.timestamp),
            gas_limit: header.gas_limit,
            basefee: header.base_fee_per_gas.unwrap_or_default(),
            prevrandao: header.mix_hash,
            difficulty: header.difficulty,
            excess_blob_gas: header.excess_blob_gas.unwrap_or_default(),
        };
        let Evm { db, cfg, block: env, lease } = self;
        let mut run = BlockRun { state: BlockState::new(db), cfg, env, lease };

        if spec.is_enabled_in(SpecId::Cancun) {
            let root = header.parent_beacon_block_root.unwrap_or_default();
            let data = Bytes::copy_from_slice(root.as_slice());
            run.system_call(BEACON_ROOTS_ADDRESS, data, false)?;
        }
        if spec.is_enabled_in(SpecId::Prague) {
            let data = Bytes::copy_from_slice(header.parent_hash.as_slice());
            run.system_call(HISTORY_STORAGE_ADDRESS, data, false)?;
        }

        let mut receipts = Vec::with_capacity(block.body.transactions.len());
        let mut gas_used = 0u64;
        let mut blob_gas_used = 0u64;
        let max_blob_gas = fork.blob.map_or(0, |b| b.max_blob_gas_per_block());
        for (index, (tx, &sender)) in block.body.transactions.iter().zip(senders).enumerate() {
            let available = header.gas_limit - gas_used;
            if tx.gas_limit() > available {
                return Err(BlockError::BlockGasExhausted {
                    index,
                    gas_limit: tx.gas_limit(),
                    available,
                });
            }
            let blob_gas = tx.blob_gas_used().unwrap_or_default();
            // Before Cancun a blob transaction is the runtime's to refuse, by its type.
            if fork.blob.is_some() && blob_gas > 0 && blob_gas_used + blob_gas > max_blob_gas {
                return Err(BlockError::BlobGasExhausted { index });
            }
            blob_gas_used += blob_gas;
            let tx_env = tx_env(tx, sender);
            let result = match run.lease.transact(
                &mut run.state,
                run.cfg,
                run.env,
                &tx_env,
                &mut kiln_runtime::NoTracer,
                false,
            ) {
                Ok((result, changes)) => {
                    run.state.commit(changes);
                    result
                }
                Err(EvmError::Transaction(error)) => {
                    return Err(BlockError::Transaction { index, error })
                }
                Err(e) => return Err(BlockError::Evm(e.to_string())),
            };
            gas_used += result.gas_used();
            let status = if spec.is_enabled_in(SpecId::Byzantium) {
                result.is_success().into()
            } else {
                // Before EIP-658 a receipt holds the state root after its transaction.
                run.state.state_root().into()
            };
            let logs = result
                .logs()
                .iter()
                .map(|log| {
                    alloy_primitives::Log::new_unchecked(
                        log.address,
                        log.topics.clone(),
                        log.data.clone(),
                    )
                })
                .collect();
            let receipt = Receipt { status, cumulative_gas_used: gas_used, logs };
            receipts
                .push(ReceiptEnvelope::from_typed(tx.tx_type(), ReceiptWithBloom::from(receipt)));
        }

        if !spec.is_enabled_in(SpecId::Paris) {
            pay_rewards(spec, block, &mut run.state)?;
        }
        for withdrawal in block.body.withdrawals.iter().flatten() {
            let amount = U256::from(withdrawal.amount) * U256::from(1_000_000_000u64);
            add_balance(&mut run.state, withdrawal.address, amount)?;
        }

        let mut requests_hash = None;
        if spec.is_enabled_in(SpecId::Prague) {
            let mut requests = Requests::default();
            requests.push_request_with_type(DEPOSIT_REQUEST_TYPE, deposit_requests(&receipts)?);
            for (kind, target) in [
                (WITHDRAWAL_REQUEST_TYPE, WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS),
                (CONSOLIDATION_REQUEST_TYPE, CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS),
            ] {
                let output = run.system_call(target, Bytes::new(), true)?;
                requests.push_request_with_type(kind, output);
            }
            requests_hash = Some(requests.requests_hash());
        }

        let receipts_root = proofs::calculate_receipt_root(&receipts);
        let logs_bloom = receipts.iter().fold(Bloom::ZERO, |acc, r| acc | r.bloom());
        let state_root = run.state.state_root();
        let outcome = BlockOutcome {
            receipts,
            gas_used,
            blob_gas_used,
            receipts_root,
            logs_bloom,
            requests_hash,
            state_root,
            hash: header.hash_slow(),
        };
        Ok((outcome, run.state.into_changes()))
    }
}

/// A block being executed: its working state, environment and the EVM's engine.
struct BlockRun<'a, DB> {
    state: BlockState<'a, DB>,
    cfg: &'a CfgEnv,
    env: &'a BlockEnv,
    lease: &'a mut Lease,
}

impl<DB: Database> BlockRun<'_, DB> {
    /// Runs a system call on the engine and merges its changes, returning its output. With
    /// `checked` (EIP-7002, EIP-7251) a contract without code or a failed call invalidates
    /// the block; without (EIP-4788, EIP-2935) a contract without code is skipped and a
    /// failure ignored.
    fn system_call(
        &mut self,
        target: Address,
        data: Bytes,
        checked: bool,
    ) -> Result<Bytes, BlockError> {
        let account = self.state.basic(target).map_err(|e| BlockError::Evm(e.0))?;
        if account.is_none_or(|a| a.code_hash == KECCAK256_EMPTY) {
            return if checked {
                Err(BlockError::SystemContractEmpty(target))
            } else {
                Ok(Bytes::new())
            };
        }
        let (result, changes) = self
            .lease
            .system_call(&mut self.state, self.cfg, self.env, target, data)
            .map_err(|e| BlockError::Evm(e.to_string()))?;
        if checked && !result.is_success() {
            return Err(BlockError::SystemContractCallFailed(target));
        }
        self.state.commit(changes);
        Ok(Bytes::copy_from_slice(result.output()))
    }
}

/// The deposit contract's `DepositEvent` topic (EIP-6110).
const DEPOSIT_EVENT_TOPIC: B256 =
    alloy_primitives::b256!("649bbc62d0e31342afea4e5cd82d4049e7e1ee912fc0889aa790803be39038c5");

/// EIP-6110: the deposit request data of the block, each `DepositEvent` log of the deposit
/// contract's ABI-encoded fields (pubkey 48, withdrawal credentials 32, amount 8, signature
/// 96, index 8 bytes) concatenated, after checking every offset and size of the layout.
fn deposit_requests(receipts: &[ReceiptEnvelope]) -> Result<Vec<u8>, BlockError> {
    let mut out = Vec::new();
    let logs = receipts.iter().flat_map(|r| r.logs());
    for log in logs.filter(|log| {
        log.address == MAINNET_DEPOSIT_CONTRACT_ADDRESS
            && log.topics().first() == Some(&DEPOSIT_EVENT_TOPIC)
    }) {
        let data = &log.data.data;
        if data.len() != 576 {
            return Err(BlockError::InvalidDepositEventLayout);
        }
        let word = |at: usize| U256::from_be_slice(&data[at..at + 32]);
        // (offset word position, expected offset, expected size)
        for (i, (offset, size)) in
            [(160, 48), (256, 32), (320, 8), (384, 96), (512, 8)].into_iter().enumerate()
        {
            if word(32 * i) != U256::from(offset) || word(offset) != U256::from(size) {
                return Err(BlockError::InvalidDepositEventLayout);
            }
            out.extend_from_slice(&data[offset + 32..offset + 32 + size]);
        }
    }
    Ok(out)
}

/// The transactions root, ommers hash and withdrawals root of the body against the header,
/// and the withdrawals present exactly from Shanghai on.
fn check_body_roots(spec: SpecId, block: &EthBlock) -> Result<(), BlockError> {
    let (header, body) = (&block.header, &block.body);
    let transactions_root = proofs::calculate_transaction_root(&body.transactions);
    if transactions_root != header.transactions_root {
        return Err(BlockError::TransactionsRoot(Mismatch {
            expected: header.transactions_root,
            got: transactions_root,
        }));
    }
    if proofs::calculate_ommers_root(&body.ommers) != header.ommers_hash {
        return Err(BlockError::OmmersHash);
    }
    if spec.is_enabled_in(SpecId::Paris) && !body.ommers.is_empty() {
        return Err(BlockError::OmmersAfterMerge);
    }
    match (&body.withdrawals, spec.is_enabled_in(SpecId::Shanghai)) {
        (Some(w), true) => {
            if Some(proofs::calculate_withdrawals_root(w)) != header.withdrawals_root {
                return Err(BlockError::WithdrawalsRoot);
            }
        }
        (None, false) => {}
        (None, true) => return Err(BlockError::MissingField("withdrawals")),
        (Some(_), false) => return Err(BlockError::UnexpectedField("withdrawals")),
    }
    Ok(())
}

/// The miner's reward and the ommers' before the merge: 5 ETH to Byzantium, 3 ETH to
/// Constantinople, 2 ETH after; 1/32 of it more per ommer; an ommer's miner
/// `(8 + ommer number - number) / 8` of it.
fn pay_rewards<DB: Database>(
    spec: SpecId,
    block: &EthBlock,
    state: &mut BlockState<'_, DB>,
) -> Result<(), BlockError> {
    let ether = U256::from(10).pow(U256::from(18));
    let reward = ether
        * U256::from(match spec {
            s if s.is_enabled_in(SpecId::Constantinople) => 2,
            s if s.is_enabled_in(SpecId::Byzantium) => 3,
            _ => 5,
        });
    let ommers = &block.body.ommers;
    let miner = reward + reward / U256::from(32) * U256::from(ommers.len());
    add_balance(state, block.header.beneficiary, miner)?;
    for ommer in ommers {
        let share = U256::from(8 + ommer.number).saturating_sub(U256::from(block.header.number));
        add_balance(state, ommer.beneficiary, reward * share / U256::from(8))?;
    }
    Ok(())
}

/// Adds to an account's balance outside the EVM. A zero amount to an account that does not
/// exist creates nothing, and one to an existing empty account removes it (EIP-161, as
/// execution-specs' `process_withdrawal`; a reward is never zero).
fn add_balance<DB: Database>(
    state: &mut BlockState<'_, DB>,
    address: Address,
    amount: U256,
) -> Result<(), BlockError> {
    let existing = state.basic(address).map_err(|e| BlockError::Evm(e.0))?;
    let change = match existing {
        None if amount.is_zero() => return Ok(()),
        Some(info) if amount.is_zero() && info.is_empty() => AccountChange {
            info,
            storage_cleared: false,
            storage: Default::default(),
            removed: true,
        },
        existing => {
            let mut info = existing.unwrap_or_else(AccountInfo::default);
            info.balance += amount;
            AccountChange {
                info,
                storage_cleared: false,
                storage: Default::default(),
                removed: false,
            }
        }
    };
    state.commit(vec![(address, change)]);
    Ok(())
}

/// The runtime's view of a block's transaction.
fn tx_env(tx: &BlockTx, sender: Address) -> TxEnv {
    let tx_type = match tx {
        BlockTx::Legacy(_) => TxType::Legacy,
        BlockTx::Eip2930(_) => TxType::AccessList,
        BlockTx::Eip1559(_) => TxType::Eip1559,
        BlockTx::Eip4844(_) => TxType::Blob,
        BlockTx::Eip7702(_) => TxType::SetCode,
    };
    let (gas_price, gas_priority_fee) = match tx_type {
        TxType::Legacy | TxType::AccessList => {
            (U256::from(tx.gas_price().unwrap_or_default()), None)
        }
        _ => (
            U256::from(tx.max_fee_per_gas()),
            Some(U256::from(tx.max_priority_fee_per_gas().unwrap_or_default())),
        ),
    };
    TxEnv {
        tx_type,
        caller: sender,
        gas_limit: tx.gas_limit(),
        gas_price,
        gas_priority_fee,
        kind: tx.to().map_or(TxKind::Create, TxKind::Call),
        value: tx.value(),
        data: tx.input().clone(),
        nonce: tx.nonce(),
        chain_id: tx.chain_id(),
        access_list: tx
            .access_list()
            .map(|list| {
                list.iter()
                    .map(|item| AccessListItem {
                        address: item.address,
                        storage_keys: item.storage_keys.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        blob_hashes: tx.blob_versioned_hashes().map(<[B256]>::to_vec).unwrap_or_default(),
        max_fee_per_blob_gas: U256::from(tx.max_fee_per_blob_gas().unwrap_or_default()),
        authorization_list: tx
            .authorization_list()
            .map(|list| {
                list.iter()
                    .map(|a| Authorization {
                        chain_id: a.chain_id,
                        address: a.address,
                        nonce: a.nonce,
                        y_parity: U256::from(a.y_parity()),
                        r: a.r(),
                        s: a.s(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::header::{difficulty, excess_blob_gas};
    use crate::block::{ChainConfig, Fork, RecentBlocks};
    use crate::evm::{Engine, Execution};
    use alloy_consensus::{SignableTransaction, TxEip1559, TxLegacy, EMPTY_OMMER_ROOT_HASH};
    use alloy_eips::eip1559::{BaseFeeParams, INITIAL_BASE_FEE};
    use alloy_eips::eip4895::{Withdrawal, Withdrawals};
    use alloy_primitives::{address, b256, Bytes, Signature, TxKind as AlloyTxKind};
    use k256::ecdsa::SigningKey;
    use kiln_runtime::{DbError, InMemoryDb};
    use std::collections::BTreeMap;

    /// Stores 1 at slot 0 (first time: 20,000 gas; then a no-op write) and logs nothing but
    /// an empty LOG0, so that receipts carry a log and the bloom a bit.
    const CODE: &[u8] = &[0x60, 0x01, 0x60, 0x00, 0x55, 0x60, 0x00, 0x60, 0x00, 0xa0, 0x00];
    /// Stores its first calldata word at slot 1: a stand-in for the EIP-4788 contract.
    const BEACON_CODE: &[u8] = &[0x60, 0x00, 0x35, 0x60, 0x01, 0x55, 0x00];
    const CONTRACT: Address = address!("0x1000000000000000000000000000000000000001");
    const COINBASE: Address = address!("0x2000000000000000000000000000000000000002");
    const VALIDATOR: Address = address!("0x3000000000000000000000000000000000000003");

    fn key() -> SigningKey {
        SigningKey::from_slice(&[0x11; 32]).unwrap()
    }

    fn sender() -> Address {
        Address::from_private_key(&key())
    }

    fn sign<T: SignableTransaction<Signature>>(tx: T) -> alloy_consensus::Signed<T> {
        let (sig, recid) = key().sign_prehash_recoverable(tx.signature_hash().as_slice()).unwrap();
        tx.into_signed(Signature::from((sig, recid)))
    }

    /// A call of [`CONTRACT`] with 5 wei: EIP-1559 from London on, legacy (EIP-155) before.
    fn call(spec: SpecId, nonce: u64) -> BlockTx {
        let (to, value, input) = (AlloyTxKind::Call(CONTRACT), U256::from(5), Bytes::new());
        if spec.is_enabled_in(SpecId::London) {
            BlockTx::Eip1559(sign(TxEip1559 {
                chain_id: 1,
                nonce,
                gas_limit: 100_000,
                max_fee_per_gas: 2_000_000_000,
                max_priority_fee_per_gas: 2,
                to,
                value,
                access_list: Default::default(),
                input,
            }))
        } else {
            BlockTx::Legacy(sign(TxLegacy {
                chain_id: Some(1),
                nonce,
                gas_price: 10,
                gas_limit: 100_000,
                to,
                value,
                input,
            }))
        }
    }

    /// The pre-state: a funded sender, [`CONTRACT`] and the stand-in beacon-roots contract.
    fn pre_state() -> InMemoryDb {
        let mut db = InMemoryDb::new();
        db.insert_account(sender(), U256::from(10).pow(U256::from(18)), 0, Bytes::new(), []);
        db.insert_account(CONTRACT, U256::ZERO, 1, Bytes::from_static(CODE), []);
        let beacon = Bytes::from_static(BEACON_CODE);
        db.insert_account(BEACON_ROOTS_ADDRESS, U256::ZERO, 1, beacon, []);
        db
    }

    /// A genesis header over `db` with the fields its fork (the chain's at block 0) has.
    fn genesis(chain: &ChainConfig, db: &InMemoryDb, gas_limit: u64) -> Header {
        let spec = chain.fork_at(0, 0).spec;
        let after = |fork| spec.is_enabled_in(fork);
        Header {
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            state_root: db.state_root(),
            transactions_root: alloy_consensus::EMPTY_ROOT_HASH,
            receipts_root: alloy_consensus::EMPTY_ROOT_HASH,
            difficulty: if after(SpecId::Paris) { U256::ZERO } else { U256::from(0x20000) },
            gas_limit,
            base_fee_per_gas: after(SpecId::London).then_some(7),
            withdrawals_root: after(SpecId::Shanghai).then_some(alloy_consensus::EMPTY_ROOT_HASH),
            blob_gas_used: after(SpecId::Cancun).then_some(0),
            excess_blob_gas: after(SpecId::Cancun).then_some(0),
            parent_beacon_block_root: after(SpecId::Cancun).then_some(B256::ZERO),
            ..Header::default()
        }
    }

    /// A block on `parent`, `seconds` later, with `txs`, one withdrawal from Shanghai on and
    /// `gas_limit`, its consensus fields as the chain's rules want them (difficulty, base fee
    /// with London's fork-block 1 Gwei, excess blob gas) and its execution fields left at
    /// their defaults.
    fn skeleton(
        chain: &ChainConfig,
        parent: &Header,
        seconds: u64,
        gas_limit: u64,
        txs: Vec<BlockTx>,
    ) -> EthBlock {
        let (number, timestamp) = (parent.number + 1, parent.timestamp + seconds);
        let fork = chain.fork_at(number, timestamp);
        let parent_fork = chain.fork_at(parent.number, parent.timestamp);
        let after = |spec| fork.spec.is_enabled_in(spec);
        let withdrawals = after(SpecId::Shanghai).then(|| {
            Withdrawals::new(vec![Withdrawal {
                index: parent.number,
                validator_index: 7,
                address: VALIDATOR,
                amount: 3,
            }])
        });
        let base_fee = match parent.base_fee_per_gas {
            _ if !after(SpecId::London) => None,
            None => Some(INITIAL_BASE_FEE),
            Some(fee) => Some(BaseFeeParams::ethereum().next_block_base_fee(
                parent.gas_used,
                parent.gas_limit,
                fee,
            )),
        };
        let header = Header {
            parent_hash: parent.hash_slow(),
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: COINBASE,
            transactions_root: proofs::calculate_transaction_root(&txs),
            withdrawals_root: withdrawals.as_ref().map(|w| proofs::calculate_withdrawals_root(w)),
            number,
            gas_limit,
            timestamp,
            difficulty: if after(SpecId::Paris) {
                U256::ZERO
            } else {
                difficulty(fork.spec, parent, timestamp)
            },
            base_fee_per_gas: base_fee,
            blob_gas_used: after(SpecId::Cancun).then_some(0),
            excess_blob_gas: after(SpecId::Cancun)
                .then(|| excess_blob_gas(fork, parent_fork, parent)),
            parent_beacon_block_root: after(SpecId::Cancun)
                .then(|| B256::repeat_byte(number as u8)),
            requests_hash: after(SpecId::Prague).then_some(B256::ZERO),
            ..Header::default()
        };
        let body =
            alloy_consensus::BlockBody { transactions: txs, ommers: Vec::new(), withdrawals };
        EthBlock { header, body }
    }

    /// Fills `block`'s execution fields from [`Evm::apply_block`], as a block builder does;
    /// `evm`'s database is left as it was.
    fn seal<DB: Database + StateRoot>(
        evm: &mut Evm<DB>,
        chain: &ChainConfig,
        parent: &Header,
        mut block: EthBlock,
        history: &RecentBlocks,
    ) -> EthBlock {
        let (outcome, _) = evm.apply_block(chain, parent, recovered(&block), history).unwrap();
        let header = &mut block.header;
        header.gas_used = outcome.gas_used;
        header.receipts_root = outcome.receipts_root;
        header.logs_bloom = outcome.logs_bloom;
        header.state_root = outcome.state_root;
        header.requests_hash = outcome.requests_hash;
        block
    }

    /// An interpreting EVM over `db` (each block it executes sets its fork and block).
    fn interpreter<DB: Database>(db: DB) -> Evm<DB> {
        Evm::new(db, &Engine::interpreter(), CfgEnv::new(SpecId::LATEST), BlockEnv::default())
    }

    /// Recent blocks holding only `genesis`.
    fn history_from(genesis: &Header) -> RecentBlocks {
        let mut history = RecentBlocks::default();
        history.push(
            genesis.hash_slow(),
            &EthBlock { header: genesis.clone(), body: Default::default() },
        );
        history
    }

    /// `block` with [`sender`] as every transaction's sender.
    fn recovered(block: &EthBlock) -> RecoveredBlock<'_> {
        static SENDERS: std::sync::LazyLock<Vec<Address>> =
            std::sync::LazyLock::new(|| vec![sender(); 16]);
        RecoveredBlock::new(block, &SENDERS[..block.body.transactions.len()]).unwrap()
    }

    fn cancun() -> ChainConfig {
        ChainConfig::single(1, Fork { spec: SpecId::Cancun, blob: Some(BlobParams::cancun()) })
    }

    use alloy_eips::eip7840::BlobParams;

    /// Builds a two-block Cancun chain through the library, without fixtures: the roots the
    /// executor computes fill each header, the block then executes against that header
    /// ([`Evm::execute_block`]), and a block whose state root is off is refused and leaves
    /// the state as it was.
    #[test]
    fn two_block_chain() {
        let chain = cancun();
        let mut db = pre_state();
        let genesis = genesis(&chain, &db, 30_000_000);
        let no_history = RecentBlocks::default();
        let mut evm = interpreter(&mut db);

        let first =
            skeleton(&chain, &genesis, 12, genesis.gas_limit, vec![call(SpecId::Cancun, 0)]);
        let first = seal(&mut evm, &chain, &genesis, first, &no_history);
        let outcome = evm.execute_block(&chain, &genesis, recovered(&first), &()).unwrap();
        assert_eq!(outcome.hash, first.header.hash_slow());
        assert_eq!(outcome.receipts.len(), 1);
        assert!(outcome.receipts[0].status());
        assert_eq!(outcome.receipts[0].logs().len(), 1);
        assert_ne!(first.header.logs_bloom, Bloom::ZERO);
        assert_eq!(evm.block().number, U256::from(1), "the EVM moved to the block");
        let db = evm.db_mut();
        assert_eq!(db.state_root(), first.header.state_root);
        let slot = db.account(&CONTRACT).unwrap().storage.get(&U256::ZERO).copied();
        assert_eq!(slot, Some(U256::from(1)));
        assert_eq!(db.account(&CONTRACT).unwrap().info.balance, U256::from(5));
        assert_eq!(db.account(&VALIDATOR).unwrap().info.balance, U256::from(3_000_000_000u64));
        let beacon = &db.account(&BEACON_ROOTS_ADDRESS).unwrap().storage;
        assert_eq!(beacon[&U256::from(1)], U256::from_be_bytes([1; 32]), "EIP-4788 ran");

        let second = skeleton(
            &chain,
            &first.header,
            12,
            first.header.gas_limit,
            vec![call(SpecId::Cancun, 1)],
        );
        let second = seal(&mut evm, &chain, &first.header, second, &no_history);
        assert!(second.header.gas_used < first.header.gas_used, "the second SSTORE is cheaper");

        let mut bad = second.clone();
        bad.header.state_root =
            b256!("0x0000000000000000000000000000000000000000000000000000000000000bad");
        let before = evm.db().state_root();
        let err = evm.execute_block(&chain, &first.header, recovered(&bad), &());
        assert!(matches!(err, Err(BlockError::StateRoot(_))), "{err:?}");
        assert_eq!(evm.db().state_root(), before, "a refused block changes nothing");

        evm.execute_block(&chain, &first.header, recovered(&second), &()).unwrap();
        let db = evm.into_db();
        assert_eq!(db.state_root(), second.header.state_root);
        assert_eq!(db.account(&sender()).unwrap().info.nonce, 2);
        assert_eq!(db.account(&VALIDATOR).unwrap().info.balance, U256::from(6_000_000_000u64));
        // The coinbase earned both blocks' tips: 2 wei per gas.
        let tips = U256::from(2 * (first.header.gas_used + second.header.gas_used));
        assert_eq!(db.account(&COINBASE).unwrap().info.balance, tips);
    }

    /// A database that cannot be copied and counts its commits: what an embedder's on-disk
    /// state looks like to the executor.
    struct Tracked {
        db: InMemoryDb,
        commits: usize,
    }

    impl Database for Tracked {
        fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, DbError> {
            self.db.basic(address)
        }
        fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytes, DbError> {
            self.db.code_by_hash(code_hash)
        }
        fn storage(&mut self, address: Address, index: U256) -> Result<U256, DbError> {
            self.db.storage(address, index)
        }
        fn block_hash(&mut self, number: u64) -> Result<B256, DbError> {
            self.db.block_hash(number)
        }
    }

    impl DatabaseCommit for Tracked {
        fn commit(&mut self, changes: StateChanges) {
            self.commits += 1;
            self.db.commit(changes);
        }
    }

    impl StateRoot for Tracked {
        fn state_root_with(&self, pending: &super::super::PendingState) -> B256 {
            self.db.state_root_with(pending)
        }
    }

    /// An invalid block, whether found out at the end (its state root) or in the middle (its
    /// second transaction's nonce), commits nothing: the database is never written.
    #[test]
    fn invalid_blocks_leave_the_database_unchanged() {
        let chain = cancun();
        let db = Tracked { db: pre_state(), commits: 0 };
        let genesis = genesis(&chain, &db.db, 30_000_000);
        let mut evm = interpreter(db);
        let history = RecentBlocks::default();
        let first =
            skeleton(&chain, &genesis, 12, genesis.gas_limit, vec![call(SpecId::Cancun, 0)]);
        let first = seal(&mut evm, &chain, &genesis, first, &history);
        evm.execute_block(&chain, &genesis, recovered(&first), &()).unwrap();
        assert_eq!(evm.db().commits, 1);
        let root = evm.db().db.state_root();

        let txs = vec![call(SpecId::Cancun, 1), call(SpecId::Cancun, 2)];
        let mut bad_root = skeleton(&chain, &first.header, 12, first.header.gas_limit, txs);
        bad_root = seal(&mut evm, &chain, &first.header, bad_root, &history);
        bad_root.header.state_root = B256::repeat_byte(0xbd);
        let err = evm.execute_block(&chain, &first.header, recovered(&bad_root), &());
        assert!(matches!(err, Err(BlockError::StateRoot(_))), "{err:?}");

        // Nonce 1, then 5 (the sender is at 2 by then), then 2: refused at the second.
        let txs = vec![call(SpecId::Cancun, 1), call(SpecId::Cancun, 5), call(SpecId::Cancun, 2)];
        let bad_tx = skeleton(&chain, &first.header, 12, first.header.gas_limit, txs);
        let err = evm.execute_block(&chain, &first.header, recovered(&bad_tx), &());
        assert!(
            matches!(
                err,
                Err(BlockError::Transaction {
                    index: 1,
                    error: kiln_runtime::InvalidTransaction::NonceTooHigh { tx: 5, state: 2 }
                })
            ),
            "{err:?}"
        );

        let db = evm.into_db();
        assert_eq!(db.commits, 1, "no refused block reached the database");
        assert_eq!(db.db.state_root(), root);
        assert_eq!(db.db.account(&sender()).unwrap().info.nonce, 1);
    }

    /// The same chain executed by an interpreter and a JIT engine: the same outcomes, and
    /// the JIT compiled both the transactions' contract and the EIP-4788 system contract
    /// (system calls run on the engine too).
    #[test]
    fn interpreter_and_jit_agree() {
        let chain = cancun();
        let pre = pre_state();
        let genesis = genesis(&chain, &pre, 30_000_000);
        let history = RecentBlocks::default();
        let run = |engine: &Engine| {
            let mut db = pre.clone();
            let mut evm =
                Evm::new(&mut db, engine, CfgEnv::new(SpecId::Cancun), BlockEnv::default());
            let mut parent = genesis.clone();
            let mut outcomes = Vec::new();
            for nonce in 0..3 {
                let txs =
                    vec![call(SpecId::Cancun, 2 * nonce), call(SpecId::Cancun, 2 * nonce + 1)];
                let block = skeleton(&chain, &parent, 12, parent.gas_limit, txs);
                let block = seal(&mut evm, &chain, &parent, block, &history);
                outcomes.push(evm.execute_block(&chain, &parent, recovered(&block), &()).unwrap());
                parent = block.header;
            }
            drop(evm);
            (outcomes, db.state_root())
        };
        let interpreted = run(&Engine::interpreter());
        let jit = Engine::new(Execution::Jit).unwrap();
        let compiled = run(&jit);
        assert_eq!(interpreted, compiled);
        assert_eq!(jit.jit_stats().unwrap().compiled, 2, "{:?}", jit.jit_stats());
    }

    /// Ommer rewards: the miner gets 1/32 of the block reward more per ommer, an ommer's
    /// miner `(8 + ommer number - number) / 8` of it (Berlin: 2 ETH).
    #[test]
    fn ommer_rewards() {
        let chain = ChainConfig::single(1, Fork { spec: SpecId::Berlin, blob: None });
        let mut db = pre_state();
        let genesis = genesis(&chain, &db, 10_000_000);
        let mut history = history_from(&genesis);
        let mut evm = interpreter(&mut db);
        let first = skeleton(&chain, &genesis, 10, genesis.gas_limit, vec![]);
        let first = seal(&mut evm, &chain, &genesis, first, &history);
        evm.execute_block(&chain, &genesis, recovered(&first), &history).unwrap();
        history.push(first.header.hash_slow(), &first);
        // A sibling of block 1, mined by someone else, included by block 2.
        let mut ommer = skeleton(&chain, &genesis, 11, genesis.gas_limit, vec![]).header;
        ommer.beneficiary = VALIDATOR;
        let mut second = skeleton(&chain, &first.header, 10, first.header.gas_limit, vec![]);
        second.body.ommers = vec![ommer];
        second.header.ommers_hash = proofs::calculate_ommers_root(&second.body.ommers);
        let second = seal(&mut evm, &chain, &first.header, second, &history);
        evm.execute_block(&chain, &first.header, recovered(&second), &history).unwrap();
        let db = evm.into_db();
        let ether = U256::from(10).pow(U256::from(18));
        let reward = U256::from(2) * ether;
        let miner = reward * U256::from(2) + reward / U256::from(32);
        assert_eq!(db.account(&COINBASE).unwrap().info.balance, miner);
        // Ommer 1 in block 2: (8 + 1 - 2) / 8.
        let ommer = reward * U256::from(7) / U256::from(8);
        assert_eq!(db.account(&VALIDATOR).unwrap().info.balance, ommer);
    }

    /// EIP-7934: an Osaka block of exactly `MAX_RLP_BLOCK_SIZE` bytes of RLP passes the cap,
    /// one byte more does not (before Osaka, no cap).
    #[test]
    fn rlp_block_size_cap() {
        let chain =
            ChainConfig::single(1, Fork { spec: SpecId::Osaka, blob: Some(BlobParams::osaka()) });
        let genesis = genesis(&chain, &pre_state(), 30_000_000);
        let sized = |input_len: usize| {
            let tx = TxLegacy {
                chain_id: Some(1),
                gas_limit: 30_000_000,
                to: AlloyTxKind::Call(CONTRACT),
                input: vec![1u8; input_len].into(),
                ..TxLegacy::default()
            };
            let tx = BlockTx::Legacy(tx.into_signed(Signature::test_signature()));
            skeleton(&chain, &genesis, 12, genesis.gas_limit, vec![tx])
        };
        // The length prefixes stay the same width near the cap: one step lands on it.
        let probe = sized(MAX_RLP_BLOCK_SIZE - 2_000);
        let at_cap = sized(MAX_RLP_BLOCK_SIZE - 2_000 + MAX_RLP_BLOCK_SIZE - probe.length());
        assert_eq!(at_cap.length(), MAX_RLP_BLOCK_SIZE);
        let over = sized(MAX_RLP_BLOCK_SIZE - 2_000 + MAX_RLP_BLOCK_SIZE - probe.length() + 1);
        assert_eq!(over.length(), MAX_RLP_BLOCK_SIZE + 1);

        let mut db = pre_state();
        let mut evm = interpreter(&mut db);
        let senders = [Address::ZERO];
        let err = evm
            .execute_block(&chain, &genesis, RecoveredBlock::new(&over, &senders).unwrap(), &())
            .unwrap_err();
        assert_eq!(
            err,
            BlockError::RlpTooLarge { size: MAX_RLP_BLOCK_SIZE + 1, max: MAX_RLP_BLOCK_SIZE }
        );
        assert_eq!(err.eest_names(), ["BlockException.RLP_BLOCK_LIMIT_EXCEEDED"]);
        // At the cap the block goes on to its other checks (and fails one: its sender is
        // not the signature's, its header not sealed), none of them the size.
        let err = evm
            .execute_block(&chain, &genesis, RecoveredBlock::new(&at_cap, &senders).unwrap(), &())
            .unwrap_err();
        assert!(!matches!(err, BlockError::RlpTooLarge { .. }), "{err:?}");
        // Prague has no cap.
        let prague =
            ChainConfig::single(1, Fork { spec: SpecId::Prague, blob: Some(BlobParams::prague()) });
        let err = evm
            .execute_block(&prague, &genesis, RecoveredBlock::new(&over, &senders).unwrap(), &())
            .unwrap_err();
        assert!(!matches!(err, BlockError::RlpTooLarge { .. }), "{err:?}");
    }

    /// `BerlinToLondonAt5`: blocks 1 to 4 are Berlin's (legacy transactions, no base fee), block
    /// 5 London's first, with a base fee of 1 Gwei and a gas limit up to twice the parent's
    /// (EIP-1559's elasticity applied to the parent's limit at the fork block); a base fee by
    /// the ordinary rule or an unscaled limit is refused there.
    #[test]
    fn berlin_to_london_at_block_5() {
        let chain = ChainConfig::from_network("BerlinToLondonAt5", 1, &BTreeMap::new()).unwrap();
        assert_eq!(chain.fork_at(4, u64::MAX).spec, SpecId::Berlin);
        assert_eq!(chain.fork_at(5, 0).spec, SpecId::London);
        let mut db = pre_state();
        let mut parent = genesis(&chain, &db, 10_000_000);
        let mut history = history_from(&parent);
        let mut evm = interpreter(&mut db);
        for number in 1..=4u64 {
            let block = skeleton(
                &chain,
                &parent,
                10,
                parent.gas_limit,
                vec![call(SpecId::Berlin, number - 1)],
            );
            assert!(matches!(block.body.transactions[0], BlockTx::Legacy(_)));
            let block = seal(&mut evm, &chain, &parent, block, &history);
            evm.execute_block(&chain, &parent, recovered(&block), &history).unwrap();
            assert_eq!(evm.cfg().spec, SpecId::Berlin);
            history.push(block.header.hash_slow(), &block);
            parent = block.header;
        }
        assert_eq!(parent.base_fee_per_gas, None);

        let limit = 2 * parent.gas_limit;
        let fork_block = skeleton(&chain, &parent, 10, limit, vec![call(SpecId::London, 4)]);
        assert_eq!(fork_block.header.base_fee_per_gas, Some(1_000_000_000));
        let fork_block = seal(&mut evm, &chain, &parent, fork_block, &history);

        let mut bad_fee = fork_block.clone();
        bad_fee.header.base_fee_per_gas = Some(7);
        let err = evm.execute_block(&chain, &parent, recovered(&bad_fee), &history);
        assert_eq!(err, Err(BlockError::BaseFee(Mismatch { expected: 1_000_000_000, got: 7 })));
        let unscaled =
            skeleton(&chain, &parent, 10, parent.gas_limit, vec![call(SpecId::London, 4)]);
        let err = evm.execute_block(&chain, &parent, recovered(&unscaled), &history);
        assert_eq!(err, Err(BlockError::GasLimit { parent: limit, got: parent.gas_limit }));

        evm.execute_block(&chain, &parent, recovered(&fork_block), &history).unwrap();
        assert_eq!(evm.cfg().spec, SpecId::London);
        // Block 6 prices its base fee from block 5's by the ordinary rule.
        let six = skeleton(&chain, &fork_block.header, 10, limit, vec![call(SpecId::London, 5)]);
        assert!(six.header.base_fee_per_gas.unwrap() < 1_000_000_000, "block 5 was under target");
        let six = seal(&mut evm, &chain, &fork_block.header, six, &history);
        evm.execute_block(&chain, &fork_block.header, recovered(&six), &history).unwrap();
        assert_eq!(evm.db().account(&sender()).unwrap().info.nonce, 6);
    }

    /// The merge at a block number (`LondonToMergeAt3`) and `ParisToShanghaiAtTime15k`:
    /// before the merge a block has a difficulty and pays its miner 2 ETH, after it neither;
    /// withdrawals start at the first block at or after 15,000 s.
    #[test]
    fn paris_transitions() {
        let chain = ChainConfig::from_network("LondonToMergeAt3", 1, &BTreeMap::new()).unwrap();
        assert_eq!(chain.fork_at(3, 0).spec, SpecId::Paris);
        let mut db = pre_state();
        let mut parent = genesis(&chain, &db, 10_000_000);
        let mut evm = interpreter(&mut db);
        let two_ether = U256::from(2) * U256::from(10).pow(U256::from(18));
        for number in 1..=4u64 {
            let block = skeleton(&chain, &parent, 10, parent.gas_limit, vec![]);
            assert_eq!(block.header.difficulty.is_zero(), number >= 3);
            if number == 3 {
                let mut mined = block.clone();
                mined.header.difficulty =
                    difficulty(SpecId::London, &parent, mined.header.timestamp);
                let err = evm.execute_block(&chain, &parent, recovered(&mined), &());
                assert!(matches!(err, Err(BlockError::Difficulty(_))), "{err:?}");
            }
            let block = seal(&mut evm, &chain, &parent, block, &RecentBlocks::default());
            evm.execute_block(&chain, &parent, recovered(&block), &()).unwrap();
            let paid = evm.db().account(&COINBASE).map(|a| a.info.balance).unwrap_or_default();
            assert_eq!(paid, two_ether * U256::from(number.min(2)), "block {number}");
            parent = block.header;
        }

        let chain =
            ChainConfig::from_network("ParisToShanghaiAtTime15k", 1, &BTreeMap::new()).unwrap();
        let mut db = pre_state();
        let mut parent = genesis(&chain, &db, 10_000_000);
        parent.timestamp = 14_997;
        let mut evm = interpreter(&mut db);
        for seconds in [1, 1, 1, 1] {
            let block = skeleton(&chain, &parent, seconds, parent.gas_limit, vec![]);
            let shanghai = block.header.timestamp >= 15_000;
            assert_eq!(block.body.withdrawals.is_some(), shanghai);
            if shanghai {
                // The first Shanghai block without its withdrawals is refused.
                let mut bare = block.clone();
                bare.header.withdrawals_root = None;
                bare.body.withdrawals = None;
                let err = evm.execute_block(&chain, &parent, recovered(&bare), &());
                assert_eq!(err, Err(BlockError::MissingField("withdrawalsRoot")));
            }
            let block = seal(&mut evm, &chain, &parent, block, &RecentBlocks::default());
            evm.execute_block(&chain, &parent, recovered(&block), &()).unwrap();
            assert_eq!(evm.cfg().spec, if shanghai { SpecId::Shanghai } else { SpecId::Paris });
            parent = block.header;
        }
        // Two Shanghai blocks (15,000 and 15,001), 3 Gwei each.
        let paid = evm.db().account(&VALIDATOR).unwrap().info.balance;
        assert_eq!(paid, U256::from(6_000_000_000u64));
        assert!(evm.db().account(&COINBASE).is_none(), "no block reward after the merge");
    }
}
