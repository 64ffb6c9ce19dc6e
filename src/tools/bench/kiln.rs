//! Kiln's modes prepared for timing: code compiled ahead of the timed runs, one engine (its
//! compiled code and analyses) kept across runs (a contract is analyzed once, as in a node).

use std::sync::Arc;
use std::time::{Duration, Instant};

use kiln::evm::{TierConfig, Tiers};
use kiln::{Engine, Evm};
use kiln_runtime::{EvmError, ExecutionResult, InMemoryDb, SpecId};

use super::compare::Outcome;
use super::measure::Workload;
use crate::tools::exec::{self, build_aot, ExecError};
use crate::tools::fixture::BenchFixture;
use crate::tools::mode::Mode;

/// What compiling a fixture's contracts cost, before any run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompileCost {
    pub contracts: usize,
    pub time: Duration,
    /// JIT: machine code emitted. AOT: the shared object file.
    pub code_bytes: u64,
}

/// One Kiln mode ready to run one fixture: an engine of its own (JIT: a fresh compiler with
/// the fixture's contracts compiled; AOT: a shared object built and loaded; tiered: a policy
/// of its own, started cold, so that contracts move to native code as the warm-up and the
/// timed runs reach the threshold, `KILN_TIER_*` configuring it), kept across runs.
pub struct KilnRunner {
    fixture: Arc<BenchFixture>,
    spec: SpecId,
    engine: Engine,
    compile: Option<CompileCost>,
}

impl KilnRunner {
    /// Compiles the fixture's contracts for `mode`, timing the compilation alone.
    pub fn new(fixture: Arc<BenchFixture>, mode: Mode, spec: SpecId) -> Result<Self, String> {
        let contracts = fixture.contracts();
        let fail = |e: &dyn std::fmt::Display| format!("{mode}: {e}");
        let engine = |tiers: Option<&Arc<Tiers>>, aot| {
            exec::engine(mode, tiers, aot).map_err(|e| match e {
                // The compiler's own words, as `jit: host not supported`.
                ExecError::Jit(e) => fail(&e),
                e => fail(&e),
            })
        };
        let (engine, compile) = match mode {
            Mode::Interp => (engine(None, None)?, None),
            Mode::Tiered => {
                let config = TierConfig::from_env().map_err(|e| fail(&e))?;
                let tiers = Tiers::new(config).map_err(|e| fail(&e))?;
                (engine(Some(&tiers), None)?, None)
            }
            Mode::Jit => {
                let engine = engine(None, None)?;
                let start = Instant::now();
                for (_, code) in &contracts {
                    // Compiled now, under the key the runtime looks up, so the timed runs hit.
                    engine.prepare(code, spec);
                }
                let time = start.elapsed();
                let stats = engine.jit_stats().unwrap_or_default();
                let code_bytes = stats.code_bytes as u64;
                (engine, Some(CompileCost { contracts: stats.compiled, time, code_bytes }))
            }
            Mode::Aot => {
                let build = build_aot(contracts.iter().map(|(_, code)| (code.to_vec(), spec)))
                    .map_err(|e| fail(&e))?;
                let cost = CompileCost {
                    contracts: build.library.len(),
                    time: build.build_time,
                    code_bytes: build.file_bytes,
                };
                (engine(None, Some(build.library))?, Some(cost))
            }
        };
        Ok(Self { fixture, spec, engine, compile })
    }

    pub fn compile_cost(&self) -> Option<CompileCost> {
        self.compile
    }

    /// An EVM for one run of the fixture, on `db`.
    fn evm<'db>(&self, db: &'db mut InMemoryDb) -> Evm<&'db mut InMemoryDb> {
        let block = self.fixture.block.clone();
        Evm::new(db, &self.engine, self.fixture.cfg(self.spec), block)
    }

    /// One untimed run, with the outcome of every transaction for the agreement check.
    pub fn outcomes(&mut self) -> Vec<Outcome> {
        let mut db = self.fixture.pre.clone();
        let mut evm = self.evm(&mut db);
        let fixture = Arc::clone(&self.fixture);
        fixture
            .txs
            .iter()
            .map(|tx| {
                let result = evm.transact_commit(tx);
                Outcome::from_kiln(&result, evm.db())
            })
            .collect()
    }
}

impl Workload for KilnRunner {
    fn run_once(&mut self) -> Duration {
        let fixture = Arc::clone(&self.fixture);
        let mut db = fixture.pre.clone();
        let mut evm = self.evm(&mut db);
        let mut results: Vec<Result<ExecutionResult, EvmError>> =
            Vec::with_capacity(fixture.txs.len());
        let start = Instant::now();
        for tx in &fixture.txs {
            results.push(evm.transact_commit(tx));
        }
        let elapsed = start.elapsed();
        // Dropped after the clock stops, as the copy and the EVM were made before it started.
        drop((evm, results));
        drop(db);
        elapsed
    }
}
