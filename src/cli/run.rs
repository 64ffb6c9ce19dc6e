//! `kiln run CODE`

use std::io::{self, BufWriter};
use std::process::ExitCode;

use crate::tools::input::{parse_hex, read_code};
use crate::tools::mode::Mode;
use crate::tools::run::{self, parse_u256, parse_u64, RunRequest};
use alloy_primitives::U256;
use kiln_runtime::SpecId;

use super::{emit, CliError};

const AFTER_HELP: &str = "\
The code runs as the contract 0x1000000000000000000000000000000000000000 (nonce 1, no balance),
called by 0x2000000000000000000000000000000000000000 (balance 2^128 wei, nonce 0) in a legacy
transaction with gas price 0 and base fee 0, in block 1 at timestamp 1 with coinbase
0x3000000000000000000000000000000000000000.

Output: `status: success|revert|halt (REASON)`, `gas used: N` (as a receipt reports it: 21000
plus calldata plus execution, after refunds), `execution gas: N` (gas used minus the intrinsic
21000 plus calldata), `output: 0x...`, `logs: N` and a `log I: ...` line each, and `state root:
0x...`. With --json, one JSON object instead. With --trace, the EIP-3155 trace (a JSON line
per instruction, then the summary line with stateRoot, output, gasUsed, pass, fork and time)
goes to stderr, as geth, revm and evmone write theirs; the result above stays on stdout.

Exit status: 0 when the code ran, whatever its status (a revert or halt is a result); 2 when it
could not run (bad input, unsupported fork, a gas limit the fork refuses).";

#[derive(clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Bytecode as hex (`0x` optional, whitespace ignored), a file of hex text or raw
    /// bytecode, or `-` for standard input.
    #[arg(value_name = "CODE")]
    code: String,
    /// Call data as hex (`0x` optional). `--input` is the same (geth's `evm run` name).
    #[arg(long, visible_alias = "input", value_name = "HEX")]
    calldata: Option<String>,
    /// Wei sent with the call, decimal or 0x-hex.
    #[arg(long, value_name = "N", value_parser = parse_u256, default_value = "0")]
    value: U256,
    /// Transaction gas limit, decimal or 0x-hex, including the intrinsic 21000 plus calldata
    /// [default: 16777216 (the EIP-7825 cap) under Osaka, 10000000 under Cancun and Prague].
    #[arg(long, value_name = "N", value_parser = parse_u64)]
    gas: Option<u64>,
    #[arg(long, value_name = "NAME", value_parser = parse_fork,
          help = super::fork_help("Fork whose rules apply"))]
    fork: Option<SpecId>,
    /// How the code is executed [default: interp; aot with --aot].
    #[arg(long, value_enum)]
    mode: Option<Mode>,
    #[command(flatten)]
    tier: super::tier::TierArgs,
    /// Run from this shared object (built by `kiln compile`); implies `--mode aot`. Code the
    /// library lacks for the fork runs in the interpreter, with a warning on stderr.
    #[arg(long, value_name = "LIB.so")]
    aot: Option<std::path::PathBuf>,
    /// With --aot: refuse (exit 2) to run code the library lacks, instead of interpreting it.
    #[arg(long, requires = "aot")]
    aot_strict: bool,
    /// Print the summary as one JSON object.
    #[arg(long)]
    json: bool,
    /// Also time the transaction: run it again on fresh copies of the state for about a
    /// second (at least 5 times; compiled modes compile first) and print the median and
    /// minimum (like `evm run --bench`).
    #[arg(long)]
    bench: bool,
    /// Write an EIP-3155 trace to stderr: one JSON line per executed instruction, then the
    /// EIP's summary line. Only the interpreter traces: needs `--mode interp`.
    #[arg(long)]
    trace: bool,
}

fn parse_fork(name: &str) -> Result<SpecId, kiln_frontend::UnknownFork> {
    name.parse()
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let mode = match (&args.aot, args.mode) {
        (Some(_), None | Some(Mode::Aot)) => Mode::Aot,
        (Some(lib), Some(mode)) => {
            return Err(format!(
                "--aot {} runs the code from a shared object: it cannot run in --mode {}",
                lib.display(),
                mode.name()
            )
            .into())
        }
        (None, mode) => mode.unwrap_or_default().ensure_built()?,
    };
    let tiers = args.tier.configure(mode)?;
    let code = read_code(&args.code)?;
    let calldata = match &args.calldata {
        Some(text) => parse_hex(text).map_err(|e| format!("invalid --calldata: {e}"))?,
        None => Vec::new(),
    };
    let mut req = RunRequest::new(code);
    req.calldata = calldata;
    req.value = args.value;
    req.gas = args.gas;
    req.spec = args.fork.unwrap_or(SpecId::LATEST);
    req.mode = mode;
    req.tiers = tiers.clone();
    req.aot = args.aot.clone();
    req.aot_strict = args.aot_strict;
    req.bench = args.bench.then_some(std::time::Duration::from_secs(1));
    if args.trace {
        req.trace = Some(Box::new(BufWriter::new(io::stderr())));
    }

    let outcome = run::run(req)?;
    if let Some(e) = &outcome.trace_error {
        // A reader that closed the pipe has what it wanted; anything else is lost output.
        if e.kind() != io::ErrorKind::BrokenPipe {
            return Err(format!("cannot write the trace: {e}").into());
        }
    }
    if let Some(why) = &outcome.fallback {
        super::print_warning(why);
    }
    let stats = args.tier.stats(tiers.as_ref());
    let mut text = if args.json {
        let mut json = outcome.to_json();
        if let (Some(stats), Some(object)) = (&stats, json.as_object_mut()) {
            object.insert("tier_stats".into(), stats.to_json());
        }
        serde_json::to_string(&json)?
    } else {
        outcome.to_text()
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    if let (Some(stats), false) = (&stats, args.json) {
        stats.write_text(&mut text, usize::MAX)?;
    }
    emit(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
