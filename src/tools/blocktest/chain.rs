//! A fixture's network and config as the library's [`ChainConfig`], and (in the tests) every
//! shared fixture chain's headers validated with [`kiln::block::validate_header`].

use std::collections::BTreeMap;

use kiln::block::{BlobParams, ChainConfig};

use super::fixture::BlockchainTest;

/// The chain a test runs: its `network` with `config.chainid` (default 1) and
/// `config.blobSchedule`. A `config.network` other than `network` is refused: which of the
/// two the filler meant cannot be told.
pub fn chain_config(test: &BlockchainTest) -> Result<ChainConfig, String> {
    if let Some(network) = test.config.network.as_ref().filter(|n| **n != test.network) {
        return Err(format!("config.network {network} is not the network {}", test.network));
    }
    let chain_id = match test.config.chainid {
        Some(id) => id.to_u64("chainid").map_err(|e| e.to_string())?,
        None => 1,
    };
    let mut schedule = BTreeMap::new();
    for (fork, entry) in test.config.blob_schedule.iter().flatten() {
        let target = entry.target.to_u64("blobSchedule target").map_err(|e| e.to_string())?;
        let max = entry.max.to_u64("blobSchedule max").map_err(|e| e.to_string())?;
        let fraction = entry
            .base_fee_update_fraction
            .to_u64("blobSchedule baseFeeUpdateFraction")
            .map_err(|e| e.to_string())?;
        if fraction == 0 || max == 0 {
            return Err(format!(
                "blobSchedule {fork}: max and baseFeeUpdateFraction must not be 0"
            ));
        }
        let params = BlobParams {
            target_blob_count: target,
            max_blob_count: max,
            update_fraction: fraction.into(),
            max_blobs_per_tx: max,
            ..BlobParams::cancun()
        };
        schedule.insert(fork.clone(), params);
    }
    ChainConfig::from_network(&test.network, chain_id, &schedule).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::super::decode::decode_block;
    use super::super::{fixtures_dir, report_walk};
    use super::*;
    use crate::tools::suite::files::each_fixture_test;
    use kiln::block::{validate_header, BlockError, Mismatch};
    use std::collections::BTreeSet;

    /// Every exception name a header check can stand for.
    fn header_exception_names() -> BTreeSet<&'static str> {
        use alloy_primitives::{B256, U256};
        let all = [
            BlockError::UnknownParent(Mismatch { expected: B256::ZERO, got: B256::ZERO }),
            BlockError::Number(Mismatch { expected: 0, got: 0 }),
            BlockError::Timestamp { parent: 0, got: 0 },
            BlockError::ExtraDataTooLong(0),
            BlockError::GasLimit { parent: 0, got: 0 },
            BlockError::GasUsedOverLimit { used: 0, limit: 0 },
            BlockError::MissingField(""),
            BlockError::UnexpectedField(""),
            BlockError::BaseFee(Mismatch { expected: 0, got: 0 }),
            BlockError::Difficulty(Mismatch { expected: U256::ZERO, got: U256::ZERO }),
            BlockError::NonceNotZero,
            BlockError::OmmersAfterMerge,
            BlockError::BlobGasUsed { max: 0, got: 0 },
            BlockError::ExcessBlobGas(Mismatch { expected: 0, got: 0 }),
        ];
        all.iter().flat_map(|e| e.eest_names().iter().copied()).collect()
    }

    /// Walks every shared fixture chain: each valid block's header passes
    /// `validate_header` against the last valid block's; an invalid block whose expected
    /// exceptions are all header exceptions fails it, with one of the expected names; other
    /// invalid blocks the header check catches are counted and printed.
    #[test]
    fn every_shared_fixture_header_validates() {
        let header_names = header_exception_names();
        let mut problems = Vec::new();
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        let walked = each_fixture_test(&fixtures_dir(), |path, name, test: &BlockchainTest| {
            let mut problem = |what: String| {
                problems.push(format!("{} :: {name}: {what}", path.display()));
            };
            let chain = match chain_config(test) {
                Ok(chain) => chain,
                Err(e) => {
                    problem(e);
                    return;
                }
            };
            let mut parent = match decode_block(&test.genesis_rlp.0) {
                Ok(genesis) => genesis.block.header,
                Err(e) => {
                    problem(format!("genesis: {e}"));
                    return;
                }
            };
            for (i, block) in test.blocks.iter().enumerate() {
                let Ok(sealed) = decode_block(&block.rlp.0) else {
                    if !block.is_invalid() {
                        problem(format!("block {i}: valid, yet does not decode"));
                    }
                    continue;
                };
                let header = sealed.block.header;
                let result = validate_header(&chain, &parent, &header);
                if !block.is_invalid() {
                    match result {
                        Ok(()) => *counts.entry("valid headers passed").or_default() += 1,
                        Err(e) => problem(format!("block {i}: valid, yet refused: {e}")),
                    }
                    parent = header;
                    continue;
                }
                let expected: Vec<&str> = block.expected_exceptions().collect();
                let all_header = expected.iter().all(|e| header_names.contains(e));
                match result {
                    Ok(()) if all_header => problem(format!(
                        "block {i}: expected {} but the header passed",
                        expected.join("|")
                    )),
                    Ok(()) => {
                        *counts.entry("invalid, header passed (not a header case)").or_default() +=
                            1
                    }
                    Err(e) if e.eest_names().iter().any(|n| expected.contains(n)) => {
                        *counts.entry("invalid, refused with an expected name").or_default() += 1
                    }
                    Err(e) => {
                        *counts.entry("invalid, refused with another name").or_default() += 1;
                        println!(
                            "other name: {} :: {name}: block {i}: expected {}, refused: {e}",
                            path.display(),
                            expected.join("|")
                        );
                    }
                }
            }
        });
        if walked.is_none() {
            return;
        }
        report_walk(&counts, &problems);
    }
}
