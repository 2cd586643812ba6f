//! Settings known from the literature, applied in one click to the open
//! faces.

use crate::nmf::{Params, Solver};

/// A named set of parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// Hoyer (JMLR 2004): k = 49 parts, each held at sparseness 0.75 — on
    /// ORL, local parts (brows, lips, cheeks, hairline) instead of ghost
    /// faces.
    LocalParts,
}

impl Preset {
    pub const ALL: [Preset; 1] = [Preset::LocalParts];

    pub fn name(self) -> &'static str {
        match self {
            Preset::LocalParts => "Local parts (Hoyer 2004)",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Preset::LocalParts => {
                "k = 49 parts, each basis image held at Hoyer sparseness 0.75 (HALS, no penalties), as in \
                 Hoyer's \"Non-negative matrix factorization with sparseness constraints\" (JMLR 2004). On real \
                 photographs plain NMF learns ghost faces; this makes the parts local. Continues from the \
                 current fit when there is one."
            }
        }
    }

    /// The k this preset asks for.
    pub fn k(self) -> usize {
        match self {
            Preset::LocalParts => 49,
        }
    }

    /// `current` changed as the preset says, with k at most `max_k`.
    pub fn params(self, current: &Params, max_k: usize) -> Params {
        match self {
            Preset::LocalParts => Params {
                k: self.k().min(max_k.max(1)),
                solver: Solver::Hals,
                alpha_w: 0.0,
                alpha_h: 0.0,
                sparseness_w: Some(0.75),
                sparseness_h: None,
                ..current.clone()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nmf::Solver;

    #[test]
    fn local_parts_sets_k_sparseness_and_hals_and_keeps_the_rest() {
        let current = Params::new(10).solver(Solver::Mu).alpha_w(0.1).l1_ratio(1.0).seed(7).max_iter(123);
        let p = Preset::LocalParts.params(&current, 400);
        assert_eq!((p.k, p.solver, p.sparseness_w, p.sparseness_h), (49, Solver::Hals, Some(0.75), None));
        assert_eq!((p.alpha_w, p.alpha_h, p.seed, p.max_iter), (0.0, 0.0, 7, 123));
        assert!(p.check(1000, 400).is_ok());
        assert_eq!(Preset::LocalParts.params(&current, 20).k, 20);
    }
}
