//! What `kiln statetest` and `kiln blocktest` share on the command line: which files and tests
//! run and how, the known-failures list, the progress bar or line, and the report (failure
//! lines, the per-fork counts, `N passed, N failed` or one JSON object, `--stats`) with its
//! exit code: 0 when nothing failed, 1 when something did, 2 when nothing ran or the command
//! could not start.

use std::collections::HashMap;
use std::io::{self, IsTerminal};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use kiln_runtime::SpecId;

use super::{emit, print_warning, progress_bar, CliError, LogProgress};
use crate::tools::mode::Mode;
use crate::tools::suite::known::IdForm;
use crate::tools::suite::{self, ForkName, KnownFailures, Report, RunOptions, Suite};

/// Contracts listed by `--stats` after a run (those kept interpreted come first).
pub const STATS_LISTED: usize = 20;

#[derive(clap::Args)]
pub struct SuiteArgs {
    /// Fixture files, or directories searched recursively for `.json` files.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// How contract code is executed.
    #[arg(long, value_enum, default_value_t = Mode::Interp)]
    pub mode: Mode,
    #[arg(long, value_name = "NAME", value_parser = parse_fork_name, help = fork_help())]
    pub fork: Option<ForkName>,
    /// Run only tests whose file path or test name contains TEXT.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// Run only tests whose name matches the regular expression REGEX (as geth's `--run`).
    #[arg(long, value_name = "REGEX", value_parser = regex::Regex::new)]
    pub run: Option<regex::Regex>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Tests expected to fail, one ID per line with an optional `# reason`: a state-test
    /// case is `test_name[Fork#index]`, a blockchain test `test_name[Network]`. They do not
    /// fail the run; a listed one that passes does.
    #[arg(long, value_name = "FILE")]
    pub known_failures: Option<PathBuf>,
    #[command(flatten)]
    pub tier: super::tier::TierArgs,
    /// Files run in parallel [default: available cores].
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<NonZeroUsize>,
}

fn fork_help() -> String {
    format!(
        "Run only this fork's tests (a blockchain test's transition network belongs to both \
         its forks): {}; blockchain tests also BPO1, BPO2, …",
        SpecId::names()
    )
}

fn parse_fork_name(name: &str) -> Result<ForkName, String> {
    name.parse().map_err(|e: suite::fork::UnknownForkName| e.to_string())
}

impl SuiteArgs {
    /// Checks the arguments and readies the run: the files, the options (`index` is a state
    /// test's `--index`) and the known-failures list of IDs in `form`.
    pub fn prepare(
        &self,
        form: IdForm,
        index: Option<usize>,
    ) -> Result<(Vec<PathBuf>, RunOptions, KnownFailures), CliError> {
        let mode = self.mode.ensure_built()?;
        let tiers = self.tier.configure(mode)?;
        let known = match &self.known_failures {
            Some(path) => KnownFailures::load(path, form)?,
            None => KnownFailures::default(),
        };
        let files = suite::collect_files(&self.paths)?;
        let jobs = self.jobs.map_or_else(
            || std::thread::available_parallelism().map_or(1, NonZeroUsize::get),
            NonZeroUsize::get,
        );
        let opts = RunOptions {
            mode,
            tiers,
            fork: self.fork,
            filter: self.filter.clone(),
            run: self.run.clone(),
            index,
            jobs,
        };
        suite::install_panic_capture();
        Ok((files, opts, known))
    }

    /// Prints `report` (with `traced`, the case a state test's `--trace` ran; `json_cases`,
    /// every case in geth's shape instead of the summary) and the tier statistics `--stats`
    /// asks for, and gives the exit code. A run that checked nothing is an error.
    pub fn finish(
        &self,
        report: &Report,
        opts: &RunOptions,
        traced: Option<&str>,
        json_cases: bool,
    ) -> Result<ExitCode, CliError> {
        let refused = kiln_codegen::refused_by_stack_proof();
        if refused > 0 {
            print_warning(&format!(
                "the stack proof refused {refused} compiled function(s): they ran in the \
                 interpreter"
            ));
        }
        let stats = self.tier.stats(opts.tiers.as_ref());
        if json_cases {
            let mut text = serde_json::to_string(&report.cases_json())?;
            text.push('\n');
            emit(text.as_bytes())?;
        } else if self.json {
            let mut json = report.to_json();
            if let Some(object) = json.as_object_mut() {
                if let Some(stats) = &stats {
                    object.insert("tier_stats".into(), stats.to_json());
                }
                if let Some(id) = traced {
                    object
                        .insert("traced".into(), serde_json::json!({"case": id, "mode": "interp"}));
                }
            }
            let mut text = serde_json::to_string(&json)?;
            text.push('\n');
            emit(text.as_bytes())?;
        } else {
            let mut text = Vec::new();
            if let Some(id) = traced {
                text.extend_from_slice(
                    format!("traced {id} in the interpreter (trace on stderr)\n").as_bytes(),
                );
            }
            report.write_text(&mut text)?;
            if let Some(stats) = &stats {
                let mut listing = String::new();
                stats.write_text(&mut listing, STATS_LISTED)?;
                text.extend_from_slice(listing.as_bytes());
            }
            emit(&text)?;
        }
        // A run that checked nothing must not read as a pass (a filter typo, an empty folder, a
        // fork the files do not hold).
        if report.ran() == 0 {
            return Err("no test case matched: nothing ran".into());
        }
        Ok(if report.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    }
}

/// Runs `files` as a suite `S`, showing progress: on a terminal a bar counting `S::UNIT`
/// (each file's are counted, not parsed, up front, and the bar moves by a file's count when
/// it is done), elsewhere a line now and then ([`LogProgress`]).
pub fn run_with_progress<S: Suite>(
    files: &[PathBuf],
    opts: &RunOptions,
    known: &KnownFailures,
) -> Report {
    let counts: HashMap<&Path, u64> = if io::stderr().is_terminal() {
        let count = |f: &PathBuf| std::fs::read_to_string(f).map_or(0, |t| S::count(&t));
        files.iter().map(|f| (f.as_path(), count(f))).collect()
    } else {
        HashMap::new()
    };
    let progress = progress_bar(counts.values().sum(), S::UNIT);
    let log = LogProgress::new(files.len(), "files", S::UNIT);
    let report = suite::run::<S>(files, opts, known, &|path, done| {
        if let Some(name) = path.file_name() {
            progress.set_message(name.to_string_lossy().into_owned());
        }
        progress.inc(counts.get(path).copied().unwrap_or(0));
        log.step(done.ran(), done.failed);
    });
    progress.finish_and_clear();
    report
}
