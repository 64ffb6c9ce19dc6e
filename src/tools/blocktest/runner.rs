//! Blockchain tests as a [`Suite`]: each selected test of a file run by [`run_test`], a test
//! being one case of its network. The files, threads, panics, AOT library per file,
//! known-failures list and report are the shared ones of [`crate::tools::suite`].

use alloy_consensus::Transaction as _;
use kiln_runtime::SpecId;

use super::chain::chain_config;
use super::decode::decode_block;
use super::fixture::BlockchainTest;
use super::run::{run_test, Outcome};
use crate::tools::suite::known::case_id;
use crate::tools::suite::report::{CaseKey, Report};
use crate::tools::suite::{classify, guarded, FileRun, RunOptions, Suite};

/// The blockchain-test suite.
pub struct BlockTests;

impl Suite for BlockTests {
    type Test = BlockchainTest;
    const UNIT: &'static str = "tests";
    /// Each test has one `lastblockhash`, and nothing else of the format is so named.
    const COUNTED_KEY: &'static str = "lastblockhash";

    /// `--fork`: a network that runs under that fork at some block.
    fn selects(test: &BlockchainTest, opts: &RunOptions) -> bool {
        opts.fork.is_none_or(|fork| fork.in_network(&test.network))
    }

    /// The code of every `pre` account under each fork of the test's network, and the
    /// initcode of every creating transaction of a block that decodes, under the fork of that
    /// block. Code a block deploys is not known before the block runs: it is interpreted.
    fn aot_codes(test: &BlockchainTest, _opts: &RunOptions, out: &mut Vec<(Vec<u8>, SpecId)>) {
        // A test whose network does not parse fails when it runs; it has nothing to run.
        let Ok(chain) = chain_config(test) else { return };
        let mut specs: Vec<SpecId> = chain.forks.iter().map(|(_, fork)| fork.spec).collect();
        specs.dedup();
        for account in test.pre.values() {
            out.extend(specs.iter().map(|spec| (account.code.0.to_vec(), *spec)));
        }
        for block in &test.blocks {
            // A block that does not decode is rejected before anything runs.
            let Ok(sealed) = decode_block(&block.rlp.0) else { continue };
            let header = &sealed.block.header;
            let spec = chain.fork_at(header.number, header.timestamp).spec;
            for tx in &sealed.block.body.transactions {
                if tx.to().is_none() {
                    out.push((tx.input().to_vec(), spec));
                }
            }
        }
    }

    /// The test through [`run_test`]: one case of its network, with no position.
    fn run_test(on: &FileRun<'_>, report: &mut Report, name: &str, test: &BlockchainTest) {
        let outcome = match on.engine {
            Ok(engine) => guarded(|| run_test(test, engine))
                .unwrap_or_else(|panic| Outcome::Fail(panic.to_string())),
            Err(e) => Outcome::Fail(e.to_string()),
        };
        let judged = match outcome {
            // Rejections under another name than the expected ones are not failures yet
            // (`docs/blocks.md`).
            Outcome::Pass { .. } => Ok(()),
            Outcome::Fail(reason) => Err(reason),
            Outcome::Unsupported(what) => Err(format!("unsupported: {what}")),
        };
        let network = test.network.as_str();
        let listed = on.known.contains(&case_id(name, network, None));
        let key = CaseKey { file: on.file, test: name, fork: network, index: None };
        report.record_case(key, None, classify(judged, listed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn fixture(text: &str) -> BTreeMap<String, BlockchainTest> {
        serde_json::from_str(text).expect("a fixture that loads")
    }

    /// A transition chain's `pre` code is compiled for both of its forks: a block after the
    /// transition calls it under the second.
    #[test]
    fn aot_compiles_pre_code_for_every_fork_of_the_network() {
        let file = fixture(include_str!("../../../tests/data/blocktest_one.json"));
        let test = file.values().next().unwrap();
        assert_eq!(test.network, "ShanghaiToCancunAtTime15k");
        let mut codes = Vec::new();
        BlockTests::aot_codes(test, &RunOptions::default(), &mut codes);
        for account in test.pre.values().filter(|a| !a.code.0.is_empty()) {
            for spec in [SpecId::Shanghai, SpecId::Cancun] {
                assert!(codes.contains(&(account.code.0.to_vec(), spec)), "{spec:?}");
            }
        }
    }

    /// A creating transaction's initcode is compiled for the fork of its block.
    #[test]
    fn aot_compiles_the_initcode_of_creates() {
        let path = super::super::fixtures_dir().join("frontier/opcodes/test_double_kill.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            println!("note: {} is absent; skipping", path.display());
            return;
        };
        let mut creates = 0;
        for test in fixture(&text).values() {
            let mut codes = Vec::new();
            BlockTests::aot_codes(test, &RunOptions::default(), &mut codes);
            let chain = chain_config(test).unwrap();
            for block in &test.blocks {
                let sealed = decode_block(&block.rlp.0).unwrap();
                let header = &sealed.block.header;
                let spec = chain.fork_at(header.number, header.timestamp).spec;
                for tx in &sealed.block.body.transactions {
                    if tx.to().is_none() {
                        assert!(codes.contains(&(tx.input().to_vec(), spec)));
                        creates += 1;
                    }
                }
            }
        }
        assert!(creates > 0, "the file has creating transactions");
    }
}
