//! Running fixture files: one file in memory per worker at a time, every case guarded so that a
//! runtime bug becomes a failure line rather than the end of the run.

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use kiln::{Engine, Evm, Tiers};
use kiln_runtime::{InMemoryDb, SpecId};

use super::check::judge_with_root;
use super::env::{block_env, cfg_env, pre_state, tx_env};
use super::fixture::{EnvError, FixtureFile, PostCase, StateTest};
use super::known::{case_id, KnownFailures};
use super::report::{CaseKey, Failure, Report, Verdict};
use crate::tools::exec::{self, ExecError};
use crate::tools::mode::Mode;
use alloy_primitives::B256;

/// Worker threads get a generous stack: a debug build of a runtime bug that recurses should
/// still reach a panic or a result, and the memory is only reserved, not touched.
const WORKER_STACK: usize = 32 << 20;

/// Directory nesting beyond which [`collect_files`] stops descending (guards symlink loops).
const MAX_DEPTH: usize = 64;

#[derive(Clone, Debug)]
pub struct RunOptions {
    pub mode: Mode,
    /// The policy [`Mode::Tiered`] runs under, shared by every worker (`--stats` reads it
    /// after the run); `None`: one for the run, configured by `KILN_TIER_*`.
    pub tiers: Option<Arc<Tiers>>,
    /// Run only this fork's cases.
    pub fork: Option<SpecId>,
    /// Run only tests whose file path or name contains this text.
    pub filter: Option<String>,
    /// Run only tests whose name matches this regular expression (geth's `--run`).
    pub run: Option<regex::Regex>,
    /// Run only the case at this position in each fork's list (the `#N` of a case id).
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
    pub(super) fn selects(&self, file: &str, name: &str) -> bool {
        self.filter.as_deref().is_none_or(|f| file.contains(f) || name.contains(f))
            && self.run.as_ref().is_none_or(|r| r.is_match(name))
    }

    /// The tier policy of a tiered run, shared by its workers: the options', or a new one.
    fn run_tiers(&self) -> Result<Option<Arc<Tiers>>, ExecError> {
        match (self.mode, &self.tiers) {
            (Mode::Tiered, None) => exec::tiers(None).map(Some),
            (_, tiers) => Ok(tiers.clone()),
        }
    }
}

/// The engine one worker thread runs its cases on, kept for the whole run: its compiled code
/// (JIT) and bytecode analyses carry over from case to case and file to file, as a node's do
/// from block to block. Under AOT every file brings its own library and so its own engine
/// ([`run_fixture_text`] builds it); the thread has none.
fn thread_engine(
    mode: Mode,
    tiers: &Result<Option<Arc<Tiers>>, ExecError>,
) -> Result<Engine, ExecError> {
    match mode {
        Mode::Aot => Err(ExecError::NoAotLibrary),
        mode => exec::engine(mode, tiers.clone()?.as_ref(), None),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("{}: no such file or directory", .0.display())]
    Missing(PathBuf),
    #[error("cannot read {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
}

/// The fixture files under `paths`: files as given, directories searched recursively for
/// `.json` files; sorted and without duplicates.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CollectError> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                CollectError::Missing(path.clone())
            } else {
                CollectError::Io { path: path.clone(), source }
            }
        })?;
        if meta.is_dir() {
            walk(path, &mut files, 0)?;
        } else {
            files.push(path.clone());
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, depth: usize) -> Result<(), CollectError> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let io = |source| CollectError::Io { path: dir.to_path_buf(), source };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        // `metadata` follows symlinks; a dangling one is simply not a fixture.
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            walk(&path, files, depth + 1)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    Ok(())
}

/// Runs `files` on `opts.jobs` threads and returns the merged report, in file order whatever
/// order the files finished in. `on_file_done` is called from the workers after each file, with
/// that file's report.
pub fn run(
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
            let report = run_file(path, opts, known, &engine);
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
                    .name("kiln-statetest".into())
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
pub fn run_file(
    path: &Path,
    opts: &RunOptions,
    known: &KnownFailures,
    engine: &Result<Engine, ExecError>,
) -> Report {
    let file = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => run_fixture_text(&file, text, opts, known, engine),
        Err(e) => {
            let mut report = Report::default();
            report.record_failure(file_failure(path, format!("cannot read file: {e}")));
            report
        }
    }
}

/// Runs the fixture `text`, reporting it as `file`, on `engine` (under AOT, on one for the
/// file's own library).
pub fn run_fixture_text(
    file: &str,
    text: String,
    opts: &RunOptions,
    known: &KnownFailures,
    engine: &Result<Engine, ExecError>,
) -> Report {
    let mut report = Report::default();
    let outcome = guarded(|| {
        let fixture = match serde_json::from_str::<FixtureFile>(&text) {
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
        let run_all = |report: &mut Report, engine: &Result<Engine, ExecError>| {
            for (name, test) in &fixture {
                if opts.selects(file, name) {
                    run_test(report, file, name, test, opts, known, engine);
                }
            }
        };
        if opts.mode == Mode::Aot {
            // One shared object per file, holding every contract and initcode in it.
            match exec::build_aot_library(aot_codes(&fixture, opts)) {
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

/// Every contract of a fixture file for every fork it runs under: pre-state code, and the
/// initcode of create transactions.
fn aot_codes(fixture: &FixtureFile, opts: &RunOptions) -> Vec<(Vec<u8>, SpecId)> {
    let mut out = Vec::new();
    for test in fixture.values() {
        let specs: Vec<SpecId> = test
            .post
            .keys()
            .filter_map(|f| f.parse::<SpecId>().ok())
            .filter(|s| opts.fork.is_none_or(|want| want == *s))
            .collect();
        for spec in specs {
            for account in test.pre.values() {
                out.push((account.code.0.to_vec(), spec));
            }
            if test.transaction.to.is_none() {
                for data in &test.transaction.data {
                    out.push((data.0.to_vec(), spec));
                }
            }
        }
    }
    out
}

fn file_failure(path: &Path, reason: String) -> Failure {
    Failure {
        file: path.display().to_string(),
        test: "-".into(),
        fork: None,
        index: None,
        indexes: None,
        reason,
    }
}

fn run_test(
    report: &mut Report,
    file: &str,
    name: &str,
    test: &StateTest,
    opts: &RunOptions,
    known: &KnownFailures,
    engine: &Result<Engine, ExecError>,
) {
    // Built lazily: a test whose forks are all skipped or filtered out costs nothing.
    let mut pre: Option<Result<InMemoryDb, CaseError>> = None;
    for (fork_name, cases) in &test.post {
        let spec = match fork_name.parse::<SpecId>() {
            Ok(spec) => spec,
            Err(e) => {
                report.record_failure(Failure {
                    file: file.to_string(),
                    test: name.to_string(),
                    fork: Some(fork_name.clone()),
                    index: None,
                    indexes: None,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        if opts.fork.is_some_and(|want| want != spec) {
            continue;
        }
        let pre = pre
            .get_or_insert_with(|| guarded(|| pre_state(&test.pre))?.map_err(CaseError::PreState));
        for (index, case) in cases.iter().enumerate() {
            if opts.index.is_some_and(|want| want != index) {
                continue;
            }
            let outcome = match (&*pre, engine) {
                (Ok(pre), Ok(engine)) => {
                    guarded(|| run_case(test, pre, spec, fork_name, case, engine))
                        .map_err(CaseError::from)
                        .and_then(|r| r)
                }
                (Err(e), _) => Err(e.clone()),
                (Ok(_), Err(e)) => Err(CaseError::Exec(e.clone())),
            };
            let root = outcome.as_ref().ok().map(|(root, _)| *root);
            let listed = known.contains(&case_id(name, fork_name, index));
            let judged = outcome.map_err(|e| e.to_string()).and_then(|(_, judged)| judged);
            let verdict = classify(judged, listed);
            let key = CaseKey { file, test: name, fork: fork_name, index, indexes: case.indexes };
            report.record_case(key, root, verdict);
        }
    }
}

/// The verdict on a case's outcome, given whether it is on the known-failures list. A listed
/// case that passes fails the run, so the list can only shrink.
pub(super) fn classify(outcome: Result<(), String>, listed: bool) -> Verdict {
    match (outcome, listed) {
        (Ok(()), false) => Verdict::Passed,
        (Ok(()), true) => Verdict::Failed(
            "fixed (remove from list): passes but is listed as a known failure".into(),
        ),
        (Err(_), true) => Verdict::Known,
        (Err(reason), false) => Verdict::Failed(reason),
    }
}

/// Runs one case: the state root after it, and the verdict (`Err` when the case could not run
/// at all).
fn run_case(
    test: &StateTest,
    pre: &InMemoryDb,
    spec: SpecId,
    fork_name: &str,
    case: &PostCase,
    engine: &Engine,
) -> Result<(B256, Result<(), String>), CaseError> {
    let cfg = cfg_env(test, spec, fork_name)?;
    let block = block_env(&test.env)?;
    let tx = tx_env(&test.transaction, &case.indexes, cfg.chain_id)?;
    let mut db = pre.clone();
    let result = Evm::new(&mut db, engine, cfg, block).transact_commit(&tx);
    let root = db.state_root();
    Ok((root, judge_with_root(&result, &db, root, case)))
}

thread_local! {
    static CAPTURING: Cell<bool> = const { Cell::new(false) };
    static CAPTURED: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Replaces the panic hook so that a panic inside a guarded case is recorded (message and
/// location) for its failure line instead of being printed over the progress bar. Panics
/// elsewhere still go to the previous hook. Process-wide, so only the binary calls it.
pub fn install_panic_capture() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if CAPTURING.with(Cell::get) {
            let location = info
                .location()
                .map(|l| format!(" at {}:{}:{}", l.file(), l.line(), l.column()))
                .unwrap_or_default();
            let message = format!("{}{location}", payload_message(info.payload()));
            CAPTURED.with(|c| *c.borrow_mut() = Some(message));
        } else {
            previous(info);
        }
    }));
}

/// Why a case could not run to a verdict.
#[derive(Clone, Debug, thiserror::Error)]
pub enum CaseError {
    #[error("pre-state: {0}")]
    PreState(EnvError),
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error(transparent)]
    Panic(#[from] Panic),
}

/// A panic caught by [`guarded`], with its message and location.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("panic: {0}")]
pub struct Panic(pub String);

/// Runs `f`, turning a panic into a [`Panic`] error (recorded quietly once
/// [`install_panic_capture`] is in place).
pub fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, Panic> {
    let was_capturing = CAPTURING.with(|c| c.replace(true));
    CAPTURED.with(|c| c.borrow_mut().take());
    let result = catch_unwind(AssertUnwindSafe(f));
    CAPTURING.with(|c| c.set(was_capturing));
    result.map_err(|payload| {
        let message = CAPTURED
            .with(|c| c.borrow_mut().take())
            .unwrap_or_else(|| payload_message(payload.as_ref()));
        Panic(message)
    })
}

fn payload_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixture whose single test has cases for the forks `post` names. Each case expects a
    /// zero state root, which no runtime produces, so it fails whatever state the runtime is
    /// in.
    fn fixture(post: &str) -> String {
        format!(
            r#"{{"t1": {{
              "env": {{"currentCoinbase": "0x2adc25665018aa1fe0e6bc666dac8fc2697ff9ba",
                       "currentGasLimit": "0x07270e00", "currentNumber": "0x01",
                       "currentTimestamp": "0x03e8", "currentDifficulty": "0x00",
                       "currentBaseFee": "0x07"}},
              "pre": {{"0x766b923079c2900993bafa89b07d66423481776e":
                        {{"nonce": "0x00", "balance": "0x6124fee993bc0000", "code": "0x", "storage": {{}}}}}},
              "transaction": {{"nonce": "0x00", "gasPrice": "0x0a", "gasLimit": ["0x5208"],
                       "to": "0x1ad41edb9130201ba8476168bcbf9bafe279f89d", "value": ["0x00"],
                       "data": ["0x"], "sender": "0x766b923079c2900993bafa89b07d66423481776e"}},
              "post": {post}
            }}}}"#
        )
    }

    const CASE: &str = r#"{"hash": "0x0000000000000000000000000000000000000000000000000000000000000000",
        "logs": "0x0000000000000000000000000000000000000000000000000000000000000000",
        "txbytes": "0x", "indexes": {"data": 0, "gas": 0, "value": 0}, "state": {}}"#;

    fn run_text(text: String, opts: &RunOptions, known: &KnownFailures) -> Report {
        let engine = thread_engine(opts.mode, &opts.run_tiers());
        run_fixture_text("dir/f.json", text, opts, known, &engine)
    }

    /// The progress bar's count, without parsing, is the number of cases the runner meets.
    #[test]
    fn post_cases_counts_every_case_of_every_fork() {
        let post = format!(
            r#"{{"Shanghai": [{CASE}, {CASE}], "Amsterdamm": [{CASE}], "Cancun": [{CASE}]}}"#
        );
        assert_eq!(super::super::post_cases(&fixture(&post)), 4);
        assert_eq!(super::super::post_cases(&fixture(&format!(r#"{{"Cancun": [{CASE}]}}"#))), 1);
    }

    #[test]
    fn every_known_fork_runs_and_an_unknown_one_fails() {
        let post = format!(
            r#"{{"Frontier": [{CASE}, {CASE}], "Amsterdamm": [{CASE}], "Cancun": [{CASE}]}}"#
        );
        let report = run_text(fixture(&post), &RunOptions::default(), &KnownFailures::default());
        assert_eq!(report.passed, 0);
        assert_eq!(report.failed, 4);
        let ids: Vec<_> = report.failures.iter().map(|f| f.fork.clone().unwrap()).collect();
        assert_eq!(ids, ["Amsterdamm", "Cancun", "Frontier", "Frontier"]);
        let unknown = &report.failures[0];
        assert!(unknown.reason.contains("unknown fork"), "{}", unknown.reason);
        assert_eq!(report.by_fork["Frontier"].failed, 2);
    }

    #[test]
    fn fork_and_filter_restrict() {
        let post = format!(r#"{{"Shanghai": [{CASE}], "Cancun": [{CASE}], "Prague": [{CASE}]}}"#);
        let opts = RunOptions { fork: Some(SpecId::Prague), ..RunOptions::default() };
        let report = run_text(fixture(&post), &opts, &KnownFailures::default());
        assert_eq!(report.ran(), 1);
        assert_eq!(report.failures[0].fork.as_deref(), Some("Prague"));

        let opts = RunOptions { filter: Some("nomatch".into()), ..RunOptions::default() };
        let report = run_text(fixture(&post), &opts, &KnownFailures::default());
        assert_eq!(report, Report::default());

        for filter in ["t1", "dir/f"] {
            let opts = RunOptions { filter: Some(filter.into()), ..RunOptions::default() };
            let report = run_text(fixture(&post), &opts, &KnownFailures::default());
            assert_eq!(report.ran(), 3, "{filter}");
        }
    }

    #[test]
    fn known_failures_are_counted_apart() {
        let post = format!(r#"{{"Cancun": [{CASE}, {CASE}]}}"#);
        let known = KnownFailures::parse("t1[Cancun#1] # broken on purpose\n", "list").unwrap();
        let report = run_text(fixture(&post), &RunOptions::default(), &known);
        assert_eq!((report.failed, report.known), (1, 1));
        assert_eq!(report.failures[0].index, Some(0));
        assert_eq!(report.by_fork["Cancun"].known, 1);
    }

    #[test]
    fn malformed_files_are_one_failure() {
        let opts = RunOptions::default();
        let none = KnownFailures::default();
        let report = run_text("{not json".into(), &opts, &none);
        assert_eq!(report.failed, 1);
        assert_eq!(report.failures[0].test, "-");
        assert!(report.failures[0].reason.starts_with("invalid fixture: "));

        let bad_hex =
            fixture(&format!(r#"{{"Cancun": [{CASE}]}}"#)).replace("\"0x6124", "\"0xq124");
        let report = run_text(bad_hex, &opts, &none);
        assert_eq!(report.failed, 1);
        assert!(report.failures[0].reason.contains("line"), "{}", report.failures[0].reason);

        // Filtered away: the text does not mention the filter.
        let opts = RunOptions { filter: Some("elsewhere".into()), ..RunOptions::default() };
        assert_eq!(run_text("{not json".into(), &opts, &none).failed, 0);
    }

    #[test]
    fn bad_indexes_fail_the_case() {
        let case = CASE.replace(r#""data": 0"#, r#""data": 5"#);
        let report = run_text(
            fixture(&format!(r#"{{"Cancun": [{case}]}}"#)),
            &RunOptions::default(),
            &KnownFailures::default(),
        );
        assert_eq!(report.failed, 1);
        assert!(report.failures[0].reason.contains("data index 5 out of range"));
    }

    #[test]
    fn tiered_mode_judges_as_the_interpreter() {
        let text = || fixture(&format!(r#"{{"Cancun": [{CASE}, {CASE}]}}"#));
        let tiered = RunOptions { mode: Mode::Tiered, ..RunOptions::default() };
        let report = run_text(text(), &tiered, &KnownFailures::default());
        assert_eq!(report, run_text(text(), &RunOptions::default(), &KnownFailures::default()));
        assert!(report.failures[0].reason.contains("state root"), "{}", report.failures[0].reason);
    }

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

    #[test]
    fn panics_become_failures() {
        let err = guarded(|| -> u32 { panic!("runtime bug {}", 7) }).unwrap_err();
        assert_eq!(err.to_string(), "panic: runtime bug 7");
        assert_eq!(guarded(|| 5), Ok(5));
    }

    #[test]
    fn files_are_collected_sorted_and_parallel_results_ordered() {
        let dir = std::env::temp_dir().join(format!("kiln-runner-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        for name in ["b.json", "a.json", "sub/c.json", "notes.txt"] {
            std::fs::write(dir.join(name), "{bad").unwrap();
        }
        let files = collect_files(&[dir.clone(), dir.join("a.json")]).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|p| p.strip_prefix(&dir).unwrap().to_str().unwrap().to_string())
            .collect();
        assert_eq!(names, ["a.json", "b.json", "sub/c.json"]);

        let opts = RunOptions { jobs: 2, ..RunOptions::default() };
        let seen = AtomicUsize::new(0);
        let report = run(&files, &opts, &KnownFailures::default(), &|_, _| {
            seen.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(seen.load(Ordering::Relaxed), 3);
        assert_eq!(report.failed, 3);
        let order: Vec<_> = report.failures.iter().map(|f| f.file.clone()).collect();
        let expected: Vec<_> = files.iter().map(|p| p.display().to_string()).collect();
        assert_eq!(order, expected);

        assert!(matches!(collect_files(&[dir.join("missing")]), Err(CollectError::Missing(_))));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
