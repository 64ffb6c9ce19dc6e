//! `kiln ir CODE [--fork NAME] [--raw]`

use std::process::ExitCode;

use crate::tools::input::read_code;
use kiln_runtime::SpecId;

use super::{emit, CliError};

#[derive(clap::Args)]
pub struct Args {
    /// Bytecode as hex (`0x` optional), a file of hex text or raw bytecode, or `-` for stdin.
    #[arg(value_name = "CODE")]
    code: String,
    /// Fork whose opcode set applies [default: Osaka].
    #[arg(long, value_name = "NAME")]
    fork: Option<String>,
    /// Print the IR as lifted, before the optimization passes.
    #[arg(long)]
    raw: bool,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let spec = match &args.fork {
        Some(name) => name.parse::<SpecId>()?,
        None => SpecId::LATEST,
    };
    let code = read_code(&args.code)?;
    let f = if args.raw { kiln_ir::lift(&code, spec) } else { kiln_ir::build(&code, spec) };
    kiln_ir::verify(&f)?;
    emit(f.to_string().as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
