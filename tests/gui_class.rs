//! Taking it to class, driven through egui_kittest with no display:
//! Continue after Stop (and past max_iter), Step, the pace, the replay
//! timeline, a pinned fit beside a second one, and presentation mode.

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use eframe::egui;
use egui_kittest::kittest::{NodeT, Queryable};
use facenmf::app::FaceNmfApp;
use facenmf::dataset::builtin;
use facenmf::nmf::{Params, Solver, StopReason};
use facenmf::worker::FitState;

type Harness = egui_kittest::Harness<'static, FaceNmfApp>;

fn app(params: Params) -> Harness {
    let mut h = common::harness(builtin::generate(40, 24, 7).dataset, params);
    h.step();
    h
}

fn iteration(h: &Harness) -> usize {
    h.state().fit().map_or(0, |f| f.progress.snapshot.iteration)
}

fn state(h: &Harness) -> FitState {
    h.state().fit().unwrap().progress.state
}

fn stopped(app: &FaceNmfApp) -> bool {
    common::finished(app)
}

#[test]
fn continue_after_stop_goes_on_from_the_same_fit() {
    let mut h = app(Params::new(5).max_iter(1_000_000).tol(0.0).seed(2));
    h.get_by_label("Run").click();
    common::step_until(&mut h, "some iterations", |a| a.fit().is_some_and(|f| f.progress.snapshot.iteration >= 5));
    h.get_by_label("Stop").click();
    common::step_until(&mut h, "the stop", stopped);
    let at = iteration(&h);
    let fit_id = h.state().fit().unwrap().progress.fit_id;
    assert_eq!(state(&h), FitState::Stopped(StopReason::Cancelled));
    // The button now says what it does.
    assert!(h.query_by_label("Run").is_none());
    h.get_by_label("Continue").click();
    common::step_until(&mut h, "more iterations", |a| a.fit().is_some_and(|f| f.progress.snapshot.iteration >= at + 5));
    let fit = h.state().fit().unwrap();
    assert_eq!(fit.progress.fit_id, fit_id, "Continue goes on with the same fit, not a new one");
    assert!(!fit.progress.warm_started);
    // The loss curve goes on too: it holds every iteration from 0.
    let curve = &h.state().model.live.curve.points;
    assert!(curve.len() > at + 5, "curve {} points, stopped at {at}", curve.len());
    assert!(curve.windows(2).all(|w| w[1][0] == w[0][0] + 1.0), "one point per iteration, none restarted");
    h.get_by_label("Stop").click();
    common::step_until(&mut h, "the stop", stopped);

    // Reset starts over: the fit is forgotten, and Run starts from 0.
    h.get_by_label("Reset").click();
    common::step_until(&mut h, "the reset", |a| a.fit().is_none() && !a.is_fitting());
    h.get_by_label("Run").click();
    common::step_until(&mut h, "a new fit", |a| a.fit().is_some_and(|f| f.progress.fit_id != fit_id));
    assert!(h.state().model.live.curve.points[0][0] == 0.0);
    h.get_by_label("Stop").click();
    common::step_until(&mut h, "the stop", stopped);
}

#[test]
fn continue_after_max_iter_runs_another_max_iter() {
    let mut h = app(Params::new(5).max_iter(15).tol(0.0).seed(2));
    h.get_by_label("Run").click();
    common::step_until(&mut h, "max_iter", stopped);
    assert_eq!(iteration(&h), 15);
    assert_eq!(state(&h), FitState::Stopped(StopReason::MaxIter));
    let before = h.state().fit().unwrap().progress.snapshot.rel_err;
    h.get_by_label("Continue").click();
    common::step_until(&mut h, "max_iter again", |a| stopped(a) && a.fit().unwrap().progress.snapshot.iteration > 15);
    assert_eq!(iteration(&h), 30, "another max_iter = 15 iterations");
    assert_eq!(state(&h), FitState::Stopped(StopReason::MaxIter));
    assert!(h.state().fit().unwrap().progress.snapshot.rel_err <= before);
}

#[test]
fn step_advances_exactly_one_iteration() {
    let mut h = app(Params::new(5).max_iter(1_000).tol(0.0).seed(3));
    // From nothing: the initialisation, then one iteration.
    h.get_by_label("Step").click();
    common::step_until(&mut h, "the first step", |a| a.fit().is_some() && !a.is_fitting());
    assert_eq!(iteration(&h), 1);
    assert_eq!(state(&h), FitState::Stopped(StopReason::Cancelled));
    for expected in 2..=4 {
        let fit_id = h.state().fit().unwrap().progress.fit_id;
        h.get_by_label("Step").click();
        common::step_until(&mut h, "a step", |a| {
            !a.is_fitting() && a.fit().is_some_and(|f| f.progress.snapshot.iteration != expected - 1)
        });
        assert_eq!(iteration(&h), expected, "Step does exactly one iteration");
        assert_eq!(h.state().fit().unwrap().progress.fit_id, fit_id);
        // Every live view follows: the history has one record per iteration.
        assert_eq!(h.state().model.live.history().len(), expected + 1);
    }
    // The result is the headless fit's after as many iterations.
    let params = h.state().settings().params.clone();
    let data = h.state().faces().unwrap().matrix.clone();
    let mut headless = facenmf::nmf::Nmf::new(data, params).unwrap();
    for _ in 0..4 {
        headless.step();
    }
    assert_eq!(*h.state().fit().unwrap().progress.snapshot.w, headless.w());
}

#[test]
fn a_slow_pace_shows_every_iteration() {
    let mut h = app(Params::new(5).max_iter(4).tol(0.0).seed(3));
    h.get_by_label("5/s").click();
    h.run_ok();
    assert_eq!(h.state().settings().pace, facenmf::model::Pace::Five);
    h.get_by_label("Run").click();
    let mut seen = Vec::new();
    common::step_until(&mut h, "the paced fit", |a| {
        if let Some(f) = a.fit() {
            let it = f.progress.snapshot.iteration;
            if seen.last() != Some(&it) {
                seen.push(it);
            }
        }
        stopped(a) && a.fit().is_some_and(|f| f.progress.snapshot.iteration == 4)
    });
    // Paced, the worker publishes every iteration (the start included) and
    // holds each for a fifth of a second: the views show each one.
    assert_eq!(seen, (0..=4).collect::<Vec<_>>(), "iterations seen: {seen:?}");
    h.get_by_label("max").click();
    h.run_ok();
    assert_eq!(h.state().settings().pace, facenmf::model::Pace::Fastest);
}

#[test]
fn the_timeline_shows_an_earlier_iteration_and_returns_to_live() {
    let mut h = app(Params::new(5).max_iter(1_000_000).tol(0.0).seed(4));
    h.get_by_label("Run").click();
    common::step_until(&mut h, "some kept snapshots", |a| {
        a.model.live.replay.len() >= 12 && a.fit().is_some_and(|f| f.progress.snapshot.iteration > 30)
    });
    let kept: Vec<usize> = h.state().model.live.replay.iter().map(|k| k.iteration).collect();
    assert_eq!(&kept[..6], &[0, 1, 2, 3, 4, 5], "every early iteration is kept: {kept:?}");
    // Drag the timeline to the 4th snapshot: every view shows iteration 3.
    h.get_by_label("Replay").set_value_accesskit(3.0);
    common::step_until(&mut h, "the replay", |a| a.model.is_replaying());
    let shown = h.state().fit().unwrap();
    assert_eq!(shown.progress.snapshot.iteration, 3);
    let w3 = shown.progress.snapshot.w.clone();
    h.get_by_label("Basis 1");
    h.get_by_label_contains("showing iteration 3 (k = 5");
    // The status line says the views show the past, and how the fit is now.
    h.get_by_label("replay: showing iteration 3");
    h.get_by_label_contains("solver: running hals");
    // The fit goes on meanwhile, undisturbed, and the view stays put.
    let live_before = h.state().model.live.fit.as_ref().unwrap().progress.snapshot.iteration;
    common::step_until(&mut h, "the live fit to go on", |a| {
        a.model.live.fit.as_ref().unwrap().progress.snapshot.iteration > live_before + 10
    });
    assert!(h.state().is_fitting());
    assert_eq!(h.state().fit().unwrap().progress.snapshot.iteration, 3);
    assert_eq!(h.state().fit().unwrap().progress.snapshot.w, w3);
    // The inspector shows that moment too.
    h.get_by_label("Face 2").click();
    h.run_ok();
    let recon = h.state().inspected_reconstruction().unwrap();
    let expected = facenmf::nmf::reconstruct(w3.view(), h.state().fit().unwrap().progress.snapshot.h.column(1));
    assert_eq!(recon, expected);
    // Live again.
    h.get_by_label("Live").click();
    common::step_until(&mut h, "live", |a| !a.model.is_replaying());
    assert!(iteration(&h) > live_before);
    h.get_by_label("Stop").click();
    common::step_until(&mut h, "the stop", stopped);
}

#[test]
fn a_pinned_fit_stays_while_a_second_one_runs() {
    let mut h = app(Params::new(5).max_iter(40).tol(0.0).seed(5));
    h.get_by_label("Run").click();
    common::step_until(&mut h, "the first fit", stopped);
    let first = h.state().fit().unwrap().progress.clone();
    h.get_by_label("Pin to compare").click();
    h.run_ok();
    assert!(h.state().model.pinned().is_some());
    // A second fit: KL at k = 8, going on from the pinned fit's parts.
    let p = Params { solver: Solver::Kl, max_iter: 1_000_000, ..h.state().settings().params.clone() };
    h.state_mut().apply(facenmf::model::Action::SetParams(p));
    h.state_mut().set_k(8);
    common::step_until(&mut h, "the second fit", |a| {
        a.fit().is_some_and(|f| f.k() == 8 && f.progress.snapshot.iteration > 5)
    });
    // Both side by side: the galleries, the faces, the inspector.
    for i in 1..=5 {
        h.get_by_label(&format!("Pinned basis {i}"));
    }
    assert!(h.query_by_label("Pinned basis 6").is_none());
    for i in 1..=8 {
        h.get_by_label(&format!("Basis {i}"));
    }
    h.get_by_label("Pinned reconstruction of face 1");
    h.get_by_label("Reconstruction of face 1");
    h.get_by_label_contains("Inspector: pinned fit's reconstruction of face 1");
    h.get_by_label_contains("pinned fit:");
    // The pinned fit is untouched by the second one.
    let pinned = h.state().model.pinned().unwrap();
    assert!(std::sync::Arc::ptr_eq(&pinned.view.progress, &first));
    assert_eq!(pinned.curve.points.len(), 41);
    assert!(pinned.label.contains("k = 5, hals"), "{}", pinned.label);
    assert_eq!(h.state().fit().unwrap().progress.params.solver, Solver::Kl);
    h.get_by_label("Stop").click();
    common::step_until(&mut h, "the stop", stopped);
    h.get_by_label("Unpin").click();
    h.run_ok();
    assert!(h.query_by_label("Pinned basis 1").is_none());
    assert!(h.query_by_label("Pinned reconstruction of face 1").is_none());
}

#[test]
fn presentation_mode_hides_the_controls_and_takes_keys() {
    let mut h = app(Params::new(5).max_iter(1_000_000).tol(0.0).seed(6));
    h.get_by_label("Step");
    h.key_press(egui::Key::F5);
    h.run_ok();
    assert!(h.state().is_presenting());
    assert!(h.state().settings().presenting);
    assert!(h.query_by_label("Step").is_none(), "the controls are hidden");
    h.get_by_label("Exit presentation (F5)");
    // Space runs, Space again stops, → steps.
    h.key_press(egui::Key::Space);
    common::step_until(&mut h, "the fit", |a| a.is_fitting() && a.fit().is_some());
    h.key_press(egui::Key::Space);
    common::step_until(&mut h, "the stop", stopped);
    let at = iteration(&h);
    h.key_press(egui::Key::ArrowRight);
    common::step_until(&mut h, "the step", |a| !a.is_fitting() && iteration_of(a) == at + 1);
    // F5 again: back, controls shown.
    h.key_press(egui::Key::F5);
    h.run_ok();
    assert!(!h.state().is_presenting());
    h.get_by_label("Step");
    let node = h.get_by_label("Present");
    assert!(node.accesskit_node().label().is_some());
}

fn iteration_of(app: &FaceNmfApp) -> usize {
    app.fit().map_or(0, |f| f.progress.snapshot.iteration)
}
