//! `kiln compile INPUT... -o OUT.so [--fork NAME]`

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use crate::tools::input::read_code;
use kiln_codegen::AotCompiler;
use kiln_runtime::SpecId;

use super::{emit, print_warning, CliError};

#[derive(clap::Args)]
pub struct Args {
    /// Code files (hex text or raw bytecode, one contract each) or fixture JSON files (state tests or transaction
    /// fixtures: every contract in the pre-state and every create transaction's initcode).
    #[arg(value_name = "INPUT", required = true)]
    inputs: Vec<String>,
    /// The shared object to write.
    #[arg(short, long, value_name = "OUT.so")]
    output: PathBuf,
    /// Compiled code only runs under the fork it was compiled for.
    #[arg(long, value_name = "NAME", value_parser = super::parse_fork,
          help = super::fork_help("Fork the code is compiled for"))]
    fork: Option<SpecId>,
}

/// The contracts an input holds.
fn contracts(input: &str) -> Result<Vec<Vec<u8>>, CliError> {
    let path = Path::new(input);
    if path.extension().is_some_and(|e| e == "json") {
        let fixtures = crate::tools::fixture::load_file(path).map_err(|e| e.to_string())?;
        let out =
            fixtures.iter().flat_map(|f| f.contracts()).map(|(_, code)| code.to_vec()).collect();
        return Ok(out);
    }
    Ok(vec![read_code(input)?])
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let spec = args.fork.unwrap_or(SpecId::LATEST);
    let start = Instant::now();
    let mut compiler = AotCompiler::new()?;
    let mut bytes = 0usize;
    for input in &args.inputs {
        for code in contracts(input)? {
            if code.is_empty() {
                continue;
            }
            // Counted once per contract in the library: a duplicate adds nothing, and a
            // refused contract is left out.
            let before = compiler.len();
            match compiler.add(&code, spec) {
                // Not an error for the library: that contract runs in the interpreter.
                Err(kiln_codegen::CompileError::UnprovenStack(e)) => print_warning(&format!(
                    "left out of the library (runs in the interpreter): {e}"
                )),
                other => other?,
            }
            if compiler.len() > before {
                bytes += code.len();
            }
        }
    }
    let n = compiler.len();
    compiler.write_library(&args.output)?;
    emit(
        format!(
            "compiled {n} contract{} ({bytes} bytes of code) for {spec} into {} in {:.1} ms\n",
            if n == 1 { "" } else { "s" },
            args.output.display(),
            start.elapsed().as_secs_f64() * 1e3
        )
        .as_bytes(),
    )?;
    Ok(ExitCode::SUCCESS)
}
