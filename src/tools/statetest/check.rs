//! Judging one executed case against its expectations.

use std::collections::{BTreeMap, BTreeSet};

use alloy_primitives::{keccak256, Address, B256, KECCAK256_EMPTY, U256};
use kiln_runtime::{logs_hash, EvmError, ExecutionResult, InMemoryDb};

use super::fixture::{Account, PostCase};

/// How many state differences a failure reason lists before eliding the rest.
const DIFF_LIMIT: usize = 5;

/// `Ok` if `result` and the state in `db` after it are what `case` expects, otherwise the
/// reason, written for a person reading a failure line.
#[cfg(test)]
pub fn judge(
    result: &Result<ExecutionResult, EvmError>,
    db: &InMemoryDb,
    case: &PostCase,
) -> Result<(), String> {
    judge_with_root(result, db, db.state_root(), case)
}

/// [`judge`], with `root` the state root of `db`, computed once by a caller that reports it.
pub fn judge_with_root(
    result: &Result<ExecutionResult, EvmError>,
    db: &InMemoryDb,
    root: B256,
    case: &PostCase,
) -> Result<(), String> {
    match (case.expect_exception.as_deref(), result) {
        (Some(expected), Ok(res)) => Err(format!(
            "expected exception {expected} but transaction was valid (gas used {})",
            res.gas_used()
        )),
        (Some(expected), Err(EvmError::Transaction(err))) => {
            if exception_matches(expected, err.eest_names()) {
                check_root(db, root, case, None)
            } else {
                Err(format!(
                    "expected exception {expected}, got {} ({err})",
                    err.eest_names().join("|")
                ))
            }
        }
        (Some(expected), Err(err)) => Err(format!("expected exception {expected}, got {err}")),
        (None, Err(err)) => Err(err.to_string()),
        (None, Ok(res)) => {
            let mut problems = Vec::new();
            if let Err(e) = check_root(db, root, case, Some(res.gas_used())) {
                problems.push(e);
            }
            let logs = logs_hash(res.logs());
            if logs != case.logs {
                problems.push(format!(
                    "logs hash mismatch: got {logs}, expected {} ({} logs, gas used {})",
                    case.logs,
                    res.logs().len(),
                    res.gas_used()
                ));
            }
            if problems.is_empty() {
                Ok(())
            } else {
                Err(problems.join("; "))
            }
        }
    }
}

/// Whether any `|`-separated name of `expected` is one of `names`.
pub fn exception_matches(expected: &str, names: &[&str]) -> bool {
    expected.split('|').map(str::trim).any(|want| !want.is_empty() && names.contains(&want))
}

fn check_root(
    db: &InMemoryDb,
    root: B256,
    case: &PostCase,
    gas_used: Option<u64>,
) -> Result<(), String> {
    if root == case.hash {
        return Ok(());
    }
    let mut reason = format!("state root mismatch: got {root}, expected {}", case.hash);
    if let Some(gas) = gas_used {
        reason.push_str(&format!(" (gas used {gas})"));
    }
    if let Some(expected) = &case.state {
        let diff = state_diff(db, expected, DIFF_LIMIT);
        if diff.is_empty() {
            reason.push_str("; post state shows no difference");
        } else {
            reason.push_str("; diff: ");
            reason.push_str(&diff.join(", "));
        }
    }
    Err(reason)
}

/// Differences between `db` and the fixture's expected post state, ordered by address, at
/// most `limit` of them plus a count of the rest.
pub fn state_diff(
    db: &InMemoryDb,
    expected: &BTreeMap<Address, Account>,
    limit: usize,
) -> Vec<String> {
    let addresses: BTreeSet<Address> =
        expected.keys().copied().chain(db.accounts().map(|(a, _)| *a)).collect();
    let mut diffs = Vec::new();
    for address in addresses {
        match (db.account(&address), expected.get(&address)) {
            (None, Some(_)) => diffs.push(format!("{address} missing")),
            (Some(_), None) => diffs.push(format!("{address} unexpected")),
            (None, None) => {}
            (Some(got), Some(want)) => {
                let info = &got.info;
                if info.balance != want.balance.0 {
                    diffs.push(format!(
                        "{address} balance {:#x} != expected {:#x}",
                        info.balance, want.balance.0
                    ));
                }
                if U256::from(info.nonce) != want.nonce.0 {
                    diffs.push(format!(
                        "{address} nonce {} != expected {}",
                        info.nonce, want.nonce.0
                    ));
                }
                let want_hash =
                    if want.code.0.is_empty() { KECCAK256_EMPTY } else { keccak256(&want.code.0) };
                if info.code_hash != want_hash {
                    diffs.push(format!(
                        "{address} code hash {} != expected {want_hash} ({} bytes)",
                        info.code_hash,
                        want.code.0.len()
                    ));
                }
                let slots: BTreeSet<U256> =
                    want.storage.keys().map(|k| k.0).chain(got.storage.keys().copied()).collect();
                for slot in slots {
                    let have = got.storage.get(&slot).copied().unwrap_or_default();
                    let should = want
                        .storage
                        .get(&super::fixture::Quantity(slot))
                        .map_or(U256::ZERO, |v| v.0);
                    if have != should {
                        diffs.push(format!(
                            "{address} storage[{slot:#x}] {have:#x} != expected {should:#x}"
                        ));
                    }
                }
            }
        }
    }
    if diffs.len() > limit {
        let more = diffs.len() - limit;
        diffs.truncate(limit);
        diffs.push(format!("and {more} more"));
    }
    diffs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::statetest::fixture::{HexBytes, Indexes, Quantity};
    use alloy_primitives::{Bytes, B256};
    use kiln_runtime::{InvalidTransaction, Log};

    fn addr(b: u8) -> Address {
        Address::repeat_byte(b)
    }

    fn db_with(balance: u64) -> InMemoryDb {
        let mut db = InMemoryDb::new();
        db.insert_account(
            addr(1),
            U256::from(balance),
            1,
            Bytes::new(),
            [(U256::from(1), U256::from(2))],
        );
        db
    }

    fn case_for(db: &InMemoryDb, logs: &[Log], exception: Option<&str>) -> PostCase {
        PostCase {
            hash: db.state_root(),
            logs: logs_hash(logs),
            indexes: Indexes::default(),
            expect_exception: exception.map(str::to_string),
            state: None,
        }
    }

    fn success(logs: Vec<Log>) -> Result<ExecutionResult, EvmError> {
        Ok(ExecutionResult::Success {
            gas_used: 21_000,
            gas_refunded: 0,
            output: Bytes::new(),
            logs,
        })
    }

    fn invalid(e: InvalidTransaction) -> Result<ExecutionResult, EvmError> {
        Err(EvmError::Transaction(e))
    }

    #[test]
    fn exception_names_are_split_and_trimmed() {
        let names = &["TransactionException.INTRINSIC_GAS_TOO_LOW"];
        assert!(exception_matches(
            "TransactionException.INSUFFICIENT_ACCOUNT_FUNDS | TransactionException.INTRINSIC_GAS_TOO_LOW",
            names
        ));
        assert!(!exception_matches("TransactionException.INSUFFICIENT_ACCOUNT_FUNDS", names));
        assert!(!exception_matches("", names));
    }

    #[test]
    fn valid_transaction_passes_on_matching_root_and_logs() {
        let db = db_with(5);
        let logs =
            vec![Log { address: addr(1), topics: vec![B256::ZERO], data: Bytes::from(vec![1]) }];
        let case = case_for(&db, &logs, None);
        assert_eq!(judge(&success(logs), &db, &case), Ok(()));

        let err = judge(&success(vec![]), &db, &case).unwrap_err();
        assert!(err.starts_with("logs hash mismatch"), "{err}");
        assert!(err.contains("gas used 21000"), "{err}");
    }

    #[test]
    fn root_mismatch_lists_differences() {
        let db = db_with(5);
        let mut case = case_for(&db, &[], None);
        case.hash = B256::repeat_byte(0xaa);
        let mut expected = BTreeMap::new();
        expected.insert(
            addr(1),
            Account {
                nonce: Quantity(U256::from(1)),
                balance: Quantity(U256::from(6)),
                code: HexBytes::default(),
                storage: [(Quantity(U256::from(1)), Quantity(U256::from(3)))].into(),
            },
        );
        expected.insert(
            addr(2),
            Account {
                nonce: Quantity::default(),
                balance: Quantity(U256::from(1)),
                code: HexBytes::default(),
                storage: BTreeMap::new(),
            },
        );
        case.state = Some(expected);
        let err = judge(&success(vec![]), &db, &case).unwrap_err();
        assert!(err.starts_with("state root mismatch"), "{err}");
        assert!(err.contains("balance 0x5 != expected 0x6"), "{err}");
        assert!(err.contains("storage[0x1] 0x2 != expected 0x3"), "{err}");
        assert!(err.contains(&format!("{} missing", addr(2))), "{err}");
    }

    #[test]
    fn diff_is_limited() {
        let db = InMemoryDb::new();
        let expected: BTreeMap<Address, Account> = (1..=8)
            .map(|i| {
                (
                    addr(i),
                    Account {
                        nonce: Quantity::default(),
                        balance: Quantity(U256::from(1)),
                        code: HexBytes::default(),
                        storage: BTreeMap::new(),
                    },
                )
            })
            .collect();
        let diff = state_diff(&db, &expected, 5);
        assert_eq!(diff.len(), 6);
        assert_eq!(diff[5], "and 3 more");
    }

    #[test]
    fn expected_exception() {
        let db = db_with(5);
        let exc = "TransactionException.INSUFFICIENT_ACCOUNT_FUNDS|TransactionException.INTRINSIC_GAS_TOO_LOW";
        let case = case_for(&db, &[], Some(exc));

        let ok =
            invalid(InvalidTransaction::IntrinsicGasTooLow { intrinsic: 21_000, gas_limit: 1 });
        assert_eq!(judge(&ok, &db, &case), Ok(()));

        let err = judge(&success(vec![]), &db, &case).unwrap_err();
        assert!(
            err.starts_with(&format!("expected exception {exc} but transaction was valid")),
            "{err}"
        );

        let other = invalid(InvalidTransaction::NonceTooHigh { tx: 2, state: 1 });
        let err = judge(&other, &db, &case).unwrap_err();
        assert!(err.contains("NONCE_MISMATCH_TOO_HIGH"), "{err}");
        assert!(err.contains("INSUFFICIENT_ACCOUNT_FUNDS"), "{err}");

        let fatal: Result<ExecutionResult, EvmError> = Err(EvmError::Database("boom".into()));
        let err = judge(&fatal, &db, &case).unwrap_err();
        assert!(err.contains("boom"), "{err}");

        // The right exception with a changed state still fails.
        let mut moved = case_for(&db, &[], Some(exc));
        moved.hash = B256::repeat_byte(1);
        assert!(judge(&ok, &db, &moved).unwrap_err().starts_with("state root mismatch"));
    }

    #[test]
    fn runtime_error_without_expected_exception_fails_with_its_text() {
        let db = db_with(5);
        let case = case_for(&db, &[], None);
        let err = judge(&invalid(InvalidTransaction::InsufficientFunds), &db, &case).unwrap_err();
        assert_eq!(err, "invalid transaction: sender cannot pay for gas and value");
    }
}
