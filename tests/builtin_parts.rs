//! The built-in face set is identifiable: NMF with k = N_PARTS recovers
//! every true part (cosine ≥ 0.9 with some basis image).
//!
//! Uses a small self-contained HALS loop so this test does not depend on the
//! NMF engine (src/nmf); it can switch to the engine later.

use facenmf::dataset::builtin::{N_PARTS, builtin_faces, montage};
use ndarray::{Array1, Array2, ArrayView1, Axis};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Plain HALS (Cichocki & Phan): k rank-one updates per sweep, columns of W
/// kept at unit norm. Returns (W, H, relative error).
fn hals(
    a: &Array2<f32>,
    k: usize,
    start: Option<(Array2<f32>, Array2<f32>)>,
    iters: usize,
    seed: u64,
) -> (Array2<f32>, Array2<f32>, f32) {
    let (p, n) = a.dim();
    let (mut w, mut h) = start.unwrap_or_else(|| {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut w = Array2::from_shape_fn((p, k), |_| rng.random::<f32>());
        let mut h = Array2::from_shape_fn((k, n), |_| rng.random::<f32>());
        let scale = (a.mean().unwrap_or(0.0)
            / (w.mean().unwrap_or(1.0) * h.mean().unwrap_or(1.0) * k as f32))
            .sqrt();
        w *= scale;
        h *= scale;
        (w, h)
    });
    for _ in 0..iters {
        let wtw = w.t().dot(&w);
        let wta = w.t().dot(a);
        for i in 0..k {
            let d = wtw[[i, i]].max(1e-12);
            let g: Array1<f32> = &wta.row(i) - &wtw.row(i).dot(&h);
            h.row_mut(i)
                .zip_mut_with(&g, |x, &gi| *x = (*x + gi / d).max(0.0));
        }
        let hht = h.dot(&h.t());
        let aht = a.dot(&h.t());
        for i in 0..k {
            let d = hht[[i, i]].max(1e-12);
            let g: Array1<f32> = &aht.column(i) - &w.dot(&hht.column(i));
            w.column_mut(i)
                .zip_mut_with(&g, |x, &gi| *x = (*x + gi / d).max(1e-12));
            let norm = w.column(i).dot(&w.column(i)).sqrt().max(1e-12);
            w.column_mut(i).mapv_inplace(|x| x / norm);
            h.row_mut(i).mapv_inplace(|x| x * norm);
        }
    }
    let r = a - &w.dot(&h);
    let err = (r.iter().map(|x| x * x).sum::<f32>() / a.iter().map(|x| x * x).sum::<f32>()).sqrt();
    (w, h, err)
}

/// Relative error of the best non-negative H for a fixed W (HALS on H only).
fn fit_h_only(a: &Array2<f32>, w: &Array2<f32>, iters: usize) -> f32 {
    let k = w.ncols();
    let mut h = Array2::from_elem((k, a.ncols()), 0.5f32);
    let wtw = w.t().dot(w);
    let wta = w.t().dot(a);
    for _ in 0..iters {
        for i in 0..k {
            let d = wtw[[i, i]].max(1e-12);
            let g: Array1<f32> = &wta.row(i) - &wtw.row(i).dot(&h);
            h.row_mut(i)
                .zip_mut_with(&g, |x, &gi| *x = (*x + gi / d).max(0.0));
        }
    }
    let r = a - &w.dot(&h);
    (r.iter().map(|x| x * x).sum::<f32>() / a.iter().map(|x| x * x).sum::<f32>()).sqrt()
}

const SEEDS: u64 = 8;
const SHORT: usize = 60;
const LONG: usize = 600;

fn cosine(a: ArrayView1<f32>, b: ArrayView1<f32>) -> f32 {
    a.dot(&b) / (a.dot(&a).sqrt() * b.dot(&b).sqrt()).max(1e-12)
}

fn save_big(img: &image::GrayImage, path: &str, factor: u32) {
    let big = image::imageops::resize(
        img,
        img.width() * factor,
        img.height() * factor,
        image::imageops::FilterType::Nearest,
    );
    if let Err(e) = big.save(path) {
        eprintln!("could not save {path}: {e}");
    }
}

#[test]
fn nmf_recovers_every_true_part() {
    let faces = builtin_faces();
    let ds = &faces.dataset;
    let (w, h) = (ds.width, ds.height);

    // Montages to look at: the parts, and 16 faces from across the set.
    save_big(
        &montage(faces.parts.view(), w, h, 5, true),
        "/tmp/builtin_parts.png",
        3,
    );
    let picks: Vec<usize> = (0..16).map(|i| i * ds.faces() / 16 + 3).collect();
    let some = ds.matrix.select(Axis(1), &picks);
    save_big(
        &montage(some.view(), w, h, 4, false),
        "/tmp/builtin_faces.png",
        3,
    );

    // Short runs from a few seeds, keep the best by reconstruction error (no
    // peeking at the parts), then run it to convergence.
    let (mut basis, mut coef, _) = (1..=SEEDS)
        .map(|seed| hals(&ds.matrix, N_PARTS, None, SHORT, seed))
        .min_by(|a, b| a.2.total_cmp(&b.2))
        .expect("at least one run");
    let err;
    (basis, coef, err) = hals(&ds.matrix, N_PARTS, Some((basis, coef)), LONG, 0);
    let _ = coef;
    save_big(
        &montage(basis.view(), w, h, 5, true),
        "/tmp/builtin_nmf_basis.png",
        3,
    );
    println!("relative error {err:.4}");
    // For comparison: the error with the true parts (only H fitted).
    let truth_err = fit_h_only(&ds.matrix, &faces.parts, 200);
    println!("relative error with the true parts: {truth_err:.4}");

    let mut worst = f32::INFINITY;
    let mut report = Vec::new();
    let mut used = [0usize; N_PARTS];
    for (t, name) in faces.part_names.iter().enumerate() {
        let part = faces.parts.column(t);
        let (best_j, best) = (0..N_PARTS)
            .map(|j| (j, cosine(part, basis.column(j))))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .expect("k > 0");
        used[best_j] += 1;
        worst = worst.min(best);
        report.push(format!("{name:>18}: basis {best_j:2} cosine {best:.3}"));
    }
    println!("{}", report.join("\n"));
    assert!(
        worst >= 0.9,
        "a part was not recovered (worst cosine {worst:.3}):\n{}",
        report.join("\n")
    );
    assert!(
        used.iter().all(|&u| u <= 1),
        "two parts matched the same basis image:\n{}",
        report.join("\n")
    );
}
