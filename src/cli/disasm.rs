//! `kiln disasm HEX|FILE`

use std::process::ExitCode;

use crate::tools::input::read_code;
use kiln_frontend::disasm::disassemble;

use super::{emit, CliError};

#[derive(clap::Args)]
pub struct Args {
    /// Bytecode as hex (`0x` optional), a file of hex text or raw bytecode, or `-` for stdin.
    #[arg(value_name = "HEX|FILE")]
    code: String,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let code = read_code(&args.code)?;
    emit(disassemble(&code).as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
