//! Helpers shared by the integration tests (each test file uses some).

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use facenmf::app::{AppOptions, FaceNmfApp};
use facenmf::dataset::Dataset;
use facenmf::nmf::Params;
use facenmf::worker::FitState;

/// The ORL face database beside the project, or None (saying so) when it is
/// absent. In CI (`CI=true`) a missing database fails the test instead.
pub fn orl() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets/orl_faces");
    if dir.is_dir() {
        return Some(dir);
    }
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(!in_ci, "CI=true but the ORL face database is missing at {}", dir.display());
    eprintln!("ORL face database not found at {}; skipping", dir.display());
    None
}

/// Serialises the tests of one file that count the process's threads (a
/// test binary runs its tests in parallel, in one process).
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The app on `data` with `params`, not fitting until Run, no display.
pub fn harness(data: Dataset, params: Params) -> Harness<'static, FaceNmfApp> {
    Harness::builder().with_size([1280.0, 800.0]).with_max_steps(20).build_eframe(move |cc| {
        FaceNmfApp::new(
            cc,
            AppOptions { dataset: Some(data), params: Some(params), auto_run: Some(false), ..Default::default() },
        )
    })
}

/// 40 built-in faces of 24×24 (seed 7): quick to fit.
pub fn small() -> Dataset {
    facenmf::dataset::builtin::generate(40, 24, 7).dataset
}

/// The app on [`small`] faces, fitted to the end with `params` (Run clicked).
pub fn fitted(params: Params) -> Harness<'static, FaceNmfApp> {
    let mut h = harness(small(), params);
    h.step();
    h.get_by_label("Run").click();
    step_until(&mut h, "the fit to finish", finished);
    h
}

/// Types `text` into the field labelled `label`.
pub fn set_text(h: &mut Harness<'_, FaceNmfApp>, label: &str, text: &str) {
    h.get_by_label(label).set_text_value_accesskit(text);
    h.run_ok();
}

/// Exports the fit through the Export… window to `out` and waits for the
/// export to end.
pub fn export_through_window(h: &mut Harness<'_, FaceNmfApp>, out: &Path) {
    h.get_by_label("Export…").click();
    h.run_ok();
    set_text(h, "Export folder:", &out.display().to_string());
    h.get_by_label("Export").click();
    h.run_ok();
    step_until(h, "the export to end", |a| !a.model.export.is_running() && a.model.export.notice.is_some());
}

/// Steps frames (the worker and loads run on their own threads) until
/// `done` or a timeout; returns the frames stepped.
pub fn step_until(h: &mut Harness<'_, FaceNmfApp>, what: &str, mut done: impl FnMut(&FaceNmfApp) -> bool) -> usize {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut frames = 0;
    while !done(h.state()) {
        assert!(Instant::now() < deadline, "timed out waiting for: {what} (error: {:?})", h.state().error());
        h.step();
        frames += 1;
        std::thread::sleep(Duration::from_millis(5));
    }
    h.step();
    frames
}

/// The fit has ended (finished or stopped) and nothing is fitting.
pub fn finished(app: &FaceNmfApp) -> bool {
    !app.is_fitting() && app.fit().is_some_and(|f| f.progress.state != FitState::Running)
}

/// Opens `path` through the typed-path window.
pub fn type_path(h: &mut Harness<'_, FaceNmfApp>, path: &str) {
    h.get_by_label("Type a path…").click();
    h.run_ok();
    h.get_by_label("Folder path:").set_text_value_accesskit(path);
    h.run_ok();
    h.get_by_label("Open").click();
    h.run_ok();
}
