//! A fit pinned beside the live one, to compare (plain vs sparse, k = 10
//! vs 49, HALS vs KL): its last snapshot, its loss curve and a label. It
//! belongs to the faces it was fitted on and is dropped with them.

use std::sync::Arc;

use super::fit::{Curve, FitView};

/// The pinned fit.
pub struct Pinned {
    pub view: FitView,
    pub curve: Curve,
    /// What it is: k, solver, sparseness, iteration, rel_err.
    pub label: String,
    /// The same, short: k, solver, sparseness (for legends).
    pub short_label: String,
    /// The faces it was fitted on ([`super::Faces::generation`]).
    pub faces_generation: u64,
}

impl Pinned {
    /// Pins `fit` (the snapshot shown) with the loss curve that led to it.
    pub fn new(fit: &FitView, curve: &Curve, faces_generation: u64) -> Self {
        let p = &fit.progress;
        let mut label = format!("k = {}, {}", p.params.k, p.params.solver);
        if let Some(s) = p.params.sparseness_w {
            label.push_str(&format!(", sparseness {s}"));
        }
        if p.params.alpha_w > 0.0 || p.params.alpha_h > 0.0 {
            label.push_str(&format!(", alpha_W {} alpha_H {}", p.params.alpha_w, p.params.alpha_h));
        }
        let short_label = label.clone();
        label.push_str(&format!(", iteration {}, rel_err {:.4}", p.snapshot.iteration, p.snapshot.rel_err));
        Pinned {
            view: FitView::new(Arc::clone(&fit.progress)),
            curve: curve.clone(),
            label,
            short_label,
            faces_generation,
        }
    }

    /// A key that changes with every pin.
    pub fn key(&self) -> (u64, usize) {
        self.view.key()
    }
}
