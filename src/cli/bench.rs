//! `kiln bench [FIXTURE|DIR...] [--modes LIST] [--fork NAME] [--json] [--time SECONDS]`

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::tools::bench::table::Report;
use crate::tools::bench::{self, Engine, Options, Rejected};
use crate::tools::suite::{guarded, install_panic_capture};
use kiln_runtime::SpecId;

use super::{emit, print_error, progress_bar, CliError};

#[derive(clap::Args)]
pub struct Args {
    /// Fixture files (state tests or transaction fixtures), or directories searched
    /// recursively for `.json` files [default: the embedded set: fibonacci, factorial,
    /// erc20_transfer, snailtracer, hash_10k].
    #[arg(value_name = "FIXTURE|DIR")]
    paths: Vec<PathBuf>,
    /// Comma-separated modes to compare: interp, jit, aot, tiered, revm [default: all of them].
    #[arg(long, value_name = "LIST")]
    modes: Option<String>,
    /// State tests run under it whatever forks their post names. EIP-7825's cap on a
    /// transaction's gas is lifted: the contract fixtures give their transactions all the gas
    /// there is.
    #[arg(long, value_name = "NAME", value_parser = super::parse_fork,
          help = super::fork_help("Fork to run under"))]
    fork: Option<SpecId>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Also draw the speedups as a bar chart into this SVG file (over revm when it ran, else
    /// over Kiln's interpreter; one group per fixture, one colour per mode).
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
    /// Seconds of timed runs per mode and fixture, the modes taking turns (after a warm-up of
    /// a tenth of that; at least 5 runs whatever the time). The default keeps the embedded set under a minute.
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0, value_parser = parse_time)]
    time: f64,
}

fn parse_time(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(t) if t.is_finite() && (0.0..=3600.0).contains(&t) => Ok(t),
        _ => Err(format!("{text:?} is not a number of seconds between 0 and 3600")),
    }
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let opts = Options {
        engines: match &args.modes {
            Some(list) => Engine::parse_list(list)?,
            None => Engine::all(),
        },
        spec: args.fork.unwrap_or(bench::DEFAULT_SPEC),
        time: Duration::from_secs_f64(args.time),
    };
    if args.plot.is_some() && opts.engines.len() < 2 {
        return Err("--plot draws speedups, which need at least two modes".into());
    }
    // A path that is not there is a usage error, as for `statetest`; a file that is there but
    // does not load is that fixture's failure.
    if let Some(missing) = args.paths.iter().find(|p| !p.exists()) {
        return Err(format!("{}: no such file or directory", missing.display()).into());
    }
    install_panic_capture();
    let (fixtures, errors) = bench::inputs::load(&args.paths);
    for e in &errors {
        print_error(e);
    }
    if fixtures.is_empty() && errors.is_empty() {
        return Err("no fixtures found".into());
    }

    // Every fixture is checked before anything is timed: a disagreement is a correctness
    // bug, and timing it first would only delay the news.
    let steps = 2 * fixtures.len();
    let progress = progress_bar(steps as u64, "steps");
    let mut verified = Vec::new();
    let mut report =
        Report { fork: opts.spec.to_string(), time: opts.time, errors, ..Report::default() };
    for (name, fixture) in fixtures {
        progress.set_message(format!("checking {name}"));
        // A panic in one mode is that fixture's failure, reported like a disagreement.
        let checked = guarded(|| bench::verify(fixture, name.clone(), &opts))
            .unwrap_or_else(|panic| Err(Rejected { name, problems: vec![panic.to_string()] }));
        match checked {
            Ok(v) => verified.push(v),
            Err(rejected) => {
                progress.suspend(|| {
                    print_error(&format!("{}: modes disagree or cannot run:", rejected.name));
                    for p in &rejected.problems {
                        eprintln!("  {p}");
                    }
                });
                progress.inc(1);
                report.rejected.push(rejected);
            }
        }
        progress.inc(1);
    }
    for v in &mut verified {
        progress.set_message(format!("timing {}", v.name));
        let timing = bench::time(v, &opts);
        progress.inc(1);
        report.timings.push(timing);
    }
    progress.finish_and_clear();

    if let Some(path) = &args.plot {
        bench::plot::write_svg(&report, path)?;
    }
    if args.json {
        let mut text = serde_json::to_string(&report.json())?;
        text.push('\n');
        emit(text.as_bytes())?;
    } else {
        emit(report.text().as_bytes())?;
    }
    Ok(if report.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
