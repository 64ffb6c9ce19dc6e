//! The report of a `kiln bench` run: a Markdown table (pasted as is into docs/benchmarks.md) or one
//! JSON object.

use std::time::Duration;

use serde_json::{json, Map, Value};

use super::engine::Engine;
use super::{FixtureTiming, Rejected, Stats};
use crate::tools::fixture::FixtureError;
use crate::tools::mode::Mode;

/// Everything a run produced.
#[derive(Debug, Default)]
pub struct Report {
    pub fork: String,
    pub time: Duration,
    pub timings: Vec<FixtureTiming>,
    /// Fixtures whose modes disagree or could not be prepared: not timed.
    pub rejected: Vec<Rejected>,
    /// Files or tests that could not be loaded.
    pub errors: Vec<FixtureError>,
}

impl Report {
    pub fn success(&self) -> bool {
        self.rejected.is_empty() && self.errors.is_empty()
    }

    /// The text report: the table, then what failed.
    pub fn text(&self) -> String {
        let header = [
            "fixture",
            "mode",
            "median",
            "spread",
            "min",
            "max",
            "runs",
            "vs interp",
            "vs revm",
            "compile",
            "code",
        ];
        let mut rows: Vec<Vec<String>> = Vec::new();
        for t in &self.timings {
            let reference = References::of(t);
            for m in &t.modes {
                let (compile, code) = match m.compile {
                    Some(c) => (show_duration(c.time), show_bytes(c.code_bytes)),
                    None => (String::new(), String::new()),
                };
                rows.push(row(&t.name, m.engine.name(), &m.stats, &reference, compile, code));
            }
            if let Some((name, stats)) = &t.native {
                let mode = format!("native ({name} in Rust)");
                rows.push(row(&t.name, &mode, stats, &reference, String::new(), String::new()));
            }
        }
        let mut out = format!(
            "fork {}, {} s of timed runs per mode and fixture. Times are per run of the \
             fixture's transactions (warm code); spread is the median absolute deviation; \
             code is JIT machine code, or the AOT shared object file.\n\n",
            self.fork,
            self.time.as_secs_f64()
        );
        out += &markdown(&header, &rows);
        for r in &self.rejected {
            out += &format!("\nFAILED {}:\n", r.name);
            for p in &r.problems {
                out += &format!("  {p}\n");
            }
        }
        for e in &self.errors {
            out += &format!("\nFAILED {}: {}\n", e.name, e.reason);
        }
        out
    }

    /// `{"fork", "time_s", "fixtures": [{"name", "agree", "modes": {...}, "native"?}],
    /// "errors": [{"name", "reason"}]}`; a fixture whose modes disagree has `agree: false`,
    /// its `disagreements`, and no timings.
    pub fn json(&self) -> Value {
        let mut fixtures = Vec::new();
        for t in &self.timings {
            let reference = References::of(t);
            let mut modes = Map::new();
            for m in &t.modes {
                let mut v = stats_json(&m.stats, &reference);
                if let Some(c) = m.compile {
                    v["compile_ns"] = json!(c.time.as_nanos() as u64);
                    v["code_bytes"] = json!(c.code_bytes);
                    v["contracts"] = json!(c.contracts);
                }
                modes.insert(m.engine.name().to_string(), v);
            }
            let mut f = json!({"name": t.name, "agree": true, "modes": modes});
            if let Some((name, stats)) = &t.native {
                let mut v = stats_json(stats, &reference);
                v["loop"] = json!(name);
                f["native"] = v;
            }
            fixtures.push(f);
        }
        for r in &self.rejected {
            fixtures.push(json!({
                "name": r.name, "agree": false, "disagreements": r.problems, "modes": {}
            }));
        }
        let errors: Vec<Value> =
            self.errors.iter().map(|e| json!({"name": e.name, "reason": e.reason})).collect();
        json!({
            "fork": self.fork,
            "time_s": self.time.as_secs_f64(),
            "fixtures": fixtures,
            "errors": errors,
        })
    }
}

/// The medians speedups are relative to.
pub(super) struct References {
    interp: Option<Duration>,
    revm: Option<Duration>,
}

impl References {
    pub(super) fn of(t: &FixtureTiming) -> Self {
        let median = |engine| t.modes.iter().find(|m| m.engine == engine).map(|m| m.stats.median);
        References { interp: median(Engine::Kiln(Mode::Interp)), revm: median(Engine::Revm) }
    }

    pub(super) fn speedups(&self, stats: &Stats) -> (Option<f64>, Option<f64>) {
        let ratio = |r: Option<Duration>| {
            r.filter(|_| !stats.median.is_zero())
                .map(|r| r.as_secs_f64() / stats.median.as_secs_f64())
        };
        (ratio(self.interp), ratio(self.revm))
    }
}

fn stats_json(stats: &Stats, reference: &References) -> Value {
    // Four decimals: more would be noise, and round numbers read back exactly.
    let round = |s: Option<f64>| s.map(|s| (s * 1e4).round() / 1e4);
    let (vs_interp, vs_revm) = reference.speedups(stats);
    let (vs_interp, vs_revm) = (round(vs_interp), round(vs_revm));
    json!({
        "median_ns": stats.median.as_nanos() as u64,
        "min_ns": stats.min.as_nanos() as u64,
        "max_ns": stats.max.as_nanos() as u64,
        "mad_ns": stats.mad.as_nanos() as u64,
        "runs": stats.runs,
        "speedup_vs_interp": vs_interp,
        "speedup_vs_revm": vs_revm,
    })
}

fn row(
    fixture: &str,
    mode: &str,
    stats: &Stats,
    reference: &References,
    compile: String,
    code: String,
) -> Vec<String> {
    let (vs_interp, vs_revm) = reference.speedups(stats);
    let speedup = |s: Option<f64>| s.map_or(String::new(), |s| format!("{s:.2}x"));
    vec![
        fixture.to_string(),
        mode.to_string(),
        show_duration(stats.median),
        format!("±{:.1}%", stats.mad_percent()),
        show_duration(stats.min),
        show_duration(stats.max),
        stats.runs.to_string(),
        speedup(vs_interp),
        speedup(vs_revm),
        compile,
        code,
    ]
}

/// A Markdown table with padded columns, numbers right-aligned.
fn markdown(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    // The first two columns are names; the rest are numbers.
    let right = |i: usize| i >= 2;
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if right(i) {
                    format!("{c:>w$}", w = widths[i])
                } else {
                    format!("{c:<w$}", w = widths[i])
                }
            })
            .collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    let rule: Vec<String> = widths
        .iter()
        .enumerate()
        .map(|(i, w)| if right(i) { format!("{}:", "-".repeat(w - 1)) } else { "-".repeat(*w) })
        .collect();
    out += &format!("| {} |\n", rule.join(" | "));
    for r in rows {
        out += &line(r.clone());
    }
    out
}

pub fn show_duration(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn show_bytes(bytes: u64) -> String {
    if bytes >= 1024 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{bytes} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::bench::ModeTiming;

    fn stats(median_us: u64) -> Stats {
        let d = Duration::from_micros(median_us);
        Stats { runs: 5, median: d, min: d, max: d, mad: Duration::ZERO }
    }

    #[test]
    fn speedups_are_relative_to_interp_and_revm() {
        let timing = FixtureTiming {
            name: "f".into(),
            modes: vec![
                ModeTiming { engine: Engine::Kiln(Mode::Interp), stats: stats(100), compile: None },
                ModeTiming { engine: Engine::Kiln(Mode::Jit), stats: stats(25), compile: None },
                ModeTiming { engine: Engine::Revm, stats: stats(50), compile: None },
            ],
            native: Some(("loop", stats(1))),
        };
        let report = Report { fork: "Prague".into(), timings: vec![timing], ..Report::default() };
        let v = report.json();
        let jit = &v["fixtures"][0]["modes"]["jit"];
        assert_eq!(jit["median_ns"], 25_000);
        assert_eq!(jit["speedup_vs_interp"], 4.0);
        assert_eq!(jit["speedup_vs_revm"], 2.0);
        assert_eq!(v["fixtures"][0]["native"]["speedup_vs_interp"], 100.0);
        let text = report.text();
        let jit_row = text.lines().find(|l| l.contains(" jit ")).unwrap();
        assert!(jit_row.contains("4.00x") && jit_row.contains("2.00x"), "{text}");
    }
}
