//! Behaviour of the NMF solvers on data whose answer is known.

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use facenmf::nmf::metrics::{best_matches, hoyer_sparseness};
use facenmf::nmf::{FaceMatrix, Init, Nmf, NmfError, Params, Solver, StopReason, transform};
use ndarray::{Array2, s};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// A non-negative matrix of exact rank `r`, built from sparse random factors.
fn exact_low_rank(m: usize, n: usize, r: usize, seed: u64) -> Array2<f32> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut sparse = |rows, cols| {
        Array2::from_shape_simple_fn((rows, cols), || if rng.random::<f32>() < 0.4 { 0.0 } else { rng.random::<f32>() })
    };
    let w = sparse(m, r);
    let h = sparse(r, n);
    w.dot(&h)
}

/// A swimmer-style parts dataset (Donoho & Stodden 2003): a torso and four
/// limbs, each limb in one of four positions (or missing), all with
/// random intensities. Returns (A, the 17 true parts as columns).
fn swimmer(faces: usize, seed: u64) -> (Array2<f32>, Array2<f32>) {
    const SIDE: usize = 20;
    let px = SIDE * SIDE;
    let mut parts: Vec<Array2<f32>> = Vec::new();
    let torso = {
        let mut img = Array2::<f32>::zeros((SIDE, SIDE));
        img.slice_mut(s![6..14, 9..11]).fill(1.0);
        img
    };
    parts.push(torso);
    // Four limbs (at the torso's four corners), each in four directions;
    // a limb is a short line of pixels, disjoint from every other part.
    let anchors = [(5isize, 8isize), (5, 11), (14, 8), (14, 11)];
    for (li, &(ay, ax)) in anchors.iter().enumerate() {
        let up = if li < 2 { -1 } else { 1 };
        let side = if li % 2 == 0 { -1 } else { 1 };
        let dirs = [(up, 0), (up, side), (0, side), (-up, side)];
        for (dy, dx) in dirs {
            let mut img = Array2::<f32>::zeros((SIDE, SIDE));
            for t in 1..=4isize {
                let (y, x) = (ay + dy * t, ax + dx * t);
                if (0..SIDE as isize).contains(&y) && (0..SIDE as isize).contains(&x) {
                    img[(y as usize, x as usize)] = 1.0;
                }
            }
            parts.push(img);
        }
    }
    // Make the supports disjoint (limb segments may touch the torso or each
    // other at a pixel): later parts lose pixels earlier ones already have.
    let mut taken = Array2::<bool>::from_elem((SIDE, SIDE), false);
    for p in parts.iter_mut() {
        for ((y, x), v) in p.indexed_iter_mut() {
            if *v > 0.0 {
                if taken[(y, x)] {
                    *v = 0.0;
                } else {
                    taken[(y, x)] = true;
                }
            }
        }
    }
    let truth = Array2::from_shape_fn((px, parts.len()), |(p, j)| parts[j][(p / SIDE, p % SIDE)]);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut h = Array2::<f32>::zeros((parts.len(), faces));
    for f in 0..faces {
        // The torso is missing from some images: with it always present,
        // "limb + a little torso" would fit as well as the limb itself
        // (the swimmer set's well-known ambiguity), and no solver could
        // tell the true parts.
        if rng.random::<f32>() < 0.8 {
            h[(0, f)] = rng.random_range(0.5..1.0);
        }
        for limb in 0..4 {
            if rng.random::<f32>() < 0.85 {
                let pos = rng.random_range(0..4);
                h[(1 + limb * 4 + pos, f)] = rng.random_range(0.4..1.0);
            }
        }
    }
    (truth.dot(&h), truth)
}

fn fit(a: Array2<f32>, params: Params) -> Nmf {
    let data = Arc::new(FaceMatrix::new(a).expect("valid data"));
    Nmf::new(data, params).expect("valid params")
}

#[test]
fn objective_never_increases_and_factors_stay_non_negative() {
    let a = exact_low_rank(80, 60, 6, 1).mapv(|v| v + 0.01);
    for solver in Solver::ALL {
        for init in Init::ALL {
            let mut nmf = fit(a.clone(), Params::new(5).solver(solver).init(init).seed(7));
            // The exact objective: the solver's own is computed from its
            // products and carries f32 cancellation noise of ~1e-5.
            let exact = |nmf: &Nmf| match solver {
                Solver::Kl => nmf.objective(),
                _ => 0.5 * nmf.exact_rel_err().powi(2) * nmf.data().norm_sq(),
            };
            let mut last = exact(&nmf);
            for it in 0..60 {
                nmf.step();
                let obj = exact(&nmf);
                assert!(
                    obj <= last * (1.0 + 1e-6) + 1e-9,
                    "{solver}/{init}: objective rose at iteration {it}: {last} -> {obj}"
                );
                assert!(nmf.w().iter().chain(nmf.h().iter()).all(|&v| v >= 0.0 && v.is_finite()));
                last = obj;
            }
        }
    }
}

#[test]
fn penalised_objective_never_increases() {
    let a = exact_low_rank(60, 50, 5, 2);
    for solver in Solver::ALL {
        let params = Params::new(5).solver(solver).alpha_w(0.01).alpha_h(0.005).l1_ratio(0.5).seed(1);
        let mut nmf = fit(a.clone(), params);
        let mut last = nmf.objective();
        for it in 0..40 {
            nmf.step();
            assert!(nmf.objective() <= last * (1.0 + 1e-4) + 1e-9, "{solver}: rose at {it}");
            last = nmf.objective();
        }
    }
}

#[test]
fn exact_low_rank_matrix_is_recovered() {
    let a = exact_low_rank(60, 50, 4, 3);
    for solver in Solver::ALL {
        let params = Params::new(4).solver(solver).tol(0.0).max_iter(20_000).target_rel_err(Some(5e-4)).seed(2);
        let mut nmf = fit(a.clone(), params);
        let reason = nmf.run(None, |_| {});
        let err = nmf.exact_rel_err();
        assert!(err < 1e-3, "{solver}: rel_err {err} after {} iterations ({reason})", nmf.iteration());
        assert_eq!(reason, StopReason::Target, "{solver}");
    }
}

#[test]
fn swimmer_parts_are_recovered() {
    let (a, truth) = swimmer(300, 11);
    for solver in Solver::ALL {
        let params = Params::new(truth.ncols()).solver(solver).tol(0.0).max_iter(1500).target_rel_err(Some(1e-4));
        let mut nmf = fit(a.clone(), params);
        nmf.run(None, |_| {});
        let cos = best_matches(truth.view(), nmf.w());
        let worst = cos.iter().copied().fold(1.0f32, f32::min);
        assert!(worst >= 0.95, "{solver}: worst part cosine {worst:.3} ({cos:?}), rel_err {}", nmf.rel_err());
    }
}

#[test]
fn same_seed_gives_bit_identical_factors_with_one_or_two_threads() {
    // Large enough that every kernel splits into several chunks.
    let a = exact_low_rank(1500, 300, 10, 4).mapv(|v| v + 0.05);
    for solver in Solver::ALL {
        for init in [Init::Nndsvda, Init::Random] {
            let run = |threads: usize| {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
                pool.install(|| {
                    let mut nmf = fit(a.clone(), Params::new(8).solver(solver).init(init).seed(42));
                    for _ in 0..15 {
                        nmf.step();
                    }
                    (nmf.w().to_owned(), nmf.h().to_owned(), nmf.objective())
                })
            };
            let (w1, h1, o1) = run(1);
            let (w2, h2, o2) = run(2);
            assert!(w1.iter().zip(w2.iter()).all(|(a, b)| a.to_bits() == b.to_bits()), "{solver}/{init}: W differs");
            assert!(h1.iter().zip(h2.iter()).all(|(a, b)| a.to_bits() == b.to_bits()), "{solver}/{init}: H differs");
            assert_eq!(o1.to_bits(), o2.to_bits());
        }
    }
}

#[test]
fn every_invalid_parameter_is_rejected_with_its_own_error() {
    let data = Arc::new(FaceMatrix::new(exact_low_rank(30, 20, 3, 5)).expect("data"));
    let bad = |p: Params| Nmf::new(Arc::clone(&data), p).err().expect("must be rejected");
    assert!(matches!(bad(Params::new(0)), NmfError::InvalidK { k: 0, max: 20, .. }));
    assert!(matches!(bad(Params::new(21)), NmfError::InvalidK { k: 21, max: 20, .. }));
    assert!(matches!(bad(Params::new(3).tol(-1e-4)), NmfError::InvalidTol(_)));
    assert!(matches!(bad(Params::new(3).tol(f64::NAN)), NmfError::InvalidTol(_)));
    assert!(matches!(bad(Params::new(3).max_iter(0)), NmfError::ZeroMaxIter));
    assert!(matches!(bad(Params::new(3).target_rel_err(Some(-0.1))), NmfError::InvalidTarget(_)));
    assert!(matches!(bad(Params::new(3).time_limit_secs(Some(0.0))), NmfError::InvalidTimeLimit(_)));
    assert!(matches!(bad(Params::new(3).alpha_w(-1.0)), NmfError::InvalidAlpha { name: "alpha_w", .. }));
    assert!(matches!(bad(Params::new(3).alpha_h(f32::INFINITY)), NmfError::InvalidAlpha { name: "alpha_h", .. }));
    assert!(matches!(bad(Params::new(3).l1_ratio(1.5)), NmfError::InvalidL1Ratio(_)));
    assert!(matches!("cd".parse::<Solver>(), Err(NmfError::UnknownSolver(s)) if s == "cd"));
    assert!(matches!("svd".parse::<Init>(), Err(NmfError::UnknownInit(s)) if s == "svd"));
    assert_eq!("HALS".parse::<Solver>().ok(), Some(Solver::Hals));
    // The data itself.
    assert!(matches!(FaceMatrix::new(Array2::zeros((0, 3))), Err(NmfError::EmptyData { .. })));
    assert!(matches!(FaceMatrix::new(Array2::zeros((3, 3))), Err(NmfError::ZeroData)));
    let mut neg = Array2::<f32>::ones((3, 3));
    neg[(1, 2)] = -0.5;
    assert!(matches!(FaceMatrix::new(neg), Err(NmfError::InvalidEntry { row: 1, col: 2, .. })));
    // Messages name the value.
    let msg = bad(Params::new(21)).to_string();
    assert!(msg.contains("k = 21") && msg.contains("20"), "{msg}");
}

#[test]
fn stopping_rules_fire() {
    let a = exact_low_rank(60, 40, 4, 6).mapv(|v| v + 0.02);
    let mut nmf = fit(a.clone(), Params::new(3).max_iter(7).tol(0.0));
    assert_eq!(nmf.run(None, |_| {}), StopReason::MaxIter);
    assert_eq!(nmf.iteration(), 7);
    assert_eq!(nmf.history().len(), 8);

    let mut nmf = fit(a.clone(), Params::new(3).max_iter(100_000).tol(1e-3));
    assert_eq!(nmf.run(None, |_| {}), StopReason::Tol);
    assert_eq!(nmf.iteration() % 10, 0);

    let mut nmf = fit(a.clone(), Params::new(4).max_iter(100_000).tol(0.0).target_rel_err(Some(0.05)));
    assert_eq!(nmf.run(None, |_| {}), StopReason::Target);
    assert!(nmf.rel_err() <= 0.05);

    let mut nmf = fit(a.clone(), Params::new(3).max_iter(100_000_000).tol(0.0).time_limit_secs(Some(0.05)));
    assert_eq!(nmf.run(None, |_| {}), StopReason::Time);

    let cancel = AtomicBool::new(false);
    let mut nmf = fit(a, Params::new(3).max_iter(1000).tol(0.0));
    let reason = nmf.run(Some(&cancel), |n| {
        if n.iteration() == 3 {
            cancel.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    });
    assert_eq!(reason, StopReason::Cancelled);
    assert_eq!(nmf.iteration(), 3, "stops within one iteration");
}

#[test]
fn cheap_rel_err_matches_the_exact_one() {
    let a = exact_low_rank(120, 90, 8, 8).mapv(|v| v + 0.1);
    for solver in Solver::ALL {
        let mut nmf = fit(a.clone(), Params::new(5).solver(solver));
        // The init's error too (hals computes it from the product its first
        // W update then uses).
        approx::assert_relative_eq!(nmf.rel_err(), nmf.exact_rel_err(), max_relative = 1e-4);
        for _ in 0..10 {
            nmf.step();
        }
        approx::assert_relative_eq!(nmf.rel_err(), nmf.exact_rel_err(), max_relative = 1e-3);
    }
}

#[test]
fn warm_start_grows_and_shrinks_k_without_losing_the_fit() {
    let a = exact_low_rank(90, 70, 8, 9);
    let data = Arc::new(FaceMatrix::new(a).expect("data"));
    let mut nmf = Nmf::new(Arc::clone(&data), Params::new(4).tol(0.0)).expect("fit");
    for _ in 0..50 {
        nmf.step();
    }
    let err4 = nmf.exact_rel_err();
    let (w, h) = nmf.into_factors();

    // Growing: the new fit starts no worse than the old one ended.
    let grown = Nmf::warm_start(Arc::clone(&data), Params::new(8), w.clone(), h.clone()).expect("grow");
    assert_eq!(grown.w().ncols(), 8);
    assert_eq!(grown.h().nrows(), 8);
    assert!(grown.exact_rel_err() <= err4 + 1e-6, "{} > {err4}", grown.exact_rel_err());
    // The kept components are unchanged.
    assert_eq!(grown.w().slice(s![.., ..4]), w);

    // Shrinking keeps the most important components.
    let shrunk = Nmf::warm_start(Arc::clone(&data), Params::new(2), w.clone(), h.clone()).expect("shrink");
    assert_eq!(shrunk.w().ncols(), 2);
    let order = facenmf::nmf::metrics::order_by_importance(w.view(), h.view());
    let mut keep = order[..2].to_vec();
    keep.sort_unstable();
    assert_eq!(shrunk.w().column(0), w.column(keep[0]));

    // Bad shapes are refused.
    let err = Nmf::warm_start(data, Params::new(4), w.slice(s![..10, ..]).to_owned(), h).err();
    assert!(matches!(err, Some(NmfError::Shape { what: "W", .. })));
}

#[test]
fn transform_recovers_the_weights_of_faces_in_the_span() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(10);
    let w = Array2::from_shape_simple_fn((100, 5), || rng.random::<f32>());
    let h = Array2::from_shape_simple_fn((5, 7), || if rng.random::<f32>() < 0.3 { 0.0 } else { rng.random::<f32>() });
    let x = w.dot(&h);
    let got = transform(w.view(), x.view()).expect("transform");
    for (a, b) in got.iter().zip(h.iter()) {
        approx::assert_abs_diff_eq!(a, b, epsilon = 1e-3);
    }
    assert!(transform(w.view(), Array2::<f32>::zeros((99, 1)).view()).is_err());
}

#[test]
fn identical_constant_faces_give_a_true_objective_and_stop_by_tol() {
    // 400 identical, constant faces of ORL's size: a rank-1 matrix fitted
    // almost exactly. ½(‖A‖² − 2⟨AᵀW, Hᵀ⟩ + ⟨WᵀW, HHᵀ⟩) from f32 products was
    // noise there (3.39 for an exact ½‖A − WH‖² of 1e-5, or −0.048), and an
    // objective of exactly 0 (KL) kept the tol rule from ever firing.
    let a = Array2::from_elem((92 * 112, 400), 200.0f32 / 255.0);
    for (solver, k) in [(Solver::Hals, 1), (Solver::Hals, 2), (Solver::Hals, 5), (Solver::Mu, 1), (Solver::Kl, 1)] {
        let mut nmf = fit(a.clone(), Params::new(k).solver(solver).tol(1e-4).max_iter(500));
        let norm_sq = nmf.data().norm_sq();
        let reason = nmf.run(None, |n| {
            let (obj, it) = (n.objective(), n.iteration());
            assert!(obj >= 0.0, "{solver}, k = {k}: objective {obj} at iteration {it}");
            if solver != Solver::Kl {
                let exact = 0.5 * n.exact_rel_err().powi(2) * norm_sq;
                assert!(
                    (obj - exact).abs() <= 1e-3 * exact + 1e-12 * norm_sq,
                    "{solver}, k = {k}: objective {obj}, but ½‖A − WH‖² = {exact} at iteration {it}"
                );
            }
        });
        assert_eq!(reason, StopReason::Tol, "{solver}, k = {k}: ran {} iterations", nmf.iteration());
        assert!(nmf.exact_rel_err() < 1e-4, "{solver}, k = {k}: {}", nmf.exact_rel_err());
    }
}

/// Every column of W (row of H) at sparseness `s` within 1e-4.
fn assert_sparseness(what: &str, vectors: Vec<ndarray::ArrayView1<f32>>, s: f32) {
    for (j, v) in vectors.into_iter().enumerate() {
        let got = hoyer_sparseness(v);
        assert!((got - s).abs() <= 1e-4, "{what} {j}: sparseness {got}, want {s}");
        assert!(v.iter().all(|&x| x >= 0.0 && x.is_finite()), "{what} {j}: negative or non-finite entry");
    }
}

fn assert_params_sparseness(nmf: &Nmf, when: &str) {
    if let Some(s) = nmf.params().sparseness_w {
        assert_sparseness(&format!("{when}: column of W"), nmf.w().columns().into_iter().collect(), s);
    }
    if let Some(s) = nmf.params().sparseness_h {
        assert_sparseness(&format!("{when}: row of H"), nmf.h().rows().into_iter().collect(), s);
    }
}

#[test]
fn sparseness_holds_after_every_step_and_the_objective_never_increases() {
    let a = exact_low_rank(90, 70, 6, 12).mapv(|v| v + 0.01);
    let cases = [
        (Some(0.6), None, 0.0),
        (None, Some(0.5), 0.0),
        (Some(0.75), Some(0.3), 0.0),
        (Some(0.0), None, 0.0),
        (Some(0.5), Some(0.5), 0.01),
    ];
    for (sw, sh, alpha) in cases {
        for init in Init::ALL {
            let params = Params::new(6)
                .init(init)
                .seed(3)
                .sparseness_w(sw)
                .sparseness_h(sh)
                .alpha_w(alpha)
                .alpha_h(alpha)
                .l1_ratio(0.5);
            let mut nmf = fit(a.clone(), params);
            let case = format!("W {sw:?} H {sh:?} α {alpha} {init}");
            assert_params_sparseness(&nmf, &format!("{case}, initialisation"));
            // Penalised fits compare their own objective (penalties
            // included); the others the exact data term.
            let exact = |nmf: &Nmf| {
                if alpha > 0.0 { nmf.objective() } else { 0.5 * nmf.exact_rel_err().powi(2) * nmf.data().norm_sq() }
            };
            let mut last = exact(&nmf);
            for it in 0..40 {
                nmf.step();
                assert_params_sparseness(&nmf, &format!("{case}, iteration {it}"));
                let obj = exact(&nmf);
                assert!(obj <= last * (1.0 + 1e-5) + 1e-9, "{case}: objective rose at iteration {it}: {last} -> {obj}");
                last = obj;
            }
            // The cheap relative error is the exact one.
            approx::assert_relative_eq!(nmf.rel_err(), nmf.exact_rel_err(), max_relative = 1e-3);
        }
    }
}

#[test]
fn sparse_fits_are_bit_identical_with_one_or_two_threads() {
    // Large enough that the products split into several blocks and the
    // next block's products overlap the sweep.
    let a = exact_low_rank(1500, 300, 10, 4).mapv(|v| v + 0.05);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
        pool.install(|| {
            let params = Params::new(12).seed(5).sparseness_w(Some(0.7)).sparseness_h(Some(0.4));
            let mut nmf = fit(a.clone(), params);
            for _ in 0..8 {
                nmf.step();
            }
            (nmf.w().to_owned(), nmf.h().to_owned(), nmf.objective())
        })
    };
    let (w1, h1, o1) = run(1);
    let (w2, h2, o2) = run(2);
    assert!(w1.iter().zip(w2.iter()).all(|(a, b)| a.to_bits() == b.to_bits()), "W differs");
    assert!(h1.iter().zip(h2.iter()).all(|(a, b)| a.to_bits() == b.to_bits()), "H differs");
    assert_eq!(o1.to_bits(), o2.to_bits());
}

#[test]
fn sparseness_holds_through_warm_starts_and_resumes() {
    let a = exact_low_rank(80, 60, 8, 13).mapv(|v| v + 0.02);
    let data = Arc::new(FaceMatrix::new(a).expect("data"));
    // A free fit, then constrained in place, then grown and shrunk.
    let mut free = Nmf::new(Arc::clone(&data), Params::new(5).tol(0.0)).expect("fit");
    for _ in 0..20 {
        free.step();
    }
    let (w, h) = free.into_factors();
    let sparse = |k: usize| Params::new(k).tol(0.0).sparseness_w(Some(0.6)).sparseness_h(Some(0.2));
    for k in [5, 8, 3] {
        let mut nmf = Nmf::warm_start(Arc::clone(&data), sparse(k), w.clone(), h.clone()).expect("warm start");
        assert_eq!(nmf.w().ncols(), k);
        assert_params_sparseness(&nmf, &format!("warm start to k = {k}"));
        nmf.step();
        assert_params_sparseness(&nmf, &format!("k = {k}, one step"));
    }
    // A constrained fit stopped and resumed continues exactly.
    let mut whole = Nmf::new(Arc::clone(&data), sparse(5).max_iter(12)).expect("fit");
    let mut first = Nmf::new(Arc::clone(&data), sparse(5).max_iter(12)).expect("fit");
    for _ in 0..6 {
        whole.step();
        first.step();
    }
    let history = first.history().to_vec();
    let (w6, h6) = first.into_factors();
    let mut resumed = Nmf::resume(Arc::clone(&data), sparse(5).max_iter(12), w6.clone(), h6, history).expect("resume");
    assert_eq!(resumed.w(), w6.view(), "resume leaves a sparse W as it is");
    for _ in 0..6 {
        whole.step();
        resumed.step();
    }
    assert_eq!(resumed.iteration(), 12);
    assert_eq!(whole.w(), resumed.w());
    assert_eq!(whole.h(), resumed.h());
    // New faces are still projected onto the sparse basis.
    let x = whole.w().dot(&whole.h().slice(s![.., ..4]));
    let got = transform(whole.w(), x.view()).expect("transform");
    let back = whole.w().dot(&got);
    for (a, b) in back.iter().zip(x.iter()) {
        approx::assert_abs_diff_eq!(a, b, epsilon = 1e-3);
    }
}

#[test]
fn invalid_sparseness_is_rejected_naming_the_value() {
    let data = Arc::new(FaceMatrix::new(exact_low_rank(30, 20, 3, 5)).expect("data"));
    let bad = |p: Params| Nmf::new(Arc::clone(&data), p).err().expect("must be rejected");
    for v in [-0.1f32, 1.0, 1.5, f32::NAN] {
        let err = bad(Params::new(3).sparseness_w(Some(v)));
        assert!(matches!(err, NmfError::InvalidSparseness { name: "sparseness_w", .. }), "{err}");
        assert!(err.to_string().contains(&format!("sparseness_w = {v}")), "{err}");
        let err = bad(Params::new(3).sparseness_h(Some(v)));
        assert!(matches!(err, NmfError::InvalidSparseness { name: "sparseness_h", .. }), "{err}");
    }
    let err = bad(Params::new(3).solver(Solver::Mu).sparseness_h(Some(0.5)));
    assert!(matches!(err, NmfError::SparsenessNeedsHals { name: "sparseness_h", solver: Solver::Mu }), "{err}");
    assert!(Nmf::new(Arc::clone(&data), Params::new(3).sparseness_w(Some(0.0)).sparseness_h(Some(0.99))).is_ok());
}

#[test]
fn an_l1_penalty_that_zeroes_parts_is_counted() {
    let a = exact_low_rank(60, 50, 5, 14);
    let mut nmf = fit(a.clone(), Params::new(5).tol(0.0).max_iter(60));
    nmf.run(None, |_| {});
    assert_eq!(nmf.zeroed_parts().parts, 0);
    let mut nmf = fit(a, Params::new(5).tol(0.0).max_iter(60).alpha_w(0.5).l1_ratio(1.0));
    nmf.run(None, |_| {});
    let z = nmf.zeroed_parts();
    assert_eq!(z.k, 5);
    assert!(z.w_columns >= 1 && z.parts >= z.w_columns, "{z:?}");
    let zero_cols = nmf.w().columns().into_iter().filter(|c| c.iter().all(|&v| v == 0.0)).count();
    assert_eq!(z.w_columns, zero_cols);
}

/// Parts that all have Hoyer sparseness `s`: smooth random bumps on a
/// 20×20 grid, each projected onto the vectors of that sparseness, mixed
/// by sparse random weights. Returns (A, the parts as columns).
fn parts_at_sparseness(parts: usize, faces: usize, s: f64, seed: u64) -> (Array2<f32>, Array2<f32>) {
    use facenmf::nmf::sparse::{project, ratio_for};
    const SIDE: usize = 20;
    let px = SIDE * SIDE;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut truth = Array2::<f32>::zeros((px, parts));
    for j in 0..parts {
        let (cy, cx) = (rng.random_range(3.0..17.0f32), rng.random_range(3.0..17.0f32));
        let (sy, sx) = (rng.random_range(2.0..4.0f32), rng.random_range(2.0..4.0f32));
        let bump: Vec<f32> = (0..px)
            .map(|p| {
                let (y, x) = ((p / SIDE) as f32, (p % SIDE) as f32);
                (-((y - cy) / sy).powi(2) - ((x - cx) / sx).powi(2)).exp()
            })
            .collect();
        let mut y = vec![0.0f32; px];
        project(&bump, ratio_for(px, s), &mut y);
        truth.column_mut(j).assign(&ndarray::Array1::from(y));
    }
    let h = Array2::from_shape_simple_fn((parts, faces), || {
        if rng.random::<f32>() < 0.5 { 0.0 } else { rng.random_range(0.2..1.0f32) }
    });
    (truth.dot(&h), truth)
}

/// With every basis image held at the sparseness its true part has, NMF
/// finds the parts. (The built-in faces are no test of this: their parts
/// range from sparseness 0.38, the heads, to 0.93, and no vector at
/// sparseness 0.5 has a cosine above 0.903 with the sparsest of them.)
#[test]
fn parts_of_one_sparseness_are_recovered_under_that_constraint() {
    let (a, truth) = parts_at_sparseness(8, 300, 0.5, 21);
    let data = Arc::new(FaceMatrix::new(a).expect("data"));
    // Short runs from a few random starts, the best by error run on.
    let base = Params::new(8).init(Init::Random).tol(0.0).sparseness_w(Some(0.5));
    let best = (1..=4u64)
        .map(|seed| {
            let mut nmf = Nmf::new(Arc::clone(&data), base.clone().seed(seed).max_iter(40)).expect("fit");
            nmf.run(None, |_| {});
            nmf
        })
        .min_by(|a, b| a.rel_err().total_cmp(&b.rel_err()))
        .expect("runs");
    let mut nmf =
        Nmf::warm_start(Arc::clone(&data), base.max_iter(400), best.w().to_owned(), best.h().to_owned()).expect("warm");
    nmf.run(None, |_| {});
    assert_params_sparseness(&nmf, "end");
    let cos = best_matches(truth.view(), nmf.w());
    let worst = cos.iter().copied().fold(1.0f32, f32::min);
    assert!(worst >= 0.95, "worst part cosine {worst:.3} ({cos:.3?}), rel_err {}", nmf.exact_rel_err());
}

/// The alpha limits are what they say: alpha_W × l1_ratio just above the
/// limit zeroes every basis image at the next update; half of it leaves
/// some, and no penalty at all leaves every one.
#[test]
fn alpha_limits_zero_every_part_just_above_and_not_below() {
    let a = exact_low_rank(60, 40, 5, 11);
    let data = Arc::new(FaceMatrix::new(a).unwrap());
    let base = Params::new(5).max_iter(80).tol(0.0).seed(1);
    let mut plain = Nmf::new(Arc::clone(&data), base.clone()).unwrap();
    plain.run(None, |_| {});
    let limits = plain.alpha_limits();
    assert!(limits.alpha_w > 0.0 && limits.alpha_h > 0.0, "{limits:?}");
    let (w, h) = (plain.w().to_owned(), plain.h().to_owned());
    let zeroed_after_one_step = |alpha_w: f32| {
        let p = base.clone().alpha_w(alpha_w).l1_ratio(1.0).max_iter(1);
        let mut fit = Nmf::warm_start(Arc::clone(&data), p, w.clone(), h.clone()).unwrap();
        fit.step();
        fit.zeroed_parts().w_columns
    };
    assert_eq!(zeroed_after_one_step(limits.alpha_w * 1.01), 5);
    assert!(zeroed_after_one_step(limits.alpha_w * 0.5) < 5);
    assert_eq!(zeroed_after_one_step(0.0), 0);
    // With half the L1 share, the limit doubles.
    let p = base.clone().alpha_w(limits.alpha_w * 1.01).l1_ratio(0.5).max_iter(1);
    let mut fit = Nmf::warm_start(Arc::clone(&data), p, w.clone(), h.clone()).unwrap();
    fit.step();
    assert!(fit.zeroed_parts().w_columns < 5);
}

#[test]
fn a_matrix_without_its_stored_transpose_fits_the_same() {
    // FaceMatrix::new_lean keeps a large A once: products with Aᵀ read A's
    // transposed view. Every solver must reach the same fit.
    let a = exact_low_rank(90, 70, 6, 5).mapv(|v| v + 0.05);
    let lean = FaceMatrix::with_transpose(a.clone(), false).unwrap();
    assert!(!lean.stores_transpose());
    assert_eq!(lean.at(), a.t());
    let mut face = vec![0.0f32; 90];
    lean.face_into(17, &mut face);
    assert_eq!(face, a.column(17).to_vec());
    assert!(FaceMatrix::new_lean(a.clone()).unwrap().stores_transpose(), "a small A keeps Aᵀ");
    let lean = Arc::new(lean);
    let stored = Arc::new(FaceMatrix::new(a).unwrap());
    for solver in Solver::ALL {
        let params = Params::new(5).solver(solver).tol(0.0).max_iter(30);
        let mut x = Nmf::new(Arc::clone(&stored), params.clone()).unwrap();
        let mut y = Nmf::new(Arc::clone(&lean), params).unwrap();
        x.run(None, |_| {});
        y.run(None, |_| {});
        approx::assert_relative_eq!(x.objective(), y.objective(), max_relative = 1e-4);
        approx::assert_relative_eq!(y.rel_err(), y.exact_rel_err(), max_relative = 1e-3);
    }
}
