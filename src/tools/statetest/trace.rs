//! `kiln statetest --trace`: one selected case, run in the interpreter with an EIP-3155 tracer.
//!
//! A trace is read line by line, so it covers exactly one case: the options must select one
//! (`--run`, `--filter`, `--fork`, `--index`), and a selection of several is refused with the
//! first few ids, rather than interleaving traces nobody can tell apart.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use kiln::{Engine, Evm};
use kiln_runtime::{JsonTracer, SpecId, TraceSummary};

use super::check::judge_with_root;
use super::env::{block_env, cfg_env, pre_state, tx_env};
use super::fixture::FixtureFile;
use crate::tools::suite::known::case_id;
use crate::tools::suite::report::{CaseKey, Report};
use crate::tools::suite::{classify, guarded, KnownFailures, RunOptions};

/// Case ids a refusal lists before eliding the rest.
const LISTED: usize = 5;

/// One case of a fixture file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseRef {
    pub file: PathBuf,
    pub test: String,
    /// The fork key as written in the fixture.
    pub fork: String,
    pub index: usize,
}

impl CaseRef {
    pub fn id(&self) -> String {
        case_id(&self.test, &self.fork, Some(self.index))
    }
}

/// The cases of `files` that `opts` selects and Kiln executes (supported forks).
pub fn select(files: &[PathBuf], opts: &RunOptions) -> Result<Vec<CaseRef>, String> {
    let mut out = Vec::new();
    for path in files {
        let fixture = read(path)?;
        let file = path.display().to_string();
        for (name, test) in &fixture {
            if !opts.selects(&file, name) {
                continue;
            }
            for (fork, cases) in &test.post {
                let Ok(spec) = fork.parse::<SpecId>() else { continue };
                if !opts.selects_spec(spec) {
                    continue;
                }
                for index in 0..cases.len() {
                    if opts.index.is_none_or(|want| want == index) {
                        out.push(CaseRef {
                            file: path.clone(),
                            test: name.clone(),
                            fork: fork.clone(),
                            index,
                        });
                    }
                }
            }
        }
    }
    Ok(out)
}

fn read(path: &Path) -> Result<FixtureFile, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: invalid fixture: {e}", path.display()))
}

/// The one case `opts` selects, or why there is not exactly one.
pub fn select_one(files: &[PathBuf], opts: &RunOptions) -> Result<CaseRef, String> {
    let mut cases = select(files, opts)?;
    match cases.len() {
        0 => Err("no test case matched: nothing to trace".into()),
        1 => Ok(cases.remove(0)),
        n => {
            let ids: Vec<String> = cases.iter().take(LISTED).map(CaseRef::id).collect();
            let more =
                if n > LISTED { format!(", and {} more", n - LISTED) } else { String::new() };
            Err(format!(
                "--trace traces one case and {n} match ({}{more}): narrow the selection with \
                 --run REGEX, --filter TEXT, --fork NAME or --index N",
                ids.join(", ")
            ))
        }
    }
}

/// Runs `case` in the interpreter, writing its trace and the summary line to `out`, and
/// judges it as the runner does. The `io::Error` is the first write to `out` that failed.
pub fn run_traced(
    case: &CaseRef,
    known: &KnownFailures,
    out: Box<dyn Write>,
) -> (Report, Option<std::io::Error>) {
    let mut report = Report::default();
    let file = case.file.display().to_string();
    let mut write_error = None;
    let outcome = guarded(|| -> Result<_, String> {
        let fixture = read(&case.file)?;
        let test = fixture.get(&case.test).ok_or("the test is gone from its file")?;
        let post = test.post.get(&case.fork).and_then(|c| c.get(case.index));
        let post = post.ok_or("the case is gone from its file")?;
        let spec: SpecId =
            case.fork.parse().map_err(|e: kiln_frontend::UnknownFork| e.to_string())?;
        let cfg = cfg_env(test, spec, &case.fork).map_err(|e| e.to_string())?;
        let block = block_env(&test.env).map_err(|e| e.to_string())?;
        let tx =
            tx_env(&test.transaction, &post.indexes, cfg.chain_id).map_err(|e| e.to_string())?;
        let mut db = pre_state(&test.pre).map_err(|e| format!("pre-state: {e}"))?;
        let mut tracer = JsonTracer::new(out);
        let mut evm = Evm::new(&mut db, &Engine::interpreter(), cfg, block);
        let start = Instant::now();
        let result = evm.inspect_commit(&tx, &mut tracer);
        let time = start.elapsed();
        drop(evm);
        let root = db.state_root();
        // A refused transaction runs no instruction: its summary says it did not pass and
        // used no gas, over the unchanged state.
        let (output, gas_used, pass) = match &result {
            Ok(r) => (r.output().to_vec(), r.gas_used(), r.is_success()),
            Err(_) => (Vec::new(), 0, false),
        };
        let summary = TraceSummary {
            state_root: root,
            output: &output,
            gas_used,
            pass,
            fork: spec.name(),
            time,
        };
        tracer.write_line(&summary.to_line());
        write_error = tracer.error.take();
        let mut out = tracer.into_inner();
        if let Err(e) = out.flush() {
            write_error.get_or_insert(e);
        }
        Ok((root, post.indexes, judge_with_root(&result, &db, root, post)))
    })
    .map_err(|panic| panic.to_string())
    .and_then(|r| r);
    let (root, indexes, judged) = match outcome {
        Ok((root, indexes, judged)) => (Some(root), Some(indexes), judged),
        Err(e) => (None, None, Err(e)),
    };
    let listed = known.contains(&case.id());
    let key = CaseKey {
        file: &file,
        test: &case.test,
        fork: &case.fork,
        index: Some((case.index, indexes.unwrap_or_default())),
    };
    report.record_case(key, root, classify(judged, listed));
    (report, write_error)
}
