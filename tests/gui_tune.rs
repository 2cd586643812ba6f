//! The rank explorer, new faces and Export…, driven through the GUI (no
//! display): a sweep fills the table and opening a k loads its exact fit;
//! Cancel ends a sweep at once; a projected face shows in the inspector;
//! Export writes the folder and asks before overwriting.

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use egui_kittest::kittest::{NodeT, Queryable};
use facenmf::app::View;
use facenmf::dataset::builtin;
use facenmf::jobs::live_threads_named;

fn live_sweep_threads() -> usize {
    live_threads_named("sweep")
}
use facenmf::nmf::Params;

/// The sweep tests count this process's sweep threads: one at a time.
static SWEEPS: Mutex<()> = Mutex::new(());

#[test]
fn sweep_fills_the_plot_and_opening_a_k_loads_its_fit() {
    let _serial = common::serial();
    let _one = SWEEPS.lock().unwrap_or_else(|e| e.into_inner());
    let mut h = common::harness(common::small(), Params::new(4).max_iter(40).tol(0.0).seed(3));
    h.step();
    h.get_by_label("Rank explorer").click();
    h.run_ok();
    assert_eq!(h.state().settings().view, View::Ranks);
    common::set_text(&mut h, "Ranks:", "2, 3, 5");
    h.get_by_label("Start").click();
    h.run_ok();
    common::step_until(&mut h, "the sweep to end", |a| !a.model.sweep.is_running() && a.model.sweep.points.len() == 3);
    let ks: Vec<usize> = h.state().model.sweep.points.iter().map(|p| p.k).collect();
    assert_eq!(ks, vec![2, 3, 5]);
    for p in &h.state().model.sweep.points {
        assert!(p.rel_err >= p.svd_rel_err - 1e-4, "k = {}: NMF {} below the SVD's {}", p.k, p.rel_err, p.svd_rel_err);
        assert!(p.rel_err < 1.0 && p.svd_rel_err > 0.0, "k = {}: {} / {}", p.k, p.rel_err, p.svd_rel_err);
        assert!((0.0..=1.0).contains(&p.explained_variance) && (0.0..=1.0).contains(&p.sparseness_w));
    }
    // A row per k, each with its Open button.
    for k in [2, 3, 5] {
        h.get_by_label(&format!("Open k = {k}"));
    }
    assert!(h.query_by_label("Open k = 4").is_none());
    let w5 = h.state().model.sweep.points[2].w.clone();
    let h5 = h.state().model.sweep.points[2].h.clone();
    let (its5, err5) = (h.state().model.sweep.points[2].iterations, h.state().model.sweep.points[2].rel_err);
    // The explorer's own iteration limit is not the sweep's.
    h.get_by_label("max_iter").set_value_accesskit(300.0);
    h.run_ok();
    assert_eq!(h.state().settings().params.max_iter, 300);
    h.get_by_label("Open k = 5").click();
    h.run_ok();
    common::step_until(&mut h, "the k = 5 fit to show", |a| a.fit().is_some_and(|f| f.k() == 5) && !a.is_fitting());
    let app = h.state();
    assert_eq!(app.settings().view, View::Explorer);
    assert_eq!(app.settings().params.k, 5);
    let fit = app.fit().expect("a fit");
    assert_eq!(*fit.progress.snapshot.w, w5, "the explorer's W is not the sweep's");
    assert_eq!(*fit.progress.snapshot.h, h5);
    // Exactly the sweep's fit: stopped where the sweep stopped it, with its
    // iteration count and error; the settings' max_iter left alone.
    assert_eq!(fit.progress.snapshot.iteration, its5);
    assert!((fit.progress.snapshot.rel_err - err5).abs() < 1e-6, "{} vs {err5}", fit.progress.snapshot.rel_err);
    assert!(!fit.is_running());
    assert_eq!(app.settings().params.max_iter, 300);
    h.get_by_label_contains("opened from the rank sweep");
    for b in 1..=5 {
        h.get_by_label(&format!("Basis {b}"));
    }
    assert!(h.query_by_label("Basis 6").is_none());
    assert!(h.state().error().is_none(), "{:?}", h.state().error());
}

#[test]
fn cancel_ends_a_sweep_at_once_and_dropping_the_app_stops_one() {
    let _serial = common::serial();
    let _one = SWEEPS.lock().unwrap_or_else(|e| e.into_inner());
    assert_eq!(live_sweep_threads(), 0);
    {
        // Each k would run for ages: only Cancel ends this sweep. (MU: the
        // default sweep's sketch of A, which ends each k after a few exact
        // iterations, is for plain HALS; MU's ks stop by the usual rules.)
        let params = Params::new(4).solver(facenmf::nmf::Solver::Mu).max_iter(10_000_000).tol(0.0).seed(3);
        let mut h = common::harness(common::small(), params);
        h.step();
        h.get_by_label("Rank explorer").click();
        h.run_ok();
        common::set_text(&mut h, "Ranks:", "2..12");
        h.get_by_label("iterations per k").set_value_accesskit(1_000_000.0);
        h.run_ok();
        assert_eq!(h.state().views.ranks.max_iter_per_k, 1_000_000);
        h.get_by_label("Start").click();
        h.run_ok();
        assert!(h.state().model.sweep.is_running());
        assert_eq!(live_sweep_threads(), 1);
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(300) {
            h.step();
            std::thread::sleep(Duration::from_millis(10));
        }
        let clicked = Instant::now();
        h.get_by_label("Cancel").click();
        h.run_ok();
        assert!(clicked.elapsed() < Duration::from_secs(2), "Cancel took {:?}", clicked.elapsed());
        assert!(!h.state().model.sweep.is_running());
        assert_eq!(live_sweep_threads(), 0, "the sweep thread is still alive after Cancel");
        assert!(h.state().model.sweep.points.is_empty());
        // New faces stop a running sweep too.
        h.get_by_label("Start").click();
        h.run_ok();
        assert_eq!(live_sweep_threads(), 1);
        h.get_by_label("Built-in faces").click();
        h.run_ok();
        common::step_until(&mut h, "the built-in faces", |a| !a.is_loading() && !a.model.sweep.is_running());
        assert_eq!(live_sweep_threads(), 0, "new faces left the sweep thread running");
        assert_ne!(h.state().faces().map(|f| f.count()), Some(40));
        // Start again, then drop the app mid-sweep.
        h.get_by_label("Start").click();
        h.run_ok();
        assert_eq!(live_sweep_threads(), 1);
    }
    assert_eq!(live_sweep_threads(), 0, "dropping the app left the sweep thread running");
}

#[test]
fn a_projected_face_shows_in_the_inspector() {
    let _serial = common::serial();
    let mut h = common::fitted(Params::new(6).max_iter(60).tol(0.0).seed(3));
    let dir = tempfile::tempdir().unwrap();
    // A face of another draw: not in the set.
    let other = builtin::generate(5, 24, 99).dataset;
    let png = dir.path().join("stranger.png");
    other.face_image(2).save(&png).unwrap();
    h.get_by_label("Project a face…").click();
    h.run_ok();
    common::set_text(&mut h, "Image file:", &png.display().to_string());
    h.get_by_label("Project").click();
    h.run_ok();
    assert!(h.state().error().is_none(), "{:?}", h.state().error());
    h.get_by_label("Inspector: new face");
    h.get_by_label("Inspector: reconstruction of new face");
    h.get_by_label("Inspector: residual of new face");
    h.get_by_label_contains("New face: stranger.png");
    let p = h.state().model.new_face.as_ref().and_then(|f| f.projection.clone()).expect("a projection");
    h.get_by_label(&format!("relative error of the new face: {:.3}", p.rel_err));
    assert!(p.rel_err > 0.0 && p.rel_err < 0.5, "rel_err {}", p.rel_err);
    assert!(p.weights.iter().all(|&v| v >= 0.0) && p.weights.iter().any(|&v| v > 0.0));
    assert!(h.query_by_label("Inspector: reconstruction of face 1").is_none());

    // A new fit (k changed): the face is projected again onto the new W.
    h.state_mut().set_k(4);
    common::step_until(&mut h, "the k = 4 fit", |a| common::finished(a) && a.fit().is_some_and(|f| f.k() == 4));
    h.run_ok();
    let p4 = h.state().model.new_face.as_ref().and_then(|f| f.projection.clone()).expect("a projection");
    assert_eq!(p4.weights.len(), 4);
    h.get_by_label(&format!("relative error of the new face: {:.3}", p4.rel_err));

    // Selecting a face of the set leaves the new face.
    h.get_by_label("Face 3").click();
    h.run_ok();
    assert!(h.state().model.new_face.as_ref().is_none());
    h.get_by_label("Inspector: reconstruction of face 3");
    assert!(h.query_by_label("Inspector: reconstruction of new face").is_none());

    // Another size is resized, and says so.
    let big = image::imageops::resize(&other.face_image(3), 50, 61, image::imageops::FilterType::Triangle);
    let big_png = dir.path().join("big.png");
    big.save(&big_png).unwrap();
    h.get_by_label("Project a face…").click();
    h.run_ok();
    common::set_text(&mut h, "Image file:", &big_png.display().to_string());
    h.get_by_label("Project").click();
    h.run_ok();
    h.get_by_label_contains("50×61 image: its centre cropped to 50×50 (the set's shape), then resized");

    // Not an image: an error naming the file, no panic, the new face kept.
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not an image").unwrap();
    h.get_by_label("Project a face…").click();
    h.run_ok();
    common::set_text(&mut h, "Image file:", &text.display().to_string());
    h.get_by_label("Project").click();
    h.run_ok();
    let err = h.state().error().expect("an error").to_string();
    assert!(err.contains("notes.txt"), "{err}");
    h.get_by_label_contains("notes.txt");
    assert_eq!(h.state().model.new_face.as_ref().map(|f| f.name.as_str()), Some("big.png"));

    // Dropping one image on the window projects it (the faces stay).
    h.input_mut().dropped_files.push(Arc::new(Dropped(png.clone())));
    h.step();
    h.run_ok();
    assert_eq!(h.state().model.new_face.as_ref().map(|f| f.name.as_str()), Some("stranger.png"));
    assert_eq!(h.state().faces().map(|f| f.count()), Some(40));
    h.get_by_label("Inspector: reconstruction of new face");
}

#[derive(Debug)]
struct Dropped(std::path::PathBuf);

impl eframe::egui::DroppedFile for Dropped {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn export_writes_the_folder_and_asks_before_overwriting() {
    let _serial = common::serial();
    let mut h = common::fitted(Params::new(5).max_iter(30).tol(0.0).seed(3));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fit");
    common::export_through_window(&mut h, &out);
    assert!(h.state().error().is_none(), "{:?}", h.state().error());
    for f in ["W.npy", "H.npy", "W.csv", "report.json", "basis_montage.png", "basis/basis_01.png"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let w: ndarray::Array2<f32> = ndarray_npy::read_npy(out.join("W.npy")).unwrap();
    assert_eq!(w, *h.state().fit().unwrap().progress.snapshot.w);
    let report = std::fs::read_to_string(out.join("report.json")).unwrap();
    assert!(report.contains("\"history\""), "{report}");
    // In the status line and in the window.
    assert_eq!(h.query_all_by_label_contains("Exported").count(), 2);

    // Again to the same folder: asked first; Cancel leaves it alone.
    std::fs::write(out.join("W.npy"), "stale").unwrap();
    h.get_by_label("Export…").click();
    h.run_ok();
    h.get_by_label("Export").click();
    h.run_ok();
    h.get_by_label("Overwrite");
    h.get_by_label_contains("already exists and is not empty");
    for _ in 0..10 {
        h.step();
    }
    assert_eq!(std::fs::read_to_string(out.join("W.npy")).unwrap(), "stale");
    h.get_by_label("Cancel").click();
    h.run_ok();
    assert!(h.query_by_label("Overwrite").is_none());
    assert_eq!(std::fs::read_to_string(out.join("W.npy")).unwrap(), "stale");
    // ... and Overwrite writes it.
    h.get_by_label("Export").click();
    h.run_ok();
    h.get_by_label("Overwrite").click();
    h.run_ok();
    common::step_until(&mut h, "the second export to end", |a| {
        !a.model.export.is_running() && a.model.export.notice.as_deref().is_some()
    });
    let w2: ndarray::Array2<f32> = ndarray_npy::read_npy(out.join("W.npy")).unwrap();
    assert_eq!(w2, w);
}

#[test]
fn number_fields_say_what_they_changed_and_huge_rank_specs_are_refused() {
    let _serial = common::serial();
    let mut h = common::harness(common::small(), Params::new(4).max_iter(40).tol(0.0).seed(3));
    h.step();
    // max_iter below 1: brought to 1, and the field says so.
    h.get_by_label("max_iter").set_value_accesskit(-5.0);
    h.run_ok();
    assert_eq!(h.state().settings().params.max_iter, 1);
    h.get_by_label_contains("max_iter: -5 is below the range 1 to");
    // k beyond min(pixels, faces) = 40: brought to 40, said beside the slider.
    h.get_by_role_and_label(eframe::egui::accesskit::Role::Slider, "k").set_value_accesskit(99_999.0);
    h.run_ok();
    assert_eq!(h.state().settings().params.k, 40);
    h.get_by_label_contains("k: 99999 is above the range 1 to 40; set to 40");
    // A valid value clears the note.
    h.get_by_role_and_label(eframe::egui::accesskit::Role::Slider, "k").set_value_accesskit(7.0);
    h.run_ok();
    assert_eq!(h.state().settings().params.k, 7);
    assert!(h.query_by_label_contains("k: 99999").is_none());
    // A rank range far beyond the faces is refused as typed, naming the
    // value and the limit, without building it.
    h.get_by_label("Rank explorer").click();
    h.run_ok();
    common::set_text(&mut h, "Ranks:", "2..99999999999");
    h.get_by_label_contains("99999999999");
    assert!(h.query_by_label("Start").is_some_and(|b| b.accesskit_node().is_disabled()));
    assert!(h.state().error().is_none(), "{:?}", h.state().error());
}
