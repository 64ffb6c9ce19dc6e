//! Quick side-by-side timing of the interpreter and the JIT on fixture files (the full
//! harness with revm and statistics is `cargo bench`; this is for fast iteration).
//! `cargo run --release --example modes -- FILE...`

use kiln::exec::transact_commit;
use kiln::fixture::load_file;
use kiln::Mode;
use kiln_runtime::SpecId;
use std::path::PathBuf;
use std::time::Instant;

fn time(fixture: &kiln::fixture::BenchFixture, mode: Mode, iters: usize) -> f64 {
    let cfg = fixture.cfg(SpecId::Prague);
    let mut best = f64::MAX;
    for _ in 0..iters {
        let mut db = fixture.pre.clone();
        let start = Instant::now();
        for tx in &fixture.txs {
            let r = transact_commit(mode, &mut db, &cfg, &fixture.block, tx).expect("mode runs");
            r.expect("valid tx");
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    best
}

fn main() {
    for path in std::env::args().skip(1) {
        for fixture in load_file(&PathBuf::from(&path)).expect("fixture loads") {
            // The first JIT run compiles; the timed runs reuse the compiled code.
            let first = Instant::now();
            time(&fixture, Mode::Jit, 1);
            let warm = first.elapsed().as_secs_f64();
            let iters = if warm > 0.5 { 3 } else { 20 };
            let interp = time(&fixture, Mode::Interp, iters);
            let jit = time(&fixture, Mode::Jit, iters);
            println!(
                "{:40} interp {:>10.1} us  jit {:>10.1} us  speedup {:>5.2}x  (first jit run {:.1} ms)",
                fixture.name,
                interp * 1e6,
                jit * 1e6,
                interp / jit,
                warm * 1e3
            );
        }
    }
}
