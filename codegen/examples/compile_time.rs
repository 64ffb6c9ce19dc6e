//! Prints how long the JIT takes to compile each hex file given on the command line.
//! `cargo run --release -p kiln-codegen --example compile_time -- FILE...`

use kiln_codegen::JitCompiler;
use kiln_frontend::SpecId;
use std::time::Instant;

fn main() {
    for path in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&path).expect("read file");
        let text = text.trim().trim_start_matches("0x");
        let code = alloy_primitives::hex::decode(text).expect("hex");
        phases(&code);
        let mut best = f64::MAX;
        for _ in 0..5 {
            let mut jit = JitCompiler::new().expect("jit");
            let start = Instant::now();
            jit.compile(&code, SpecId::Prague).expect("compile");
            best = best.min(start.elapsed().as_secs_f64() * 1e3);
        }
        println!(
            "{path}: {} bytes, {best:.2} ms ({:.2} ms/KiB)",
            code.len(),
            best / (code.len() as f64 / 1024.0)
        );
    }
}

#[allow(dead_code)]
fn phases(code: &[u8]) {
    let t = Instant::now();
    let f = kiln_ir::build(code, SpecId::Prague);
    eprintln!("  ir: {:.2} ms ({} blocks)", t.elapsed().as_secs_f64() * 1e3, f.blocks.len());
}
