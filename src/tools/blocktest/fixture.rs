//! The execution-spec-tests `blockchain_test` fixture format as serde types.
//!
//! A fixture file maps test names to tests; a test is one network (a fork, or a transition
//! such as `CancunToPragueAtTime15k`), a genesis block, a pre-state, a list of blocks and the
//! expected outcome (`lastblockhash` and `postState` or `postStateHash`). Each block's `rlp`
//! is the block itself; the JSON next to it (`blockHeader`, `transactions`, …) is a decoding
//! of it that only valid blocks carry (invalid blocks carry `expectException` and, mostly,
//! `rlp_decoded`). `_info` and `sealEngine`'s meaning (always `NoProof`) are not modelled.
//!
//! Numbers, byte strings, accounts, access lists, authorizations and `config` are the
//! state-test types ([`super::super::statetest::fixture`]), which accept every spelling
//! fixtures use.

use std::collections::BTreeMap;

use alloy_primitives::{Address, Bloom, B256, B64};
use serde::Deserialize;

use crate::tools::statetest::fixture::deserialize_to;
pub use crate::tools::statetest::fixture::{
    AccessListEntry, Account, AuthorizationEntry, Config, HexBytes, Quantity,
};

/// A fixture file: test name → test.
pub type FixtureFile = BTreeMap<String, BlockchainTest>;

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockchainTest {
    /// The fork or transition the chain runs under, as the fixtures spell it (`Cancun`,
    /// `ConstantinopleFix`, `ShanghaiToCancunAtTime15k`, `BPO1ToBPO2AtTime15k`).
    pub network: String,
    pub genesis_block_header: Header,
    #[serde(rename = "genesisRLP")]
    pub genesis_rlp: HexBytes,
    pub pre: BTreeMap<Address, Account>,
    pub blocks: Vec<Block>,
    /// The hash of the chain's head after every block: the last valid one.
    pub lastblockhash: B256,
    /// The expected state after the last block, account by account…
    pub post_state: Option<BTreeMap<Address, Account>>,
    /// …or only its root (large tests).
    pub post_state_hash: Option<B256>,
    #[serde(default)]
    pub config: Config,
    pub seal_engine: Option<String>,
}

/// One block of the chain: valid (it must import) or, with `expect_exception`, invalid (it
/// must be rejected and leave the chain as it was).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Block {
    /// The block as RLP: `[header, transactions, ommers]`, plus `withdrawals` from Shanghai
    /// on. May be deliberately malformed in an invalid block.
    pub rlp: HexBytes,
    /// `|`-separated `BlockException.*`/`TransactionException.*` names, any of which the
    /// rejection may carry.
    pub expect_exception: Option<String>,
    /// The decoding of `rlp`, given for valid blocks.
    pub block_header: Option<Header>,
    pub transactions: Option<Vec<Transaction>>,
    pub uncle_headers: Option<Vec<Header>>,
    pub withdrawals: Option<Vec<Withdrawal>>,
    /// The block number as a decimal string.
    pub blocknumber: Option<String>,
    /// The decoding of an invalid block's `rlp`, when it decodes. (The one snake-case key.)
    #[serde(rename = "rlp_decoded")]
    pub rlp_decoded: Option<DecodedBlock>,
}

impl Block {
    /// Whether the block must be rejected.
    pub fn is_invalid(&self) -> bool {
        self.expect_exception.is_some()
    }

    /// The expected exception names, split at `|`.
    pub fn expected_exceptions(&self) -> impl Iterator<Item = &str> {
        self.expect_exception.as_deref().into_iter().flat_map(|e| e.split('|')).map(str::trim)
    }

    /// The block's JSON decoding: its own fields (valid blocks) or `rlp_decoded` (invalid).
    pub fn decoded(&self) -> Option<DecodedView<'_>> {
        if let Some(header) = &self.block_header {
            return Some(DecodedView {
                header,
                transactions: self.transactions.as_deref().unwrap_or_default(),
                uncle_headers: self.uncle_headers.as_deref().unwrap_or_default(),
                withdrawals: self.withdrawals.as_deref(),
            });
        }
        self.rlp_decoded.as_ref().map(|d| DecodedView {
            header: &d.block_header,
            transactions: &d.transactions,
            uncle_headers: &d.uncle_headers,
            withdrawals: d.withdrawals.as_deref(),
        })
    }
}

/// An invalid block's decoded fields.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecodedBlock {
    pub block_header: Header,
    #[serde(default)]
    pub transactions: Vec<Transaction>,
    #[serde(default)]
    pub uncle_headers: Vec<Header>,
    pub withdrawals: Option<Vec<Withdrawal>>,
    pub blocknumber: Option<String>,
}

/// A block's JSON decoding, wherever the fixture put it.
#[derive(Clone, Copy, Debug)]
pub struct DecodedView<'a> {
    pub header: &'a Header,
    pub transactions: &'a [Transaction],
    pub uncle_headers: &'a [Header],
    pub withdrawals: Option<&'a [Withdrawal]>,
}

/// A block header as the fixtures write it (geth's legacy field names: `uncleHash`,
/// `transactionsTrie`, `receiptTrie`, `bloom`, `coinbase`). Optional fields appear from the
/// fork that added them on.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Header {
    pub parent_hash: B256,
    pub uncle_hash: B256,
    pub coinbase: Address,
    pub state_root: B256,
    pub transactions_trie: B256,
    pub receipt_trie: B256,
    pub bloom: Bloom,
    pub difficulty: Quantity,
    pub number: Quantity,
    pub gas_limit: Quantity,
    pub gas_used: Quantity,
    pub timestamp: Quantity,
    pub extra_data: HexBytes,
    pub mix_hash: B256,
    pub nonce: B64,
    /// keccak256 of the header's RLP.
    pub hash: B256,
    /// London on.
    pub base_fee_per_gas: Option<Quantity>,
    /// Shanghai on.
    pub withdrawals_root: Option<B256>,
    /// Cancun on.
    pub blob_gas_used: Option<Quantity>,
    pub excess_blob_gas: Option<Quantity>,
    pub parent_beacon_block_root: Option<B256>,
    /// Prague on.
    pub requests_hash: Option<B256>,
}

/// A transaction as the fixtures write it: every field of its type, the signature and the
/// sender the filler recovered.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    /// `0x00` legacy, `0x01` EIP-2930, `0x02` EIP-1559, `0x03` EIP-4844, `0x04` EIP-7702.
    #[serde(rename = "type")]
    pub tx_type: Quantity,
    /// Present on every transaction, legacy ones included, even when the signature is not
    /// EIP-155 (`v` 27 or 28): a legacy transaction's chain id comes from `v`.
    pub chain_id: Option<Quantity>,
    pub nonce: Quantity,
    pub gas_price: Option<Quantity>,
    pub max_priority_fee_per_gas: Option<Quantity>,
    pub max_fee_per_gas: Option<Quantity>,
    pub gas_limit: Quantity,
    /// `None` for contract creation (`""`).
    #[serde(default, deserialize_with = "deserialize_to")]
    pub to: Option<Address>,
    pub value: Quantity,
    pub data: HexBytes,
    pub access_list: Option<Vec<AccessListEntry>>,
    pub max_fee_per_blob_gas: Option<Quantity>,
    pub blob_versioned_hashes: Option<Vec<B256>>,
    pub authorization_list: Option<Vec<AuthorizationEntry>>,
    pub v: Quantity,
    pub r: Quantity,
    pub s: Quantity,
    pub sender: Option<Address>,
}

/// An EIP-4895 withdrawal; `amount` is in Gwei.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Withdrawal {
    pub index: Quantity,
    pub validator_index: Quantity,
    pub address: Address,
    pub amount: Quantity,
}

#[cfg(test)]
mod tests {
    use super::super::fixtures_dir;
    use super::*;
    use alloy_primitives::U256;

    /// A small test in the shape of `frontier/examples/test_block_intermediate_state.json`,
    /// cut down, plus an invalid block.
    const SMALL: &str = r#"{
      "tests/x.py::test_x[fork_Cancun-blockchain_test]": {
        "network": "Cancun",
        "genesisBlockHeader": {
          "parentHash": "0x0000000000000000000000000000000000000000000000000000000000000000",
          "uncleHash": "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347",
          "coinbase": "0x0000000000000000000000000000000000000000",
          "stateRoot": "0x54c0b7011d50347550ba416f87ca9eec18f21e0c2ced6b78225266da36997589",
          "transactionsTrie": "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421",
          "receiptTrie": "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421",
          "bloom": "0x00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
          "difficulty": "0x00",
          "number": "0x00",
          "gasLimit": "0x07270e00",
          "gasUsed": "0x00",
          "timestamp": "0x00",
          "extraData": "0x00",
          "mixHash": "0x0000000000000000000000000000000000000000000000000000000000000000",
          "nonce": "0x0000000000000000",
          "baseFeePerGas": "0x07",
          "withdrawalsRoot": "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421",
          "blobGasUsed": "0x00",
          "excessBlobGas": "0x00",
          "parentBeaconBlockRoot": "0x0000000000000000000000000000000000000000000000000000000000000000",
          "hash": "0xf0cf3288d55ae0cc47ea0a97fb552eba5098f43433b045bd1a103de563604ac7"
        },
        "pre": {
          "0x247c9be4051fbb24f5416c54388984fbaccc6810": {
            "nonce": "0x00", "balance": "0x3635c9adc5dea00000", "code": "0x", "storage": {}
          }
        },
        "postState": {
          "0x247c9be4051fbb24f5416c54388984fbaccc6810": {
            "nonce": "0x01", "balance": "0x01", "code": "0x", "storage": {"0x01": "0x02"}
          }
        },
        "lastblockhash": "0x35633fd8bb972cae2e390d6310b4ae224bf1505158e5ec103bffc8ea6536f004",
        "config": {
          "network": "Cancun",
          "chainid": "0x01",
          "blobSchedule": {"Cancun": {"target": "0x03", "max": "0x06", "baseFeeUpdateFraction": "0x32f0ed"}}
        },
        "genesisRLP": "0xc0",
        "blocks": [
          {
            "blockHeader": {
              "parentHash": "0xf0cf3288d55ae0cc47ea0a97fb552eba5098f43433b045bd1a103de563604ac7",
              "uncleHash": "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347",
              "coinbase": "0x2adc25665018aa1fe0e6bc666dac8fc2697ff9ba",
              "stateRoot": "0xa5e38ba7f93ac3bb67b3a1848ee155f6cabed05c7c5fb8b4139f7af0f8fb694f",
              "transactionsTrie": "0x847d0e3ef7c29e46bb7e0b35f2bd8d5067387768432ddea1eb0989f4633f187c",
              "receiptTrie": "0x062c22a68cbf88e73d1349d052e1f99004c7ddd1e1ffec206d3ed9e613479300",
              "bloom": "0x00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
              "difficulty": "0x00",
              "number": "0x01",
              "gasLimit": "0x07270e00",
              "gasUsed": "0x5208",
              "timestamp": "0x0c",
              "extraData": "0x",
              "mixHash": "0x0000000000000000000000000000000000000000000000000000000000000000",
              "nonce": "0x0000000000000000",
              "hash": "0x08226f020b2860b9f94e4e1eccf00cf4af610e12634e5c76723cd324330eb411"
            },
            "transactions": [
              {
                "type": "0x00", "chainId": "0x01", "nonce": "0x00", "gasPrice": "0x0a",
                "gasLimit": "0x0186a0", "value": "0x00", "data": "0x", "v": "0x1c",
                "r": "0x37e7f519df845b34d854b43cecdfa3fcc602879ecd8dad63e58f4111a962c692",
                "s": "0x049175a9a102abb091ba4d129a39d9134766ce76de88bf5d0746f0cf44c776d7",
                "sender": "0x247c9be4051fbb24f5416c54388984fbaccc6810", "to": ""
              }
            ],
            "uncleHeaders": [],
            "withdrawals": [
              {"index": "0x00", "validatorIndex": "0x00", "address": "0x0000000000000000000000000000000000000100", "amount": "0x01"}
            ],
            "rlp": "0xc0",
            "blocknumber": "1"
          },
          {
            "rlp": "0xc1",
            "expectException": "BlockException.RLP_STRUCTURES_ENCODING|TransactionException.TYPE_3_TX_CONTRACT_CREATION"
          }
        ],
        "sealEngine": "NoProof",
        "_info": {"comment": "ignored"}
      }
    }"#;

    #[test]
    fn parses_small_fixture() {
        let file: FixtureFile = serde_json::from_str(SMALL).unwrap();
        let test = file.values().next().unwrap();
        assert_eq!(test.network, "Cancun");
        assert_eq!(test.genesis_block_header.base_fee_per_gas.unwrap().0, U256::from(7));
        assert!(test.genesis_block_header.requests_hash.is_none());
        assert_eq!(test.genesis_rlp.0.as_ref(), &[0xc0]);
        let schedule = test.config.blob_schedule.as_ref().unwrap();
        assert_eq!(schedule["Cancun"].base_fee_update_fraction.0, U256::from(3_338_477));
        assert_eq!(test.post_state.as_ref().unwrap().len(), 1);
        assert!(test.post_state_hash.is_none());

        let [valid, invalid] = &test.blocks[..] else { panic!("two blocks") };
        assert!(!valid.is_invalid());
        let view = valid.decoded().unwrap();
        assert_eq!(view.header.number.0, U256::from(1));
        assert!(view.header.base_fee_per_gas.is_none());
        let tx = &view.transactions[0];
        assert!(tx.to.is_none());
        assert_eq!(tx.v.0, U256::from(0x1c));
        assert_eq!(view.withdrawals.unwrap()[0].amount.0, U256::from(1));
        assert_eq!(valid.blocknumber.as_deref(), Some("1"));

        assert!(invalid.is_invalid());
        assert!(invalid.decoded().is_none());
        assert_eq!(
            invalid.expected_exceptions().collect::<Vec<_>>(),
            [
                "BlockException.RLP_STRUCTURES_ENCODING",
                "TransactionException.TYPE_3_TX_CONTRACT_CREATION"
            ]
        );
    }

    #[test]
    fn post_state_hash_instead_of_post_state() {
        let text = SMALL.replace(
            r#""postState": {"#,
            r#""postStateHash": "0x0000000000000000000000000000000000000000000000000000000000000001", "unused": {"#,
        );
        let file: FixtureFile = serde_json::from_str(&text).unwrap();
        let test = file.values().next().unwrap();
        assert!(test.post_state.is_none());
        assert_eq!(test.post_state_hash.unwrap(), B256::with_last_byte(1));
    }

    #[test]
    fn malformed_fixture_errors_name_the_problem() {
        let missing = SMALL.replace("\"lastblockhash\"", "\"lastBlockHash\"");
        let err = serde_json::from_str::<FixtureFile>(&missing).unwrap_err();
        assert!(err.to_string().contains("missing field `lastblockhash`"), "{err}");
        let bad_rlp = SMALL.replace("\"rlp\": \"0xc1\"", "\"rlp\": \"0xc\"");
        let err = serde_json::from_str::<FixtureFile>(&bad_rlp).unwrap_err();
        assert!(err.to_string().contains("invalid hex data"), "{err}");
    }

    /// Top-level, block and header keys the types above read or knowingly leave out. A key
    /// outside these lists in a shared fixture fails the test below, so that a format change
    /// (a new header field, say) is noticed rather than silently dropped.
    const TEST_KEYS: &[&str] = &[
        "network",
        "genesisBlockHeader",
        "genesisRLP",
        "pre",
        "blocks",
        "lastblockhash",
        "postState",
        "postStateHash",
        "config",
        "sealEngine",
        "_info",
    ];
    const BLOCK_KEYS: &[&str] = &[
        "rlp",
        "expectException",
        "blockHeader",
        "transactions",
        "uncleHeaders",
        "withdrawals",
        "blocknumber",
        "rlp_decoded",
    ];
    const HEADER_KEYS: &[&str] = &[
        "parentHash",
        "uncleHash",
        "coinbase",
        "stateRoot",
        "transactionsTrie",
        "receiptTrie",
        "bloom",
        "difficulty",
        "number",
        "gasLimit",
        "gasUsed",
        "timestamp",
        "extraData",
        "mixHash",
        "nonce",
        "hash",
        "baseFeePerGas",
        "withdrawalsRoot",
        "blobGasUsed",
        "excessBlobGas",
        "parentBeaconBlockRoot",
        "requestsHash",
    ];
    const TX_KEYS: &[&str] = &[
        "type",
        "chainId",
        "nonce",
        "gasPrice",
        "maxPriorityFeePerGas",
        "maxFeePerGas",
        "gasLimit",
        "to",
        "value",
        "data",
        "accessList",
        "maxFeePerBlobGas",
        "blobVersionedHashes",
        "authorizationList",
        "v",
        "r",
        "s",
        "sender",
    ];

    fn unknown_keys(
        value: &serde_json::Value,
        known: &[&str],
        what: &str,
        out: &mut BTreeMap<String, usize>,
    ) {
        for key in value.as_object().into_iter().flat_map(|o| o.keys()) {
            if !known.contains(&key.as_str()) {
                *out.entry(format!("{what}.{key}")).or_default() += 1;
            }
        }
    }

    fn unknown_block_keys(block: &serde_json::Value, out: &mut BTreeMap<String, usize>) {
        unknown_keys(block, BLOCK_KEYS, "block", out);
        for b in [Some(block), block.get("rlp_decoded")].into_iter().flatten() {
            if let Some(header) = b.get("blockHeader") {
                unknown_keys(header, HEADER_KEYS, "header", out);
            }
            for tx in b.get("transactions").and_then(|t| t.as_array()).into_iter().flatten() {
                unknown_keys(tx, TX_KEYS, "transaction", out);
            }
        }
    }

    /// Every shared blockchain-test file loads into the types above with no key left
    /// unmodelled, and every block is either valid with its decoding or invalid with an
    /// expected exception. Prints the tests, blocks and invalid blocks per network.
    #[test]
    fn every_shared_blockchain_test_loads() {
        let dir = fixtures_dir();
        if !dir.is_dir() {
            println!(
                "note: {} is absent; skipping the blockchain-test loading test",
                dir.display()
            );
            return;
        }
        let files = crate::tools::suite::collect_files(std::slice::from_ref(&dir))
            .expect("listing the fixtures");
        assert!(!files.is_empty(), "no .json files under {}", dir.display());

        // network → (tests, blocks, invalid blocks)
        let mut per_network: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
        let mut problems = Vec::new();
        let mut unknown = BTreeMap::new();
        for path in &files {
            let text = std::fs::read_to_string(path).expect("reading a fixture");
            let file: FixtureFile = match serde_json::from_str(&text) {
                Ok(file) => file,
                Err(e) => {
                    problems.push(format!("{}: {e}", path.display()));
                    continue;
                }
            };
            let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
            let mut raw_decoded = 0;
            for test in raw.as_object().unwrap().values() {
                unknown_keys(test, TEST_KEYS, "test", &mut unknown);
                unknown_keys(&test["genesisBlockHeader"], HEADER_KEYS, "header", &mut unknown);
                for block in test["blocks"].as_array().unwrap() {
                    unknown_block_keys(block, &mut unknown);
                    raw_decoded += usize::from(block.get("rlp_decoded").is_some());
                }
            }
            // A key the types name wrongly is dropped, not refused: count one that matters.
            let decoded =
                file.values().flat_map(|t| &t.blocks).filter(|b| b.rlp_decoded.is_some()).count();
            if decoded != raw_decoded {
                problems.push(format!(
                    "{}: {raw_decoded} rlp_decoded keys, {decoded} parsed",
                    path.display()
                ));
            }
            for (name, test) in &file {
                let counts = per_network.entry(test.network.clone()).or_default();
                counts.0 += 1;
                counts.1 += test.blocks.len();
                let mut problem = |what: &str| {
                    problems.push(format!("{} :: {name}: {what}", path.display()));
                };
                if test.config.network.as_deref().is_some_and(|n| n != test.network) {
                    problem("config.network differs from network");
                }
                if test.post_state.is_none() && test.post_state_hash.is_none() {
                    problem("neither postState nor postStateHash");
                }
                if test.blocks.is_empty() {
                    problem("no blocks");
                }
                for (i, block) in test.blocks.iter().enumerate() {
                    if block.is_invalid() {
                        counts.2 += 1;
                        if block.block_header.is_some() {
                            problem(&format!("block {i}: invalid, yet with blockHeader"));
                        }
                    } else if block.block_header.is_none() || block.transactions.is_none() {
                        problem(&format!("block {i}: valid, without blockHeader/transactions"));
                    }
                }
            }
        }

        let (mut tests, mut blocks, mut invalid) = (0, 0, 0);
        println!("{:<28} {:>6} {:>7} {:>8}", "network", "tests", "blocks", "invalid");
        for (network, (t, b, i)) in &per_network {
            println!("{network:<28} {t:>6} {b:>7} {i:>8}");
            (tests, blocks, invalid) = (tests + t, blocks + b, invalid + i);
        }
        println!("{:<28} {tests:>6} {blocks:>7} {invalid:>8}", "total");
        println!("{} files", files.len());
        assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
        assert!(unknown.is_empty(), "keys the fixture types do not model: {unknown:?}");
        assert!(tests > 0, "no tests under {}", dir.display());
    }
}
