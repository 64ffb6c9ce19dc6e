//! The execution-spec-tests `state_test` fixture format as serde types.
//!
//! Only what the runner uses is modelled; other fields (`_info`, `txbytes`, `secretKey`) are
//! ignored. Quantities go through [`Quantity`], which accepts the spellings fixtures use.

use std::collections::BTreeMap;
use std::fmt;

use alloy_primitives::{Address, Bytes, B256, U256};
use serde::{de, Deserialize, Deserializer};

/// A fixture file: test name → test.
pub type FixtureFile = BTreeMap<String, StateTest>;

#[derive(Clone, Debug, Deserialize)]
pub struct StateTest {
    pub env: Env,
    pub pre: BTreeMap<Address, Account>,
    pub transaction: Transaction,
    /// Fork name, as written in the fixture → cases.
    pub post: BTreeMap<String, Vec<PostCase>>,
    #[serde(default)]
    pub config: Config,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Env {
    pub current_coinbase: Address,
    pub current_gas_limit: Quantity,
    pub current_number: Quantity,
    pub current_timestamp: Quantity,
    /// A quantity rather than a B256 so that short spellings left-pad like the other numbers.
    pub current_random: Option<Quantity>,
    #[serde(default)]
    pub current_difficulty: Quantity,
    pub current_base_fee: Option<Quantity>,
    pub current_excess_blob_gas: Option<Quantity>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Account {
    pub nonce: Quantity,
    pub balance: Quantity,
    #[serde(default)]
    pub code: HexBytes,
    #[serde(default)]
    pub storage: BTreeMap<Quantity, Quantity>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    pub nonce: Quantity,
    pub gas_price: Option<Quantity>,
    pub max_fee_per_gas: Option<Quantity>,
    pub max_priority_fee_per_gas: Option<Quantity>,
    pub gas_limit: Vec<Quantity>,
    /// `None` for contract creation (`""`, `null` or missing).
    #[serde(default, deserialize_with = "deserialize_to")]
    pub to: Option<Address>,
    pub value: Vec<Quantity>,
    pub data: Vec<HexBytes>,
    /// One list per `data` entry; an entry may be `null`.
    pub access_lists: Option<Vec<Option<Vec<AccessListEntry>>>>,
    pub sender: Address,
    pub blob_versioned_hashes: Option<Vec<B256>>,
    pub max_fee_per_blob_gas: Option<Quantity>,
    pub authorization_list: Option<Vec<AuthorizationEntry>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessListEntry {
    pub address: Address,
    #[serde(default)]
    pub storage_keys: Vec<B256>,
}

/// An EIP-7702 authorization tuple (state tests and blockchain tests alike; the `signer` a
/// blockchain test writes is left out: the authority is recovered from the signature).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationEntry {
    pub chain_id: Quantity,
    pub address: Address,
    pub nonce: Quantity,
    pub v: Option<Quantity>,
    pub y_parity: Option<Quantity>,
    pub r: Quantity,
    pub s: Quantity,
}

/// `config` (state tests and blockchain tests alike): the chain id and the blob schedule of
/// every fork the test reaches.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    /// A blockchain test's network again.
    pub network: Option<String>,
    pub chainid: Option<Quantity>,
    /// Fork name (`Cancun`, `Prague`, `Osaka`, `BPO1`, …) → blob parameters for that fork.
    pub blob_schedule: Option<BTreeMap<String, BlobScheduleEntry>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlobScheduleEntry {
    pub target: Quantity,
    pub max: Quantity,
    pub base_fee_update_fraction: Quantity,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostCase {
    /// Expected state root after the transaction.
    pub hash: B256,
    /// Expected hash of the logs.
    pub logs: B256,
    pub indexes: Indexes,
    /// `|`-separated exception names, any of which the transaction must be rejected with.
    pub expect_exception: Option<String>,
    /// The full expected post state; only used to explain a state-root mismatch.
    #[serde(default)]
    pub state: Option<BTreeMap<Address, Account>>,
}

/// Which `data`, `gasLimit` and `value` entries of the transaction a case uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct Indexes {
    pub data: usize,
    pub gas: usize,
    pub value: usize,
}

/// A 256-bit number as fixtures write it: `"0x…"` hex (leading zeros allowed, `"0x"` is zero),
/// a decimal string, or a JSON integer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(pub U256);

/// A fixture field the runtime cannot take as written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error("{what} {value} does not fit in 64 bits")]
    TooLarge { what: String, value: U256 },
    #[error("{what} index {index} out of range ({len} entries)")]
    IndexOutOfRange { what: &'static str, index: usize, len: usize },
    #[error("blobSchedule baseFeeUpdateFraction must not be zero")]
    ZeroBlobFeeFraction,
    /// A field a transaction of its kind needs is absent.
    #[error("{0}")]
    Missing(&'static str),
}

impl Quantity {
    /// The value as a u64, or an error naming `what` when it does not fit.
    pub fn to_u64(self, what: &str) -> Result<u64, EnvError> {
        u64::try_from(self.0).map_err(|_| EnvError::TooLarge { what: what.into(), value: self.0 })
    }
}

/// Parses a quantity; see [`Quantity`].
pub fn parse_quantity(s: &str) -> Result<U256, String> {
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        let digits = hex.trim_start_matches('0');
        if let Some(bad) = digits.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(format!("invalid quantity {s:?}: {bad:?} is not a hex digit"));
        }
        if digits.len() > 64 {
            return Err(format!("invalid quantity {s:?}: more than 256 bits"));
        }
        // Left-pad to 64 digits and decode as big-endian bytes; this avoids ruint's parser,
        // which skips separators such as `_` that a fixture must not contain.
        let padded = format!("{digits:0>64}");
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&padded[2 * i..2 * i + 2], 16)
                .map_err(|e| format!("invalid quantity {s:?}: {e}"))?;
        }
        return Ok(U256::from_be_bytes(bytes));
    }
    if s.is_empty() {
        return Err("invalid quantity \"\": empty".to_string());
    }
    if let Some(bad) = s.chars().find(|c| !c.is_ascii_digit()) {
        return Err(format!("invalid quantity {s:?}: {bad:?} is not a digit"));
    }
    U256::from_str_radix(s, 10).map_err(|_| format!("invalid quantity {s:?}: more than 256 bits"))
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = Quantity;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a hex quantity such as \"0x1f\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Quantity, E> {
                parse_quantity(s).map(Quantity).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Quantity, E> {
                Ok(Quantity(U256::from(v)))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// Byte strings written as `"0x…"` hex (`"0x"` and `""` are empty).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HexBytes(pub Bytes);

impl<'de> Deserialize<'de> for HexBytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        alloy_primitives::hex::decode(s.as_ref())
            .map(|v| HexBytes(v.into()))
            .map_err(|e| de::Error::custom(format!("invalid hex data ({e})")))
    }
}

/// A transaction's `to`: empty or absent for a create.
pub(crate) fn deserialize_to<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Address>, D::Error> {
    let s = Option::<std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
    match s.as_deref() {
        None | Some("") => Ok(None),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|e| de::Error::custom(format!("invalid `to` address {s:?} ({e})"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Result<U256, String> {
        parse_quantity(s)
    }

    #[test]
    fn quantities() {
        assert_eq!(q("0x").unwrap(), U256::ZERO);
        assert_eq!(q("0x00").unwrap(), U256::ZERO);
        assert_eq!(q("0x0001").unwrap(), U256::from(1));
        assert_eq!(q("0X1f").unwrap(), U256::from(31));
        assert_eq!(q("0xABCdef").unwrap(), U256::from(0xabcdef));
        assert_eq!(q("1234").unwrap(), U256::from(1234));
        assert_eq!(q(&format!("0x{}", "f".repeat(64))).unwrap(), U256::MAX);
        // Leading zeros do not count against the 256-bit limit.
        assert_eq!(q(&format!("0x{}1", "0".repeat(100))).unwrap(), U256::from(1));
        assert!(q(&format!("0x1{}", "0".repeat(64))).unwrap_err().contains("256 bits"));
        assert!(q("0x1_0").unwrap_err().contains("'_'"));
        assert!(q("0xzz").is_err());
        assert!(q("").is_err());
        assert!(q("-1").is_err());
        assert!(q("12a").is_err());
        assert!(q(&"9".repeat(100)).is_err());
    }

    #[test]
    fn quantity_to_u64() {
        assert_eq!(Quantity(U256::from(7)).to_u64("gas").unwrap(), 7);
        let err = Quantity(U256::from(u64::MAX) + U256::from(1)).to_u64("gas").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("gas {} does not fit in 64 bits", U256::from(u64::MAX) + U256::from(1))
        );
    }

    #[test]
    fn quantity_from_json() {
        let v: Vec<Quantity> = serde_json::from_str(r#"["0x10", 16, "16"]"#).unwrap();
        assert!(v.iter().all(|x| x.0 == U256::from(16)));
        let m: BTreeMap<Quantity, Quantity> = serde_json::from_str(r#"{"0x01": "0xff"}"#).unwrap();
        assert_eq!(m[&Quantity(U256::from(1))].0, U256::from(255));
        assert!(serde_json::from_str::<Quantity>("-1").is_err());
        assert!(serde_json::from_str::<Quantity>(r#""0xg""#).is_err());
    }

    const SMALL: &str = r#"{
      "test_one": {
        "env": {
          "currentCoinbase": "0x2adc25665018aa1fe0e6bc666dac8fc2697ff9ba",
          "currentGasLimit": "0x07270e00",
          "currentNumber": "0x01",
          "currentTimestamp": "0x03e8",
          "currentDifficulty": "0x00",
          "currentBaseFee": "0x07"
        },
        "pre": {
          "0x1ad41edb9130201ba8476168bcbf9bafe279f89d": {
            "nonce": "0x01", "balance": "0x", "code": "0x6001", "storage": {"0x01": "0xff"}
          }
        },
        "transaction": {
          "nonce": "0x00",
          "maxFeePerGas": "0x0a",
          "maxPriorityFeePerGas": "0x01",
          "gasLimit": ["0x4c4b40"],
          "to": "",
          "value": ["0x00"],
          "data": ["0x", "0x00ff"],
          "accessLists": [null, [{"address": "0x1ad41edb9130201ba8476168bcbf9bafe279f89d",
              "storageKeys": ["0x0000000000000000000000000000000000000000000000000000000000000001"]}]],
          "sender": "0x766b923079c2900993bafa89b07d66423481776e",
          "secretKey": "0xf792f84d3860ff35b56caae61ad41edb9130201ba8476168bcbf9bafe279f89d"
        },
        "post": {
          "Cancun": [{
            "hash": "0x26ee901705e7190e9f9b97d60e70ccc7b5ae6881b1609b379d5e683d5de99ec0",
            "logs": "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347",
            "txbytes": "0x00",
            "indexes": {"data": 1, "gas": 0, "value": 0},
            "expectException": "TransactionException.INTRINSIC_GAS_TOO_LOW",
            "state": {}
          }]
        },
        "config": {"chainid": "0x01"},
        "_info": {"comment": "ignored"}
      }
    }"#;

    #[test]
    fn parses_small_fixture() {
        let file: FixtureFile = serde_json::from_str(SMALL).unwrap();
        let test = &file["test_one"];
        assert_eq!(test.env.current_base_fee.unwrap().0, U256::from(7));
        assert!(test.env.current_random.is_none());
        let account = test.pre.values().next().unwrap();
        assert_eq!(account.balance.0, U256::ZERO);
        assert_eq!(account.code.0.as_ref(), &[0x60, 0x01]);
        assert_eq!(account.storage.len(), 1);
        let tx = &test.transaction;
        assert!(tx.to.is_none());
        assert_eq!(tx.data[1].0.as_ref(), &[0x00, 0xff]);
        let lists = tx.access_lists.as_ref().unwrap();
        assert!(lists[0].is_none());
        assert_eq!(lists[1].as_ref().unwrap()[0].storage_keys.len(), 1);
        let case = &test.post["Cancun"][0];
        assert_eq!(case.indexes, Indexes { data: 1, gas: 0, value: 0 });
        assert!(case.expect_exception.as_deref().unwrap().contains("INTRINSIC"));
        assert_eq!(test.config.chainid.unwrap().0, U256::from(1));
    }

    #[test]
    fn malformed_fixture_errors_name_the_problem() {
        let missing = SMALL.replace("\"sender\"", "\"senderX\"");
        let err = serde_json::from_str::<FixtureFile>(&missing).unwrap_err();
        assert!(err.to_string().contains("missing field `sender`"), "{err}");

        let bad_hex = SMALL.replace("\"0x6001\"", "\"0x60z1\"");
        let err = serde_json::from_str::<FixtureFile>(&bad_hex).unwrap_err();
        assert!(err.to_string().contains("invalid hex data"), "{err}");

        let bad_to = SMALL.replace("\"to\": \"\"", "\"to\": \"0x12\"");
        let err = serde_json::from_str::<FixtureFile>(&bad_to).unwrap_err();
        assert!(err.to_string().contains("invalid `to` address"), "{err}");
    }
}
