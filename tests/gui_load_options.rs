//! Load options in the app: a folder of faces of different sizes is offered
//! a resize to the most common size, a folder too large for memory the
//! scale that fits, and the preprocessing choice loads the faces again, as
//! the command line's --resize, --scale and --preprocess do.

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use facenmf::app::{AppOptions, FaceNmfApp};
use facenmf::dataset::{Preprocess, builtin};
use facenmf::nmf::Params;

fn size(app: &FaceNmfApp) -> Option<(usize, usize, usize)> {
    app.faces().map(|f| (f.meta.width, f.meta.height, f.count()))
}

#[test]
fn mixed_sizes_are_offered_a_resize_to_the_most_common_size() {
    // Three faces of 24×24 and one of 32×32.
    let dir = tempfile::tempdir().expect("tempdir");
    builtin::write_folder(&builtin::generate(3, 24, 2), &dir.path().join("a")).expect("write");
    builtin::write_folder(&builtin::generate(1, 32, 3), &dir.path().join("b")).expect("write");
    let mut h = common::harness(builtin::generate(20, 16, 1).dataset, Params::new(3).max_iter(5).tol(0.0));
    h.step();
    assert_eq!(size(h.state()), Some((16, 16, 20)));
    common::type_path(&mut h, dir.path().to_str().expect("utf-8"));
    common::step_until(&mut h, "the mixed-size error", |app| {
        app.error().is_some_and(|e| e.contains("different sizes"))
    });
    // The offer (and the status line) name the sizes; the offer proposes the
    // most common one, which the resized set then has.
    assert!(h.get_all_by_label_contains("24×24 (3 files)").count() >= 2);
    h.get_by_label("Resize every face to");
    h.get_by_label("Resize and open").click();
    h.run_ok();
    common::step_until(&mut h, "the resized faces", |app| size(app) == Some((24, 24, 4)));
    assert!(h.query_by_label("Resize and open").is_none(), "the offer closes once the faces are open");
}

#[test]
fn a_folder_too_large_for_memory_is_offered_the_scale_that_fits() {
    // 20 faces of 32×32: 81,920 bytes of pixel matrix, twice that with its
    // transpose.
    let dir = tempfile::tempdir().expect("tempdir");
    builtin::write_folder(&builtin::generate(20, 32, 5), dir.path()).expect("write");
    // The app may give A and Aᵀ 60,000 bytes: 30,000 for one. The loader's
    // scale is √(30,000 / 81,920) · 0.95 = 0.5749, to two places down 0.57:
    // 18×18 (25,920 bytes).
    let mut h = Harness::builder().with_size([1280.0, 800.0]).with_max_steps(20).build_eframe(|cc| {
        FaceNmfApp::new(
            cc,
            AppOptions {
                dataset: Some(builtin::generate(20, 16, 1).dataset),
                params: Some(Params::new(3).max_iter(5).tol(0.0)),
                auto_run: Some(false),
                memory_limit_bytes: Some(60_000),
                ..Default::default()
            },
        )
    });
    h.step();
    common::type_path(&mut h, dir.path().to_str().expect("utf-8"));
    common::step_until(&mut h, "the too-large error", |app| app.error().is_some_and(|e| e.contains("memory limit")));
    // The offer, not a dead end: it names the scale and the size that fit;
    // the faces open until then stay.
    assert!(h.state().model.resize_offer.as_ref().is_some_and(|o| o.too_large));
    h.get_by_label("Too many faces for memory");
    h.get_by_label("At scale 0.57 they fit: 18×18 pixels a face.");
    assert_eq!(size(h.state()), Some((16, 16, 20)));
    h.get_by_label("Resize and open").click();
    h.run_ok();
    common::step_until(&mut h, "the scaled faces", |app| size(app) == Some((18, 18, 20)));
    assert!(h.query_by_label("Resize and open").is_none(), "the offer closes once the faces are open");
    assert!(h.state().error().is_none(), "{:?}", h.state().error());
}

#[test]
fn preprocessing_loads_the_faces_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    builtin::write_folder(&builtin::generate(6, 20, 4), dir.path()).expect("write");
    let mut h = common::harness(builtin::generate(20, 16, 1).dataset, Params::new(3).max_iter(5).tol(0.0));
    h.step();
    common::type_path(&mut h, dir.path().to_str().expect("utf-8"));
    common::step_until(&mut h, "the folder", |app| size(app) == Some((20, 20, 6)));
    let raw = h.state().faces().expect("faces").matrix.a().to_owned();

    h.get_by_label("preprocessing").click();
    h.run_ok();
    h.get_by_label("lee-seung").click();
    h.run_ok();
    assert_eq!(h.state().settings().preprocess, Preprocess::LeeSeung);
    common::step_until(&mut h, "the preprocessed faces", |app| app.faces().is_some_and(|f| f.matrix.a() != raw));
    // Lee & Seung's normalisation: every face's mean near 0.25 (clipping
    // to [0, 1] moves it a little).
    let m = h.state().faces().expect("faces").matrix.a().to_owned();
    for col in m.columns() {
        let mean = col.mean().unwrap_or(0.0);
        assert!((mean - 0.25).abs() < 0.05, "face mean {mean}");
    }
}
