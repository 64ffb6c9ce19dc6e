//! Repeated timing of one workload and the statistics reported for it.

use std::time::{Duration, Instant};

/// Something that can be executed once and report how long its timed part took. The untimed
/// part (a fresh copy of the pre-state, dropping the results) stays outside the duration, so
/// that every mode pays exactly for executing the transactions.
pub trait Workload {
    fn run_once(&mut self) -> Duration;
}

/// Fewest timed runs, however long each takes: a median of fewer is not worth printing.
pub const MIN_RUNS: usize = 5;
/// Most timed runs, so a sub-microsecond workload does not keep sorting millions of samples.
pub const MAX_RUNS: usize = 100_000;

/// The spread of per-run times of one mode on one fixture.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    pub runs: usize,
    pub median: Duration,
    pub min: Duration,
    pub max: Duration,
    /// Median absolute deviation from the median: the spread, robust to the odd run that
    /// another process on the machine interrupted.
    pub mad: Duration,
}

impl Stats {
    /// `None` for no samples.
    pub fn from_samples(mut samples: Vec<Duration>) -> Option<Stats> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_unstable();
        let median = samples[samples.len() / 2];
        let mut deviations: Vec<Duration> = samples.iter().map(|s| s.abs_diff(median)).collect();
        deviations.sort_unstable();
        Some(Stats {
            runs: samples.len(),
            median,
            min: samples[0],
            max: samples[samples.len() - 1],
            mad: deviations[deviations.len() / 2],
        })
    }

    /// The spread relative to the median, in percent.
    pub fn mad_percent(&self) -> f64 {
        if self.median.is_zero() {
            0.0
        } else {
            100.0 * self.mad.as_secs_f64() / self.median.as_secs_f64()
        }
    }
}

/// Wall time one workload runs before the next takes its turn.
const SLICE: Duration = Duration::from_millis(20);

/// Times `work` alone; see [`measure_interleaved`].
#[cfg(test)]
pub fn measure(work: &mut dyn Workload, budget: Duration) -> Stats {
    measure_interleaved(&mut [work], budget).remove(0)
}

/// Times several workloads against each other. Each is warmed up for a tenth of `budget` (at
/// least one run), then they take turns of about [`SLICE`] each until every one has spent
/// `budget` of wall time on timed runs, with at least [`MIN_RUNS`] and at most [`MAX_RUNS`]
/// runs. Taking turns keeps the ratios fair on a shared machine: a burst of load from another
/// process slows every mode alike instead of whichever one happened to be running.
pub fn measure_interleaved(works: &mut [&mut dyn Workload], budget: Duration) -> Vec<Stats> {
    let mut per_run = Vec::with_capacity(works.len());
    for work in works.iter_mut() {
        let warm_until = Instant::now() + budget / 10;
        let mut last = work.run_once();
        while Instant::now() < warm_until {
            last = work.run_once();
        }
        per_run.push(last.max(Duration::from_nanos(1)));
    }
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); works.len()];
    let mut spent = vec![Duration::ZERO; works.len()];
    let done = |samples: &Vec<Duration>, spent: Duration| {
        samples.len() >= MAX_RUNS || (samples.len() >= MIN_RUNS && spent >= budget)
    };
    while (0..works.len()).any(|i| !done(&samples[i], spent[i])) {
        for (i, work) in works.iter_mut().enumerate() {
            if done(&samples[i], spent[i]) {
                continue;
            }
            let turn = (SLICE.as_nanos() / per_run[i].as_nanos()).clamp(1, 10_000) as usize;
            let start = Instant::now();
            for _ in 0..turn.min(MAX_RUNS - samples[i].len()) {
                samples[i].push(work.run_once());
            }
            spent[i] += start.elapsed();
        }
    }
    samples
        .into_iter()
        .map(|s| Stats::from_samples(s).expect("at least MIN_RUNS samples"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_spread_of_samples() {
        let ms = Duration::from_millis;
        let stats = Stats::from_samples(vec![ms(5), ms(1), ms(3), ms(100), ms(4)]).unwrap();
        assert_eq!(stats.runs, 5);
        assert_eq!(stats.median, ms(4));
        assert_eq!((stats.min, stats.max), (ms(1), ms(100)));
        // Deviations 1, 3, 1, 96, 0 → median 1: the outlier does not widen the spread.
        assert_eq!(stats.mad, ms(1));
        assert!(Stats::from_samples(Vec::new()).is_none());
    }

    struct Count(usize);
    impl Workload for Count {
        fn run_once(&mut self) -> Duration {
            self.0 += 1;
            Duration::from_nanos(10)
        }
    }

    #[test]
    fn a_zero_budget_still_gives_the_minimum_runs() {
        let mut work = Count(0);
        let stats = measure(&mut work, Duration::ZERO);
        assert!(stats.runs >= MIN_RUNS);
        assert!(work.0 > stats.runs, "warm-up runs first");
    }

    #[test]
    fn interleaved_workloads_each_get_their_runs() {
        let (mut a, mut b) = (Count(0), Count(0));
        let stats = measure_interleaved(&mut [&mut a, &mut b], Duration::from_millis(5));
        assert_eq!(stats.len(), 2);
        assert!(stats.iter().all(|s| s.runs >= MIN_RUNS && s.runs <= MAX_RUNS), "{stats:?}");
        assert!(a.0 > stats[0].runs && b.0 > stats[1].runs);
    }
}
