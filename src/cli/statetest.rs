//! `kiln statetest PATH...`: the shared suite options and report ([`super::suite`]) over
//! state tests, plus what only state tests have: a case's `--index`, `--trace` and
//! `--json-cases`.

use std::io;
use std::process::ExitCode;

use crate::tools::mode::Mode;
use crate::tools::statetest::{self, StateTests};
use crate::tools::suite::known::IdForm;
use crate::tools::suite::ForkName;

use super::suite::{run_with_progress, SuiteArgs};
use super::{print_warning, CliError};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    suite: SuiteArgs,
    /// Run only the case at this position in each fork's list of the test (the N of a case
    /// id `test[Fork#N]`).
    #[arg(long, value_name = "N")]
    index: Option<usize>,
    /// Trace the one selected case (see --run, --filter, --fork, --index): an EIP-3155 trace,
    /// one JSON line per instruction and then the summary line, on stderr. The case runs in
    /// the interpreter whatever --mode says; its result is reported on stdout as usual.
    #[arg(long)]
    trace: bool,
    /// Print every case that ran as a JSON array in geth's `evm statetest --json` shape
    /// (`[{"name","pass","stateRoot","fork","index","error"}]`) instead of the summary.
    #[arg(long, conflicts_with = "json")]
    json_cases: bool,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    if let Some(fork @ ForkName::Bpo(_)) = args.suite.fork {
        // State tests name a fork's rules; a blob-parameter-only fork has only a blob schedule.
        return Err(format!("--fork {fork}: state tests have no BPO forks (they run Osaka)").into());
    }
    let (files, opts, known) = args.suite.prepare(IdForm::Case, args.index)?;
    let mode = opts.mode;
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
        run_with_progress::<StateTests>(&files, &opts, &known)
    };
    args.suite.finish(&report, &opts, traced.as_deref(), args.json_cases)
}
