//! Differential benchmarking (`kiln bench`): every mode runs every fixture, their results are
//! compared, and only then is each mode timed.
//!
//! - [`inputs`]: the fixtures to run (the embedded default set, or files and directories);
//! - [`engine`]: the modes compared: Kiln's interpreter, JIT and AOT, and revm;
//! - [`kiln`] / [`revm`]: each mode prepared for a fixture (code compiled, compile timed);
//! - [`compare`]: the agreement check (status, gas, output, logs, state root per transaction);
//! - [`measure`]: warm-up, repeated runs and their statistics;
//! - [`native`]: the limit rows, hand-written Rust doing a contract's work;
//! - [`table`]: the text and JSON reports.
//!
//! A run is "per whole transaction list": the fixture's transactions executed in order on a
//! fresh copy of its pre-state (copied outside the timed section), with compiled code and
//! analyzed code warm. Compilation is timed separately.

pub mod compare;
pub mod engine;
pub mod inputs;
pub mod kiln;
pub mod measure;
pub mod native;
pub mod plot;
#[cfg(feature = "revm-baseline")]
pub mod revm;
#[cfg(feature = "revm-baseline")]
pub mod revm_results;
pub mod table;

use std::sync::Arc;
use std::time::Duration;

use kiln_runtime::SpecId;

use crate::tools::fixture::BenchFixture;
pub use compare::Outcome;
pub use engine::Engine;
pub use measure::{measure_interleaved, Stats, Workload};

/// The fork fixtures run under by default, as in every subcommand: the newest (with the
/// per-transaction gas cap lifted, see [`BenchFixture::cfg`]).
pub const DEFAULT_SPEC: SpecId = SpecId::LATEST;

/// What to run and for how long.
#[derive(Clone, Debug)]
pub struct Options {
    pub engines: Vec<Engine>,
    pub spec: SpecId,
    /// Wall time of timed runs per mode and fixture (plus a tenth of it to warm up).
    pub time: Duration,
}

/// One mode ready to run one fixture.
pub enum Runner {
    Kiln(kiln::KilnRunner),
    #[cfg(feature = "revm-baseline")]
    Revm(Box<revm::RevmRunner>),
}

impl Runner {
    pub fn new(engine: Engine, fixture: Arc<BenchFixture>, spec: SpecId) -> Result<Self, String> {
        match engine {
            Engine::Kiln(mode) => kiln::KilnRunner::new(fixture, mode, spec).map(Runner::Kiln),
            #[cfg(feature = "revm-baseline")]
            Engine::Revm => revm::RevmRunner::new(fixture, spec).map(|r| Runner::Revm(Box::new(r))),
            #[cfg(not(feature = "revm-baseline"))]
            Engine::Revm => Err("mode revm needs the `revm-baseline` feature".into()),
        }
    }

    pub fn outcomes(&mut self) -> Vec<Outcome> {
        match self {
            Runner::Kiln(k) => k.outcomes(),
            #[cfg(feature = "revm-baseline")]
            Runner::Revm(r) => r.outcomes(),
        }
    }

    pub fn workload(&mut self) -> &mut dyn Workload {
        match self {
            Runner::Kiln(k) => k,
            #[cfg(feature = "revm-baseline")]
            Runner::Revm(r) => r.as_mut(),
        }
    }

    pub fn compile_cost(&self) -> Option<kiln::CompileCost> {
        match self {
            Runner::Kiln(k) => k.compile_cost(),
            #[cfg(feature = "revm-baseline")]
            Runner::Revm(_) => None,
        }
    }
}

/// A fixture whose modes all ran and agreed, ready to be timed.
pub struct Verified {
    /// Shown in reports: the test name, prefixed by its directory when names repeat.
    pub name: String,
    pub runners: Vec<(Engine, Runner)>,
    pub native: Option<native::NativeLoop>,
}

/// A fixture that could not be prepared or on which the modes disagree.
#[derive(Clone, Debug)]
pub struct Rejected {
    pub name: String,
    pub problems: Vec<String>,
}

/// Prepares every mode for `fixture` and runs each once; `Err` lists what went wrong or
/// differed.
pub fn verify(fixture: BenchFixture, name: String, opts: &Options) -> Result<Verified, Rejected> {
    let fixture = Arc::new(fixture);
    let reject = |problems| Rejected { name: name.clone(), problems };
    let mut runners = Vec::new();
    let mut problems = Vec::new();
    for &engine in &opts.engines {
        match Runner::new(engine, Arc::clone(&fixture), opts.spec) {
            Ok(runner) => runners.push((engine, runner)),
            Err(e) => problems.push(format!("{engine}: {e}")),
        }
    }
    if !problems.is_empty() {
        return Err(reject(problems));
    }
    let outcomes: Vec<(&str, Vec<Outcome>)> =
        runners.iter_mut().map(|(engine, runner)| (engine.name(), runner.outcomes())).collect();
    let mut problems = compare::compare_modes(&outcomes);
    let native = native::NativeLoop::for_fixture(&fixture);
    if let (Some(limit), Some((mode, first))) = (native, outcomes.first()) {
        let output = first.first().map(|o| o.output.as_ref());
        if output != Some(limit.output().as_slice()) {
            problems.push(format!(
                "the native {} loop returns a different word than {mode}: it does other work",
                limit.name
            ));
        }
    }
    if !problems.is_empty() {
        return Err(reject(problems));
    }
    Ok(Verified { name, runners, native })
}

/// One mode's numbers on one fixture.
#[derive(Clone, Debug)]
pub struct ModeTiming {
    pub engine: Engine,
    pub stats: Stats,
    pub compile: Option<kiln::CompileCost>,
}

/// The numbers of one agreeing fixture.
#[derive(Clone, Debug)]
pub struct FixtureTiming {
    pub name: String,
    pub modes: Vec<ModeTiming>,
    /// The limit row: its loop's name and timing.
    pub native: Option<(&'static str, Stats)>,
}

/// Times every mode of `verified` (and its limit row) against each other, interleaved.
pub fn time(verified: &mut Verified, opts: &Options) -> FixtureTiming {
    let mut native = verified.native;
    let mut works: Vec<&mut dyn Workload> =
        verified.runners.iter_mut().map(|(_, runner)| runner.workload()).collect();
    if let Some(limit) = native.as_mut() {
        works.push(limit);
    }
    let mut stats = measure_interleaved(&mut works, opts.time).into_iter();
    let modes = verified
        .runners
        .iter()
        .zip(stats.by_ref())
        .map(|((engine, runner), stats)| ModeTiming {
            engine: *engine,
            stats,
            compile: runner.compile_cost(),
        })
        .collect();
    let native = native.and_then(|limit| Some((limit.name, stats.next()?)));
    FixtureTiming { name: verified.name.clone(), modes, native }
}
