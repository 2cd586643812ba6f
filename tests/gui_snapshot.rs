//! Snapshot of the finished state (fixed seed and iteration count), rendered
//! with wgpu on a software adapter (Mesa lavapipe or llvmpipe), compared with
//! the committed PNG under `tests/snapshots/`. Regenerate with
//! `UPDATE_SNAPSHOTS=1 cargo test --test gui_snapshot`.

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use eframe::egui;
use egui_kittest::kittest::Queryable;
use egui_kittest::{Harness, SnapshotOptions};
use facenmf::app::{AppOptions, FaceNmfApp, Settings, ThemeChoice};
use facenmf::dataset::builtin;
use facenmf::nmf::Params;
use facenmf::worker::FitState;

fn finished_app(theme: ThemeChoice) -> Harness<'static, FaceNmfApp> {
    let data = builtin::generate(60, 32, 11).dataset;
    let params = Params::new(9).max_iter(60).tol(0.0).seed(5);
    let mut h =
        Harness::builder().with_size([1280.0, 800.0]).with_theme(egui_theme(theme)).wgpu().build_eframe(move |cc| {
            let mut app = FaceNmfApp::new(
                cc,
                AppOptions { dataset: Some(data), params: Some(params), auto_run: Some(false), ..Default::default() },
            );
            app.model.settings = Settings { theme, ..app.model.settings.clone() };
            cc.egui_ctx.set_theme(facenmf::ui::theme_preference(theme));
            app
        });
    h.step();
    h.get_by_label("Run").click();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        h.step();
        let app = h.state();
        if !app.is_fitting() && app.fit().is_some_and(|f| f.progress.state != FitState::Running) {
            break;
        }
        assert!(Instant::now() < deadline, "the fit did not finish");
        std::thread::sleep(Duration::from_millis(5));
    }
    h.get_by_label("Face 7").click();
    h.run_ok();
    // The thumbnails and the weights map are built off the UI thread.
    while !h.state().views.is_settled(&h.state().model) {
        assert!(Instant::now() < deadline, "the views were not built");
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    h.run_ok();
    h.remove_cursor();
    h.run_ok();
    // Iterations per second depend on the machine's load: hide them.
    if let Some(node) = h.query_by_label_contains("it/s") {
        let rect = node.rect();
        h.mask(rect.expand(2.0));
    }
    h
}

fn egui_theme(theme: ThemeChoice) -> egui::Theme {
    if theme == ThemeChoice::Light { egui::Theme::Light } else { egui::Theme::Dark }
}

fn options() -> SnapshotOptions {
    // Software rasterisers differ in anti-aliasing by a few pixels.
    SnapshotOptions::new().threshold(1.0).max_failed_pixels(400)
}

#[test]
fn finished_fit_dark() {
    let mut h = finished_app(ThemeChoice::Dark);
    h.snapshot_options("finished_fit_dark", &options());
}

#[test]
fn finished_fit_light() {
    let mut h = finished_app(ThemeChoice::Light);
    h.snapshot_options("finished_fit_light", &options());
}
