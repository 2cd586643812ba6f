//! The live fit as the model keeps it: the latest snapshot with what every
//! view reads from it (importance order, sparseness, column sums of W), and
//! the loss curve over the session's fits.

use std::sync::Arc;

use ndarray::Array1;

use crate::nmf::metrics;
use crate::worker::{FitState, HistoryDelta, Progress};

/// The latest fit snapshot and the cheap measures the views share.
pub struct FitView {
    pub progress: Arc<Progress>,
    /// Components (columns of W) by decreasing importance.
    pub order: Vec<usize>,
    /// rank[c]: position of component c in `order`.
    pub rank: Vec<usize>,
    /// Each component's share of the total weight.
    pub importance: Vec<f32>,
    /// Hoyer sparseness of each basis image.
    pub sparseness: Vec<f32>,
    /// Each basis image's total intensity (column sums of W).
    pub w_sums: Vec<f32>,
    /// Parts that are all zero (what a strong L1 penalty does).
    pub zeroed: metrics::ZeroedParts,
}

impl FitView {
    pub fn new(progress: Arc<Progress>) -> Self {
        let (w, h) = (progress.snapshot.w.view(), progress.snapshot.h.view());
        let importance = metrics::importance(w, h);
        let order = metrics::order_by_importance_of(&importance);
        let mut rank = vec![0; order.len()];
        for (r, &c) in order.iter().enumerate() {
            rank[c] = r;
        }
        let sparseness = metrics::column_sparseness(w);
        let w_sums = w.sum_axis(ndarray::Axis(0)).to_vec();
        let zeroed = metrics::zeroed_parts(w, h);
        FitView { progress, order, rank, importance, sparseness, w_sums, zeroed }
    }

    pub fn k(&self) -> usize {
        self.progress.params.k
    }

    pub fn is_running(&self) -> bool {
        self.progress.state == FitState::Running
    }

    /// Face `j`'s fitted weights (k).
    pub fn weights(&self, j: usize) -> Array1<f32> {
        self.progress.snapshot.h.column(j).to_owned()
    }

    /// The faces that use component `c` most, by decreasing weight.
    pub fn top_faces(&self, c: usize, count: usize) -> Vec<usize> {
        let Some(row) = (c < self.progress.snapshot.h.nrows()).then(|| self.progress.snapshot.h.row(c)) else {
            return Vec::new();
        };
        let by_weight = |a: &usize, b: &usize| row[*b].total_cmp(&row[*a]).then(a.cmp(b));
        let mut idx: Vec<usize> = (0..row.len()).collect();
        // One pass to find the largest (any number of faces), then a sort
        // of those few.
        if count < idx.len() {
            idx.select_nth_unstable_by(count, by_weight);
            idx.truncate(count);
        }
        idx.sort_by(by_weight);
        idx
    }

    /// The status line's warning when parts are all zero: how many of k,
    /// and (with an L1 penalty) which settings removed them.
    pub fn zeroed_warning(&self) -> Option<String> {
        let mut line = self.zeroed.summary()?;
        let p = &self.progress.params;
        if p.l1_ratio > 0.0 && (p.alpha_w > 0.0 || p.alpha_h > 0.0) {
            line.push_str(&format!(
                ": the L1 penalty (alpha_W {}, alpha_H {}, l1_ratio {}) removed them; smaller values keep more",
                p.alpha_w, p.alpha_h, p.l1_ratio
            ));
        }
        Some(line)
    }

    /// Basis image `c`'s [`metrics::support90`] (sorts its pixels: computed
    /// when asked, for the part under the pointer).
    pub fn support90(&self, c: usize) -> f32 {
        metrics::support90(self.progress.snapshot.w.column(c))
    }

    /// A key that changes with every snapshot shown: (fit id, iteration).
    pub fn key(&self) -> (u64, usize) {
        (self.progress.fit_id, self.progress.snapshot.iteration)
    }
}

/// rel_err over the whole session's fits: k changes continue the curve.
#[derive(Debug, Default, Clone)]
pub struct Curve {
    /// (iteration, seconds, rel_err), iteration and seconds cumulative across
    /// warm starts.
    pub points: Vec<[f64; 3]>,
    /// Where each warm start began: (iteration, new k).
    pub k_marks: Vec<(f64, usize)>,
    /// Where the current fit's points start: (iteration, seconds).
    base: (f64, f64),
}

impl Curve {
    /// Appends a history delta of fit `p` (a new fit restarts the curve, or
    /// continues it after a warm start).
    pub fn update(&mut self, p: &Progress, delta: &HistoryDelta) {
        let mut records = &delta.records[..];
        if delta.reset {
            match self.points.last() {
                Some(&last) if p.warm_started => {
                    self.base = (last[0], last[1]);
                    self.k_marks.push((last[0], p.params.k));
                    // The warm start's record 0 is where the last fit ended.
                    records = records.get(1..).unwrap_or_default();
                }
                _ => *self = Curve::default(),
            }
        }
        let (i0, s0) = self.base;
        self.points.extend(records.iter().map(|r| [i0 + r.iteration as f64, s0 + r.secs, r.rel_err]));
    }

    /// The iterations on the curve before the current fit began (its warm
    /// starts continue the count): the curve's iteration of the fit's
    /// iteration `i` is this plus `i`.
    pub fn iterations_before(&self) -> usize {
        self.base.0 as usize
    }
}
