//! Prints how long the JIT takes to compile each hex file given on the command line, in each
//! compiled tier (as a tier worker compiles: one `UnitCompiler` reused, bytecode to callable
//! code) and the quick tier's share of the optimizing tier's time, and where the time goes:
//! building the IR, then per tier lowering it to Cranelift IR (as the tier carries the stack
//! between blocks; how many Cranelift instructions that makes per EVM instruction) and
//! Cranelift's own compile with the tier's register allocator, and the part of it register
//! allocation takes (Cranelift's pass timings). Every other figure is the best of five.
//! `cargo run --release -p kiln-codegen --example compile_time -- FILE...`

use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::Function;
use cranelift_codegen::isa::TargetIsa;
use cranelift_codegen::timing;
use cranelift_frontend::FunctionBuilderContext;
use kiln_codegen::define::{is_large, pressure};
use kiln_codegen::jit::host_isa_for_tools_with;
use kiln_codegen::lower::{lower, native_signature};
use kiln_codegen::{CodeTier, JitCompiler, UnitCompiler};
use kiln_frontend::opcode::immediate_size;
use kiln_frontend::SpecId;
use std::time::Instant;

const RUNS: usize = 5;

fn main() {
    for path in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&path).expect("read file");
        let text = text.trim().trim_start_matches("0x");
        let code = alloy_primitives::hex::decode(text).expect("hex");
        let kib = code.len() as f64 / 1024.0;
        let jit = best_ms(|| {
            let mut jit = JitCompiler::new().expect("jit");
            jit.compile(&code, SpecId::Prague).expect("compile");
        });
        println!("{path}: {} bytes, {} EVM instructions", code.len(), evm_instructions(&code));
        println!("  JIT compile: {jit:.2} ms ({:.2} ms/KiB)", jit / kib);
        let mut unit = UnitCompiler::new().expect("jit");
        let [quick, optimizing] = CodeTier::ALL.map(|tier| {
            best_ms(|| drop(unit.compile(&code, SpecId::Prague, tier).expect("compile")))
        });
        println!(
            "  tiers: quick {quick:.2} ms, optimizing {optimizing:.2} ms (quick/optimizing {:.2})",
            quick / optimizing
        );
        phases(&code);
    }
}

/// The instructions in `code`, each PUSH with its immediate counted once.
fn evm_instructions(code: &[u8]) -> usize {
    let (mut pc, mut n) = (0, 0);
    while pc < code.len() {
        pc += 1 + immediate_size(code[pc]);
        n += 1;
    }
    n
}

fn phases(code: &[u8]) {
    let ir = best_ms(|| drop(kiln_ir::build(code, SpecId::Prague)));
    let f = kiln_ir::build(code, SpecId::Prague);
    println!("  IR {ir:.2} ms; at most {} words live in a block", pressure(&f));
    let mut fctx = FunctionBuilderContext::new();
    // Each tier's lowering (how far it carries the stack) with each tier's allocator.
    for (tier, regalloc) in
        [(CodeTier::Quick, "single_pass"), (CodeTier::Optimizing, "backtracking")]
    {
        let isa = host_isa_for_tools_with(regalloc).expect("host");
        let lowered = |isa: &dyn TargetIsa, fctx: &mut FunctionBuilderContext| {
            let mut func = Function::new();
            func.signature = native_signature(isa.default_call_conv());
            lower(&f, &mut func, fctx, isa.frontend_config(), tier.carry())
                .expect("the stack proof holds");
            func
        };
        let lowering = best_ms(|| drop(lowered(&*isa, &mut fctx)));
        let func = lowered(&*isa, &mut fctx);
        let insts: usize = func.layout.blocks().map(|b| func.layout.block_insts(b).count()).sum();
        let mut size = 0;
        // The pass timings so far are the compiles above; start from none.
        let _ = timing::take_current();
        let ms = best_ms(|| {
            let mut ctx = cranelift_codegen::Context::for_function(func.clone());
            let compiled = ctx.compile(&*isa, &mut ControlPlane::default()).expect("compile");
            size = compiled.code_buffer().len();
        });
        let regalloc_ms = pass_ms(&timing::take_current(), "Register allocation") / RUNS as f64;
        println!(
            "  {tier}: lowering {lowering:.2} ms, {insts} Cranelift instructions ({:.1} per EVM \
             instruction){}; Cranelift with {regalloc}: {ms:.2} ms ({:.2} us per instruction; \
             register allocation {regalloc_ms:.1} ms, the mean of {RUNS}), {size} bytes of code",
            insts as f64 / evm_instructions(code) as f64,
            if is_large(&func, &f) { ", past the backtracking allocator's limit" } else { "" },
            ms * 1e3 / insts as f64,
        );
    }
}

/// The milliseconds Cranelift's pass timings give `pass` itself (their table is the only way
/// they are told: seconds with three decimals, total then self, then the pass's name).
fn pass_ms(times: &timing::PassTimes, pass: &str) -> f64 {
    let table = times.to_string();
    let line = table.lines().find(|l| l.trim_end().ends_with(pass));
    let own = line.and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok());
    own.map_or(f64::NAN, |s| s * 1e3)
}

fn best_ms(mut run: impl FnMut()) -> f64 {
    (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed().as_secs_f64() * 1e3
        })
        .fold(f64::MAX, f64::min)
}
