//! Layer 3: the fit's past, kept for replay. The worker keeps a copy of the
//! factors at log-spaced iterations (every early one, then sparser: the
//! parts change fastest at the start), within a bounded memory: at most
//! [`MAX_KEPT`] snapshots and [`MAX_BYTES`] of factors. When either bound
//! is passed, every other snapshot between the first and the last is
//! dropped and the spacing from then on doubles (in log terms), so a long
//! fit still spans its whole history. The last snapshot of a fit that
//! stopped is always kept, so a replay ends where the fit is.
//!
//! Iterations are counted across warm starts (a change of k continues the
//! count), as the loss curve counts them.
//!
//! A large set (from [`LARGE_SET_ENTRIES`] pixels × faces) keeps fewer:
//! at most [`LARGE_SET_MAX_BYTES`] ([`Replay::for_set`]). Its snapshots are
//! big (H of 13,000 faces is 2.5 MB at k = 49, of 50,000 9.8 MB) and the
//! app's memory beside A and Aᵀ is short (README, Large sets), so it keeps
//! 4 or 5 snapshots at 13,000 faces of 64×64, and only the first and the
//! newest at 50,000. The snapshots kept are exact, as for a small set.

use std::sync::Arc;

use crate::worker::Progress;

/// Snapshots kept at most.
pub const MAX_KEPT: usize = 64;
/// Bytes of factors (W and H, f32) kept at most: with 13,000 or 50,000
/// faces H dominates (2.5 or 9.8 MB a snapshot at k = 49), and the
/// replay must stay within the app's memory budget beside A and Aᵀ.
pub const MAX_BYTES: usize = 64 << 20;
/// Pixels × faces from which a set is large (13,000 faces of 64×64 are
/// 53 million): its replay keeps at most [`LARGE_SET_MAX_BYTES`].
pub const LARGE_SET_ENTRIES: usize = 20_000_000;
/// Bytes of factors a large set's replay keeps at most (at least two
/// snapshots are kept whatever their size: the first and the newest).
pub const LARGE_SET_MAX_BYTES: usize = 16 << 20;
/// The spacing of kept iterations at first: each at least this factor
/// past the one before (and at least one iteration past it).
const FIRST_RATIO: f64 = 1.1;

/// One snapshot kept for replay.
#[derive(Debug, Clone)]
pub struct Kept {
    /// The iteration, counted across warm starts (the loss curve's x).
    pub iteration: usize,
    /// The fit as it was then (its own iteration count is in the snapshot).
    pub progress: Arc<Progress>,
}

impl Kept {
    /// The bytes its factors take.
    pub fn bytes(&self) -> usize {
        (self.progress.snapshot.w.len() + self.progress.snapshot.h.len()) * std::mem::size_of::<f32>()
    }
}

/// The kept snapshots of the current fit, oldest first. See the
/// [module docs](self).
#[derive(Debug, Clone)]
pub struct Replay {
    kept: Vec<Kept>,
    bytes: usize,
    ratio: f64,
    next_due: usize,
    max_kept: usize,
    max_bytes: usize,
}

impl Default for Replay {
    fn default() -> Self {
        Replay::with_limits(MAX_KEPT, MAX_BYTES)
    }
}

impl Replay {
    /// A replay keeping at most `max_kept` snapshots (at least 2) and
    /// `max_bytes` of factors.
    pub fn with_limits(max_kept: usize, max_bytes: usize) -> Self {
        Replay { kept: Vec::new(), bytes: 0, ratio: FIRST_RATIO, next_due: 0, max_kept: max_kept.max(2), max_bytes }
    }

    /// The replay of a fit of `pixels` × `faces`: [`MAX_BYTES`] of
    /// factors, or [`LARGE_SET_MAX_BYTES`] for a large set.
    pub fn for_set(pixels: usize, faces: usize) -> Self {
        let large = pixels.saturating_mul(faces) >= LARGE_SET_ENTRIES;
        Replay::with_limits(MAX_KEPT, if large { LARGE_SET_MAX_BYTES } else { MAX_BYTES })
    }

    /// The bytes of factors it keeps at most.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Forgets every snapshot (a new fit).
    pub fn clear(&mut self) {
        *self = Replay::with_limits(self.max_kept, self.max_bytes);
    }

    /// True when the snapshot of `iteration` should be kept.
    pub fn is_due(&self, iteration: usize) -> bool {
        self.kept.is_empty() || iteration >= self.next_due
    }

    /// Keeps `progress` as the snapshot of `iteration` (replacing one of
    /// the same iteration), then thins the kept ones to the bounds.
    pub fn keep(&mut self, iteration: usize, progress: Arc<Progress>) {
        if let Some(last) = self.kept.last()
            && last.iteration >= iteration
        {
            if last.iteration > iteration {
                // The count went back (a new fit not announced): start over.
                self.clear();
            } else if let Some(last) = self.kept.pop() {
                self.bytes -= last.bytes();
            }
        }
        let kept = Kept { iteration, progress };
        self.bytes += kept.bytes();
        self.kept.push(kept);
        while self.kept.len() > 2 && (self.kept.len() > self.max_kept || self.bytes > self.max_bytes) {
            self.thin();
        }
        self.schedule_after(iteration);
    }

    /// Drops every other snapshot between the first and the last, and
    /// spaces the next ones twice as far apart (in log terms).
    fn thin(&mut self) {
        let last = self.kept.len() - 1;
        let mut i = 0;
        self.kept.retain(|_| {
            let keep = i == 0 || i == last || i % 2 == 0;
            i += 1;
            keep
        });
        self.bytes = self.kept.iter().map(Kept::bytes).sum();
        self.ratio *= self.ratio;
    }

    fn schedule_after(&mut self, iteration: usize) {
        let next = (iteration as f64 * self.ratio).ceil() as usize;
        self.next_due = next.max(iteration + 1);
    }

    /// The kept snapshots, oldest first.
    pub fn kept(&self) -> &[Kept] {
        &self.kept
    }

    /// The bytes of factors kept.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nmf::Params;
    use crate::worker::{FitSnapshot, FitState};
    use ndarray::Array2;

    fn progress(iteration: usize, m: usize, n: usize, k: usize) -> Arc<Progress> {
        Arc::new(Progress {
            fit_id: 1,
            warm_started: false,
            params: Params::new(k),
            snapshot: FitSnapshot {
                w: Arc::new(Array2::zeros((m, k))),
                h: Arc::new(Array2::zeros((k, n))),
                iteration,
                objective: 0.0,
                rel_err: 0.0,
                secs: 0.0,
            },
            state: FitState::Running,
            wall_secs: 0.0,
            init_secs: 0.0,
            alpha_limits: None,
        })
    }

    fn run(replay: &mut Replay, iterations: usize, m: usize) {
        for t in 0..=iterations {
            if replay.is_due(t) {
                replay.keep(t, progress(t, m, 10, 2));
            }
        }
    }

    #[test]
    fn keeps_every_early_iteration_then_log_spaced() {
        let mut r = Replay::default();
        run(&mut r, 100, 8);
        let its: Vec<usize> = r.kept().iter().map(|k| k.iteration).collect();
        assert_eq!(&its[..11], &(0..=10).collect::<Vec<_>>()[..]);
        // Log-spaced: each gap at least 10 % of where it starts.
        for w in its.windows(2).skip(10) {
            assert!(w[1] as f64 >= w[0] as f64 * 1.1 - 1e-9, "{its:?}");
        }
        assert!(its.len() < 40, "{its:?}");
    }

    #[test]
    fn a_long_fit_stays_within_the_count_and_spans_it() {
        let mut r = Replay::default();
        run(&mut r, 100_000, 8);
        assert!(r.kept().len() <= MAX_KEPT);
        assert!(r.kept().len() >= MAX_KEPT / 3, "{}", r.kept().len());
        assert_eq!(r.kept()[0].iteration, 0);
        assert!(r.kept().last().unwrap().iteration > 50_000);
        let its: Vec<usize> = r.kept().iter().map(|k| k.iteration).collect();
        assert!(its.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn memory_bound_thins_big_factors() {
        // Each snapshot: (1000·2 + 2·10)·4 = 8080 bytes; 10 fit in 81 kB.
        let mut r = Replay::with_limits(64, 81_000);
        run(&mut r, 1_000, 1_000);
        assert!(r.bytes() <= 81_000, "{}", r.bytes());
        assert!(r.kept().len() >= 5);
        assert_eq!(r.bytes(), r.kept().iter().map(Kept::bytes).sum::<usize>());
    }

    #[test]
    fn a_large_set_keeps_fewer_bytes_and_still_two_snapshots() {
        assert_eq!(Replay::for_set(10_304, 400).max_bytes(), MAX_BYTES);
        let mut r = Replay::for_set(4_096, 13_000);
        assert_eq!(r.max_bytes(), LARGE_SET_MAX_BYTES);
        // 50,000 faces of 64×64 at k = 49: 10.6 MB a snapshot, over the
        // bound alone; the first and the newest are kept.
        let mut kept = 0;
        for t in 0..=30 {
            if r.is_due(t) {
                r.keep(t, progress(t, 4_096, 50_000, 49));
                kept += 1;
                let its: Vec<usize> = r.kept().iter().map(|k| k.iteration).collect();
                assert_eq!(its, if t == 0 { vec![0] } else { vec![0, t] });
            }
        }
        assert!(kept > 3, "{kept}");
    }

    #[test]
    fn the_same_iteration_replaces_and_going_back_starts_over() {
        let mut r = Replay::default();
        r.keep(0, progress(0, 4, 4, 1));
        r.keep(1, progress(1, 4, 4, 1));
        r.keep(1, progress(1, 4, 4, 1));
        assert_eq!(r.kept().len(), 2);
        r.keep(0, progress(0, 4, 4, 1));
        assert_eq!(r.kept().len(), 1);
        assert_eq!(r.bytes(), r.kept()[0].bytes());
    }
}
