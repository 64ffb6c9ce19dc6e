//! A first block executor: **a prototype for the forks before Cancun**, over an
//! [`InMemoryDb`], interpreted. It validates the header and the body's roots, runs the
//! transactions with their receipts, pays the block and ommer rewards before the merge and
//! the withdrawals from Shanghai on, and checks gas used, the receipts root, the logs bloom
//! and the state root against the header. An invalid block leaves the database as it was
//! (the block runs on a copy, kept only when every check passed).
//!
//! Not yet here (see `docs/blocks.md`): the system calls (EIP-4788, EIP-2935) and requests
//! (EIP-6110, EIP-7002, EIP-7251) of Cancun and Prague, so blocks of those forks are refused
//! with [`BlockError::Unsupported`]; ommer validation; EIP-7934's size cap; execution modes
//! other than the interpreter, and the `Evm` API with an overlay instead of a copy.

use alloy_consensus::proofs;
use alloy_consensus::{
    Block, EthereumTxEnvelope, Receipt, ReceiptEnvelope, ReceiptWithBloom, Transaction as _,
    TxEip4844, TxReceipt as _,
};
use alloy_primitives::{Address, Bloom, B256, U256};
use kiln_runtime::{
    AccessListItem, AccountChange, AccountInfo, Authorization, BlobSchedule, BlockEnv, CfgEnv,
    DatabaseCommit, EvmError, InMemoryDb, SpecId, TxEnv, TxKind, TxType,
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
    if spec.is_enabled_in(SpecId::Cancun) {
        return Err(BlockError::Unsupported("system calls and requests from Cancun on"));
    }
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
    let mut receipts = Vec::with_capacity(block.body.transactions.len());
    let mut gas_used = 0u64;
    for (index, (tx, &sender)) in block.body.transactions.iter().zip(senders).enumerate() {
        let available = header.gas_limit - gas_used;
        if tx.gas_limit() > available {
            return Err(BlockError::BlockGasExhausted {
                index,
                gas_limit: tx.gas_limit(),
                available,
            });
        }
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

    if gas_used != header.gas_used {
        return Err(BlockError::GasUsed { expected: header.gas_used, got: gas_used });
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
