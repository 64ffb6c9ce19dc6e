//! Ommers (uncles) before the merge: which a block may include, checked against the chain
//! behind it, as execution-specs' `validate_ommers` and geth's `VerifyUncles` do.

use std::collections::VecDeque;

use alloy_consensus::Header;
use alloy_primitives::B256;

use super::chain::ChainConfig;
use super::error::{BlockError, OmmerError};
use super::execute::EthBlock;
use super::header::validate_header;

/// A block may include at most this many ommers.
pub const MAX_OMMERS: usize = 2;
/// An ommer's parent is at most this many blocks before the block's parent.
pub const MAX_OMMER_DEPTH: usize = 6;

/// The imported chain behind a block, as far as ommer validation looks: an ommer's parent
/// must be one of the block's ancestors, and neither an ancestor nor an ancestor's ommer may
/// be included again. A chain after the merge never asks (a block there has no ommers).
pub trait BlockHistory {
    /// The header of the imported block with this hash.
    fn header(&self, hash: &B256) -> Option<&Header>;
    /// The ommers the imported block with this hash included.
    fn ommers(&self, hash: &B256) -> Option<&[Header]>;
}

/// No history: any ommer is refused (its parent is unknown). What a chain after the merge,
/// or a caller importing a block without its ancestors, passes.
impl BlockHistory for () {
    fn header(&self, _: &B256) -> Option<&Header> {
        None
    }

    fn ommers(&self, _: &B256) -> Option<&[Header]> {
        None
    }
}

/// The last `MAX_OMMER_DEPTH + 1` imported blocks' headers and ommers: all that ommer
/// validation of the next block needs. Push every imported block, the genesis first.
#[derive(Clone, Debug, Default)]
pub struct RecentBlocks {
    blocks: VecDeque<(B256, Header, Vec<Header>)>,
}

impl RecentBlocks {
    /// Records an imported block (its hash is `hash`), forgetting the oldest beyond the
    /// window.
    pub fn push(&mut self, hash: B256, block: &EthBlock) {
        if self.blocks.len() > MAX_OMMER_DEPTH {
            self.blocks.pop_front();
        }
        self.blocks.push_back((hash, block.header.clone(), block.body.ommers.clone()));
    }

    fn find(&self, hash: &B256) -> Option<&(B256, Header, Vec<Header>)> {
        self.blocks.iter().rev().find(|(h, _, _)| h == hash)
    }
}

impl BlockHistory for RecentBlocks {
    fn header(&self, hash: &B256) -> Option<&Header> {
        self.find(hash).map(|(_, header, _)| header)
    }

    fn ommers(&self, hash: &B256) -> Option<&[Header]> {
        self.find(hash).map(|(_, _, ommers)| ommers.as_slice())
    }
}

/// Checks a pre-merge block's ommers (its ommers hash is checked already): at most
/// [`MAX_OMMERS`], no two the same, none an ancestor of the block or an ommer an ancestor
/// included, each a valid header on top of its own parent, which is one of the
/// [`MAX_OMMER_DEPTH`] ancestors before the block's parent (so a sibling of an ancestor,
/// never of the block itself).
pub fn validate_ommers<H: BlockHistory + ?Sized>(
    chain: &ChainConfig,
    parent: &Header,
    block: &EthBlock,
    history: &H,
) -> Result<(), BlockError> {
    let ommers = &block.body.ommers;
    if ommers.len() > MAX_OMMERS {
        return Err(BlockError::TooManyOmmers(ommers.len()));
    }
    if ommers.is_empty() {
        return Ok(());
    }
    // The parent (known to be the header's parent) and up to MAX_OMMER_DEPTH blocks before.
    let mut ancestors = vec![(block.header.parent_hash, parent)];
    while ancestors.len() <= MAX_OMMER_DEPTH {
        let (_, oldest) = ancestors[ancestors.len() - 1];
        match history.header(&oldest.parent_hash) {
            Some(header) if oldest.number > 0 => ancestors.push((oldest.parent_hash, header)),
            _ => break,
        }
    }
    let included: Vec<B256> = ancestors
        .iter()
        .filter_map(|(hash, _)| history.ommers(hash))
        .flatten()
        .map(Header::hash_slow)
        .collect();

    let mut seen = Vec::with_capacity(ommers.len());
    for (index, ommer) in ommers.iter().enumerate() {
        let hash = ommer.hash_slow();
        if seen.contains(&hash) {
            return Err(BlockError::Ommer { index, reason: OmmerError::Duplicate });
        }
        seen.push(hash);
        if ancestors.iter().any(|(h, _)| *h == hash) {
            return Err(BlockError::Ommer { index, reason: OmmerError::IsAncestor });
        }
        if included.contains(&hash) {
            return Err(BlockError::Ommer { index, reason: OmmerError::IncludedBefore });
        }
        // Not the parent itself: an ommer whose parent is the block's would be the block's
        // sibling, not an ancestor's.
        let Some((_, ommer_parent)) = ancestors[1..].iter().find(|(h, _)| *h == ommer.parent_hash)
        else {
            return Err(BlockError::Ommer { index, reason: OmmerError::Parent });
        };
        validate_header(chain, ommer_parent, ommer)
            .map_err(|e| BlockError::Ommer { index, reason: OmmerError::Header(Box::new(e)) })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::header::difficulty;
    use crate::block::Fork;
    use alloy_consensus::{BlockBody, EMPTY_OMMER_ROOT_HASH};
    use alloy_primitives::{Address, U256};
    use kiln_runtime::SpecId;
    use std::collections::HashMap;

    fn chain() -> ChainConfig {
        ChainConfig::single(1, Fork { spec: SpecId::Berlin, blob: None })
    }

    /// A valid Berlin header on `parent`, `seconds` later, mined by `miner`.
    fn child(parent: &Header, seconds: u64, miner: u8) -> Header {
        let timestamp = parent.timestamp + seconds;
        Header {
            parent_hash: parent.hash_slow(),
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: Address::repeat_byte(miner),
            number: parent.number + 1,
            timestamp,
            gas_limit: parent.gas_limit,
            difficulty: difficulty(SpecId::Berlin, parent, timestamp),
            ..Header::default()
        }
    }

    fn block(header: Header, ommers: Vec<Header>) -> EthBlock {
        EthBlock { header, body: BlockBody { transactions: vec![], ommers, withdrawals: None } }
    }

    /// Every imported block, however old: the window is the rule's, not the history's.
    #[derive(Default)]
    struct AllBlocks(HashMap<B256, EthBlock>);

    impl BlockHistory for AllBlocks {
        fn header(&self, hash: &B256) -> Option<&Header> {
            self.0.get(hash).map(|b| &b.header)
        }

        fn ommers(&self, hash: &B256) -> Option<&[Header]> {
            self.0.get(hash).map(|b| b.body.ommers.as_slice())
        }
    }

    /// Blocks 0 (genesis) to `n`, 10 s apart, each in the history.
    fn canonical(n: u64) -> (Vec<Header>, AllBlocks) {
        let genesis = Header {
            difficulty: U256::from(0x20000),
            gas_limit: 10_000_000,
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            ..Header::default()
        };
        let mut headers = vec![genesis];
        for _ in 0..n {
            headers.push(child(headers.last().unwrap(), 10, 0xc0));
        }
        let mut history = AllBlocks::default();
        for h in &headers {
            history.0.insert(h.hash_slow(), block(h.clone(), vec![]));
        }
        (headers, history)
    }

    /// `ommers` in a block on top of `headers`' last.
    fn check(
        headers: &[Header],
        history: &AllBlocks,
        ommers: Vec<Header>,
    ) -> Result<(), BlockError> {
        let parent = headers.last().unwrap();
        validate_ommers(&chain(), parent, &block(child(parent, 10, 0xc0), ommers), history)
    }

    #[test]
    fn valid_ommers_pass() {
        let (h, history) = canonical(6);
        // Siblings of block 6 (an ancestor one back) and of block 1 (six back).
        let ommers = vec![child(&h[5], 11, 0xa1), child(&h[0], 11, 0xa2)];
        check(&h, &history, ommers).unwrap();
        // The recent-blocks window alone holds what the check needs.
        let mut recent = RecentBlocks::default();
        for header in &h {
            recent.push(header.hash_slow(), &block(header.clone(), vec![]));
        }
        let ommers = vec![child(&h[5], 11, 0xa1), child(&h[0], 11, 0xa2)];
        validate_ommers(&chain(), &h[6], &block(child(&h[6], 10, 0xc0), ommers), &recent).unwrap();
    }

    #[test]
    fn at_most_two_ommers() {
        let (h, history) = canonical(6);
        let ommers = (0..3).map(|i| child(&h[5], 11 + i, 0xa0 + i as u8)).collect();
        assert_eq!(check(&h, &history, ommers), Err(BlockError::TooManyOmmers(3)));
    }

    #[test]
    fn no_duplicate_ommers() {
        let (h, history) = canonical(6);
        let ommer = child(&h[5], 11, 0xa1);
        let err = check(&h, &history, vec![ommer.clone(), ommer]);
        assert_eq!(err, Err(BlockError::Ommer { index: 1, reason: OmmerError::Duplicate }));
    }

    #[test]
    fn an_ancestor_is_no_ommer() {
        let (h, history) = canonical(6);
        let err = check(&h, &history, vec![h[5].clone()]);
        assert_eq!(err, Err(BlockError::Ommer { index: 0, reason: OmmerError::IsAncestor }));
    }

    #[test]
    fn an_ommer_is_included_once() {
        let (h, mut history) = canonical(6);
        let ommer = child(&h[4], 11, 0xa1);
        // Block 6 included it already.
        history.0.get_mut(&h[6].hash_slow()).unwrap().body.ommers.push(ommer.clone());
        let err = check(&h, &history, vec![ommer]);
        assert_eq!(err, Err(BlockError::Ommer { index: 0, reason: OmmerError::IncludedBefore }));
    }

    #[test]
    fn an_ommers_parent_is_within_six_ancestors_before_the_parent() {
        let (h, history) = canonical(7);
        // A sibling of block 1 is seven back from block 8's parent: too old, though known.
        let err = check(&h, &history, vec![child(&h[0], 11, 0xa1)]);
        assert_eq!(err, Err(BlockError::Ommer { index: 0, reason: OmmerError::Parent }));
        // A sibling of the block itself (its parent is the block's parent).
        let err = check(&h, &history, vec![child(&h[7], 11, 0xa1)]);
        assert_eq!(err, Err(BlockError::Ommer { index: 0, reason: OmmerError::Parent }));
        // A parent nobody imported.
        let stranger = child(&child(&h[3], 13, 0xee), 10, 0xa1);
        let err = check(&h, &history, vec![stranger]);
        assert_eq!(err, Err(BlockError::Ommer { index: 0, reason: OmmerError::Parent }));
    }

    #[test]
    fn an_ommer_is_a_valid_header() {
        let (h, history) = canonical(6);
        let mut ommer = child(&h[5], 11, 0xa1);
        ommer.difficulty += U256::from(1);
        let err = check(&h, &history, vec![ommer]).unwrap_err();
        assert!(
            matches!(&err, BlockError::Ommer { index: 0, reason: OmmerError::Header(error) }
                if matches!(**error, BlockError::Difficulty(_))),
            "{err:?}"
        );
        assert!(err.eest_names().contains(&"BlockException.INVALID_DIFFICULTY"));
    }
}
