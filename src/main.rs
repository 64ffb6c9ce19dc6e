//! The `kiln` command-line tool.

mod cli;
mod tools;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "kiln",
    version,
    about = "Kiln: an ahead-of-time and just-in-time EVM-to-native compiler"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run execution-spec-tests state-test fixtures.
    Statetest(cli::statetest::Args),
    /// Run execution-spec-tests blockchain-test fixtures: each block imported or rejected
    /// through the block executor, its transactions and system calls in the chosen mode. With
    /// --mode aot each file's `pre` contracts (system contracts included) and its blocks'
    /// creating initcode are compiled first; contracts a block deploys run interpreted.
    Blocktest(cli::blocktest::Args),
    /// Print Kiln's SSA IR for bytecode.
    Ir(cli::ir::Args),
    /// Compile contracts ahead of time into one shared object.
    Compile(cli::compile::Args),
    /// Disassemble bytecode given as hex, or as a file holding hex.
    Disasm(cli::disasm::Args),
    /// Run bytecode as a contract called by a funded sender; print status, gas, output, logs.
    Run(cli::run::Args),
    /// Check that every mode agrees on benchmark fixtures, then time each mode.
    Bench(cli::bench::Args),
}

fn main() -> ExitCode {
    // clap reports its own usage errors as `error: ...` and exits with 2, as the rest of the
    // tool does.
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Statetest(args) => cli::statetest::run(args),
        Command::Blocktest(args) => cli::blocktest::run(args),
        Command::Disasm(args) => cli::disasm::run(args),
        Command::Compile(args) => cli::compile::run(args),
        Command::Ir(args) => cli::ir::run(args),
        Command::Run(args) => cli::run::run(args),
        Command::Bench(args) => cli::bench::run(args),
    };
    result.unwrap_or_else(|e| {
        cli::print_error(&e);
        cli::USAGE_ERROR.into()
    })
}
