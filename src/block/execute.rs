//! A first block executor: **a prototype** over an [`InMemoryDb`], interpreted. It validates
//! the header and the body's roots, runs the pre-block system calls (EIP-4788 from Cancun,
//! EIP-2935 from Prague), the transactions with their receipts and the block's gas and blob
//! gas allowances, pays the block and ommer rewards before the merge and the withdrawals from
//! Shanghai on, collects the requests from Prague on (EIP-6110 deposits from the logs, the
//! EIP-7002 and EIP-7251 system calls), and checks gas used, blob gas used, the receipts
//! root, the logs bloom, the requests hash and the state root against the header. An invalid
//! block leaves the database as it was (the block runs on a copy, kept only when every check
//! passed).
//!
//! Not yet here (see `docs/blocks.md`): ommer validation; EIP-7934's size cap; execution
//! modes other than the interpreter, and the `Evm` API with an overlay instead of a copy.

use alloy_consensus::proofs;
use alloy_consensus::{
    Block, EthereumTxEnvelope, Receipt, ReceiptEnvelope, ReceiptWithBloom, Transaction as _,
    TxEip4844, TxReceipt as _,
};
use alloy_eips::eip2935::HISTORY_STORAGE_ADDRESS;
use alloy_eips::eip4788::BEACON_ROOTS_ADDRESS;
use alloy_eips::eip6110::{DEPOSIT_REQUEST_TYPE, MAINNET_DEPOSIT_CONTRACT_ADDRESS};
use alloy_eips::eip7002::{WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS, WITHDRAWAL_REQUEST_TYPE};
use alloy_eips::eip7251::{CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS, CONSOLIDATION_REQUEST_TYPE};
use alloy_eips::eip7685::Requests;
use alloy_primitives::{Address, Bloom, Bytes, B256, KECCAK256_EMPTY, U256};
use kiln_runtime::{
    AccessListItem, AccountChange, AccountInfo, Authorization, BlobSchedule, BlockEnv, CfgEnv,
    CodeCache, DatabaseCommit, EvmError, ExecutionResult, InMemoryDb, SpecId, TxEnv, TxKind,
    TxType,
};

use super::chain::ChainConfig;
use super::error::BlockError;
use super::header::validate_header;

/// A transaction as a block carries it (a blob transaction without its sidecar).
pub type BlockTx = EthereumTxEnvelope<TxEip4844>;
/// A block of [`BlockTx`].
pub type EthBlock = Block<BlockTx>;

/// What executing a block produced: what its header must commit to.
#[derive(Clone, Debug)]
pub struct BlockOutcome {
    pub receipts: Vec<ReceiptEnvelope>,
    pub gas_used: u64,
    pub blob_gas_used: u64,
    pub receipts_root: B256,
    pub logs_bloom: Bloom,
    /// From Prague on.
    pub requests_hash: Option<B256>,
    pub state_root: B256,
}

impl BlockOutcome {
    /// Checks the header's execution fields (requests hash, gas used, blob gas used,
    /// receipts root, logs bloom, state root) against what execution produced.
    pub fn check(&self, header: &alloy_consensus::Header) -> Result<(), BlockError> {
        if self.requests_hash.is_some() && self.requests_hash != header.requests_hash {
            return Err(BlockError::RequestsHash);
        }
        if self.gas_used != header.gas_used {
            return Err(BlockError::GasUsed { expected: header.gas_used, got: self.gas_used });
        }
        if let Some(expected) = header.blob_gas_used {
            if self.blob_gas_used != expected {
                return Err(BlockError::BlobGasUsedMismatch { expected, got: self.blob_gas_used });
            }
        }
        if self.receipts_root != header.receipts_root {
            return Err(BlockError::ReceiptsRoot {
                expected: header.receipts_root,
                got: self.receipts_root,
            });
        }
        if self.logs_bloom != header.logs_bloom {
            return Err(BlockError::LogsBloom);
        }
        if self.state_root != header.state_root {
            return Err(BlockError::StateRoot {
                expected: header.state_root,
                got: self.state_root,
            });
        }
        Ok(())
    }
}

/// Validates and executes `block` (whose transactions' senders are `senders`, in order) on
/// top of `parent` and the state `db`, committing to `db` only when the block is valid.
pub fn execute_block_in_memory(
    chain: &ChainConfig,
    parent: &alloy_consensus::Header,
    block: &EthBlock,
    senders: &[Address],
    db: &mut InMemoryDb,
) -> Result<BlockOutcome, BlockError> {
    execute_block_in_memory_with(
        chain,
        parent,
        block,
        senders,
        db,
        &mut kiln_runtime::transact_commit,
    )
}

/// [`execute_block_in_memory`] with the block's transactions run by `transact`.
pub fn execute_block_in_memory_with(
    chain: &ChainConfig,
    parent: &alloy_consensus::Header,
    block: &EthBlock,
    senders: &[Address],
    db: &mut InMemoryDb,
    transact: &mut Transactor<'_>,
) -> Result<BlockOutcome, BlockError> {
    let (outcome, state) = apply_block_with(chain, parent, block, senders, db, transact)?;
    outcome.check(&block.header)?;
    *db = state;
    Ok(outcome)
}

/// Executes and commits one transaction: the runtime's interpreter by default
/// ([`kiln_runtime::transact_commit`]), or any executor (the `kiln` tool passes a
/// `kiln::Evm` on its mode's engine this way until `Evm::execute_block` exists).
pub type Transactor<'a> = dyn FnMut(&mut InMemoryDb, &CfgEnv, &BlockEnv, &TxEnv) -> Result<ExecutionResult, EvmError>
    + 'a;

/// Executes `block` on a copy of `db` and returns what the header's execution fields must
/// be, with the state after it, without checking those fields: how a block builder fills
/// them in. The header is validated against the parent, and the body against the header's
/// transactions root, ommers hash and withdrawals root, first. Interpreted.
pub fn apply_block(
    chain: &ChainConfig,
    parent: &alloy_consensus::Header,
    block: &EthBlock,
    senders: &[Address],
    db: &InMemoryDb,
) -> Result<(BlockOutcome, InMemoryDb), BlockError> {
    apply_block_with(chain, parent, block, senders, db, &mut kiln_runtime::transact_commit)
}

/// [`apply_block`] with the block's transactions run by `transact` (system calls stay
/// interpreted).
pub fn apply_block_with(
    chain: &ChainConfig,
    parent: &alloy_consensus::Header,
    block: &EthBlock,
    senders: &[Address],
    db: &InMemoryDb,
    transact: &mut Transactor<'_>,
) -> Result<(BlockOutcome, InMemoryDb), BlockError> {
    let header = &block.header;
    validate_header(chain, parent, header)?;
    let fork = chain.fork_at(header.number, header.timestamp);
    let spec = fork.spec;
    check_body_roots(spec, block)?;

    let mut cfg = CfgEnv::new(spec);
    cfg.chain_id = chain.chain_id;
    if let Some(blob) = fork.blob {
        cfg.blob_schedule = BlobSchedule {
            target: blob.target_blob_count,
            max: blob.max_blob_count,
            update_fraction: blob.update_fraction as u64,
        };
    }
    let env = BlockEnv {
        number: U256::from(header.number),
        coinbase: header.beneficiary,
        timestamp: U256::from(header.timestamp),
        gas_limit: header.gas_limit,
        basefee: header.base_fee_per_gas.unwrap_or_default(),
        prevrandao: header.mix_hash,
        difficulty: header.difficulty,
        excess_blob_gas: header.excess_blob_gas.unwrap_or_default(),
    };

    let mut state = db.clone();
    let mut cache = CodeCache::default();
    if spec.is_enabled_in(SpecId::Cancun) {
        let root = header.parent_beacon_block_root.unwrap_or_default();
        let data = Bytes::copy_from_slice(root.as_slice());
        system_call(&mut state, &cfg, &env, &mut cache, BEACON_ROOTS_ADDRESS, data, false)?;
    }
    if spec.is_enabled_in(SpecId::Prague) {
        let data = Bytes::copy_from_slice(header.parent_hash.as_slice());
        system_call(&mut state, &cfg, &env, &mut cache, HISTORY_STORAGE_ADDRESS, data, false)?;
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
        let result = match transact(&mut state, &cfg, &env, &tx_env) {
            Ok(result) => result,
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
            state.state_root().into()
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
        receipts.push(ReceiptEnvelope::from_typed(tx.tx_type(), ReceiptWithBloom::from(receipt)));
    }
    if block.body.transactions.len() != senders.len() {
        return Err(BlockError::Evm(format!(
            "{} senders for {} transactions",
            senders.len(),
            block.body.transactions.len()
        )));
    }

    if !spec.is_enabled_in(SpecId::Paris) {
        pay_rewards(spec, block, &mut state);
    }
    for withdrawal in block.body.withdrawals.iter().flatten() {
        let amount = U256::from(withdrawal.amount) * U256::from(1_000_000_000u64);
        add_balance(&mut state, withdrawal.address, amount);
    }

    let mut requests_hash = None;
    if spec.is_enabled_in(SpecId::Prague) {
        let mut requests = Requests::default();
        requests.push_request_with_type(DEPOSIT_REQUEST_TYPE, deposit_requests(&receipts)?);
        for (kind, target) in [
            (WITHDRAWAL_REQUEST_TYPE, WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS),
            (CONSOLIDATION_REQUEST_TYPE, CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS),
        ] {
            let output =
                system_call(&mut state, &cfg, &env, &mut cache, target, Bytes::new(), true)?;
            requests.push_request_with_type(kind, output);
        }
        requests_hash = Some(requests.requests_hash());
    }

    let receipts_root = proofs::calculate_receipt_root(&receipts);
    let logs_bloom = receipts.iter().fold(Bloom::ZERO, |acc, r| acc | r.bloom());
    let state_root = state.state_root();
    let outcome = BlockOutcome {
        receipts,
        gas_used,
        blob_gas_used,
        receipts_root,
        logs_bloom,
        requests_hash,
        state_root,
    };
    Ok((outcome, state))
}

/// Runs a system call and commits its changes, returning its output. With `checked`
/// (EIP-7002, EIP-7251) a contract without code or a failed call invalidates the block;
/// without (EIP-4788, EIP-2935) a contract without code is skipped and a failure ignored.
#[allow(clippy::too_many_arguments)]
fn system_call(
    state: &mut InMemoryDb,
    cfg: &CfgEnv,
    env: &BlockEnv,
    cache: &mut CodeCache,
    target: Address,
    data: Bytes,
    checked: bool,
) -> Result<Bytes, BlockError> {
    let has_code = state.account(&target).is_some_and(|a| a.info.code_hash != KECCAK256_EMPTY);
    if !has_code {
        return if checked {
            Err(BlockError::SystemContractEmpty(target))
        } else {
            Ok(Bytes::new())
        };
    }
    let (result, changes) = kiln_runtime::system_call(state, cfg, env, target, data, cache)
        .map_err(|e| BlockError::Evm(e.to_string()))?;
    if checked && !result.is_success() {
        return Err(BlockError::SystemContractCallFailed(target));
    }
    state.commit(changes);
    Ok(Bytes::copy_from_slice(result.output()))
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
        return Err(BlockError::TransactionsRoot {
            expected: header.transactions_root,
            got: transactions_root,
        });
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
fn pay_rewards(spec: SpecId, block: &EthBlock, state: &mut InMemoryDb) {
    let ether = U256::from(10).pow(U256::from(18));
    let reward = ether
        * U256::from(match spec {
            s if s.is_enabled_in(SpecId::Constantinople) => 2,
            s if s.is_enabled_in(SpecId::Byzantium) => 3,
            _ => 5,
        });
    let ommers = &block.body.ommers;
    let miner = reward + reward / U256::from(32) * U256::from(ommers.len());
    add_balance(state, block.header.beneficiary, miner);
    for ommer in ommers {
        let share = U256::from(8 + ommer.number).saturating_sub(U256::from(block.header.number));
        add_balance(state, ommer.beneficiary, reward * share / U256::from(8));
    }
}

/// Adds to an account's balance outside the EVM. A zero amount to an account that does not
/// exist creates nothing, and one to an existing empty account removes it (EIP-161, as
/// execution-specs' `process_withdrawal`; a reward is never zero).
fn add_balance(state: &mut InMemoryDb, address: Address, amount: U256) {
    let existing = state.account(&address).map(|a| a.info.clone());
    let change = match existing {
        None if amount.is_zero() => return,
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
    use crate::block::{ChainConfig, Fork};
    use alloy_consensus::{Header, SignableTransaction, TxEip1559, EMPTY_OMMER_ROOT_HASH};
    use alloy_eips::eip1559::BaseFeeParams;
    use alloy_eips::eip4895::{Withdrawal, Withdrawals};
    use alloy_primitives::{address, b256, Bytes, TxKind as AlloyTxKind};
    use k256::ecdsa::SigningKey;

    /// Stores 1 at slot 0 (first time: 20,000 gas; then a no-op write) and logs nothing but
    /// an empty LOG0, so that receipts carry a log and the bloom a bit.
    const CODE: &[u8] = &[0x60, 0x01, 0x60, 0x00, 0x55, 0x60, 0x00, 0x60, 0x00, 0xa0, 0x00];
    const CONTRACT: Address = address!("0x1000000000000000000000000000000000000001");
    const COINBASE: Address = address!("0x2000000000000000000000000000000000000002");
    const VALIDATOR: Address = address!("0x3000000000000000000000000000000000000003");

    fn key() -> SigningKey {
        SigningKey::from_slice(&[0x11; 32]).unwrap()
    }

    fn signed_call(nonce: u64) -> BlockTx {
        let tx = TxEip1559 {
            chain_id: 1,
            nonce,
            gas_limit: 100_000,
            max_fee_per_gas: 1_000,
            max_priority_fee_per_gas: 2,
            to: AlloyTxKind::Call(CONTRACT),
            value: U256::from(5),
            access_list: Default::default(),
            input: Bytes::new(),
        };
        let (sig, recid) = key().sign_prehash_recoverable(tx.signature_hash().as_slice()).unwrap();
        BlockTx::Eip1559(tx.into_signed(alloy_primitives::Signature::from((sig, recid))))
    }

    /// A block on `parent` with `txs` and one withdrawal, whose execution fields are filled
    /// in from [`apply_block`] on `db`: as a block builder makes one.
    fn build(chain: &ChainConfig, parent: &Header, txs: Vec<BlockTx>, db: &InMemoryDb) -> EthBlock {
        let withdrawals = Withdrawals::new(vec![Withdrawal {
            index: parent.number,
            validator_index: 7,
            address: VALIDATOR,
            amount: 3,
        }]);
        let header = Header {
            parent_hash: parent.hash_slow(),
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: COINBASE,
            transactions_root: proofs::calculate_transaction_root(&txs),
            withdrawals_root: Some(proofs::calculate_withdrawals_root(&withdrawals)),
            number: parent.number + 1,
            gas_limit: parent.gas_limit,
            timestamp: parent.timestamp + 12,
            base_fee_per_gas: Some(BaseFeeParams::ethereum().next_block_base_fee(
                parent.gas_used,
                parent.gas_limit,
                parent.base_fee_per_gas.unwrap(),
            )),
            blob_gas_used: Some(0),
            excess_blob_gas: Some(0),
            parent_beacon_block_root: Some(B256::repeat_byte(parent.number as u8 + 1)),
            ..Header::default()
        };
        let mut block = EthBlock {
            header,
            body: alloy_consensus::BlockBody {
                transactions: txs,
                ommers: Vec::new(),
                withdrawals: Some(withdrawals),
            },
        };
        let senders = vec![Address::from_private_key(&key()); block.body.transactions.len()];
        let (outcome, _) = apply_block(chain, parent, &block, &senders, db).unwrap();
        let header = &mut block.header;
        header.gas_used = outcome.gas_used;
        header.receipts_root = outcome.receipts_root;
        header.logs_bloom = outcome.logs_bloom;
        header.state_root = outcome.state_root;
        block
    }

    /// Builds a two-block Cancun chain through the library, without fixtures: the roots the
    /// executor computes fill each header, the block then executes against that header, and
    /// a block whose state root is off is refused and leaves the state as it was.
    #[test]
    fn two_block_chain() {
        let chain = ChainConfig::single(
            1,
            Fork { spec: SpecId::Cancun, blob: Some(alloy_eips::eip7840::BlobParams::cancun()) },
        );
        let sender = Address::from_private_key(&key());
        let mut db = InMemoryDb::new();
        db.insert_account(sender, U256::from(10).pow(U256::from(18)), 0, Bytes::new(), []);
        db.insert_account(CONTRACT, U256::ZERO, 1, Bytes::from_static(CODE), []);
        let genesis = Header {
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            state_root: db.state_root(),
            transactions_root: alloy_consensus::EMPTY_ROOT_HASH,
            receipts_root: alloy_consensus::EMPTY_ROOT_HASH,
            withdrawals_root: Some(alloy_consensus::EMPTY_ROOT_HASH),
            gas_limit: 30_000_000,
            base_fee_per_gas: Some(7),
            blob_gas_used: Some(0),
            excess_blob_gas: Some(0),
            parent_beacon_block_root: Some(B256::ZERO),
            ..Header::default()
        };

        let first = build(&chain, &genesis, vec![signed_call(0)], &db);
        let senders = [sender];
        let outcome = execute_block_in_memory(&chain, &genesis, &first, &senders, &mut db).unwrap();
        assert_eq!(outcome.receipts.len(), 1);
        assert!(outcome.receipts[0].status());
        assert_eq!(outcome.receipts[0].logs().len(), 1);
        assert_ne!(first.header.logs_bloom, Bloom::ZERO);
        assert_eq!(db.state_root(), first.header.state_root);
        let slot = db.account(&CONTRACT).unwrap().storage.get(&U256::ZERO).copied();
        assert_eq!(slot, Some(U256::from(1)));
        assert_eq!(db.account(&CONTRACT).unwrap().info.balance, U256::from(5));
        assert_eq!(db.account(&VALIDATOR).unwrap().info.balance, U256::from(3_000_000_000u64));

        let second = build(&chain, &first.header, vec![signed_call(1)], &db);
        assert!(second.header.gas_used < first.header.gas_used, "the second SSTORE is cheaper");

        let mut bad = second.clone();
        bad.header.state_root =
            b256!("0x0000000000000000000000000000000000000000000000000000000000000bad");
        let before = db.state_root();
        let err = execute_block_in_memory(&chain, &first.header, &bad, &senders, &mut db);
        assert!(matches!(err, Err(BlockError::StateRoot { .. })), "{err:?}");
        assert_eq!(db.state_root(), before, "a refused block changes nothing");

        execute_block_in_memory(&chain, &first.header, &second, &senders, &mut db).unwrap();
        assert_eq!(db.state_root(), second.header.state_root);
        assert_eq!(db.account(&sender).unwrap().info.nonce, 2);
        assert_eq!(db.account(&VALIDATOR).unwrap().info.balance, U256::from(6_000_000_000u64));
        // The coinbase earned both blocks' tips: 2 wei per gas.
        let tips = U256::from(2 * (first.header.gas_used + second.header.gas_used));
        assert_eq!(db.account(&COINBASE).unwrap().info.balance, tips);
    }
}
