//! `kiln blocktest PATH...`: the shared suite options and report ([`super::suite`]) over
//! blockchain tests, each run through the library's block executor with the blocks'
//! transactions in the chosen mode (`src/tools/blocktest/run.rs`).

use std::process::ExitCode;

use crate::tools::blocktest::runner::BlockTests;
use crate::tools::suite::known::IdForm;

use super::suite::{run_with_progress, SuiteArgs};
use super::CliError;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    suite: SuiteArgs,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let (files, opts, known) = args.suite.prepare(IdForm::Test, None)?;
    let report = run_with_progress::<BlockTests>(&files, &opts, &known);
    args.suite.finish(&report, &opts, None, false)
}
