//! Bi-cross-validation of the rank (`nmf::bicross`, `CvMethod::Bicross`).

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use facenmf::nmf::bicross::bicross_folds;
use facenmf::nmf::sweep::{CvMethod, SuggestRule, Validation, suggest_k, sweep_validated};
use facenmf::nmf::{FaceMatrix, Nmf, Params};

/// W·H of exact rank `r` (W with sparse columns) plus uniform noise.
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
    let table: Vec<String> = s
        .points
        .iter()
        .map(|p| {
            let cv = p.cv.as_ref().unwrap();
            format!("k {:2}: cv {:.4} ± {:.4}", p.k, cv.mean, cv.sd)
        })
        .collect();
    let table = table.join("\n");
    for p in &s.points {
        let cv = p.cv.as_ref().expect("cv");
        assert_eq!(cv.folds.len(), 4);
        assert!(cv.mean.is_finite() && cv.sd >= 0.0);
        assert!(p.total_secs >= p.fit_secs);
    }
    let suggestion = suggest_k(&s.points).expect("a suggestion");
    assert_eq!(suggestion.rule, SuggestRule::OneStandardError);
    assert!(suggestion.k.abs_diff(r) <= 1, "suggested {suggestion:?}\n{table}");
    assert!(!suggestion.min_is_largest, "{suggestion:?}");
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
