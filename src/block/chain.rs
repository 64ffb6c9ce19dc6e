//! Which rules a block runs under: a chain's forks by block number or timestamp, each with
//! its EVM rules ([`SpecId`]) and, from Cancun on, its blob parameters.
//!
//! Blob-parameter-only forks (EIP-7892: `BPO1`, `BPO2`, …) change only the blob schedule, so
//! they are Osaka's rules with their own [`BlobParams`] and need no `SpecId` of their own.

use std::collections::BTreeMap;

use alloy_eips::eip7840::BlobParams;
use kiln_runtime::SpecId;

/// The rules of one fork: the EVM's, and the blob schedule (Cancun on).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fork {
    pub spec: SpecId,
    /// `None` before Cancun.
    pub blob: Option<BlobParams>,
}

/// When a fork starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Activation {
    /// From this block number on (forks up to Paris).
    Block(u64),
    /// From the first block whose timestamp is at least this (Shanghai on).
    Time(u64),
}

/// A chain's forks in activation order; the first starts at genesis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainConfig {
    pub chain_id: u64,
    pub forks: Vec<(Activation, Fork)>,
}

/// A network name Kiln cannot take.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NetworkError {
    #[error("unknown fork `{0}` in network `{1}`")]
    UnknownFork(String, String),
    #[error("network `{0}` is not FORK, FORKToFORKAtN or FORKToFORKAtTimeN")]
    Malformed(String),
}

impl ChainConfig {
    /// One fork from genesis on.
    pub fn single(chain_id: u64, fork: Fork) -> Self {
        Self { chain_id, forks: vec![(Activation::Block(0), fork)] }
    }

    /// A chain from an execution-spec-tests network name: a fork (`Cancun`,
    /// `ConstantinopleFix`, `BPO1`), or a transition at a block number (`BerlinToLondonAt5`)
    /// or a timestamp (`CancunToPragueAtTime15k`, `k` meaning thousands). `schedule` is the
    /// fixture's `blobSchedule` (fork name → parameters); a fork it leaves out gets the
    /// parameters it shipped with.
    pub fn from_network(
        network: &str,
        chain_id: u64,
        schedule: &BTreeMap<String, BlobParams>,
    ) -> Result<Self, NetworkError> {
        let fork = |name: &str| {
            parse_fork(name, schedule)
                .ok_or_else(|| NetworkError::UnknownFork(name.into(), network.into()))
        };
        let Some((from, rest)) = network.split_once("To") else {
            return Ok(Self::single(chain_id, fork(network)?));
        };
        let malformed = || NetworkError::Malformed(network.into());
        let (to, at) = rest.rsplit_once("At").ok_or_else(malformed)?;
        let (time, at) = match at.strip_prefix("Time") {
            Some(at) => (true, at),
            None => (false, at),
        };
        let (digits, scale) = match at.strip_suffix('k') {
            Some(digits) => (digits, 1000),
            None => (at, 1),
        };
        let at = digits.parse::<u64>().map_err(|_| malformed())?.checked_mul(scale);
        let at = at.ok_or_else(malformed)?;
        let activation = if time { Activation::Time(at) } else { Activation::Block(at) };
        Ok(Self {
            chain_id,
            forks: vec![(Activation::Block(0), fork(from)?), (activation, fork(to)?)],
        })
    }

    /// The fork a block with this number and timestamp runs under.
    pub fn fork_at(&self, number: u64, timestamp: u64) -> Fork {
        let active = |a: &Activation| match *a {
            Activation::Block(n) => number >= n,
            Activation::Time(t) => timestamp >= t,
        };
        self.forks
            .iter()
            .rev()
            .find(|(a, _)| active(a))
            .or(self.forks.first())
            .map(|(_, fork)| *fork)
            .expect("a chain has at least one fork")
    }
}

/// A fork by name: a [`SpecId`] name, or `BPO1`..`BPO5` (Osaka with that blob schedule).
fn parse_fork(name: &str, schedule: &BTreeMap<String, BlobParams>) -> Option<Fork> {
    let bpo = name.len() > 3 && name[..3].eq_ignore_ascii_case("bpo");
    if bpo {
        let params = schedule.get(name).copied().or(match name[3..].parse::<u8>().ok()? {
            1 => Some(BlobParams::bpo1()),
            2 => Some(BlobParams::bpo2()),
            _ => None,
        })?;
        return Some(Fork { spec: SpecId::Osaka, blob: Some(bpo_params(params)) });
    }
    let spec: SpecId = name.parse().ok()?;
    let shipped = match spec {
        s if !s.is_enabled_in(SpecId::Cancun) => return Some(Fork { spec, blob: None }),
        SpecId::Cancun => BlobParams::cancun(),
        SpecId::Prague => BlobParams::prague(),
        _ => BlobParams::osaka(),
    };
    let params = match schedule.get(spec.name()) {
        Some(p) if spec.is_enabled_in(SpecId::Osaka) => bpo_params(*p),
        Some(p) => BlobParams { max_blobs_per_tx: p.max_blob_count, ..*p },
        None => shipped,
    };
    Some(Fork { spec, blob: Some(params) })
}

/// Osaka's per-transaction blob cap (EIP-7594) and reserve price (EIP-7918) with a
/// schedule's target, max and update fraction.
fn bpo_params(p: BlobParams) -> BlobParams {
    let osaka = BlobParams::osaka();
    BlobParams {
        max_blobs_per_tx: osaka.max_blobs_per_tx.min(p.max_blob_count),
        blob_base_cost: osaka.blob_base_cost,
        ..p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule() -> BTreeMap<String, BlobParams> {
        let p = |target, max, fraction| BlobParams {
            target_blob_count: target,
            max_blob_count: max,
            update_fraction: fraction,
            ..BlobParams::cancun()
        };
        BTreeMap::from([
            ("Cancun".to_string(), p(3, 6, 3_338_477)),
            ("Prague".to_string(), p(6, 9, 5_007_716)),
            ("Osaka".to_string(), p(6, 9, 5_007_716)),
            ("BPO1".to_string(), p(10, 15, 8_346_193)),
            ("BPO2".to_string(), p(14, 21, 11_684_671)),
            ("BPO3".to_string(), p(21, 32, 20_609_697)),
        ])
    }

    #[test]
    fn single_forks() {
        let s = schedule();
        let chain = ChainConfig::from_network("ConstantinopleFix", 1, &s).unwrap();
        assert_eq!(chain.fork_at(100, 100), Fork { spec: SpecId::Petersburg, blob: None });
        let cancun = ChainConfig::from_network("Cancun", 1, &s).unwrap().fork_at(1, 12);
        assert_eq!(cancun.spec, SpecId::Cancun);
        assert_eq!(cancun.blob.unwrap().max_blob_count, 6);
        assert_eq!(cancun.blob.unwrap().blob_base_cost, 0);
        let osaka = ChainConfig::from_network("Osaka", 1, &s).unwrap().fork_at(1, 12);
        assert_eq!(osaka.blob.unwrap().max_blobs_per_tx, 6);
        assert_eq!(osaka.blob.unwrap().blob_base_cost, 1 << 13);
        let bpo3 = ChainConfig::from_network("BPO3", 1, &s).unwrap().fork_at(1, 12);
        assert_eq!(bpo3.spec, SpecId::Osaka);
        assert_eq!(bpo3.blob.unwrap().target_blob_count, 21);
        assert_eq!(bpo3.blob.unwrap().max_blobs_per_tx, 6);
        // BPO forks the schedule leaves out: the parameters alloy ships (BPO1, BPO2 only).
        let bpo2 = ChainConfig::from_network("BPO2", 1, &BTreeMap::new()).unwrap();
        assert_eq!(bpo2.fork_at(0, 0).blob.unwrap().max_blob_count, 21);
        assert!(ChainConfig::from_network("BPO4", 1, &BTreeMap::new()).is_err());
    }

    #[test]
    fn transitions() {
        let s = schedule();
        let chain = ChainConfig::from_network("CancunToPragueAtTime15k", 1, &s).unwrap();
        assert_eq!(chain.fork_at(3, 14_999).spec, SpecId::Cancun);
        assert_eq!(chain.fork_at(4, 15_000).spec, SpecId::Prague);
        assert_eq!(chain.fork_at(4, 15_000).blob.unwrap().max_blob_count, 9);
        let chain = ChainConfig::from_network("BerlinToLondonAt5", 1, &s).unwrap();
        assert_eq!(chain.fork_at(4, 1_000_000).spec, SpecId::Berlin);
        assert_eq!(chain.fork_at(5, 0).spec, SpecId::London);
        let chain = ChainConfig::from_network("BPO1ToBPO2AtTime15k", 1, &s).unwrap();
        assert_eq!(chain.fork_at(1, 14_999).blob.unwrap().target_blob_count, 10);
        assert_eq!(chain.fork_at(2, 15_000).blob.unwrap().target_blob_count, 14);
        assert_eq!(chain.fork_at(2, 15_000).spec, SpecId::Osaka);
    }

    #[test]
    fn bad_networks() {
        let s = schedule();
        assert_eq!(
            ChainConfig::from_network("Cancun2", 1, &s).unwrap_err(),
            NetworkError::UnknownFork("Cancun2".into(), "Cancun2".into())
        );
        for bad in ["CancunToPrague", "CancunToPragueAtTimeX", "CancunToPragueAt"] {
            assert!(
                matches!(ChainConfig::from_network(bad, 1, &s), Err(NetworkError::Malformed(_))),
                "{bad}"
            );
        }
    }
}
