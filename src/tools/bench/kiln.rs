//! Kiln's modes prepared for timing: code compiled ahead of the timed runs, one code cache
//! kept across runs (a contract is analyzed once, as in a node).

use std::sync::Arc;
use std::time::{Duration, Instant};

use kiln_codegen::{AotLibrary, JitCompiler};
use kiln_runtime::code::AnalyzedCode;
use kiln_runtime::{
    CfgEnv, CodeCache, DatabaseCommit, EvmError, ExecutionResult, InMemoryDb, NativeCode, NoTracer,
    SpecId, Transact, TxEnv,
};

use super::compare::Outcome;
use super::measure::Workload;
use crate::tools::exec::build_aot;
use crate::tools::fixture::BenchFixture;
use crate::tools::mode::Mode;
use kiln::evm::{TierConfig, Tiers};

/// What compiling a fixture's contracts cost, before any run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompileCost {
    pub contracts: usize,
    pub time: Duration,
    /// JIT: machine code emitted. AOT: the shared object file.
    pub code_bytes: u64,
}

enum Native {
    None,
    Jit(Box<JitCompiler>),
    Aot(AotLibrary),
    /// A policy of its own, started cold: contracts move to native code as the warm-up and
    /// the timed runs reach the threshold (`KILN_TIER_*` configure it).
    Tiered(Arc<Tiers>),
}

/// One Kiln mode ready to run one fixture.
pub struct KilnRunner {
    fixture: Arc<BenchFixture>,
    cfg: CfgEnv,
    cache: CodeCache,
    native: Native,
    compile: Option<CompileCost>,
}

impl KilnRunner {
    /// Compiles the fixture's contracts for `mode` (JIT: a fresh compiler; AOT: a shared
    /// object built and loaded), timing the compilation alone.
    pub fn new(fixture: Arc<BenchFixture>, mode: Mode, spec: SpecId) -> Result<Self, String> {
        let contracts = fixture.contracts();
        let (native, compile) = match mode {
            Mode::Interp => (Native::None, None),
            Mode::Jit => {
                let mut jit = JitCompiler::new().map_err(|e| format!("jit: {e}"))?;
                let start = Instant::now();
                for (hash, code) in &contracts {
                    // `get` caches under the key the runtime looks up, so the timed runs hit.
                    jit.get(&AnalyzedCode::new(code.clone(), *hash), spec);
                }
                let time = start.elapsed();
                let code_bytes = jit.stats().code_bytes as u64;
                let cost = CompileCost { contracts: jit.stats().compiled, time, code_bytes };
                (Native::Jit(Box::new(jit)), Some(cost))
            }
            Mode::Aot => {
                let build = build_aot(contracts.iter().map(|(_, code)| (code.to_vec(), spec)))
                    .map_err(|e| format!("aot: {e}"))?;
                let cost = CompileCost {
                    contracts: build.library.len(),
                    time: build.build_time,
                    code_bytes: build.file_bytes,
                };
                (Native::Aot(build.library), Some(cost))
            }
            Mode::Tiered => {
                let config = TierConfig::from_env().map_err(|e| format!("tiered: {e}"))?;
                let tiers = Tiers::new(config).map_err(|e| format!("tiered: {e}"))?;
                (Native::Tiered(tiers), None)
            }
        };
        let cfg = fixture.cfg(spec);
        Ok(Self { fixture, cfg, cache: CodeCache::default(), native, compile })
    }

    pub fn compile_cost(&self) -> Option<CompileCost> {
        self.compile
    }

    fn transact(&mut self, db: &mut InMemoryDb, tx: &TxEnv) -> Result<ExecutionResult, EvmError> {
        let tiers = match &self.native {
            Native::Tiered(tiers) => Some(Arc::clone(tiers)),
            _ => None,
        };
        let mut session = tiers.as_ref().map(|t| t.session());
        let native: Option<&mut dyn NativeCode> = match (&mut self.native, session.as_mut()) {
            (_, Some(session)) => Some(session),
            (Native::None | Native::Tiered(_), None) => None,
            (Native::Jit(jit), None) => Some(jit.as_mut()),
            (Native::Aot(lib), None) => Some(lib),
        };
        let block = &self.fixture.block;
        let (cfg, cache) = (&self.cfg, &mut self.cache);
        let (result, changes) =
            Transact { db, cfg, block, tx, cache, native }.run(&mut NoTracer)?;
        db.commit(changes);
        Ok(result)
    }

    /// One untimed run, with the outcome of every transaction for the agreement check.
    pub fn outcomes(&mut self) -> Vec<Outcome> {
        let fixture = Arc::clone(&self.fixture);
        let mut db = fixture.pre.clone();
        fixture
            .txs
            .iter()
            .map(|tx| {
                let result = self.transact(&mut db, tx);
                Outcome::from_kiln(&result, &db)
            })
            .collect()
    }
}

impl Workload for KilnRunner {
    fn run_once(&mut self) -> Duration {
        let fixture = Arc::clone(&self.fixture);
        let mut db = fixture.pre.clone();
        let mut results = Vec::with_capacity(fixture.txs.len());
        let start = Instant::now();
        for tx in &fixture.txs {
            results.push(self.transact(&mut db, tx));
        }
        let elapsed = start.elapsed();
        // Dropped after the clock stops, as the copy was made before it started.
        drop((db, results));
        elapsed
    }
}
