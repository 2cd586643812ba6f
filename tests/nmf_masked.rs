//! Masked NMF, hold-out and bi-cross-validation, and the stability of
//! parts, on data of known rank built here.

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use facenmf::nmf::bicross::bicross_folds;
use facenmf::nmf::mask::Mask;
use facenmf::nmf::sweep::{CvMethod, SuggestRule, Validation, suggest_k, sweep_validated};
use facenmf::nmf::{FaceMatrix, Nmf, NmfError, Params, Solver};

/// W·H of exact rank `r` (W with sparse columns, so its parts are
/// identifiable) plus uniform noise of amplitude `noise`.
fn known_rank(m: usize, n: usize, r: usize, noise: f32, seed: u64) -> Array2<f32> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let w = Array2::from_shape_fn((m, r), |_| if rng.random::<f32>() < 0.3 { rng.random::<f32>() } else { 0.0 });
    let h = Array2::from_shape_fn((r, n), |_| rng.random::<f32>());
    let mut a = w.dot(&h);
    let scale = a.iter().copied().fold(0.0f32, f32::max);
    a.mapv_inplace(|v| v / scale);
    a.mapv_inplace(|v| (v + noise * rng.random::<f32>()).max(0.0));
    a
}

fn matrix(a: Array2<f32>) -> Arc<FaceMatrix> {
    Arc::new(FaceMatrix::new(a).expect("valid"))
}

/// The held-out errors (and stability, when there is one) of a sweep, a
/// line per k, for failure messages.
fn cv_table(points: &[facenmf::nmf::sweep::SweepPoint]) -> String {
    let line = |p: &facenmf::nmf::sweep::SweepPoint| {
        let cv = p.cv.as_ref().expect("cv");
        let st = p.stability.map_or_else(String::new, |s| format!(", stability {s:.3}"));
        format!("k {:2}: cv {:.4} ± {:.4}{st}", p.k, cv.mean, cv.sd)
    };
    points.iter().map(line).collect::<Vec<_>>().join("\n")
}

#[test]
fn masked_fits_ignore_the_masked_entries() {
    let a = known_rank(60, 50, 4, 0.05, 1);
    let mask = Arc::new(Mask::folds(60, 50, 1, 0.2, 3).expect("fold").remove(0));
    let mut b = a.clone();
    for &(i, j) in mask.entries() {
        b[(i as usize, j as usize)] = 7.5; // far from anything a face holds
    }
    for solver in [Solver::Hals, Solver::Mu] {
        let params = Params::new(4).solver(solver).max_iter(60).tol(0.0);
        let mut fa = Nmf::new_masked(matrix(a.clone()), params.clone(), Arc::clone(&mask)).expect("fit a");
        let mut fb = Nmf::new_masked(matrix(b.clone()), params, Arc::clone(&mask)).expect("fit b");
        fa.run(None, |_| {});
        fb.run(None, |_| {});
        assert_eq!(fa.w(), fb.w(), "{solver}: W depends on the hidden entries");
        assert_eq!(fa.h(), fb.h(), "{solver}: H depends on the hidden entries");
        assert_eq!(fa.rel_err(), fb.rel_err());
        // ... but the held-out score does read them.
        assert!(fb.heldout_rel_err().unwrap() > 5.0 * fa.heldout_rel_err().unwrap());
    }
}

#[test]
fn masked_objective_falls_and_its_errors_are_exact() {
    let a = known_rank(70, 40, 5, 0.05, 2);
    let mask = Arc::new(Mask::folds(70, 40, 1, 0.1, 9).expect("fold").remove(0));
    for solver in [Solver::Hals, Solver::Mu] {
        let data = matrix(a.clone());
        let mut fit =
            Nmf::new_masked(Arc::clone(&data), Params::new(5).solver(solver).max_iter(80).tol(0.0), Arc::clone(&mask))
                .expect("fit");
        fit.run(None, |_| {});
        for pair in fit.history().windows(2) {
            assert!(
                pair[1].objective <= pair[0].objective * (1.0 + 1e-5),
                "{solver}: objective rose at iteration {}: {} -> {}",
                pair[1].iteration,
                pair[0].objective,
                pair[1].objective
            );
        }
        // rel_err is over the observed entries, computed from scratch here.
        let wh = fit.w().dot(&fit.h());
        let hidden: std::collections::HashSet<(u32, u32)> = mask.entries().iter().copied().collect();
        let (mut num, mut den, mut hnum, mut hden) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for ((i, j), &x) in a.indexed_iter() {
            let d = f64::from(x) - f64::from(wh[(i, j)]);
            if hidden.contains(&(i as u32, j as u32)) {
                hnum += d * d;
                hden += f64::from(x) * f64::from(x);
            } else {
                num += d * d;
                den += f64::from(x) * f64::from(x);
            }
        }
        approx::assert_relative_eq!(fit.rel_err(), (num / den).sqrt(), max_relative = 1e-3);
        approx::assert_relative_eq!(fit.exact_rel_err(), (num / den).sqrt(), max_relative = 1e-4);
        approx::assert_relative_eq!(fit.heldout_rel_err().unwrap(), (hnum / hden).sqrt(), max_relative = 1e-4);
        // Rank 5 plus 5 % noise: the hidden entries are predicted well
        // (mu, slower to converge, less so after 80 iterations).
        let bound = if solver == Solver::Hals { 0.1 } else { 0.2 };
        assert!(fit.heldout_rel_err().unwrap() < bound, "{solver}: {:?}", fit.heldout_rel_err());
    }
}

#[test]
fn masked_fits_are_identical_whatever_the_thread_count() {
    let a = known_rank(300, 120, 6, 0.05, 4);
    let mask = Arc::new(Mask::folds(300, 120, 1, 0.1, 1).expect("fold").remove(0));
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
        pool.install(|| {
            let mut fit =
                Nmf::new_masked(matrix(a.clone()), Params::new(6).max_iter(30), Arc::clone(&mask)).expect("fit");
            fit.run(None, |_| {});
            (fit.w().to_owned(), fit.h().to_owned(), fit.rel_err(), fit.heldout_rel_err())
        })
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one, run(4));
}

#[test]
fn kl_and_bad_masks_are_refused() {
    let data = matrix(known_rank(20, 10, 2, 0.0, 5));
    let mask = Arc::new(Mask::new(20, 10, [(0, 0)]).expect("mask"));
    let e = Nmf::new_masked(Arc::clone(&data), Params::new(2).solver(Solver::Kl), Arc::clone(&mask)).err().expect("kl");
    assert!(matches!(e, NmfError::MaskNeedsSquaredLoss(Solver::Kl)), "{e}");
    let wrong = Arc::new(Mask::new(10, 20, [(0, 0)]).expect("mask"));
    let e = Nmf::new_masked(data, Params::new(2), wrong).err().expect("shape").to_string();
    assert!(e.contains("mask") && e.contains("(10, 20)"), "{e}");
    let e = Validation { cv_folds: 5, cv_fraction: 0.3, restarts: 1, cv_method: CvMethod::Holdout }
        .check()
        .expect_err("overlap")
        .to_string();
    assert!(e.contains("5 folds") && e.contains("0.3"), "{e}");
    let e = Validation { restarts: 0, ..Validation::default() }.check().expect_err("restarts").to_string();
    assert!(e.contains("0 restarts"), "{e}");
}

#[test]
fn cross_validation_suggests_the_true_rank_and_parts_are_stable_there() {
    let r = 5;
    let data = matrix(known_rank(120, 90, r, 0.1, 11));
    let ks: Vec<usize> = (2..=10).collect();
    let validation = Validation { cv_folds: 4, cv_fraction: 0.1, restarts: 3, cv_method: CvMethod::Holdout };
    let base = Params::new(1).max_iter(300).tol(1e-6);
    let mut steps = 0;
    let s = sweep_validated(&data, &ks, &base, &validation, None, |_| steps += 1).expect("sweep");
    assert!(!s.cancelled && steps > 0);
    let table = cv_table(&s.points);
    for p in &s.points {
        let cv = p.cv.as_ref().expect("cv");
        assert_eq!(cv.folds.len(), 4);
        assert!(cv.mean.is_finite() && cv.sd >= 0.0);
        let st = p.stability.expect("stability");
        assert!((0.0..=1.0).contains(&st), "{st}");
        assert!(p.total_secs >= p.fit_secs);
    }
    let suggestion = suggest_k(&s.points).expect("a suggestion");
    assert_eq!(suggestion.rule, SuggestRule::OneStandardError);
    assert!(suggestion.k.abs_diff(r) <= 1, "suggested {suggestion:?}\n{table}");
    let at = |k: usize| s.points.iter().find(|p| p.k == k).unwrap().stability.unwrap();
    assert!(at(r) > at(8), "stability at r = {r}: {}, at 1.6 r = 8: {}\n{table}", at(r), at(8));
    // The held-out error has a minimum: it rises again past the true rank.
    let cv = |k: usize| s.points.iter().find(|p| p.k == k).unwrap().cv.as_ref().unwrap().mean;
    assert!(cv(10) > cv(r) && cv(2) > cv(r), "{table}");
}

#[test]
fn restarts_from_random_starts_differ_but_the_own_fit_keeps_its_init() {
    // The reported fit is the plain one: its rel_err equals an independent fit's.
    let data = matrix(known_rank(50, 40, 3, 0.05, 12));
    let base = Params::new(1).max_iter(100);
    let v = Validation { cv_folds: 0, cv_fraction: 0.1, restarts: 2, ..Validation::default() };
    let s = sweep_validated(&data, &[3], &base, &v, None, |_| {}).expect("sweep");
    let mut own = Nmf::new(Arc::clone(&data), Params { k: 3, ..base.clone() }).expect("fit");
    own.run(None, |_| {});
    assert_eq!(s.points[0].rel_err, own.exact_rel_err());
    assert_eq!(s.points[0].w, own.w());
    assert!(s.points[0].cv.is_none());
    assert!(s.points[0].stability.unwrap() > 0.9, "{:?}", s.points[0].stability);
}

// Bi-cross-validation (`nmf::bicross`, `CvMethod::Bicross`).

#[test]
fn the_held_out_block_is_never_fitted_only_scored() {
    let a = known_rank(80, 60, 4, 0.05, 3);
    let fold = bicross_folds(80, 60, 4, 1).expect("folds").remove(2);
    let mut b = a.clone();
    for &i in &fold.rows {
        for &j in &fold.cols {
            b[(i, j)] = 7.5;
        }
    }
    let fit = |a: &Array2<f32>| {
        let data = matrix(a.clone());
        let train = fold.train(&data).expect("train");
        assert_eq!(train.a().dim(), fold.train_dim());
        let mut nmf = Nmf::new(train, Params::new(4).max_iter(80).tol(0.0)).expect("fit");
        nmf.run(None, |_| {});
        let (w, h) = nmf.into_factors();
        let score = fold.score(&data, w.view(), h.view()).expect("score");
        (w, h, score)
    };
    let (wa, ha, sa) = fit(&a);
    let (wb, hb, sb) = fit(&b);
    assert_eq!(wa, wb, "the fit read the held-out block");
    assert_eq!(ha, hb, "the fit read the held-out block");
    // Rank 4 plus 5 % noise: the block is predicted well from the rest ...
    assert!(sa < 0.15, "{sa}");
    // ... and the score is taken on the block itself.
    assert!(sb > 5.0 * sa, "{sb} against {sa}");
}

#[test]
fn bi_cross_validation_suggests_the_true_rank() {
    let r = 5;
    let data = matrix(known_rank(120, 90, r, 0.1, 11));
    let ks: Vec<usize> = (2..=10).collect();
    let validation = Validation { cv_folds: 4, cv_method: CvMethod::Bicross, restarts: 1, ..Validation::default() };
    let base = Params::new(1).max_iter(300).tol(1e-6);
    let s = sweep_validated(&data, &ks, &base, &validation, None, |_| {}).expect("sweep");
    let table = cv_table(&s.points);
    for p in &s.points {
        let cv = p.cv.as_ref().expect("cv");
        assert_eq!(cv.folds.len(), 4);
        assert!(cv.mean.is_finite() && cv.sd >= 0.0);
        assert!(p.total_secs >= p.fit_secs);
    }
    let suggestion = suggest_k(&s.points).expect("a suggestion");
    assert_eq!(suggestion.rule, SuggestRule::OneStandardError);
    assert!(suggestion.k.abs_diff(r) <= 1, "suggested {suggestion:?}\n{table}");
    assert!(!suggestion.min_is_largest, "{suggestion:?}\n{table}");
    // Swept only below the true rank, the error is still falling at the
    // largest k: the suggestion says a larger k may do better.
    let below = suggest_k(&s.points[..3]).expect("a suggestion below r");
    assert!(below.min_is_largest && below.min_k == 4, "{below:?}\n{table}");
    assert!(below.describe().contains("a larger k may do better"), "{}", below.describe());
    let cv = |k: usize| s.points.iter().find(|p| p.k == k).unwrap().cv.as_ref().unwrap().mean;
    // It falls steeply to the true rank and gains next to nothing past it
    // (the block's error levels off rather than rising: Owen & Perry).
    assert!(cv(r - 1) > 1.15 * cv(r) && cv(2) > 1.5 * cv(r), "{table}");
    assert!(cv(10) > 0.95 * cv(r), "{table}");
}

#[test]
fn bi_cross_validated_sweeps_are_identical_whatever_the_thread_count() {
    let data = matrix(known_rank(200, 80, 4, 0.05, 5));
    let validation = Validation { cv_folds: 3, cv_method: CvMethod::Bicross, restarts: 1, ..Validation::default() };
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
        pool.install(|| {
            let s = sweep_validated(&data, &[3, 5], &Params::new(1).max_iter(40), &validation, None, |_| {})
                .expect("sweep");
            s.points.iter().map(|p| p.cv.clone().expect("cv").folds).collect::<Vec<_>>()
        })
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one, run(4));
}
