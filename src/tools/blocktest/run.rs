//! One blockchain test run through the block executor
//! ([`kiln::Evm::execute_block`]): the genesis against the pre-state, each
//! block imported or rejected as the fixture expects, then `lastblockhash` and the
//! post-state. `kiln blocktest` runs each test through it (`runner.rs`), in any mode.

use alloy_primitives::{keccak256, KECCAK256_EMPTY};
use kiln::block::{BlockError, RecentBlocks, RecoveredBlock};
use kiln::evm::Engine;
use kiln::Evm;
use kiln_runtime::{BlockEnv, CfgEnv, InMemoryDb, SpecId};

use super::chain::chain_config;
use super::decode::{decode_block, recover_senders};
use super::fixture::BlockchainTest;
use crate::tools::statetest::env::pre_state;

/// How a test ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// With the rejections whose reason is none of the expected exceptions' names (a block
    /// must be rejected; which name the reason carries is reported, not yet required).
    Pass {
        other_names: Vec<String>,
    },
    Fail(String),
    /// The executor cannot run a block of it yet.
    Unsupported(String),
}

/// Runs one test, its blocks' transactions and system calls on `engine` (any mode).
pub fn run_test(test: &BlockchainTest, engine: &Engine) -> Outcome {
    let mut other_names = Vec::new();
    match run(test, engine, &mut other_names) {
        Ok(()) => Outcome::Pass { other_names },
        Err(Stop::Fail(reason)) => Outcome::Fail(reason),
        Err(Stop::Unsupported(what)) => Outcome::Unsupported(what),
    }
}

enum Stop {
    Fail(String),
    Unsupported(String),
}

fn fail(reason: impl Into<String>) -> Stop {
    Stop::Fail(reason.into())
}

fn run(test: &BlockchainTest, engine: &Engine, other_names: &mut Vec<String>) -> Result<(), Stop> {
    let chain = chain_config(test).map_err(fail)?;
    let mut db = pre_state(&test.pre).map_err(|e| fail(e.to_string()))?;
    let genesis = decode_block(&test.genesis_rlp.0).map_err(|e| fail(format!("genesis: {e}")))?;
    if db.state_root() != genesis.block.header.state_root {
        return Err(fail(format!(
            "pre-state root {} is not the genesis state root {}",
            db.state_root(),
            genesis.block.header.state_root
        )));
    }
    db.insert_block_hash(0, genesis.hash);
    // The imported blocks ommer validation looks back on.
    let mut history = RecentBlocks::default();
    history.push(genesis.hash, &genesis.block);
    let mut parent = genesis.block.header;
    let mut head = genesis.hash;

    for (i, block) in test.blocks.iter().enumerate() {
        let expected = block.expect_exception.as_deref().unwrap_or_default();
        let rejected = |why: String| -> Result<(), Stop> {
            if block.is_invalid() {
                Ok(())
            } else {
                Err(fail(format!("block {i}: valid, yet {why}")))
            }
        };
        let sealed = match decode_block(&block.rlp.0) {
            Ok(sealed) => sealed,
            Err(e) => {
                rejected(format!("does not decode: {e}"))?;
                continue;
            }
        };
        let header = &sealed.block.header;
        let spec = chain.fork_at(header.number, header.timestamp).spec;
        let senders = match recover_senders(&sealed.block, spec.is_enabled_in(SpecId::Homestead)) {
            Ok(senders) => senders,
            Err((tx, e)) => {
                rejected(format!("transaction {tx} has no sender: {e}"))?;
                continue;
            }
        };
        // Each block through a `kiln::Evm` on the run's engine, as an embedder's would.
        let mut evm = Evm::new(&mut db, engine, CfgEnv::new(spec), BlockEnv::default());
        let executed = RecoveredBlock::new(&sealed.block, &senders)
            .and_then(|block| evm.execute_block(&chain, &parent, block, &history));
        match executed {
            Ok(_) if block.is_invalid() => {
                return Err(fail(format!("block {i}: imported, yet expected {expected}")));
            }
            Ok(_) => {
                db.insert_block_hash(header.number, sealed.hash);
                history.push(sealed.hash, &sealed.block);
                parent = sealed.block.header;
                head = sealed.hash;
            }
            Err(BlockError::Unsupported(what)) => return Err(Stop::Unsupported(what.into())),
            Err(BlockError::Evm(e)) => return Err(fail(format!("block {i}: {e}"))),
            Err(e) => {
                rejected(format!("refused: {e}"))?;
                if !e.eest_names().iter().any(|n| block.expected_exceptions().any(|x| x == *n)) {
                    other_names.push(format!("block {i}: expected {expected}, refused: {e}"));
                }
            }
        }
    }

    if head != test.lastblockhash {
        return Err(fail(format!("head {head} is not lastblockhash {}", test.lastblockhash)));
    }
    check_post_state(test, &db).map_err(fail)
}

/// The state after the last block against `postState` (every account, nothing more) or
/// `postStateHash`.
fn check_post_state(test: &BlockchainTest, db: &InMemoryDb) -> Result<(), String> {
    if let Some(hash) = test.post_state_hash {
        let root = db.state_root();
        return if root == hash {
            Ok(())
        } else {
            Err(format!("state root {root}, expected {hash}"))
        };
    }
    let Some(post) = &test.post_state else { return Err("no postState".into()) };
    for (address, expected) in post {
        let Some(account) = db.account(address) else {
            return Err(format!("account {address} missing"));
        };
        let info = &account.info;
        if info.balance != expected.balance.0 {
            return Err(format!(
                "{address} balance {}, expected {}",
                info.balance, expected.balance.0
            ));
        }
        if alloy_primitives::U256::from(info.nonce) != expected.nonce.0 {
            return Err(format!("{address} nonce {}, expected {}", info.nonce, expected.nonce.0));
        }
        let code_hash =
            if expected.code.0.is_empty() { KECCAK256_EMPTY } else { keccak256(&expected.code.0) };
        if info.code_hash != code_hash {
            return Err(format!("{address} code differs"));
        }
        let storage: std::collections::BTreeMap<_, _> =
            account.storage.iter().filter(|(_, v)| !v.is_zero()).map(|(k, v)| (*k, *v)).collect();
        let expected_storage: std::collections::BTreeMap<_, _> = expected
            .storage
            .iter()
            .filter(|(_, v)| !v.0.is_zero())
            .map(|(k, v)| (k.0, v.0))
            .collect();
        if storage != expected_storage {
            return Err(format!("{address} storage {storage:?}, expected {expected_storage:?}"));
        }
    }
    let count = db.accounts().count();
    if count != post.len() {
        let extra: Vec<_> =
            db.accounts().map(|(a, _)| *a).filter(|a| !post.contains_key(a)).collect();
        return Err(format!("{count} accounts, expected {}; extra: {extra:?}", post.len()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::fixtures_dir;
    use super::*;
    use crate::tools::suite::files::each_fixture_test;
    use std::collections::BTreeMap;

    /// Runs every shared fixture test through the prototype executor and prints, per
    /// network, how many passed, failed and were unsupported (a block of Cancun or later
    /// reached execution), with the first failures. Nothing may fail.
    #[test]
    fn shared_fixtures_through_the_prototype_executor() {
        let engine = Engine::new(kiln::evm::Execution::Interpreter).unwrap();
        let mut per_network: BTreeMap<String, [usize; 3]> = BTreeMap::new();
        let mut failures = Vec::new();
        let mut other = 0;
        let walked = each_fixture_test(&fixtures_dir(), |path, name, test: &BlockchainTest| {
            let counts = per_network.entry(test.network.clone()).or_default();
            match run_test(test, &engine) {
                Outcome::Pass { other_names } => {
                    counts[0] += 1;
                    for line in other_names {
                        println!("other name: {} :: {name}: {line}", path.display());
                        other += 1;
                    }
                }
                Outcome::Fail(reason) => {
                    counts[1] += 1;
                    failures.push(format!("FAIL {} :: {name}: {reason}", path.display()));
                }
                Outcome::Unsupported(_) => counts[2] += 1,
            }
        });
        if walked.is_none() {
            return;
        }
        println!("{:<28} {:>6} {:>6} {:>11}", "network", "passed", "failed", "unsupported");
        let mut total = [0; 3];
        for (network, c) in &per_network {
            println!("{network:<28} {:>6} {:>6} {:>11}", c[0], c[1], c[2]);
            for (t, c) in total.iter_mut().zip(c) {
                *t += c;
            }
        }
        println!("{:<28} {:>6} {:>6} {:>11}", "total", total[0], total[1], total[2]);
        println!("{other} rejections under another name than the expected ones");
        for line in failures.iter().take(60) {
            println!("{line}");
        }
        assert!(total[0] > 0, "no test passed");
        assert!(failures.is_empty(), "{} test(s) failed", failures.len());
    }
}
