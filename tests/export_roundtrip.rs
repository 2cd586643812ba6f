//! `facenmf::export`: files written, read back, refusals and overwriting.

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;

use facenmf::dataset::Dataset;
use facenmf::export::{ExportError, ExportInput, export};
use facenmf::nmf::{FaceMatrix, Nmf, Params, Record, StopReason};
use ndarray::Array2;

struct Fit {
    ds: Dataset,
    params: Params,
    w: Array2<f32>,
    h: Array2<f32>,
    history: Vec<Record>,
    reason: StopReason,
    rel_err: f64,
    init_secs: f64,
    fit_secs: f64,
}

fn small_fit(k: usize) -> Fit {
    let ds = facenmf::dataset::builtin::generate(30, 24, 3).dataset;
    let data = Arc::new(FaceMatrix::new(ds.matrix.clone()).expect("valid faces"));
    let params = Params::new(k).max_iter(30);
    let mut nmf = Nmf::new(data, params.clone()).expect("params fit the data");
    let reason = nmf.run(None, |_| {});
    let rel_err = nmf.exact_rel_err();
    let (init_secs, fit_secs, history) = (nmf.init_secs(), nmf.secs(), nmf.history().to_vec());
    let (w, h) = nmf.into_factors();
    Fit { ds, params, w, h, history, reason, rel_err, init_secs, fit_secs }
}

fn input(f: &Fit) -> ExportInput<'_> {
    ExportInput {
        dataset: &f.ds,
        load_options: None,
        w: f.w.view(),
        h: f.h.view(),
        params: &f.params,
        history: &f.history,
        iterations: f.history.len() - 1,
        stop_reason: f.reason,
        load_secs: None,
        init_secs: f.init_secs,
        fit_secs: f.fit_secs,
        rel_err: f.rel_err,
    }
}

fn read_csv(path: &Path) -> Vec<Vec<f32>> {
    std::fs::read_to_string(path)
        .expect("csv readable")
        .lines()
        .map(|l| l.split(',').map(|v| v.parse::<f32>().expect("a number")).collect())
        .collect()
}

fn png_size(path: &Path) -> (u32, u32) {
    image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).to_luma8().dimensions()
}

#[test]
fn export_round_trips_and_reproduces_rel_err() {
    let fit = small_fit(5);
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("out");
    let summary = export(&dir, &input(&fit), false).expect("export");
    assert_eq!(summary.files.len(), 6 + 5 + 1);
    for f in &summary.files {
        assert!(dir.join(f).is_file(), "{} missing", f.display());
    }

    // W.npy and H.npy reproduce the reported rel_err.
    let w: Array2<f32> = ndarray_npy::read_npy(dir.join("W.npy")).expect("W.npy");
    let h: Array2<f32> = ndarray_npy::read_npy(dir.join("H.npy")).expect("H.npy");
    assert_eq!(w.dim(), (24 * 24, 5));
    assert_eq!(h.dim(), (5, 30));
    assert_eq!(w, fit.w);
    assert_eq!(h, fit.h);
    let data = FaceMatrix::new(fit.ds.matrix.clone()).expect("valid");
    let recomputed = data.rel_err(w.view(), h.view());
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).expect("report")).expect("JSON");
    let reported = report["rel_err"].as_f64().expect("rel_err");
    assert!((recomputed - reported).abs() < 1e-5, "{recomputed} vs {reported}");

    // report.json
    assert_eq!(report["version"], 1);
    assert_eq!(report["parameters"]["k"], 5);
    assert_eq!(report["parameters"]["max_iter"], 30);
    assert_eq!(report["parameters"]["solver"], "hals");
    assert_eq!((report["width"].as_u64(), report["height"].as_u64()), (Some(24), Some(24)));
    assert_eq!((report["faces"].as_u64(), report["pixels"].as_u64()), (Some(30), Some(576)));
    let files: Vec<&str> = report["files"].as_array().expect("files").iter().filter_map(|v| v.as_str()).collect();
    let expected: Vec<String> = fit.ds.files.iter().map(|f| f.to_string_lossy().into_owned()).collect();
    assert_eq!(files, expected);
    assert_eq!(report["history"].as_array().expect("history").len(), fit.history.len());
    assert_eq!(report["iterations"].as_u64(), Some(fit.history.len() as u64 - 1));
    assert!(report["history"][0]["rel_err"].as_f64().is_some());
    let basis = report["basis"].as_array().expect("basis");
    let mut components: Vec<u64> = basis.iter().filter_map(|b| b["component"].as_u64()).collect();
    assert_eq!(basis[0]["file"], "basis/basis_01.png");
    let shares: Vec<f64> = basis.iter().filter_map(|b| b["importance"].as_f64()).collect();
    assert!(shares.windows(2).all(|p| p[0] >= p[1]), "not ordered by importance: {shares:?}");
    components.sort_unstable();
    assert_eq!(components, vec![0, 1, 2, 3, 4]);

    // PNGs decode with the right sizes: 5 tiles in 3 columns, 30 in 6; 1-pixel gaps.
    assert_eq!(png_size(&dir.join("basis_montage.png")), (3 * 25 + 1, 2 * 25 + 1));
    assert_eq!(png_size(&dir.join("reconstructions.png")), (6 * 25 + 1, 5 * 25 + 1));
    for i in 1..=5 {
        assert_eq!(png_size(&dir.join(format!("basis/basis_{i:02}.png"))), (24, 24));
    }
    // Each basis image is auto-contrasted: its brightest pixel is white.
    let b1 = image::open(dir.join("basis/basis_01.png")).expect("png").to_luma8();
    assert_eq!(b1.pixels().map(|p| p.0[0]).max(), Some(255));

    // CSVs parse back to exactly the same values.
    let wc = read_csv(&dir.join("W.csv"));
    assert_eq!(wc.len(), 576);
    for (row, r) in wc.iter().zip(fit.w.rows()) {
        assert_eq!(row.as_slice(), r.to_vec().as_slice());
    }
    let hc = read_csv(&dir.join("H.csv"));
    assert_eq!(hc.len(), 5);
    for (row, r) in hc.iter().zip(fit.h.rows()) {
        assert_eq!(row.as_slice(), r.to_vec().as_slice());
    }

    // No temporary file is left behind.
    for e in walkdir::WalkDir::new(&dir) {
        let e = e.expect("walk");
        assert!(!e.file_name().to_string_lossy().ends_with(".tmp"), "{}", e.path().display());
    }
}

#[test]
fn an_existing_folder_is_refused_unless_overwriting() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("out");
    std::fs::create_dir(&dir).expect("mkdir");
    // An empty folder is fine.
    let fit = small_fit(4);
    export(&dir, &input(&fit), false).expect("empty folder accepted");

    let other = small_fit(3);
    let err = export(&dir, &input(&other), false).expect_err("refused");
    assert!(matches!(err, ExportError::NotEmpty { .. }), "{err:?}");
    assert!(err.to_string().contains(&dir.display().to_string()), "{err}");
    // Nothing changed.
    let h: Array2<f32> = ndarray_npy::read_npy(dir.join("H.npy")).expect("H.npy");
    assert_eq!(h, fit.h);

    // With overwrite, the files are replaced and other files are left alone.
    std::fs::write(dir.join("notes.txt"), "mine").expect("write");
    export(&dir, &input(&other), true).expect("overwrite");
    let h: Array2<f32> = ndarray_npy::read_npy(dir.join("H.npy")).expect("H.npy");
    assert_eq!(h, other.h);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).expect("report")).expect("JSON");
    assert_eq!(report["parameters"]["k"], 3);
    assert_eq!(std::fs::read_to_string(dir.join("notes.txt")).expect("kept"), "mine");

    // A file in the way is refused, naming it.
    let file = tmp.path().join("a_file");
    std::fs::write(&file, "x").expect("write");
    let err = export(&file, &input(&other), true).expect_err("not a folder");
    assert!(err.to_string().contains("a_file"), "{err}");
}

#[test]
fn mismatched_factors_are_refused() {
    let fit = small_fit(3);
    let mut bad = input(&fit);
    let h2 = fit.h.slice(ndarray::s![..2, ..]).to_owned();
    bad.h = h2.view();
    let tmp = tempfile::tempdir().expect("tempdir");
    let err = export(&tmp.path().join("x"), &bad, false).expect_err("shape");
    assert!(err.to_string().contains("H has shape (2, 30)"), "{err}");
}
