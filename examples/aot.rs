//! Ahead-of-time compilation: a contract compiled into a shared object, the object loaded,
//! and the contract run from it by `kiln::Evm` from its first call.
//!
//! `cargo run --release --example aot`

use kiln::primitives::{address, Bytes, U256};
use kiln::{AotCompiler, AotLibrary, Evm, InMemoryDb, SpecId, TxEnv, TxKind};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Returns CALLDATALOAD(0) * 2.
    let code = [0x5f, 0x35, 0x60, 0x02, 0x02, 0x5f, 0x52, 0x60, 0x20, 0x5f, 0xf3];
    let path = std::env::temp_dir().join(format!("kiln-example-{}.so", std::process::id()));
    let mut compiler = AotCompiler::new()?;
    compiler.add(&code, SpecId::Prague)?;
    compiler.write_library(&path)?;
    // The library is checked (ELF structure, Kiln's header and index) before it is loaded.
    let library = AotLibrary::open(&path)?;
    std::fs::remove_file(&path)?;
    println!("{} holds {} contract(s)", path.display(), library.len());

    let sender = address!("2000000000000000000000000000000000000000");
    let doubler = address!("1000000000000000000000000000000000000000");
    let mut db = InMemoryDb::new();
    db.insert_account(sender, U256::from(10).pow(U256::from(18)), 0, Bytes::new(), []);
    db.insert_account(doubler, U256::ZERO, 1, Bytes::copy_from_slice(&code), []);
    let mut evm = Evm::builder(db).spec(SpecId::Prague).aot_library(library).build()?;
    let tx = TxEnv {
        caller: sender,
        kind: TxKind::Call(doubler),
        data: U256::from(21).to_be_bytes::<32>().to_vec().into(),
        gas_limit: 100_000,
        gas_price: U256::ZERO,
        ..TxEnv::default()
    };
    let result = evm.transact_commit(&tx)?;
    let doubled = U256::from_be_slice(result.output());
    println!("21 * 2 = {doubled}, gas used {}", result.gas_used());
    assert_eq!(doubled, U256::from(42));
    // The builder's default engine is tiered, with the library's contracts native from their
    // first call (`Execution::Aot` runs the library and the interpreter alone).
    let stats = evm.stats().expect("a tiered engine");
    println!("executions from the AOT library: {}", stats.aot_executions);
    assert_eq!(stats.aot_executions, 1);
    Ok(())
}
