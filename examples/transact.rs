//! Transactions over an in-memory state: a contract that counts its calls in storage, called
//! five times through `kiln::Evm` with tiered execution (compiled after its second call), then
//! the tier statistics.
//!
//! `cargo run --release --example transact`

use kiln::evm::Tier;
use kiln::primitives::{address, Bytes, U256};
use kiln::{Evm, InMemoryDb, SpecId, TierConfig, TxEnv, TxKind};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // SLOAD 0, +1, SSTORE 0, and return the new count.
    let code = Bytes::from_static(&[
        0x5f, 0x54, 0x60, 0x01, 0x01, 0x80, 0x5f, 0x55, 0x5f, 0x52, 0x60, 0x20, 0x5f, 0xf3,
    ]);
    let sender = address!("2000000000000000000000000000000000000000");
    let counter = address!("1000000000000000000000000000000000000000");
    let mut db = InMemoryDb::new();
    db.insert_account(sender, U256::from(10).pow(U256::from(18)), 0, Bytes::new(), []);
    db.insert_account(counter, U256::ZERO, 1, code, []);

    let config = TierConfig { threshold: 2, ..TierConfig::default() };
    let mut evm = Evm::builder(db).spec(SpecId::Prague).tier_config(config).build()?;
    for nonce in 0..5 {
        let tx = TxEnv {
            caller: sender,
            kind: TxKind::Call(counter),
            nonce,
            gas_limit: 100_000,
            gas_price: U256::ZERO,
            ..TxEnv::default()
        };
        let result = evm.transact_commit(&tx)?;
        let count = U256::from_be_slice(result.output());
        println!("call {}: count {count}, gas used {}", nonce + 1, result.gas_used());
        assert_eq!(count, U256::from(nonce + 1));
        if nonce == 1 {
            // Only so that the output is the same every run: execution never waits for the
            // compiler, which works in the background.
            evm.tiers().expect("the default engine is tiered").wait_idle();
        }
    }
    let stats = evm.stats().expect("the default engine is tiered");
    println!(
        "executions: {} interpreted, {} native",
        stats.interp_executions, stats.native_executions
    );
    assert!(matches!(stats.contracts[0].tier, Tier::Native { .. }));
    Ok(())
}
