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
    CodeCache, DatabaseCommit, EvmError, InMemoryDb, SpecId, TxEnv, TxKind, TxType,
};

use super::chain::ChainConfig;
use super::error::BlockError;
use super::header::validate_header;

/// A transaction as a block carries it (a blob transaction without its sidecar).
pub type BlockTx = EthereumTxEnvelope<TxEip4844>;
/// A block of [`BlockTx`].
pub type EthBlock = Block<BlockTx>;

/// What executing a valid block produced.
#[derive(Clone, Debug)]
pub struct BlockOutcome {
    pub receipts: Vec<ReceiptEnvelope>,
    pub gas_used: u64,
    pub state_root: B256,
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
        let result = match kiln_runtime::transact_commit(&mut state, &cfg, &env, &tx_env) {
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
        if Some(requests.requests_hash()) != header.requests_hash {
            return Err(BlockError::RequestsHash);
        }
    }

    if gas_used != header.gas_used {
        return Err(BlockError::GasUsed { expected: header.gas_used, got: gas_used });
    }
    if let Some(expected) = header.blob_gas_used {
        if blob_gas_used != expected {
            return Err(BlockError::BlobGasUsedMismatch { expected, got: blob_gas_used });
        }
    }
    let receipts_root = proofs::calculate_receipt_root(&receipts);
    if receipts_root != header.receipts_root {
        return Err(BlockError::ReceiptsRoot {
            expected: header.receipts_root,
            got: receipts_root,
        });
    }
    let bloom = receipts.iter().fold(Bloom::ZERO, |acc, r| acc | r.bloom());
    if bloom != header.logs_bloom {
        return Err(BlockError::LogsBloom);
    }
    let state_root = state.state_root();
    if state_root != header.state_root {
        return Err(BlockError::StateRoot { expected: header.state_root, got: state_root });
    }
    *db = state;
    Ok(BlockOutcome { receipts, gas_used, state_root })
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
