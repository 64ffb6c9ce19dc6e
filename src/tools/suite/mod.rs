//! What `kiln statetest` and `kiln blocktest` share: running a suite of fixture files on
//! worker threads, each file's contracts compiled first under `--mode aot`, every test
//! guarded so that a runtime bug becomes a failure line rather than the end of the run, and
//! one report (counts per fork, failure lines, JSON, the known-failures list).
//!
//! - [`files`]: which files a run goes over;
//! - [`guard`]: panics caught per test;
//! - [`fork`]: what `--fork` selects;
//! - [`known`]: the known-failures list;
//! - [`report`]: counts and output.
//!
//! A suite (state tests, blockchain tests) says how its files parse, which contracts they hold
//! and how one file's tests run: [`Suite`].

pub mod files;
pub mod fork;
pub mod guard;
pub mod known;
pub mod report;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use kiln::{Engine, Tiers};
use kiln_runtime::SpecId;

use crate::tools::exec::{self, ExecError};
use crate::tools::mode::Mode;

pub use files::{collect_files, CollectError};
pub use fork::ForkName;
pub use guard::{guarded, install_panic_capture, Panic};
pub use known::KnownFailures;
pub use report::{Failure, Report, Verdict};

/// Worker threads get a generous stack: a debug build of a runtime bug that recurses should
/// still reach a panic or a result, and the memory is only reserved, not touched.
const WORKER_STACK: usize = 32 << 20;

#[derive(Clone, Debug)]
pub struct RunOptions {
    pub mode: Mode,
    /// The policy [`Mode::Tiered`] runs under, shared by every worker (`--stats` reads it
    /// after the run); `None`: one for the run, configured by `KILN_TIER_*`.
    pub tiers: Option<Arc<Tiers>>,
    /// Run only this fork's tests (for a blockchain test: a network that reaches it).
    pub fork: Option<ForkName>,
    /// Run only tests whose file path or name contains this text.
    pub filter: Option<String>,
    /// Run only tests whose name matches this regular expression (geth's `--run`).
    pub run: Option<regex::Regex>,
    /// State tests: run only the case at this position in each fork's list (the `#N` of a
    /// case id).
    pub index: Option<usize>,
    /// Files processed concurrently.
    pub jobs: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            mode: Mode::Interp,
            tiers: None,
            fork: None,
            filter: None,
            run: None,
            index: None,
            jobs: 1,
        }
    }
}

impl RunOptions {
    /// Whether the test `name` of `file` is selected by `--filter` and `--run`. For a file
    /// that does not parse, `name` is its whole text: whether any test in it could have been.
    pub fn selects(&self, file: &str, name: &str) -> bool {
        self.filter.as_deref().is_none_or(|f| file.contains(f) || name.contains(f))
            && self.run.as_ref().is_none_or(|r| r.is_match(name))
    }

    /// Whether `--fork` lets a state-test case of `spec` run.
    pub fn selects_spec(&self, spec: SpecId) -> bool {
        self.fork.is_none_or(|want| want.is(spec))
    }

    /// The tier policy of a tiered run, shared by its workers: the options', or a new one.
    pub fn run_tiers(&self) -> Result<Option<Arc<Tiers>>, ExecError> {
        match (self.mode, &self.tiers) {
            (Mode::Tiered, None) => exec::tiers(None).map(Some),
            (_, tiers) => Ok(tiers.clone()),
        }
    }
}

/// A kind of fixture file the runner goes over: a file maps test names to tests.
pub trait Suite {
    /// One test of a file.
    type Test: serde::de::DeserializeOwned;
    /// What the progress bar counts, plural (`cases`).
    const UNIT: &'static str;
    /// A key each of those has exactly once in a file's text, and nothing else has.
    const COUNTED_KEY: &'static str;

    /// How many of those `text` holds, counted without parsing it (for a progress bar).
    fn count(text: &str) -> u64 {
        text.matches(&format!("\"{}\"", Self::COUNTED_KEY)).count() as u64
    }

    /// Whether `opts` lets `test` run at all, beyond `--filter` and `--run` (which the runner
    /// applies to every suite alike).
    fn selects(_test: &Self::Test, _opts: &RunOptions) -> bool {
        true
    }

    /// Adds every contract of `test` that `--mode aot` compiles before the file runs to
    /// `out`, each with the fork it runs under.
    fn aot_codes(test: &Self::Test, opts: &RunOptions, out: &mut Vec<(Vec<u8>, SpecId)>);

    /// Runs the test `name` of `on.file`, guarded, into `report`.
    fn run_test(on: &FileRun<'_>, report: &mut Report, name: &str, test: &Self::Test);
}

/// One fixture file being run: its name in reports and what its tests run with.
pub struct FileRun<'a> {
    pub file: &'a str,
    pub opts: &'a RunOptions,
    pub known: &'a KnownFailures,
    /// The thread's engine, or under AOT the file's (see [`thread_engine`]).
    pub engine: &'a Result<Engine, ExecError>,
}

/// The engine one worker thread runs its tests on, kept for the whole run: its compiled code
/// (JIT) and bytecode analyses carry over from test to test and file to file, as a node's do
/// from block to block. Under AOT every file brings its own library and so its own engine
/// ([`run_fixture_text`] builds it); the thread has none.
pub fn thread_engine(
    mode: Mode,
    tiers: &Result<Option<Arc<Tiers>>, ExecError>,
) -> Result<Engine, ExecError> {
    match mode {
        Mode::Aot => Err(ExecError::NoAotLibrary),
        mode => exec::engine(mode, tiers.clone()?.as_ref(), None),
    }
}

/// Runs `files` on `opts.jobs` threads and returns the merged report, in file order whatever
/// order the files finished in. `on_file_done` is called from the workers after each file, with
/// that file's report.
pub fn run<S: Suite>(
    files: &[PathBuf],
    opts: &RunOptions,
    known: &KnownFailures,
    on_file_done: &(dyn Fn(&Path, &Report) + Sync),
) -> Report {
    let next = AtomicUsize::new(0);
    let tiers = opts.run_tiers();
    let work = || {
        let mut done = Vec::new();
        let engine = thread_engine(opts.mode, &tiers);
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(path) = files.get(i) else { break };
            let report = run_file::<S>(path, opts, known, &engine);
            on_file_done(path, &report);
            done.push((i, report));
        }
        done
    };
    let mut parts: Vec<Option<Report>> = (0..files.len()).map(|_| None).collect();
    let mut store = |done: Vec<(usize, Report)>| {
        for (i, report) in done {
            parts[i] = Some(report);
        }
    };
    std::thread::scope(|scope| {
        let jobs = opts.jobs.clamp(1, files.len().max(1));
        let handles: Vec<_> = (0..jobs)
            .filter_map(|_| {
                std::thread::Builder::new()
                    .name("kiln-suite".into())
                    .stack_size(WORKER_STACK)
                    .spawn_scoped(scope, work)
                    .ok()
            })
            .collect();
        if handles.is_empty() {
            store(work());
        }
        for handle in handles {
            if let Ok(done) = handle.join() {
                store(done);
            }
        }
    });
    let mut report = Report::default();
    for (path, part) in files.iter().zip(parts) {
        match part {
            Some(part) => report.merge(part),
            None => report.record_failure(file_failure(path, "worker thread died".into())),
        }
    }
    report
}

/// Runs one fixture file on `engine` (see [`thread_engine`]).
pub fn run_file<S: Suite>(
    path: &Path,
    opts: &RunOptions,
    known: &KnownFailures,
    engine: &Result<Engine, ExecError>,
) -> Report {
    let file = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => run_fixture_text::<S>(&file, text, opts, known, engine),
        Err(e) => {
            let mut report = Report::default();
            report.record_failure(file_failure(path, format!("cannot read file: {e}")));
            report
        }
    }
}

/// Runs the fixture `text`, reporting it as `file`, on `engine` (under AOT, on one for the
/// file's own library).
pub fn run_fixture_text<S: Suite>(
    file: &str,
    text: String,
    opts: &RunOptions,
    known: &KnownFailures,
    engine: &Result<Engine, ExecError>,
) -> Report {
    let mut report = Report::default();
    let outcome = guarded(|| {
        let fixture = match serde_json::from_str::<BTreeMap<String, S::Test>>(&text) {
            Ok(fixture) => fixture,
            Err(e) => {
                // A broken file cannot say which tests it holds; its text can say whether the
                // filter could have matched one of them.
                if opts.selects(file, &text) {
                    report.record_failure(file_failure(
                        Path::new(file),
                        format!("invalid fixture: {e}"),
                    ));
                }
                return;
            }
        };
        drop(text);
        let selected: Vec<_> = fixture
            .iter()
            .filter(|(name, test)| opts.selects(file, name) && S::selects(test, opts))
            .collect();
        let run_all = |report: &mut Report, engine: &Result<Engine, ExecError>| {
            let on = FileRun { file, opts, known, engine };
            for (name, test) in &selected {
                S::run_test(&on, report, name, test);
            }
        };
        if opts.mode == Mode::Aot {
            // One shared object per file, holding every contract and initcode its selected
            // tests run.
            let mut codes = Vec::new();
            for (_, test) in &selected {
                S::aot_codes(test, opts, &mut codes);
            }
            match exec::build_aot_library(codes) {
                Ok(lib) => run_all(&mut report, &exec::engine(Mode::Aot, None, Some(lib))),
                Err(e) => report
                    .record_failure(file_failure(Path::new(file), format!("AOT compile: {e}"))),
            }
        } else {
            run_all(&mut report, engine);
        }
    });
    if let Err(panic) = outcome {
        report.record_failure(file_failure(Path::new(file), panic.to_string()));
    }
    report
}

/// A failure of a whole file (it does not read, parse or compile).
pub fn file_failure(path: &Path, reason: String) -> Failure {
    Failure { file: path.display().to_string(), test: "-".into(), fork: None, case: None, reason }
}

/// The verdict on a test's outcome, given whether it is on the known-failures list. A listed
/// test that passes fails the run, so the list can only shrink.
pub fn classify(outcome: Result<(), String>, listed: bool) -> Verdict {
    match (outcome, listed) {
        (Ok(()), false) => Verdict::Passed,
        (Ok(()), true) => Verdict::Failed(
            "fixed (remove from list): passes but is listed as a known failure".into(),
        ),
        (Err(_), true) => Verdict::Known,
        (Err(reason), false) => Verdict::Failed(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert_eq!(classify(Ok(()), false), Verdict::Passed);
        assert_eq!(classify(Err("x".into()), true), Verdict::Known);
        assert_eq!(classify(Err("x".into()), false), Verdict::Failed("x".into()));
        let Verdict::Failed(reason) = classify(Ok(()), true) else {
            panic!("a listed case that passes must fail");
        };
        assert!(reason.starts_with("fixed (remove from list)"));
    }
}
