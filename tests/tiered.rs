//! Tiered execution through `kiln::Evm`: the move from interpreter to native code in the
//! middle of a workload, cache eviction, the size and compile-time fallbacks, AOT code from the
//! first call, and several threads sharing one code cache. Every tiered result is compared
//! with the interpreter's on the same transactions (result and state changes).

#[allow(dead_code)]
#[path = "differential/asm.rs"]
mod asm;

use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use asm::Asm;
use kiln::evm::{InterpReason, Tier};
use kiln::{
    BlockEnv, CodeTier, DatabaseCommit, Evm, InMemoryDb, SpecId, TierConfig, Tiers, TxEnv, TxKind,
};
use kiln_frontend::opcode as op;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const SPEC: SpecId = SpecId::Prague;
const DUP2: u8 = op::DUP1 + 1;
const SENDER: Address = Address::repeat_byte(0x5e);

/// `sum(1..=n)` for `n` in the first calldata word: stored in slot 0 and returned. `tag`
/// follows the code, unreachable, to give otherwise identical contracts distinct hashes.
fn summing_loop(tag: u8) -> Vec<u8> {
    let mut a = Asm::new();
    let (top, end) = (a.label(), a.label());
    a.push_u(0);
    a.op(op::CALLDATALOAD);
    a.push_u(0); // acc, n
    a.bind(top);
    a.ops(&[DUP2, op::ISZERO]);
    a.jumpi(end);
    a.ops(&[DUP2, op::ADD, op::SWAP1]); // n, acc + n
    a.push_u(1);
    a.ops(&[op::SWAP1, op::SUB, op::SWAP1]); // acc + n, n - 1
    a.jump(top);
    a.bind(end);
    a.op(op::DUP1);
    a.push_u(0);
    a.op(op::SSTORE);
    a.push_u(0);
    a.op(op::MSTORE);
    a.push_u(32);
    a.push_u(0);
    a.op(op::RETURN);
    a.raw(&[op::STOP, tag]);
    a.finish()
}

/// Calls `callee` with calldata `c` for `c` from the first calldata word down to 1, adding
/// the returned words into slot 1: every call suspends this frame while the callee runs.
fn calling_loop(callee: Address) -> Vec<u8> {
    let mut a = Asm::new();
    let (top, end) = (a.label(), a.label());
    a.push_u(0);
    a.op(op::CALLDATALOAD); // c
    a.bind(top);
    a.ops(&[op::DUP1, op::ISZERO]);
    a.jumpi(end);
    a.op(op::DUP1);
    a.push_u(0);
    a.op(op::MSTORE);
    for arg in [32, 0, 32, 0, 0] {
        a.push_u(arg); // ret len, ret offset, args len, args offset, value
    }
    a.push(U256::from_be_slice(callee.as_slice()));
    a.ops(&[op::GAS, op::CALL, op::POP]);
    a.push_u(0);
    a.op(op::MLOAD);
    a.push_u(1);
    a.ops(&[op::SLOAD, op::ADD]);
    a.push_u(1);
    a.op(op::SSTORE);
    a.push_u(1);
    a.ops(&[op::SWAP1, op::SUB]);
    a.jump(top);
    a.bind(end);
    a.op(op::STOP);
    a.finish()
}

fn contract_address(i: usize) -> Address {
    let mut bytes = [0xcc; 20];
    bytes[19] = i as u8;
    Address::from(bytes)
}

/// A funded sender and `codes` deployed at [`contract_address`] 0, 1, ...
fn world(codes: &[Vec<u8>]) -> InMemoryDb {
    let mut db = InMemoryDb::new();
    db.insert_account(SENDER, U256::from(1u128 << 100), 0, Bytes::new(), []);
    for (i, code) in codes.iter().enumerate() {
        db.insert_account(contract_address(i), U256::ZERO, 1, Bytes::from(code.clone()), []);
    }
    db
}

fn block() -> BlockEnv {
    BlockEnv {
        number: U256::from(1),
        timestamp: U256::from(1),
        gas_limit: 30_000_000,
        basefee: 0,
        ..BlockEnv::default()
    }
}

fn call(to: Address, arg: u64, nonce: u64) -> TxEnv {
    TxEnv {
        caller: SENDER,
        gas_limit: 10_000_000,
        gas_price: U256::ZERO,
        kind: TxKind::Call(to),
        data: Bytes::from(U256::from(arg).to_be_bytes::<32>().to_vec()),
        nonce,
        chain_id: Some(1),
        ..TxEnv::default()
    }
}

fn evm(db: InMemoryDb, config: TierConfig) -> Evm<InMemoryDb> {
    Evm::builder(db).spec(SPEC).block(block()).tier_config(config).build().expect("evm starts")
}

/// What the policy of an EVM on a tiered engine (the builder's default) did so far.
fn tier_stats(evm: &Evm<InMemoryDb>) -> kiln::TierStats {
    evm.stats().expect("a tiered EVM")
}

fn tiers(evm: &Evm<InMemoryDb>) -> &Arc<Tiers> {
    evm.tiers().expect("a tiered EVM")
}

fn tiered(threshold: u64) -> TierConfig {
    TierConfig { threshold, ..TierConfig::default() }
}

/// Runs `tx` once on each EVM, asserts identical results and state changes, and commits them.
fn same(reference: &mut Evm<InMemoryDb>, subject: &mut Evm<InMemoryDb>, tx: &TxEnv) {
    let want = reference.transact(tx).expect("valid transaction");
    let got = subject.transact(tx).expect("valid transaction");
    assert_eq!(got, want, "tx to {:?} nonce {}", tx.kind, tx.nonce);
    assert!(want.result.is_success(), "{:?}", want.result);
    reference.db_mut().commit(want.state);
    subject.db_mut().commit(got.state);
}

fn code_hash(code: &[u8]) -> B256 {
    keccak256(code)
}

fn contract<'a>(stats: &'a kiln::TierStats, code: &[u8]) -> &'a kiln::evm::ContractStats {
    let hash = code_hash(code);
    stats.contracts.iter().find(|c| c.code_hash == hash).expect("contract seen")
}

#[test]
fn hot_contract_moves_to_native_mid_workload_with_identical_results() {
    let code = summing_loop(0);
    let mut interp = evm(world(std::slice::from_ref(&code)), TierConfig::interpreter_only());
    let mut subject = evm(world(std::slice::from_ref(&code)), tiered(3));
    let mut nonce = 0;
    let mut run = |n: u64, interp: &mut Evm<_>, subject: &mut Evm<_>| {
        same(interp, subject, &call(contract_address(0), n, nonce));
        nonce += 1;
    };
    run(10, &mut interp, &mut subject);
    run(20, &mut interp, &mut subject);
    // Two executions so far, below the threshold: still interpreted and not queued.
    let stats = tier_stats(&subject);
    assert_eq!(contract(&stats, &code).tier, Tier::Interpreter(InterpReason::Cold));
    assert_eq!((stats.interp_executions, stats.native_executions), (2, 0));
    tiers(&subject).wait_idle();
    assert_eq!(tier_stats(&subject).compiled, 0);
    // The third execution reaches the threshold: it runs interpreted and queues a compile.
    run(30, &mut interp, &mut subject);
    tiers(&subject).wait_idle();
    assert_eq!(tier_stats(&subject).compiled, 1);
    for n in [0, 1, 1000, 7, 5] {
        run(n, &mut interp, &mut subject);
    }
    let stats = tier_stats(&subject);
    let c = contract(&stats, &code);
    assert!(matches!(c.tier, Tier::Native { .. }), "{:?}", c.tier);
    assert_eq!((c.executions, c.native_executions), (8, 5));
    assert_eq!(tier_stats(&interp).native_executions, 0);
    // The last call stored sum(1..=5) in both worlds.
    for world in [interp.db(), subject.db()] {
        assert_eq!(
            world.account(&contract_address(0)).unwrap().storage[&U256::ZERO],
            U256::from(15)
        );
    }
}

/// [`summing_loop`] on a tiered EVM and on the interpreter, side by side.
struct SummingPair {
    interp: Evm<InMemoryDb>,
    subject: Evm<InMemoryDb>,
    nonce: u64,
}

impl SummingPair {
    fn new(tag: u8, config: TierConfig) -> Self {
        let code = summing_loop(tag);
        let interp = evm(world(std::slice::from_ref(&code)), TierConfig::interpreter_only());
        let subject = evm(world(std::slice::from_ref(&code)), config);
        Self { interp, subject, nonce: 0 }
    }

    /// Sums to `n` on both, asserting identical results, then waits for queued compiles.
    fn run(&mut self, n: u64) {
        same(&mut self.interp, &mut self.subject, &call(contract_address(0), n, self.nonce));
        self.nonce += 1;
        tiers(&self.subject).wait_idle();
    }

    fn stats(&self) -> kiln::TierStats {
        tier_stats(&self.subject)
    }
}

/// Runs [`summing_loop`]`(tag)` with each of `args` ([`SummingPair::run`]); the stats.
fn summing_runs(
    tag: u8,
    config: TierConfig,
    args: impl IntoIterator<Item = u64>,
) -> kiln::TierStats {
    let mut pair = SummingPair::new(tag, config);
    args.into_iter().for_each(|n| pair.run(n));
    pair.stats()
}

/// A contract compiled from what its runs entered holds only that: a later run that takes
/// another path leaves the compiled code for the interpreter where it does, with the same
/// result, and once runs leave it often enough it is compiled again with what they entered.
#[test]
fn partial_units_leave_for_the_interpreter_then_widen() {
    // Two runs interpreted, the second queuing the compile: by then the first has recorded
    // its blocks, whatever the worker's timing. n = 0 never enters the loop's body.
    let mut pair = SummingPair::new(7, tiered(2));
    pair.run(0);
    pair.run(0);
    let stats = pair.stats();
    assert!(matches!(contract(&stats, &summing_loop(7)).tier, Tier::Native { .. }));
    pair.run(0);
    assert_eq!(pair.stats().left_native, 0, "the path it was compiled for");
    // The body is not in the unit: each run leaves for the interpreter at it.
    pair.run(5);
    let stats = pair.stats();
    assert_eq!((stats.left_native, stats.widened, stats.compiled), (1, 0, 1));
    // The run after the eighth that left queues the unit's compile with the body in it.
    (6..14).for_each(|n| pair.run(n));
    let stats = pair.stats();
    assert_eq!((stats.left_native, stats.widened, stats.compiled), (9, 1, 2));
    [20, 0, 3].into_iter().for_each(|n| pair.run(n));
    let stats = pair.stats();
    assert_eq!(stats.left_native, 9, "the widened unit holds the body");
    assert_eq!(contract(&stats, &summing_loop(7)).native_executions, 13);
}

/// A block compiled code left for is recorded even when no interpreted instruction led to it:
/// with n = 1 the loop's body (a JUMPI's fall-through) runs once, entered from compiled code,
/// and the interpreter's own JUMPI then jumps out of the loop.
#[test]
fn blocks_entered_from_compiled_code_are_recorded() {
    let stats = summing_runs(9, tiered(2), [0, 0].into_iter().chain([1; 12]));
    // Eight runs left, the ninth queued the wider compile (and left too); the rest ran in
    // the wider unit.
    assert_eq!((stats.left_native, stats.widened, stats.compiled), (9, 1, 2));
}

/// Whole contracts (`partial: false`) never leave compiled code.
#[test]
fn whole_units_never_leave_for_the_interpreter() {
    let stats = summing_runs(8, TierConfig { partial: false, ..tiered(1) }, [0, 0, 5, 9, 0]);
    assert_eq!((stats.left_native, stats.widened, stats.native_executions), (0, 0, 4));
}

/// Quick code runs first; after `optimize_after` native executions the optimizing unit
/// replaces it, in place in the cache's accounting, and nothing is compiled again.
#[test]
fn quick_code_is_replaced_by_optimizing_code() {
    let code = summing_loop(2);
    let mut interp = evm(world(std::slice::from_ref(&code)), TierConfig::interpreter_only());
    let config = TierConfig { optimize_after: 2, ..tiered(1) };
    assert_eq!(config.first_tier, CodeTier::Quick);
    let mut subject = evm(world(std::slice::from_ref(&code)), config);
    let code_tier = |stats: &kiln::TierStats| match contract(stats, &code).tier {
        Tier::Native { code_tier, .. } => Some(code_tier),
        _ => None,
    };
    let mut tiers_seen = Vec::new();
    for nonce in 0..6 {
        same(&mut interp, &mut subject, &call(contract_address(0), 30 + nonce, nonce));
        tiers(&subject).wait_idle();
        tiers_seen.push(code_tier(&tier_stats(&subject)));
    }
    use CodeTier::{Optimizing, Quick};
    // Interpreted once (queuing the quick compile), quick code twice (the second reaching
    // `optimize_after`, queuing the optimizing compile), optimizing code from then on.
    assert_eq!(
        tiers_seen,
        [
            Some(Quick),
            Some(Quick),
            Some(Optimizing),
            Some(Optimizing),
            Some(Optimizing),
            Some(Optimizing)
        ]
    );
    let stats = tier_stats(&subject);
    assert_eq!((stats.quick.compiled, stats.optimizing.compiled, stats.optimized), (1, 1, 1));
    assert_eq!(stats.compiled, 2);
    assert_eq!((stats.interp_executions, stats.native_executions), (1, 5));
    let optimizing =
        kiln_codegen::compile_standalone(&code, SPEC, Optimizing).expect("compiles").memory_bytes();
    assert_eq!(stats.cache_bytes, optimizing, "the quick unit's bytes were released");
    assert_eq!(stats.native_contracts(), 1);
}

/// A contract whose one execution runs a long loop turns hot by the gas its interpreted
/// frames report, long before its executions reach the threshold.
#[test]
fn gas_run_interpreted_makes_a_contract_hot() {
    let code = summing_loop(4);
    let mut interp = evm(world(std::slice::from_ref(&code)), TierConfig::interpreter_only());
    let config = TierConfig { threshold: 1000, gas_threshold: 20_000, ..TierConfig::default() };
    let mut subject = evm(world(std::slice::from_ref(&code)), config);
    // 1,000 iterations: well over 20,000 gas in the one frame.
    same(&mut interp, &mut subject, &call(contract_address(0), 1000, 0));
    tiers(&subject).wait_idle();
    assert_eq!(tier_stats(&subject).compiled, 0, "executions alone are far from 1000");
    // The second execution finds the gas reported and queues the compile.
    same(&mut interp, &mut subject, &call(contract_address(0), 3, 1));
    tiers(&subject).wait_idle();
    same(&mut interp, &mut subject, &call(contract_address(0), 5, 2));
    let stats = tier_stats(&subject);
    assert_eq!(stats.compiled, 1, "{stats:?}");
    assert_eq!((stats.interp_executions, stats.native_executions), (2, 1), "{stats:?}");
}

/// Each tier on its own: quick code is never replaced, and optimizing code comes without a
/// quick tier first.
#[test]
fn each_tier_can_be_forced_alone() {
    for tier in CodeTier::ALL {
        let code = summing_loop(3);
        let mut interp = evm(world(std::slice::from_ref(&code)), TierConfig::interpreter_only());
        let config = TierConfig { threshold: 1, ..TierConfig::only(tier) };
        let mut subject = evm(world(std::slice::from_ref(&code)), config);
        for nonce in 0..5 {
            same(&mut interp, &mut subject, &call(contract_address(0), 7 + nonce, nonce));
            tiers(&subject).wait_idle();
        }
        let stats = tier_stats(&subject);
        assert!(
            matches!(contract(&stats, &code).tier, Tier::Native { code_tier, .. } if code_tier == tier),
            "{tier}: {stats:?}"
        );
        let compiled = match tier {
            CodeTier::Quick => (1, 0),
            CodeTier::Optimizing => (0, 1),
        };
        assert_eq!((stats.quick.compiled, stats.optimizing.compiled), compiled, "{tier}");
        assert_eq!(stats.native_executions, 4, "{tier}");
    }
}

/// The pre-state and first transaction of a one-test transaction fixture (the benchmark
/// contracts' format). The tool's full loader is private to the binary; these fixtures use
/// only these fields, and a default block.
fn transaction_fixture(path: &Path) -> (InMemoryDb, TxEnv) {
    let text = std::fs::read_to_string(path).expect("fixture readable");
    let json: serde_json::Value = serde_json::from_str(&text).expect("fixture is JSON");
    let test = json.as_object().and_then(|o| o.values().next()).expect("one test");
    let word = |v: &serde_json::Value| v.as_str().expect("hex string").parse::<U256>().unwrap();
    let bytes = |v: &serde_json::Value| {
        Bytes::from(alloy_primitives::hex::decode(v.as_str().unwrap()).unwrap())
    };
    let address = |s: &str| s.parse::<Address>().expect("address");
    let mut pre = InMemoryDb::new();
    for (addr, acc) in test["pre"].as_object().expect("pre") {
        let storage = acc["storage"].as_object().expect("storage").iter();
        let storage: Vec<(U256, U256)> =
            storage.map(|(k, v)| (k.parse().unwrap(), word(v))).collect();
        let nonce = word(&acc["nonce"]).to::<u64>();
        pre.insert_account(
            address(addr),
            word(&acc["balance"]),
            nonce,
            bytes(&acc["code"]),
            storage,
        );
    }
    let tx = &test["transaction"][0];
    let tx = TxEnv {
        caller: address(tx["sender"].as_str().unwrap()),
        kind: TxKind::Call(address(tx["to"].as_str().unwrap())),
        data: bytes(&tx["data"]),
        nonce: word(&tx["nonce"]).to(),
        value: word(&tx["value"]),
        gas_price: word(&tx["gasPrice"]),
        gas_limit: word(&tx["gasLimit"]).to(),
        ..TxEnv::default()
    };
    (pre, tx)
}

/// erc20_transfer moves interpreter -> quick -> optimizing mid-workload with the
/// interpreter's results and state throughout. The recompile is set to come after three
/// native executions, not by gas: erc20_transfer runs millions of gas a transaction, and by
/// the default gas threshold the recompile's timing against the last call was a race.
#[test]
fn benchmark_contract_transition_keeps_results_and_state() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/benchmarks/contracts/erc20_transfer.json");
    let (pre, template) = transaction_fixture(&path);
    let build = |config| {
        Evm::builder(pre.clone()).spec(SPEC).tier_config(config).build().expect("evm starts")
    };
    let config = TierConfig { optimize_after: 3, optimize_gas: u64::MAX, ..tiered(2) };
    let (mut interp, mut subject) = (build(TierConfig::interpreter_only()), build(config));
    for i in 0..8 {
        // The second call queued the quick compile, the fifth (the third native) the
        // optimizing one.
        if i == 2 || i == 5 {
            tiers(&subject).wait_idle();
        }
        let tx = TxEnv { nonce: template.nonce + i, ..template.clone() };
        same(&mut interp, &mut subject, &tx);
    }
    tiers(&subject).wait_idle();
    let stats = tier_stats(&subject);
    assert_eq!((stats.quick.compiled, stats.optimizing.compiled), (1, 1), "{stats:?}");
    assert_eq!(stats.optimized, 1, "{stats:?}");
    assert_eq!((stats.interp_executions, stats.native_executions), (2, 6), "{stats:?}");
}

#[test]
fn eviction_keeps_the_cache_within_budget() {
    let codes: Vec<Vec<u8>> = (0..4).map(summing_loop).collect();
    // One page: each compiled loop needs a page, so every install evicts the previous one.
    let config = TierConfig { threshold: 1, cache_budget: 4096, ..TierConfig::default() };
    let mut interp = evm(world(&codes), TierConfig::interpreter_only());
    let mut subject = evm(world(&codes), config);
    let mut nonce = 0;
    for round in 0..3 {
        for i in 0..codes.len() {
            same(&mut interp, &mut subject, &call(contract_address(i), 50 + round, nonce));
            nonce += 1;
            tiers(&subject).wait_idle();
            let stats = tier_stats(&subject);
            assert!(stats.cache_bytes <= 4096, "{stats:?}");
            assert!(stats.native_contracts() <= 1, "{stats:?}");
        }
    }
    let stats = tier_stats(&subject);
    // Each contract is compiled after its first execution of a round and evicted by the
    // next contract's compile before it runs again.
    assert_eq!(stats.compiled, 12, "{stats:?}");
    assert_eq!(stats.evictions, 11, "{stats:?}");
    assert!(stats.contracts.iter().all(|c| c.evictions >= 2), "{stats:?}");
    assert_eq!(stats.native_executions, 0);
    // The last one compiled is still cached, and runs natively.
    same(&mut interp, &mut subject, &call(contract_address(3), 9, nonce));
    assert_eq!(tier_stats(&subject).native_executions, 1);
}

#[test]
fn eviction_takes_the_least_recently_used() {
    let codes: Vec<Vec<u8>> = (10..13).map(summing_loop).collect();
    let unit = |code: &[u8]| {
        kiln_codegen::compile_standalone(code, SPEC, TierConfig::default().first_tier)
            .expect("compiles")
            .memory_bytes()
    };
    // Room for the first two; the third must evict one of them.
    let budget = unit(&codes[0]) + unit(&codes[1]);
    assert!(unit(&codes[2]) <= unit(&codes[1]));
    let config = TierConfig { threshold: 1, cache_budget: budget, ..TierConfig::default() };
    let mut interp = evm(world(&codes), TierConfig::interpreter_only());
    let mut subject = evm(world(&codes), config);
    // A and B compiled (in that order), then A runs natively: B is now the least recently
    // used, although A was compiled first.
    for (nonce, i) in [0, 1, 0, 2].into_iter().enumerate() {
        same(&mut interp, &mut subject, &call(contract_address(i), 8, nonce as u64));
        tiers(&subject).wait_idle();
    }
    let stats = tier_stats(&subject);
    let tier = |i: usize| contract(&stats, &codes[i]).tier.clone();
    assert!(matches!(tier(0), Tier::Native { .. }), "{stats:?}");
    assert_eq!(tier(1), Tier::Interpreter(InterpReason::Cold), "{stats:?}");
    assert!(matches!(tier(2), Tier::Native { .. }), "{stats:?}");
    assert_eq!((stats.evictions, contract(&stats, &codes[1]).evictions), (1, 1));
    assert_eq!(stats.native_executions, 1);
}

/// Calls `code` three times under `config` (waiting for compiles after each), checking each
/// result against the interpreter's; the policy's statistics after.
fn three_calls(code: &[u8], config: TierConfig) -> kiln::TierStats {
    let code = code.to_vec();
    let mut interp = evm(world(std::slice::from_ref(&code)), TierConfig::interpreter_only());
    let mut subject = evm(world(std::slice::from_ref(&code)), config);
    for nonce in 0..3 {
        same(&mut interp, &mut subject, &call(contract_address(0), 40, nonce));
        tiers(&subject).wait_idle();
    }
    tier_stats(&subject)
}

#[test]
fn oversized_contracts_stay_interpreted() {
    let code = summing_loop(1);
    let limit = code.len() - 1;
    let stats = three_calls(&code, TierConfig { max_code_size: limit, ..tiered(1) });
    let want = Tier::Interpreter(InterpReason::TooLarge { size: code.len(), limit });
    assert_eq!(contract(&stats, &code).tier, want);
    assert_eq!((stats.too_large, stats.compiled, stats.native_executions), (1, 0, 0));
    assert_eq!(stats.kept_interpreted().count(), 1);
}

#[test]
fn slow_compiles_are_discarded() {
    let code = summing_loop(2);
    let stats = three_calls(&code, TierConfig { compile_timeout: Duration::ZERO, ..tiered(1) });
    let Tier::Interpreter(InterpReason::CompileTooSlow { limit, .. }) =
        contract(&stats, &code).tier
    else {
        panic!("expected a compile time-out: {stats:?}");
    };
    assert_eq!(limit, Duration::ZERO);
    assert_eq!((stats.compile_too_slow, stats.compiled), (1, 0));
    assert_eq!((stats.native_executions, stats.cache_bytes), (0, 0));
}

#[test]
fn aot_library_runs_from_the_first_call() {
    let code = summing_loop(3);
    let mut compiler = kiln::AotCompiler::new().expect("AOT compiler");
    compiler.add(&code, SPEC).expect("compiles");
    let lib = compiler.into_library().expect("AOT build");
    let mut interp = evm(world(std::slice::from_ref(&code)), TierConfig::interpreter_only());
    let mut subject = Evm::builder(world(std::slice::from_ref(&code)))
        .spec(SPEC)
        .block(block())
        .tier_config(tiered(1))
        .aot_library(lib)
        .build()
        .expect("evm starts");
    same(&mut interp, &mut subject, &call(contract_address(0), 99, 0));
    let stats = tier_stats(&subject);
    assert_eq!((stats.aot_executions, stats.interp_executions), (1, 0), "{stats:?}");
    assert!(tiers(&subject).is_native(code_hash(&code), SPEC));
}

/// Four threads, each with its own EVM and state, run `2 * half` calls spread over the
/// contracts through `shared`, checking each against the interpreter; halfway, each waits for
/// the compiles queued so far.
fn run_threads(shared: &Arc<Tiers>, codes: &[Vec<u8>], half: u64) {
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (codes, shared) = (codes.to_vec(), shared.clone());
            std::thread::spawn(move || {
                let mut interp = evm(world(&codes), TierConfig::interpreter_only());
                let mut subject = Evm::builder(world(&codes))
                    .spec(SPEC)
                    .block(block())
                    .tiers(shared.clone())
                    .build()
                    .expect("evm starts");
                for nonce in 0..2 * half {
                    if nonce == half {
                        shared.wait_idle();
                    }
                    let to = contract_address((nonce as usize + t) % codes.len());
                    same(&mut interp, &mut subject, &call(to, 5 + nonce, nonce));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("thread agrees with the interpreter");
    }
    shared.wait_idle();
}

/// A caller that suspends (in native code) while its callee runs, and a third contract,
/// shared by four threads through one policy: each contract is compiled once, whichever
/// thread made it hot, and later calls on every thread run it natively.
#[test]
fn threads_share_one_code_cache() {
    let codes = vec![calling_loop(contract_address(1)), summing_loop(4), summing_loop(5)];
    let shared = Tiers::new(tiered(2)).expect("tiers start");
    run_threads(&shared, &codes, 6);
    let stats = shared.stats();
    assert_eq!(stats.contracts.len(), 3, "{stats:?}");
    assert_eq!((stats.compiled, stats.evictions), (3, 0), "{stats:?}");
    assert_eq!(stats.native_contracts(), 3, "{stats:?}");
    let total: u64 = stats.contracts.iter().map(|c| c.executions).sum();
    assert_eq!(total, stats.interp_executions + stats.native_executions);
    // Every thread's second half ran all three natively: 12 calls, plus the callee's frames.
    assert!(stats.native_executions > 12, "{stats:?}");
    assert_eq!(Arc::strong_count(&shared), 1);
}

/// As above under a budget that cannot hold all three units: units are evicted while other
/// threads may be running, or suspended, in them; results stay the interpreter's.
#[test]
fn threads_share_a_cache_under_eviction() {
    let codes = vec![calling_loop(contract_address(1)), summing_loop(6), summing_loop(7)];
    let sizes: Vec<usize> = codes
        .iter()
        .map(|c| {
            kiln_codegen::compile_standalone(c, SPEC, TierConfig::default().first_tier)
                .expect("compiles")
                .memory_bytes()
        })
        .collect();
    let budget = sizes.iter().sum::<usize>() - 1;
    let shared = Tiers::new(TierConfig { cache_budget: budget, ..tiered(2) }).expect("starts");
    run_threads(&shared, &codes, 6);
    let stats = shared.stats();
    assert!(stats.compiled >= 3, "{stats:?}");
    assert!(stats.evictions >= 1, "{stats:?}");
    assert!(stats.cache_bytes <= budget, "{stats:?}");
}
