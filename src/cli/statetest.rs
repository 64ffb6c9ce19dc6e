//! `kiln statetest PATH...`

use std::collections::HashMap;
use std::io::{self, IsTerminal};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::tools::mode::Mode;
use crate::tools::statetest::{self, post_cases, KnownFailures, RunOptions};
use kiln_runtime::SpecId;

use super::{emit, print_warning, progress_bar, CliError, LogProgress};

#[derive(clap::Args)]
pub struct Args {
    /// Fixture files, or directories searched recursively for `.json` files.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// How contract code is executed.
    #[arg(long, value_enum, default_value_t = Mode::Interp)]
    mode: Mode,
    #[arg(long, value_name = "NAME", value_parser = parse_fork,
          help = format!("Run only this fork's cases: {}", SpecId::names()))]
    fork: Option<SpecId>,
    /// Run only tests whose file path or test name contains TEXT.
    #[arg(long, value_name = "TEXT")]
    filter: Option<String>,
    /// Run only tests whose name matches the regular expression REGEX (as geth's `--run`).
    #[arg(long, value_name = "REGEX", value_parser = regex::Regex::new)]
    run: Option<regex::Regex>,
    /// Run only the case at this position in each fork's list of the test (the N of a case
    /// id `test[Fork#N]`).
    #[arg(long, value_name = "N")]
    index: Option<usize>,
    /// Trace the one selected case (see --run, --filter, --fork, --index): an EIP-3155 trace,
    /// one JSON line per instruction and then the summary line, on stderr. The case runs in
    /// the interpreter whatever --mode says; its result is reported on stdout as usual.
    #[arg(long)]
    trace: bool,
    /// Print one JSON object instead of text.
    #[arg(long, conflicts_with = "json_cases")]
    json: bool,
    /// Print every case that ran as a JSON array in geth's `evm statetest --json` shape
    /// (`[{"name","pass","stateRoot","fork","index","error"}]`) instead of the summary.
    #[arg(long)]
    json_cases: bool,
    /// Cases expected to fail, one `test_name[Fork#index]  # reason` per line. They do not
    /// fail the run; a listed case that passes does.
    #[arg(long, value_name = "FILE")]
    known_failures: Option<PathBuf>,
    #[command(flatten)]
    tier: super::tier::TierArgs,
    /// Files run in parallel [default: available cores].
    #[arg(short = 'j', long, value_name = "N")]
    jobs: Option<NonZeroUsize>,
}

/// Contracts listed by `--stats` after a state-test run (those kept interpreted come first).
pub const STATS_LISTED: usize = 20;

fn parse_fork(name: &str) -> Result<SpecId, kiln_frontend::UnknownFork> {
    name.parse()
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let mode = args.mode.ensure_built()?;
    let tiers = args.tier.configure(mode)?;
    let known = match &args.known_failures {
        Some(path) => KnownFailures::load(path)?,
        None => KnownFailures::default(),
    };
    let files = statetest::collect_files(&args.paths)?;
    let jobs = args.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, NonZeroUsize::get),
        NonZeroUsize::get,
    );
    let opts = RunOptions {
        mode,
        tiers,
        fork: args.fork,
        filter: args.filter,
        run: args.run,
        index: args.index,
        jobs,
    };

    statetest::install_panic_capture();
    let mut traced = None;
    let report = if args.trace {
        let case = statetest::trace::select_one(&files, &opts)?;
        if mode != Mode::Interp {
            // Compiled code does not step through the tracer.
            print_warning(&format!(
                "--trace runs {} in the interpreter: --mode {} is not traced",
                case.id(),
                mode.name()
            ));
        }
        let out = Box::new(io::BufWriter::new(io::stderr()));
        let (report, write_error) = statetest::trace::run_traced(&case, &known, out);
        if let Some(e) = write_error {
            if e.kind() != io::ErrorKind::BrokenPipe {
                return Err(format!("cannot write the trace: {e}").into());
            }
        }
        traced = Some(case.id());
        report
    } else {
        // On a terminal the bar counts cases: each file's are counted (not parsed) up front,
        // and the bar moves by a file's count when it is done.
        let cases: HashMap<&Path, u64> = if io::stderr().is_terminal() {
            let count = |f: &PathBuf| std::fs::read_to_string(f).map_or(0, |t| post_cases(&t));
            files.iter().map(|f| (f.as_path(), count(f))).collect()
        } else {
            HashMap::new()
        };
        let progress = progress_bar(cases.values().sum(), "cases");
        let log = LogProgress::new(files.len(), "files");
        let report = statetest::run(&files, &opts, &known, &|path, done| {
            if let Some(name) = path.file_name() {
                progress.set_message(name.to_string_lossy().into_owned());
            }
            progress.inc(cases.get(path).copied().unwrap_or(0));
            log.step(done.ran(), done.failed);
        });
        progress.finish_and_clear();
        report
    };

    let refused = kiln_codegen::refused_by_stack_proof();
    if refused > 0 {
        print_warning(&format!(
            "the stack proof refused {refused} compiled function(s): they ran in the interpreter"
        ));
    }
    let stats = args.tier.stats(opts.tiers.as_ref());
    if args.json_cases {
        let mut text = serde_json::to_string(&report.cases_json())?;
        text.push('\n');
        emit(text.as_bytes())?;
    } else if args.json {
        let mut json = report.to_json();
        if let Some(object) = json.as_object_mut() {
            if let Some(stats) = &stats {
                object.insert("tier_stats".into(), stats.to_json());
            }
            if let Some(id) = &traced {
                object.insert("traced".into(), serde_json::json!({"case": id, "mode": "interp"}));
            }
        }
        let mut text = serde_json::to_string(&json)?;
        text.push('\n');
        emit(text.as_bytes())?;
    } else {
        let mut text = Vec::new();
        if let Some(id) = &traced {
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
