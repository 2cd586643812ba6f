//! The app driven through egui_kittest, with no display: Run, finish, basis
//! images, face selection, the inspector, weight editing, Stop, k changes,
//! and a burst of commands that must leave no worker thread behind.

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use eframe::egui;
use egui_kittest::kittest::Queryable;
use facenmf::dataset::builtin;
use facenmf::nmf::Params;
use facenmf::worker::FitState;

#[test]
fn run_finish_inspect_edit() {
    let k = 6;
    let mut h = common::harness(builtin::generate(40, 24, 7).dataset, Params::new(k).max_iter(40).tol(0.0).seed(1));
    h.step();
    assert!(h.state().fit().is_none(), "auto-run is off");
    h.get_by_label("Run").click();
    common::step_until(&mut h, "the fit to finish", common::finished);
    let fit = h.state().fit().unwrap();
    assert_eq!(fit.progress.state, FitState::Stopped(facenmf::nmf::StopReason::MaxIter));
    assert_eq!(fit.progress.snapshot.iteration, 40);
    for i in 1..=k {
        h.get_by_label(&format!("Basis {i}"));
    }
    assert!(h.query_by_label(&format!("Basis {}", k + 1)).is_none());

    // Select face 12: the inspector shows its reconstruction.
    h.get_by_label("Face 12").click();
    h.run_ok();
    assert_eq!(h.state().selected_face(), Some(11));
    h.get_by_label("Inspector: reconstruction of face 12");
    h.get_by_label("Inspector: face 12");
    let before = h.state().inspected_reconstruction().unwrap();

    // Edit the largest weight: the reconstruction changes.
    let labels: Vec<String> = (1..=k).map(|r| format!("w{r}")).collect();
    let node = labels.iter().find_map(|l| h.query_by_label(l)).expect("an editable weight");
    let old: f64 = node.value().and_then(|v| v.parse().ok()).unwrap_or(0.0);
    node.set_value_accesskit(old + 0.5);
    h.run_ok();
    let after = h.state().inspected_reconstruction().unwrap();
    let change: f32 = (&after - &before).iter().map(|v| v.abs()).sum();
    assert!(change > 1.0, "editing a weight must change the reconstruction (change {change})");
    h.get_by_label("Reset weights").click();
    h.run_ok();
    let reset = h.state().inspected_reconstruction().unwrap();
    assert_eq!(reset, before);
}

#[test]
fn stop_mid_run_and_change_k() {
    let mut h =
        common::harness(builtin::generate(40, 24, 7).dataset, Params::new(5).max_iter(1_000_000).tol(0.0).seed(2));
    h.step();
    h.get_by_label("Run").click();
    common::step_until(&mut h, "a first snapshot", |a| a.fit().is_some_and(|f| f.progress.snapshot.iteration > 0));
    assert!(h.state().is_fitting());

    // Change k mid-run: k new basis images, continuing (warm start).
    h.state_mut().set_k(8);
    common::step_until(&mut h, "k = 8", |a| a.fit().is_some_and(|f| f.k() == 8 && f.progress.warm_started));
    for i in 1..=8 {
        h.get_by_label(&format!("Basis {i}"));
    }
    assert!(h.state().is_fitting(), "a k change while running keeps running");

    // Stop: the fit reports stopped within a few frames.
    h.get_by_label("Stop").click();
    let frames = common::step_until(&mut h, "the stop", |a| !a.is_fitting());
    assert!(frames <= 10, "stop took {frames} frames");
    let state = h.state().fit().unwrap().progress.state;
    assert_eq!(state, FitState::Stopped(facenmf::nmf::StopReason::Cancelled));
}

/// The panels' fills covering the window, as (panel-sized rectangles
/// filled with the panel colour) in the last frame's shapes.
fn panel_fills(h: &egui_kittest::Harness<'_, facenmf::app::FaceNmfApp>) -> usize {
    let fill = h.ctx.global_style().visuals.panel_fill;
    h.output()
        .shapes
        .iter()
        .filter(|c| match &c.shape {
            egui::Shape::Rect(r) => r.fill == fill && r.rect.width() >= 150.0 && r.rect.height() >= 20.0,
            _ => false,
        })
        .count()
}

#[test]
fn panels_leave_their_fill_to_the_window_clear() {
    let mut h = common::harness(builtin::generate(40, 24, 7).dataset, Params::new(4));
    h.step();
    // Under the test harness (which clears to transparent) the panels
    // paint their own fill: toolbar, status line, controls, inspector and
    // the central panel.
    assert!(!h.state().views.cleared_background);
    assert_eq!(panel_fills(&h), 5);
    // In a window whose clear is the panel colour, none of them does.
    h.state_mut().views.cleared_background = true;
    h.step();
    assert_eq!(panel_fills(&h), 0);
    let visuals = h.ctx.global_style().visuals.clone();
    let clear = eframe::App::clear_color(h.state(), &visuals);
    assert_eq!(clear, visuals.panel_fill.to_normalized_gamma_f32());
}

#[test]
fn command_line_max_iter_and_tol_override_the_settings() {
    let mut h = egui_kittest::Harness::builder().with_size([1280.0, 800.0]).build_eframe(|cc| {
        facenmf::app::FaceNmfApp::new(
            cc,
            facenmf::app::AppOptions {
                dataset: Some(builtin::generate(40, 24, 7).dataset),
                auto_run: Some(false),
                max_iter: Some(7),
                tol: Some(0.0),
                ..Default::default()
            },
        )
    });
    h.step();
    let params = &h.state().settings().params;
    assert_eq!((params.max_iter, params.tol), (7, 0.0));
    assert_ne!(Params::default().max_iter, 7, "the override is not the default");
    h.get_by_label("Run").click();
    common::step_until(&mut h, "the fit to finish", common::finished);
    assert_eq!(h.state().fit().unwrap().progress.snapshot.iteration, 7, "the fit ran max_iter iterations");
}
