//! A header checked against its parent and its fork, before anything executes.
//!
//! Follows execution-specs' `validate_header` per fork (and geth's `VerifyHeader`): what needs
//! the block's body or its execution (gas used, blob gas used against the transactions, the
//! roots) is the executor's.

use alloy_consensus::{Header, EMPTY_OMMER_ROOT_HASH};
use alloy_eips::eip1559::{BaseFeeParams, INITIAL_BASE_FEE};
use alloy_eips::eip4844::DATA_GAS_PER_BLOB;
use alloy_primitives::{B64, U256};
use kiln_runtime::SpecId;

use super::chain::{ChainConfig, Fork};
use super::error::{BlockError, Mismatch};

/// The least gas limit a block may have.
pub const MIN_GAS_LIMIT: u64 = 5000;
/// A gas limit may move by less than 1/1024 of the parent's per block.
pub const GAS_LIMIT_BOUND_DIVISOR: u64 = 1024;
/// The least difficulty before the merge.
pub const MIN_DIFFICULTY: u64 = 131_072;
/// Extra data is at most this many bytes.
pub const MAX_EXTRA_DATA: usize = 32;

/// Checks `header` against `parent` under the chain's rules at the header. The parent is
/// checked under its own fork only as far as a transition needs (the first London block's
/// gas limit and base fee, the first Cancun block's excess blob gas).
pub fn validate_header(
    chain: &ChainConfig,
    parent: &Header,
    header: &Header,
) -> Result<(), BlockError> {
    let fork = chain.fork_at(header.number, header.timestamp);
    let parent_fork = chain.fork_at(parent.number, parent.timestamp);
    let spec = fork.spec;
    check_fields(spec, header)?;

    let parent_hash = parent.hash_slow();
    if header.parent_hash != parent_hash {
        return Err(BlockError::UnknownParent(Mismatch {
            expected: parent_hash,
            got: header.parent_hash,
        }));
    }
    let number = parent.number + 1;
    if header.number != number {
        return Err(BlockError::Number(Mismatch { expected: number, got: header.number }));
    }
    if header.timestamp <= parent.timestamp {
        return Err(BlockError::Timestamp { parent: parent.timestamp, got: header.timestamp });
    }
    if header.extra_data.len() > MAX_EXTRA_DATA {
        return Err(BlockError::ExtraDataTooLong(header.extra_data.len()));
    }

    // Gas limit: within 1/1024 of the parent's (whose target doubles at the London fork
    // block, EIP-1559's elasticity), at least 5000, below 2^63.
    let london_fork_block =
        spec.is_enabled_in(SpecId::London) && !parent_fork.spec.is_enabled_in(SpecId::London);
    let parent_limit = if london_fork_block {
        parent.gas_limit.saturating_mul(BaseFeeParams::ethereum().elasticity_multiplier as u64)
    } else {
        parent.gas_limit
    };
    let bound = parent_limit / GAS_LIMIT_BOUND_DIVISOR;
    if header.gas_limit.abs_diff(parent_limit) >= bound
        || header.gas_limit < MIN_GAS_LIMIT
        || header.gas_limit > i64::MAX as u64
    {
        return Err(BlockError::GasLimit { parent: parent_limit, got: header.gas_limit });
    }
    if header.gas_used > header.gas_limit {
        return Err(BlockError::GasUsedOverLimit {
            used: header.gas_used,
            limit: header.gas_limit,
        });
    }

    if let Some(got) = header.base_fee_per_gas {
        let expected = if london_fork_block {
            INITIAL_BASE_FEE
        } else {
            BaseFeeParams::ethereum().next_block_base_fee(
                parent.gas_used,
                parent.gas_limit,
                parent.base_fee_per_gas.unwrap_or_default(),
            )
        };
        if got != expected {
            return Err(BlockError::BaseFee(Mismatch { expected, got }));
        }
    }

    if spec.is_enabled_in(SpecId::Paris) {
        if header.difficulty != U256::ZERO {
            return Err(BlockError::Difficulty(Mismatch {
                expected: U256::ZERO,
                got: header.difficulty,
            }));
        }
        if header.nonce != B64::ZERO {
            return Err(BlockError::NonceNotZero);
        }
        if header.ommers_hash != EMPTY_OMMER_ROOT_HASH {
            return Err(BlockError::OmmersAfterMerge);
        }
    } else {
        let expected = difficulty(spec, parent, header.timestamp);
        if header.difficulty != expected {
            return Err(BlockError::Difficulty(Mismatch { expected, got: header.difficulty }));
        }
    }

    if let (Some(blob), Some(used), Some(excess)) =
        (fork.blob, header.blob_gas_used, header.excess_blob_gas)
    {
        let max = blob.max_blob_gas_per_block();
        if used > max || used % DATA_GAS_PER_BLOB != 0 {
            return Err(BlockError::BlobGasUsed { max, got: used });
        }
        let expected = excess_blob_gas(fork, parent_fork, parent);
        if excess != expected {
            return Err(BlockError::ExcessBlobGas(Mismatch { expected, got: excess }));
        }
    }
    Ok(())
}

/// Every optional header field is present from its fork on and absent before it.
fn check_fields(spec: SpecId, header: &Header) -> Result<(), BlockError> {
    let fields: [(&'static str, bool, SpecId); 6] = [
        ("baseFeePerGas", header.base_fee_per_gas.is_some(), SpecId::London),
        ("withdrawalsRoot", header.withdrawals_root.is_some(), SpecId::Shanghai),
        ("blobGasUsed", header.blob_gas_used.is_some(), SpecId::Cancun),
        ("excessBlobGas", header.excess_blob_gas.is_some(), SpecId::Cancun),
        ("parentBeaconBlockRoot", header.parent_beacon_block_root.is_some(), SpecId::Cancun),
        ("requestsHash", header.requests_hash.is_some(), SpecId::Prague),
    ];
    for (name, present, since) in fields {
        match (present, spec.is_enabled_in(since)) {
            (false, true) => return Err(BlockError::MissingField(name)),
            (true, false) => return Err(BlockError::UnexpectedField(name)),
            _ => {}
        }
    }
    // Amsterdam's fields: no fork Kiln runs has them.
    if header.block_access_list_hash.is_some() {
        return Err(BlockError::UnexpectedField("blockAccessListHash"));
    }
    if header.slot_number.is_some() {
        return Err(BlockError::UnexpectedField("slotNumber"));
    }
    Ok(())
}

/// EIP-4844's excess blob gas of the block after `parent` under the block's blob schedule,
/// with EIP-7918's reserve price from Osaka on (a blob schedule whose `blob_base_cost` is
/// not zero). The first Cancun block's parent counts as having neither used nor excess blob
/// gas.
pub fn excess_blob_gas(fork: Fork, parent_fork: Fork, parent: &Header) -> u64 {
    let Some(params) = fork.blob else { return 0 };
    if parent_fork.blob.is_none() {
        return 0;
    }
    let excess = parent.excess_blob_gas.unwrap_or_default();
    let used = parent.blob_gas_used.unwrap_or_default();
    if params.blob_base_cost == 0 {
        (excess + used).saturating_sub(params.target_blob_gas_per_block())
    } else {
        params.next_block_excess_blob_gas_osaka(
            excess,
            used,
            parent.base_fee_per_gas.unwrap_or_default(),
        )
    }
}

/// The proof-of-work difficulty of a block at `timestamp` after `parent`: Frontier's rule,
/// Homestead's (EIP-2), Byzantium's (EIP-100, counting the parent's ommers), with the
/// difficulty bomb delayed per fork (EIP-649, EIP-1234, EIP-2384 as Berlin's, EIP-3554 as
/// London's; Arrow and Gray Glacier are no fork of Kiln's).
pub fn difficulty(spec: SpecId, parent: &Header, timestamp: u64) -> U256 {
    let parent_difficulty = parent.difficulty;
    let step = parent_difficulty / U256::from(2048);
    let elapsed = timestamp.saturating_sub(parent.timestamp);
    let adjusted = if spec.is_enabled_in(SpecId::Byzantium) {
        let ommers = if parent.ommers_hash == EMPTY_OMMER_ROOT_HASH { 1 } else { 2 };
        adjust(parent_difficulty, step, ommers - (elapsed / 9).min(ommers as u64 + 99) as i64)
    } else if spec.is_enabled_in(SpecId::Homestead) {
        adjust(parent_difficulty, step, 1 - (elapsed / 10).min(100) as i64)
    } else if elapsed < 13 {
        parent_difficulty + step
    } else {
        parent_difficulty.saturating_sub(step)
    };
    let mut difficulty = adjusted.max(U256::from(MIN_DIFFICULTY));

    let delay = match spec {
        s if s.is_enabled_in(SpecId::London) => 9_700_000,
        s if s.is_enabled_in(SpecId::Berlin) => 9_000_000,
        s if s.is_enabled_in(SpecId::Constantinople) => 5_000_000,
        s if s.is_enabled_in(SpecId::Byzantium) => 3_000_000,
        _ => 0,
    };
    let fake_number = (parent.number + 1).saturating_sub(delay);
    let period = fake_number / 100_000;
    if period >= 2 {
        difficulty += U256::from(1) << (period - 2) as usize;
    }
    difficulty
}

/// `parent + step * factor`, with a negative factor subtracting (never below zero).
fn adjust(parent: U256, step: U256, factor: i64) -> U256 {
    let change = step * U256::from(factor.unsigned_abs());
    if factor >= 0 {
        parent + change
    } else {
        parent.saturating_sub(change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(number: u64, timestamp: u64, difficulty: u64) -> Header {
        Header {
            number,
            timestamp,
            difficulty: U256::from(difficulty),
            gas_limit: 30_000_000,
            ..Header::default()
        }
    }

    #[test]
    fn frontier_difficulty() {
        let parent = header(0, 0, 0x20000);
        // The first block of frontier/examples/test_block_intermediate_state: 12 s later.
        assert_eq!(difficulty(SpecId::Frontier, &parent, 12), U256::from(0x020040));
        assert_eq!(difficulty(SpecId::Frontier, &parent, 13), U256::from(MIN_DIFFICULTY));
        let parent = header(0, 0, 0x40000);
        assert_eq!(difficulty(SpecId::Frontier, &parent, 13), U256::from(0x40000 - 0x80));
    }

    #[test]
    fn homestead_and_byzantium_difficulty() {
        let parent = header(10, 100, 0x100000);
        let step = 0x100000 / 2048;
        assert_eq!(difficulty(SpecId::Homestead, &parent, 109), U256::from(0x100000 + step));
        assert_eq!(difficulty(SpecId::Homestead, &parent, 110), U256::from(0x100000));
        assert_eq!(difficulty(SpecId::Homestead, &parent, 130), U256::from(0x100000 - 2 * step));
        assert_eq!(difficulty(SpecId::Byzantium, &parent, 108), U256::from(0x100000 + step));
        assert_eq!(difficulty(SpecId::Byzantium, &parent, 118), U256::from(0x100000 - step));
        let with_ommers = Header { ommers_hash: Default::default(), ..parent.clone() };
        assert_eq!(
            difficulty(SpecId::Byzantium, &with_ommers, 108),
            U256::from(0x100000 + 2 * step)
        );
    }

    #[test]
    fn difficulty_bomb() {
        // Frontier at block 200,000: period 2 adds 2^0.
        let parent = header(199_999, 0, 0x100000);
        assert_eq!(difficulty(SpecId::Frontier, &parent, 12), U256::from(0x100000 + 0x200 + 1));
        // Byzantium delays it by 3M blocks: nothing added.
        assert_eq!(difficulty(SpecId::Byzantium, &parent, 8), U256::from(0x100000 + 0x200));
    }
}
