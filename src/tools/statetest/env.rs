//! Turning a fixture into the runtime's inputs: chain config, block, transaction, pre-state.

use alloy_primitives::B256;
use kiln_runtime::{
    AccessListItem, Authorization, BlobSchedule, BlockEnv, CfgEnv, InMemoryDb, SpecId, TxEnv,
    TxKind, TxType,
};

use super::fixture::{Account, Env, EnvError, Indexes, StateTest, Transaction};

/// The chain configuration for running `test` under `spec`. `fork_name` is the key the fixture
/// used in `post`, which is also the key of its `config.blobSchedule` entry.
pub fn cfg_env(test: &StateTest, spec: SpecId, fork_name: &str) -> Result<CfgEnv, EnvError> {
    let mut cfg = CfgEnv::new(spec);
    if let Some(chain_id) = test.config.chainid {
        cfg.chain_id = chain_id.to_u64("config.chainid")?;
    }
    if let Some(schedule) = &test.config.blob_schedule {
        let entry = schedule.get(fork_name).or_else(|| {
            schedule
                .iter()
                .find(|(name, _)| name.parse::<SpecId>().ok() == Some(spec))
                .map(|(_, entry)| entry)
        });
        if let Some(entry) = entry {
            cfg.blob_schedule = BlobSchedule {
                target: entry.target.to_u64("blobSchedule target")?,
                max: entry.max.to_u64("blobSchedule max")?,
                update_fraction: entry
                    .base_fee_update_fraction
                    .to_u64("blobSchedule baseFeeUpdateFraction")?,
            };
            if cfg.blob_schedule.update_fraction == 0 {
                return Err(EnvError::ZeroBlobFeeFraction);
            }
        }
    }
    Ok(cfg)
}

pub fn block_env(env: &Env) -> Result<BlockEnv, EnvError> {
    let prevrandao =
        B256::from(env.current_random.map(|q| q.0).unwrap_or(env.current_difficulty.0));
    Ok(BlockEnv {
        number: env.current_number.0,
        coinbase: env.current_coinbase,
        timestamp: env.current_timestamp.0,
        gas_limit: env.current_gas_limit.to_u64("currentGasLimit")?,
        basefee: env.current_base_fee.map(|q| q.to_u64("currentBaseFee")).transpose()?.unwrap_or(0),
        prevrandao,
        difficulty: env.current_difficulty.0,
        excess_blob_gas: env
            .current_excess_blob_gas
            .map(|q| q.to_u64("currentExcessBlobGas"))
            .transpose()?
            .unwrap_or(0),
    })
}

/// The transaction type implied by which fields are present. EEST writes `accessLists` for
/// every typed transaction, so it only means type 1 when no EIP-1559 fee is given; an empty
/// `blobVersionedHashes` or `authorizationList` still selects its type (tests of the
/// "zero blobs" / "empty list" rejections rely on that).
pub fn tx_type(tx: &Transaction) -> TxType {
    if tx.authorization_list.is_some() {
        TxType::SetCode
    } else if tx.blob_versioned_hashes.is_some() {
        TxType::Blob
    } else if tx.max_fee_per_gas.is_some() {
        TxType::Eip1559
    } else if tx.access_lists.is_some() {
        TxType::AccessList
    } else {
        TxType::Legacy
    }
}

/// The transaction of one post case.
pub fn tx_env(tx: &Transaction, indexes: &Indexes, chain_id: u64) -> Result<TxEnv, EnvError> {
    fn pick<'a, T>(items: &'a [T], index: usize, what: &'static str) -> Result<&'a T, EnvError> {
        let len = items.len();
        items.get(index).ok_or(EnvError::IndexOutOfRange { what, index, len })
    }

    let tx_type = tx_type(tx);
    let (gas_price, gas_priority_fee) = match tx_type {
        TxType::Legacy | TxType::AccessList => {
            let price = tx
                .gas_price
                .ok_or(EnvError::Missing("transaction has neither gasPrice nor maxFeePerGas"))?;
            (price.0, None)
        }
        _ => {
            let max_fee = tx
                .max_fee_per_gas
                .or(tx.gas_price)
                .ok_or(EnvError::Missing("typed transaction without maxFeePerGas"))?;
            let priority = tx
                .max_priority_fee_per_gas
                .ok_or(EnvError::Missing("typed transaction without maxPriorityFeePerGas"))?;
            (max_fee.0, Some(priority.0))
        }
    };

    let access_list = match &tx.access_lists {
        Some(lists) => pick(lists, indexes.data, "accessLists")?
            .iter()
            .flatten()
            .map(|entry| AccessListItem {
                address: entry.address,
                storage_keys: entry.storage_keys.clone(),
            })
            .collect(),
        None => Vec::new(),
    };

    let authorization_list = tx
        .authorization_list
        .iter()
        .flatten()
        .map(|auth| {
            let y_parity = auth
                .y_parity
                .or(auth.v)
                .ok_or(EnvError::Missing("authorization without yParity or v"))?;
            Ok(Authorization {
                chain_id: auth.chain_id.0,
                address: auth.address,
                nonce: auth.nonce.to_u64("authorization nonce")?,
                y_parity: y_parity.0,
                r: auth.r.0,
                s: auth.s.0,
            })
        })
        .collect::<Result<Vec<_>, EnvError>>()?;

    Ok(TxEnv {
        tx_type,
        caller: tx.sender,
        gas_limit: pick(&tx.gas_limit, indexes.gas, "gasLimit")?.to_u64("gasLimit")?,
        gas_price,
        gas_priority_fee,
        kind: tx.to.map_or(TxKind::Create, TxKind::Call),
        value: pick(&tx.value, indexes.value, "value")?.0,
        data: pick(&tx.data, indexes.data, "data")?.0.clone(),
        nonce: tx.nonce.to_u64("transaction nonce")?,
        chain_id: Some(chain_id),
        access_list,
        blob_hashes: tx.blob_versioned_hashes.clone().unwrap_or_default(),
        max_fee_per_blob_gas: tx.max_fee_per_blob_gas.map(|q| q.0).unwrap_or_default(),
        authorization_list,
    })
}

/// The pre-state as a database. Built once per test and cloned per case.
pub fn pre_state<'a>(
    pre: impl IntoIterator<Item = (&'a alloy_primitives::Address, &'a Account)>,
) -> Result<InMemoryDb, EnvError> {
    let mut db = InMemoryDb::new();
    for (address, account) in pre {
        db.insert_account(
            *address,
            account.balance.0,
            account.nonce.to_u64(&format!("nonce of pre-state account {address}"))?,
            account.code.0.clone(),
            account.storage.iter().map(|(k, v)| (k.0, v.0)),
        );
    }
    Ok(db)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::statetest::fixture::{HexBytes, Quantity};
    use alloy_primitives::{Address, U256};

    fn q(v: u64) -> Quantity {
        Quantity(U256::from(v))
    }

    fn legacy() -> Transaction {
        Transaction {
            nonce: q(0),
            gas_price: Some(q(10)),
            max_fee_per_gas: None,
            max_priority_fee_per_gas: None,
            gas_limit: vec![q(100_000), q(200_000)],
            to: Some(Address::repeat_byte(0x11)),
            value: vec![q(0), q(5)],
            data: vec![HexBytes::default(), HexBytes(vec![1, 2].into())],
            access_lists: None,
            sender: Address::repeat_byte(0x22),
            blob_versioned_hashes: None,
            max_fee_per_blob_gas: None,
            authorization_list: None,
        }
    }

    #[test]
    fn tx_types_by_fields() {
        let mut tx = legacy();
        assert_eq!(tx_type(&tx), TxType::Legacy);
        tx.access_lists = Some(vec![None, None]);
        assert_eq!(tx_type(&tx), TxType::AccessList);
        tx.max_fee_per_gas = Some(q(10));
        tx.max_priority_fee_per_gas = Some(q(1));
        assert_eq!(tx_type(&tx), TxType::Eip1559);
        tx.blob_versioned_hashes = Some(vec![]);
        assert_eq!(tx_type(&tx), TxType::Blob);
        tx.authorization_list = Some(vec![]);
        assert_eq!(tx_type(&tx), TxType::SetCode);
    }

    #[test]
    fn tx_from_indexes() {
        let tx = legacy();
        let env = tx_env(&tx, &Indexes { data: 1, gas: 1, value: 1 }, 7).unwrap();
        assert_eq!(env.gas_limit, 200_000);
        assert_eq!(env.value, U256::from(5));
        assert_eq!(env.data.as_ref(), &[1, 2]);
        assert_eq!(env.chain_id, Some(7));
        assert_eq!(env.gas_price, U256::from(10));
        assert_eq!(env.gas_priority_fee, None);
        assert_eq!(env.kind, TxKind::Call(Address::repeat_byte(0x11)));

        let err = tx_env(&tx, &Indexes { data: 2, gas: 0, value: 0 }, 1).unwrap_err();
        assert_eq!(err, EnvError::IndexOutOfRange { what: "data", index: 2, len: 2 });
        assert_eq!(err.to_string(), "data index 2 out of range (2 entries)");
    }

    #[test]
    fn eip1559_fees_and_create() {
        let mut tx = legacy();
        tx.gas_price = None;
        tx.to = None;
        tx.max_fee_per_gas = Some(q(30));
        tx.max_priority_fee_per_gas = Some(q(2));
        let env = tx_env(&tx, &Indexes::default(), 1).unwrap();
        assert_eq!(env.tx_type, TxType::Eip1559);
        assert_eq!(env.gas_price, U256::from(30));
        assert_eq!(env.gas_priority_fee, Some(U256::from(2)));
        assert_eq!(env.kind, TxKind::Create);
    }

    #[test]
    fn a_zero_blob_fee_update_fraction_is_refused() {
        let test: StateTest = serde_json::from_value(serde_json::json!({
            "env": {
                "currentCoinbase": "0x2adc25665018aa1fe0e6bc666dac8fc2697ff9ba",
                "currentGasLimit": "0x1000000",
                "currentNumber": "0x1",
                "currentTimestamp": "0x3e8",
            },
            "pre": {},
            "transaction": {
                "nonce": "0x0", "gasPrice": "0xa", "gasLimit": ["0x5208"], "value": ["0x0"],
                "data": ["0x"], "to": "0x1111111111111111111111111111111111111111",
                "sender": "0x2222222222222222222222222222222222222222",
            },
            "post": {},
            "config": { "blobSchedule": { "Prague": {
                "target": "0x6", "max": "0x9", "baseFeeUpdateFraction": "0x0",
            }}},
        }))
        .unwrap();
        let err = cfg_env(&test, SpecId::Prague, "Prague").unwrap_err();
        assert_eq!(err, EnvError::ZeroBlobFeeFraction);
    }
}
