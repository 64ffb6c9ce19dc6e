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

/// Warms `work` up for a tenth of `budget` (at least one run), then runs it until `budget` of
/// wall time is spent, with at least [`MIN_RUNS`] and at most [`MAX_RUNS`] timed runs.
pub fn measure(work: &mut dyn Workload, budget: Duration) -> Stats {
    let warm_until = Instant::now() + budget / 10;
    loop {
        work.run_once();
        if Instant::now() >= warm_until {
            break;
        }
    }
    let until = Instant::now() + budget;
    let mut samples = Vec::new();
    while samples.len() < MIN_RUNS || (Instant::now() < until && samples.len() < MAX_RUNS) {
        samples.push(work.run_once());
    }
    Stats::from_samples(samples).expect("at least MIN_RUNS samples")
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
        assert_eq!(stats.runs, MIN_RUNS);
        assert!(work.0 > MIN_RUNS, "warm-up runs first");
    }
}
