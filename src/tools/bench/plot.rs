//! `kiln bench --plot FILE.svg`: the speedups of a report as a bar chart, one group of bars per
//! fixture and one colour per mode, on a log scale (a JIT at 24x and one at 1.2x both read).

use std::path::Path;

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

use super::table::{References, Report};
use super::Engine;
use crate::tools::mode::Mode;

/// Why the chart could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("nothing to plot: no fixture was timed in more than one mode")]
    Empty,
    #[error("cannot draw {path}: {reason}")]
    Draw { path: String, reason: String },
}

/// One bar: a mode's speedup on a fixture.
struct Bar {
    fixture: usize,
    engine: Engine,
    speedup: f64,
}

/// Writes the report's speedups to `path` as SVG: over revm when the report timed it, else
/// over Kiln's interpreter (the chart's title says which).
pub fn write_svg(report: &Report, path: &Path) -> Result<(), PlotError> {
    let over_revm = report.timings.iter().any(|t| t.modes.iter().any(|m| m.engine == Engine::Revm));
    let (baseline, name) =
        if over_revm { (Engine::Revm, "revm") } else { (Engine::Kiln(Mode::Interp), "interp") };
    let mut engines: Vec<Engine> = Vec::new();
    let mut bars = Vec::new();
    for (fixture, timing) in report.timings.iter().enumerate() {
        let refs = References::of(timing);
        for m in timing.modes.iter().filter(|m| m.engine != baseline) {
            let (vs_interp, vs_revm) = refs.speedups(&m.stats);
            let Some(speedup) = (if over_revm { vs_revm } else { vs_interp }) else { continue };
            if !engines.contains(&m.engine) {
                engines.push(m.engine);
            }
            bars.push(Bar { fixture, engine: m.engine, speedup });
        }
    }
    if bars.is_empty() {
        return Err(PlotError::Empty);
    }
    let draw_err = |e: &dyn std::fmt::Display| PlotError::Draw {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let title = format!("Speedup over {name} (median time, {}; log scale)", report.fork);
    draw(&bars, &engines, &report.timings, &title, path).map_err(|e| draw_err(&e))
}

/// The slot of a bar on the x axis: each fixture's group holds a slot per mode and one empty
/// slot as a gap.
fn slot(fixture: usize, mode: usize, modes: usize) -> usize {
    fixture * (modes + 1) + mode
}

fn draw(
    bars: &[Bar],
    engines: &[Engine],
    timings: &[super::FixtureTiming],
    title: &str,
    path: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let modes = engines.len();
    let slots = timings.len() * (modes + 1);
    let width = (120 + slots * 28).clamp(480, 2400) as u32;
    let root = SVGBackend::new(path, (width, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let max = bars.iter().map(|b| b.speedup).fold(1.0, f64::max) * 1.6;
    let min = bars.iter().map(|b| b.speedup).fold(1.0, f64::min) * 0.6;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(52)
        .build_cartesian_2d((0..slots).into_segmented(), (min..max).log_scale())?;
    // A fixture's name sits under the middle of its group.
    let label = |v: &SegmentValue<usize>| match v {
        SegmentValue::CenterOf(s) if s % (modes + 1) == (modes - 1) / 2 => {
            timings.get(s / (modes + 1)).map_or(String::new(), |t| t.name.clone())
        }
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(slots)
        .x_label_formatter(&label)
        .y_desc("speedup")
        .y_label_formatter(&|v| format!("{v:.1}x"))
        .draw()?;
    for (i, engine) in engines.iter().enumerate() {
        let colour = Palette99::pick(i).to_rgba();
        let mine = bars.iter().filter(|b| b.engine == *engine);
        chart
            .draw_series(mine.clone().map(|b| {
                let s = slot(b.fixture, i, modes);
                let area = [(SegmentValue::Exact(s), min), (SegmentValue::Exact(s + 1), b.speedup)];
                Rectangle::new(area, colour.filled())
            }))?
            .label(engine.to_string())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled()));
        chart.draw_series(mine.map(|b| {
            let at = (SegmentValue::CenterOf(slot(b.fixture, i, modes)), b.speedup * 1.08);
            Text::new(format!("{:.1}", b.speedup), at, ("sans-serif", 11).into_font())
        }))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
