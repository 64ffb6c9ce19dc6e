//! Watching a transaction: a contract that logs and calls another, run through
//! `Evm::inspect` with an inspector that counts instructions, calls and logs, then again with
//! the EIP-3155 tracer writing a trace to stderr.
//!
//! `cargo run --release --example inspect`

use kiln::primitives::{address, Bytes, B256, U256};
use kiln::{Action, Context, Evm, FrameResult, InMemoryDb, Inspector, JsonTracer, Log};
use kiln::{SpecId, Status, TxEnv, TxKind};

/// Counts what it is shown.
#[derive(Default)]
struct Counter {
    steps: usize,
    calls: Vec<usize>,
    ended: usize,
    logs: Vec<Log>,
}

impl Inspector for Counter {
    const ENABLED: bool = true;

    fn step(&mut self, _ctx: &Context, _opcode: u8) {
        self.steps += 1;
    }

    fn frame_end(&mut self, _ctx: &Context, _status: Status) {}

    fn call(&mut self, _action: &Action, depth: usize) {
        self.calls.push(depth);
    }

    fn call_end(&mut self, _result: &FrameResult) {
        self.ended += 1;
    }

    fn log(&mut self, log: &Log) {
        self.logs.push(log.clone());
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sender = address!("2000000000000000000000000000000000000000");
    let outer = address!("1000000000000000000000000000000000000000");
    let inner = address!("1000000000000000000000000000000000000001");
    // LOG1 with topic 7 over no data, then CALL `inner` with all the gas and no value.
    let outer_code = Bytes::from_static(&[
        0x60, 0x07, 0x5f, 0x5f, 0xa1, // PUSH1 7, PUSH0, PUSH0, LOG1
        0x5f, 0x5f, 0x5f, 0x5f, 0x5f, // retLen retOff argLen argOff value
        0x73, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0x01, // PUSH20 inner
        0x5a, 0xf1, 0x00, // GAS, CALL, STOP
    ]);
    // inner: STOP.
    let mut db = InMemoryDb::new();
    db.insert_account(sender, U256::from(10).pow(U256::from(18)), 0, Bytes::new(), []);
    db.insert_account(outer, U256::ZERO, 1, outer_code, []);
    db.insert_account(inner, U256::ZERO, 1, Bytes::from_static(&[0x00]), []);

    let mut evm = Evm::builder(db).spec(SpecId::Prague).build()?;
    let tx = TxEnv {
        caller: sender,
        kind: TxKind::Call(outer),
        gas_limit: 100_000,
        gas_price: U256::ZERO,
        ..TxEnv::default()
    };
    let mut counter = Counter::default();
    let run = evm.inspect(&tx, &mut counter)?;
    println!(
        "{} instructions, frames started at depths {:?} ({} ended), {} log(s); gas used {}",
        counter.steps,
        counter.calls,
        counter.ended,
        counter.logs.len(),
        run.result.gas_used()
    );
    assert!(run.result.is_success());

    assert_eq!(counter.calls, [0, 1]);
    assert_eq!(counter.ended, 2);
    assert_eq!(counter.logs[0].topics, [B256::from(U256::from(7))]);
    // Inspecting changes nothing and gives the result a plain run gives.
    assert_eq!(evm.transact(&tx)?, run);

    // The EIP-3155 tracer is an inspector too: one JSON line per instruction.
    let mut tracer = JsonTracer::new(std::io::stderr());
    evm.inspect(&tx, &mut tracer)?;
    Ok(())
}
