//! The built-in face set is identifiable: NMF (the engine's HALS) with
//! k = N_PARTS recovers every true part (cosine ≥ 0.9 with some basis image,
//! each with a different one).

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use facenmf::dataset::builtin::{N_PARTS, builtin_faces, montage};
use facenmf::nmf::metrics::cosine;
use facenmf::nmf::{FaceMatrix, Init, Nmf, Params};
use ndarray::Axis;

fn save_big(img: &image::GrayImage, path: &str, factor: u32) {
    let big =
        image::imageops::resize(img, img.width() * factor, img.height() * factor, image::imageops::FilterType::Nearest);
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
    save_big(&montage(faces.parts.view(), w, h, 5, true), "/tmp/builtin_parts.png", 3);
    let picks: Vec<usize> = (0..16).map(|i| i * ds.faces() / 16 + 3).collect();
    let some = ds.matrix.select(Axis(1), &picks);
    save_big(&montage(some.view(), w, h, 4, false), "/tmp/builtin_faces.png", 3);

    // Short runs from a few random starts; keep the best by reconstruction
    // error (no peeking at the parts), then run it to convergence.
    let data = Arc::new(FaceMatrix::new(ds.matrix.clone()).expect("valid faces"));
    let mut best = (1..=6u64)
        .map(|seed| {
            let params = Params::new(N_PARTS).init(Init::Random).seed(seed).tol(0.0).max_iter(60);
            let mut nmf = Nmf::new(Arc::clone(&data), params).expect("valid params");
            nmf.run(None, |_| {});
            nmf
        })
        .min_by(|a, b| a.rel_err().total_cmp(&b.rel_err()))
        .expect("at least one run");
    let (w0, h0) = (best.w().to_owned(), best.h().to_owned());
    best = Nmf::warm_start(Arc::clone(&data), Params::new(N_PARTS).tol(0.0).max_iter(500), w0, h0).expect("warm");
    best.run(None, |_| {});
    save_big(&montage(best.w(), w, h, 5, true), "/tmp/builtin_nmf_basis.png", 3);
    println!("relative error {:.4}", best.exact_rel_err());

    let mut worst = f32::INFINITY;
    let mut report = Vec::new();
    let mut used = [0usize; N_PARTS];
    for (t, name) in faces.part_names.iter().enumerate() {
        let part = faces.parts.column(t);
        let (best_j, cos) = (0..N_PARTS)
            .map(|j| (j, cosine(part, best.w().column(j))))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .expect("k > 0");
        used[best_j] += 1;
        worst = worst.min(cos);
        report.push(format!("{name:>18}: basis {best_j:2} cosine {cos:.3}"));
    }
    println!("{}", report.join("\n"));
    assert!(worst >= 0.9, "a part was not recovered (worst cosine {worst:.3}):\n{}", report.join("\n"));
    assert!(used.iter().all(|&u| u <= 1), "two parts matched the same basis image:\n{}", report.join("\n"));
}
