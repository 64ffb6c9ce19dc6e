//! AOT shared objects: compile, link, load, run; refuse what is not a Kiln library.

use alloy_primitives::{keccak256, Address, Bytes, U256};
use kiln_codegen::{AotCompiler, AotLibrary, LoadError};
use kiln_runtime::handler::transact_native;
use kiln_runtime::{BlockEnv, CfgEnv, CodeCache, InMemoryDb, NoTracer, SpecId, TxEnv, TxKind};
use std::path::PathBuf;

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("kiln-aot-test-{}-{name}", std::process::id()))
}

/// Stores calldata[0] + calldata[1] at slot 0 and returns it.
const CODE: [u8; 16] = [
    0x5f, 0x35, 0x60, 0x20, 0x35, 0x01, 0x80, 0x5f, 0x55, 0x5f, 0x52, 0x60, 0x20, 0x5f, 0xf3, 0x00,
];

fn run(lib: Option<&mut AotLibrary>) -> (kiln_runtime::ExecutionResult, alloy_primitives::B256) {
    let contract = Address::repeat_byte(0xcc);
    let sender = Address::repeat_byte(0x11);
    let mut db = InMemoryDb::new();
    db.insert_account(contract, U256::ZERO, 1, Bytes::copy_from_slice(&CODE), []);
    db.insert_account(sender, U256::from(1u64 << 60), 0, Bytes::new(), []);
    let mut data = vec![0u8; 64];
    data[31] = 40;
    data[63] = 2;
    let tx = TxEnv {
        caller: sender,
        kind: TxKind::Call(contract),
        data: data.into(),
        gas_limit: 100_000,
        ..Default::default()
    };
    let block = BlockEnv { gas_limit: 30_000_000, ..Default::default() };
    let cfg = CfgEnv::new(SpecId::Prague);
    let native = lib.map(|l| l as &mut dyn kiln_runtime::NativeCode);
    let (r, changes) = transact_native(
        &mut db,
        &cfg,
        &block,
        &tx,
        &mut CodeCache::default(),
        native,
        &mut NoTracer,
    )
    .unwrap();
    kiln_runtime::DatabaseCommit::commit(&mut db, changes);
    (r, db.state_root())
}

#[test]
fn compiled_library_runs_like_the_interpreter() {
    let path = temp("ok.so");
    let mut compiler = AotCompiler::new().unwrap();
    compiler.add(&CODE, SpecId::Prague).unwrap();
    compiler.add(&CODE, SpecId::Prague).unwrap();
    assert_eq!(compiler.len(), 1, "duplicates compile once");
    compiler.write_library(&path).unwrap();
    let mut lib = AotLibrary::open(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(lib.get(keccak256(CODE), SpecId::Prague).is_some());
    assert!(lib.get(keccak256(CODE), SpecId::Osaka).is_none(), "compiled for Prague only");
    let native = run(Some(&mut lib));
    let interp = run(None);
    assert_eq!(native, interp);
    assert_eq!(native.0.output()[31], 42);
}

#[test]
fn refuses_files_that_are_not_kiln_libraries() {
    let path = temp("garbage.so");
    std::fs::write(&path, b"not an ELF file").unwrap();
    let err = AotLibrary::open(&path).err().expect("refused");
    assert!(matches!(err, LoadError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("not an ELF file"), "{err}");
    std::fs::remove_file(&path).unwrap();

    let missing = AotLibrary::open(&temp("missing.so")).err().expect("refused");
    assert!(missing.to_string().contains("cannot load"), "{missing}");
}

#[test]
fn refuses_a_shared_object_without_a_kiln_header() {
    // A valid shared object that is not Kiln's: an empty C file linked with cc.
    let c = temp("empty.c");
    let so = temp("empty.so");
    std::fs::write(&c, "int kiln_unrelated(void) { return 0; }\n").unwrap();
    let ok = std::process::Command::new("cc")
        .arg("-shared")
        .arg("-fPIC")
        .arg("-o")
        .arg(&so)
        .arg(&c)
        .status();
    if !ok.is_ok_and(|s| s.success()) {
        eprintln!("no C compiler; skipping");
        return;
    }
    let err = AotLibrary::open(&so).err().expect("refused");
    assert!(matches!(err, LoadError::NotKiln { .. }), "{err}");
    let _ = std::fs::remove_file(&c);
    let _ = std::fs::remove_file(&so);
}
