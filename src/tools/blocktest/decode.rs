//! A fixture block's `rlp` decoded with alloy-consensus, and compared field by field with the
//! fixture's JSON decoding of it.
//!
//! The RLP is the block; the JSON beside it is only what the filler decoded. The runner will
//! execute the decoded block, so this module is where the two are proven to agree (the test
//! below goes over every shared fixture block), and where a block whose RLP does not decode
//! is told apart (a rejection, `RLP_STRUCTURES_ENCODING` and the like).
//!
//! Transactions decode as `EthereumTxEnvelope<TxEip4844>`: a blob transaction inside a block
//! carries no sidecar, so one in network form (with its blobs; `TYPE_3_TX_WITH_FULL_BLOBS`)
//! fails to decode, as it must. alloy's `TxEnvelope` would take it.

use alloy_consensus::transaction::SignerRecoverable;
use alloy_consensus::{EthereumTxEnvelope, Transaction as _, TxEip4844};
use alloy_eips::eip2718::Typed2718;
use alloy_primitives::{Address, B256, U256};

use super::fixture::{self, DecodedView};

/// A transaction as a block carries it.
pub type TxEnvelope = EthereumTxEnvelope<TxEip4844>;
/// A block: header, transactions, ommers and (Shanghai on) withdrawals.
pub type Block = alloy_consensus::Block<TxEnvelope>;
pub use alloy_consensus::Header;

/// A decoded block with the hash of its header as encoded.
#[derive(Clone, Debug)]
pub struct SealedBlock {
    pub block: Block,
    /// keccak256 of the header's RLP bytes as they stand in the block.
    pub hash: B256,
    /// The length of the block's RLP (EIP-7934 caps it from Osaka on).
    pub rlp_len: usize,
}

/// Why a block's RLP is not a block.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("block RLP does not decode: {0}")]
    Rlp(alloy_rlp::Error),
    #[error("{0} bytes after the block's RLP")]
    Trailing(usize),
}

/// Decodes a whole block (`[header, transactions, ommers, withdrawals?]`), refusing bytes
/// after it.
pub fn decode_block(rlp: &[u8]) -> Result<SealedBlock, DecodeError> {
    let mut buf = rlp;
    let sealed = Block::decode_sealed(&mut buf).map_err(DecodeError::Rlp)?;
    if !buf.is_empty() {
        return Err(DecodeError::Trailing(buf.len()));
    }
    let (block, hash) = sealed.into_parts();
    Ok(SealedBlock { block, hash, rlp_len: rlp.len() })
}

/// The sender of each transaction, recovered from its signature. `low_s` applies EIP-2's
/// rule (Homestead on) that `s` be at most half the curve order. The error names the first
/// transaction that has no sender.
pub fn recover_senders(block: &Block, low_s: bool) -> Result<Vec<Address>, (usize, String)> {
    block
        .body
        .transactions
        .iter()
        .enumerate()
        .map(|(i, tx)| {
            let sender = if low_s { tx.recover_signer() } else { tx.recover_signer_unchecked() };
            sender.map_err(|e| (i, e.to_string()))
        })
        .collect()
}

/// Collects `field: decoded X, fixture Y` lines for fields that differ.
#[derive(Default)]
struct Diff(Vec<String>);

impl Diff {
    fn check<T: PartialEq + std::fmt::Debug>(&mut self, field: &str, decoded: T, fixture: T) {
        if decoded != fixture {
            self.0.push(format!("{field}: decoded {decoded:?}, fixture {fixture:?}"));
        }
    }
}

fn opt_u256(q: Option<fixture::Quantity>) -> Option<U256> {
    q.map(|q| q.0)
}

/// Every header field that differs between the decoded header (with its hash) and the
/// fixture's JSON header, one line each; empty when they agree.
pub fn header_mismatches(header: &Header, hash: B256, json: &fixture::Header) -> Vec<String> {
    let mut d = Diff::default();
    d.check("parentHash", header.parent_hash, json.parent_hash);
    d.check("uncleHash", header.ommers_hash, json.uncle_hash);
    d.check("coinbase", header.beneficiary, json.coinbase);
    d.check("stateRoot", header.state_root, json.state_root);
    d.check("transactionsTrie", header.transactions_root, json.transactions_trie);
    d.check("receiptTrie", header.receipts_root, json.receipt_trie);
    d.check("bloom", header.logs_bloom, json.bloom);
    d.check("difficulty", header.difficulty, json.difficulty.0);
    d.check("number", U256::from(header.number), json.number.0);
    d.check("gasLimit", U256::from(header.gas_limit), json.gas_limit.0);
    d.check("gasUsed", U256::from(header.gas_used), json.gas_used.0);
    d.check("timestamp", U256::from(header.timestamp), json.timestamp.0);
    d.check("extraData", &header.extra_data, &json.extra_data.0);
    d.check("mixHash", header.mix_hash, json.mix_hash);
    d.check("nonce", header.nonce, json.nonce);
    d.check(
        "baseFeePerGas",
        header.base_fee_per_gas.map(U256::from),
        opt_u256(json.base_fee_per_gas),
    );
    d.check("withdrawalsRoot", header.withdrawals_root, json.withdrawals_root);
    d.check("blobGasUsed", header.blob_gas_used.map(U256::from), opt_u256(json.blob_gas_used));
    d.check(
        "excessBlobGas",
        header.excess_blob_gas.map(U256::from),
        opt_u256(json.excess_blob_gas),
    );
    d.check(
        "parentBeaconBlockRoot",
        header.parent_beacon_block_root,
        json.parent_beacon_block_root,
    );
    d.check("requestsHash", header.requests_hash, json.requests_hash);
    // Amsterdam's fields: no fork the fixtures reach has them.
    d.check("blockAccessListHash", header.block_access_list_hash, None);
    d.check("slotNumber", header.slot_number, None);
    d.check("hash", hash, json.hash);
    d.0
}

/// The `v` a fixture writes for a signature: the legacy encoding (27/28, or EIP-155's
/// `35 + 2 * chainId + parity`) for type 0, the y parity otherwise.
fn fixture_v(tx: &TxEnvelope) -> U256 {
    let parity = tx.signature().v() as u64;
    match tx {
        TxEnvelope::Legacy(signed) => U256::from(match signed.tx().chain_id {
            Some(id) => 35 + 2 * id + parity,
            None => 27 + parity,
        }),
        _ => U256::from(parity),
    }
}

/// Every transaction, ommer and withdrawal field that differs between the decoded block and
/// the fixture's JSON decoding, one line each (prefixed `tx i`, `ommer i`, `withdrawal i`);
/// empty when they agree. Each transaction's sender is recovered and compared when the
/// fixture names one.
pub fn body_mismatches(block: &Block, json: DecodedView<'_>) -> Vec<String> {
    let mut d = Diff::default();
    let body = &block.body;
    d.check("transactions", body.transactions.len(), json.transactions.len());
    for (i, (tx, j)) in body.transactions.iter().zip(json.transactions).enumerate() {
        let f = |name: &str| format!("tx {i} {name}");
        d.check(&f("type"), U256::from(tx.ty()), j.tx_type.0);
        d.check(&f("nonce"), U256::from(tx.nonce()), j.nonce.0);
        d.check(&f("gasLimit"), U256::from(tx.gas_limit()), j.gas_limit.0);
        d.check(&f("to"), tx.to(), j.to);
        d.check(&f("value"), tx.value(), j.value.0);
        d.check(&f("data"), tx.input(), &j.data.0);
        // The fixture writes chainId 1 on legacy transactions signed without EIP-155 too.
        if tx.chain_id().is_some() {
            d.check(&f("chainId"), tx.chain_id().map(U256::from), opt_u256(j.chain_id));
        }
        if tx.is_legacy() || tx.ty() == 1 {
            d.check(&f("gasPrice"), tx.gas_price().map(U256::from), opt_u256(j.gas_price));
        } else {
            d.check(
                &f("maxFeePerGas"),
                Some(U256::from(tx.max_fee_per_gas())),
                opt_u256(j.max_fee_per_gas),
            );
            d.check(
                &f("maxPriorityFeePerGas"),
                tx.max_priority_fee_per_gas().map(U256::from),
                opt_u256(j.max_priority_fee_per_gas),
            );
        }
        d.check(
            &f("maxFeePerBlobGas"),
            tx.max_fee_per_blob_gas().map(U256::from),
            opt_u256(j.max_fee_per_blob_gas),
        );
        d.check(
            &f("blobVersionedHashes"),
            tx.blob_versioned_hashes(),
            j.blob_versioned_hashes.as_deref(),
        );
        let access_list = tx.access_list().map(|list| {
            list.iter().map(|item| (item.address, item.storage_keys.clone())).collect::<Vec<_>>()
        });
        let json_list = j.access_list.as_ref().map(|list| {
            list.iter().map(|e| (e.address, e.storage_keys.clone())).collect::<Vec<_>>()
        });
        d.check(&f("accessList"), access_list, json_list);
        let auths = tx.authorization_list().map(|list| {
            list.iter()
                .map(|a| {
                    (
                        a.chain_id,
                        a.address,
                        U256::from(a.nonce),
                        U256::from(a.y_parity()),
                        a.r(),
                        a.s(),
                    )
                })
                .collect::<Vec<_>>()
        });
        let json_auths = j.authorization_list.as_ref().map(|list| {
            list.iter()
                .map(|a| {
                    let parity = a.y_parity.or(a.v).map(|q| q.0).unwrap_or_default();
                    (a.chain_id.0, a.address, a.nonce.0, parity, a.r.0, a.s.0)
                })
                .collect::<Vec<_>>()
        });
        d.check(&f("authorizationList"), auths, json_auths);
        let sig = tx.signature();
        d.check(&f("r"), sig.r(), j.r.0);
        d.check(&f("s"), sig.s(), j.s.0);
        d.check(&f("v"), fixture_v(tx), j.v.0);
        if let Some(sender) = j.sender {
            match tx.recover_signer_unchecked() {
                Ok(recovered) => d.check(&f("sender"), recovered, sender),
                Err(e) => {
                    d.0.push(format!("tx {i} sender: not recoverable ({e}), fixture {sender}"))
                }
            }
        }
    }
    d.check("uncleHeaders", body.ommers.len(), json.uncle_headers.len());
    for (i, (ommer, j)) in body.ommers.iter().zip(json.uncle_headers).enumerate() {
        for line in header_mismatches(ommer, ommer.hash_slow(), j) {
            d.0.push(format!("ommer {i} {line}"));
        }
    }
    let withdrawals = body.withdrawals.as_ref().map(|w| {
        w.iter()
            .map(|w| {
                (
                    U256::from(w.index),
                    U256::from(w.validator_index),
                    w.address,
                    U256::from(w.amount),
                )
            })
            .collect::<Vec<_>>()
    });
    let json_withdrawals = json.withdrawals.map(|w| {
        w.iter()
            .map(|w| (w.index.0, w.validator_index.0, w.address, w.amount.0))
            .collect::<Vec<_>>()
    });
    d.check("withdrawals", withdrawals, json_withdrawals);
    d.0
}

/// The transactions, ommers and withdrawals roots of the body, as alloy computes them, each
/// checked against the header: the lines name those that differ.
pub fn body_root_mismatches(block: &Block) -> Vec<String> {
    use alloy_consensus::proofs;
    let (header, body) = (&block.header, &block.body);
    let mut d = Diff::default();
    d.check(
        "transactions root",
        proofs::calculate_transaction_root(&body.transactions),
        header.transactions_root,
    );
    d.check("ommers hash", proofs::calculate_ommers_root(&body.ommers), header.ommers_hash);
    d.check(
        "withdrawals root",
        body.withdrawals.as_ref().map(|w| proofs::calculate_withdrawals_root(w)),
        header.withdrawals_root,
    );
    d.0
}

#[cfg(test)]
mod tests {
    use super::super::fixture::BlockchainTest;
    use super::super::{fixtures_dir, report_walk};
    use super::*;
    use crate::tools::suite::files::each_fixture_test;
    use std::collections::BTreeMap;

    /// The genesis RLP of `frontier/examples/test_block_intermediate_state.json`.
    const FRONTIER_GENESIS: &str = "f901f9f901f4a00000000000000000000000000000000000000000000000000000000000000000a01dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347940000000000000000000000000000000000000000a054c0b7011d50347550ba416f87ca9eec18f21e0c2ced6b78225266da36997589a056e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421a056e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421b901000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000083020000808407270e00808000a00000000000000000000000000000000000000000000000000000000000000000880000000000000000c0c0";

    #[test]
    fn decodes_a_genesis_block() {
        let rlp = alloy_primitives::hex::decode(FRONTIER_GENESIS).unwrap();
        let sealed = decode_block(&rlp).unwrap();
        assert_eq!(
            sealed.hash,
            "0xf0cf3288d55ae0cc47ea0a97fb552eba5098f43433b045bd1a103de563604ac7"
                .parse::<B256>()
                .unwrap()
        );
        assert_eq!(sealed.hash, sealed.block.header.hash_slow());
        assert_eq!(sealed.block.header.difficulty, U256::from(0x020000));
        assert_eq!(sealed.block.header.gas_limit, 0x07270e00);
        assert!(sealed.block.body.transactions.is_empty());
        assert!(sealed.block.body.withdrawals.is_none());
        assert!(body_root_mismatches(&sealed.block).is_empty());

        let mut longer = rlp.clone();
        longer.push(0x80);
        assert_eq!(decode_block(&longer).unwrap_err(), DecodeError::Trailing(1));
        assert!(matches!(decode_block(&rlp[..rlp.len() - 1]), Err(DecodeError::Rlp(_))));
    }

    /// Every shared fixture block that has a JSON decoding decodes from its RLP to the same
    /// header (hash included), transactions (senders included), ommers and withdrawals, and a
    /// valid block's body roots are its header's; every genesis too. Invalid blocks without a
    /// decoding must fail to decode; invalid blocks whose RLP disagrees with their decoding
    /// are printed. Prints how many blocks were compared.
    #[test]
    fn every_shared_fixture_block_decodes_as_its_json() {
        let mut problems = Vec::new();
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        let walked = each_fixture_test(&fixtures_dir(), |path, name, test: &BlockchainTest| {
            let mut problem = |what: String| {
                problems.push(format!("{} :: {name}: {what}", path.display()));
            };
            match decode_block(&test.genesis_rlp.0) {
                Ok(genesis) => {
                    *counts.entry("genesis blocks compared").or_default() += 1;
                    for line in header_mismatches(
                        &genesis.block.header,
                        genesis.hash,
                        &test.genesis_block_header,
                    ) {
                        problem(format!("genesis {line}"));
                    }
                }
                Err(e) => problem(format!("genesis: {e}")),
            }
            for (i, block) in test.blocks.iter().enumerate() {
                let decoded = decode_block(&block.rlp.0);
                let Some(json) = block.decoded() else {
                    match decoded {
                        Ok(_) => problem(format!("block {i}: decodes, yet has no decoding")),
                        Err(_) => *counts.entry("undecodable invalid blocks").or_default() += 1,
                    }
                    continue;
                };
                let kind = if block.is_invalid() { "invalid" } else { "valid" };
                let lines = match decoded {
                    Ok(sealed) => {
                        *counts.entry("transactions compared").or_default() +=
                            sealed.block.body.transactions.len();
                        let mut lines =
                            header_mismatches(&sealed.block.header, sealed.hash, json.header);
                        lines.extend(body_mismatches(&sealed.block, json));
                        if !block.is_invalid() {
                            lines.extend(body_root_mismatches(&sealed.block));
                        }
                        lines
                    }
                    Err(e) => vec![e.to_string()],
                };
                *counts
                    .entry(if block.is_invalid() {
                        "invalid blocks compared"
                    } else {
                        "valid blocks compared"
                    })
                    .or_default() += 1;
                // An invalid block need only be rejected, and its RLP may be deliberately
                // at odds with what the filler decoded (a header missing a middle field
                // shifts the rest, which alloy decodes by position): its disagreements are
                // printed, not failed. A valid block must agree exactly.
                if block.is_invalid() && !lines.is_empty() {
                    *counts.entry("invalid blocks disagreeing").or_default() += 1;
                }
                for line in lines {
                    let line = format!("block {i} ({kind}) {line}");
                    if block.is_invalid() {
                        println!("disagrees: {} :: {name}: {line}", path.display());
                    } else {
                        problem(line);
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
