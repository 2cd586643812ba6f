//! Issue #14's fixes seen as a new user, driven through the GUI (no
//! display): the status bar counts iterations as the loss curve does; the
//! k slider is logarithmic and warm-starts once, on release; the rank
//! explorer says what a range sweeps, labels "explained" as uncentred and
//! keeps its table's header in place; messages go when they no longer
//! describe what is shown, long ones are cut short and can be read whole;
//! Escape closes the windows; a projected face of another shape is cropped
//! (or stretched, as chosen) and says which; counts read "1 face".

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use eframe::egui;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use facenmf::app::FaceNmfApp;
use facenmf::dataset::builtin;
use facenmf::nmf::Params;

fn small() -> facenmf::dataset::Dataset {
    builtin::generate(40, 24, 7).dataset
}

/// Fits to the end with `params` (Run clicked).
fn fitted(params: Params) -> Harness<'static, FaceNmfApp> {
    let mut h = common::harness(small(), params);
    h.step();
    h.get_by_label("Run").click();
    common::step_until(&mut h, "the fit to finish", common::finished);
    h
}

fn set_text(h: &mut Harness<'_, FaceNmfApp>, label: &str, text: &str) {
    h.get_by_label(label).set_text_value_accesskit(text);
    h.run_ok();
}

fn press_escape(h: &mut Harness<'_, FaceNmfApp>) {
    h.key_press(egui::Key::Escape);
    h.run_ok();
}

fn pointer(h: &mut Harness<'_, FaceNmfApp>, pos: egui::Pos2, pressed: Option<bool>) {
    h.event(egui::Event::PointerMoved(pos));
    if let Some(pressed) = pressed {
        h.event(egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::default(),
        });
    }
    h.step();
}

fn k_slider_rect(h: &Harness<'_, FaceNmfApp>) -> egui::Rect {
    h.get_by_role_and_label(Role::Slider, "k").rect()
}

#[test]
fn the_status_bar_counts_iterations_as_the_loss_curve_does() {
    let _serial = common::serial();
    let mut h = fitted(Params::new(4).max_iter(20).tol(0.0).seed(3));
    h.get_by_label("iteration 20");
    // k changes: the fit goes on from a warm start for 20 more iterations.
    h.state_mut().set_k(6);
    common::step_until(&mut h, "the k = 6 fit", |a| common::finished(a) && a.fit().is_some_and(|f| f.k() == 6));
    let app = h.state();
    let curve = &app.model.live.curve;
    let own = app.fit().unwrap().progress.snapshot.iteration;
    assert_eq!(own, 20);
    let on_curve = curve.points.last().unwrap()[0];
    assert_eq!(on_curve, 40.0, "the curve counts every iteration");
    assert_eq!(curve.iterations_before() + own, 40);
    // The status bar says the curve's count, and the fit's own.
    h.get_by_label("iteration 40 (20 at k = 6)");
    assert!(h.query_by_label("iteration 20").is_none());
}
