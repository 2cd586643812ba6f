//! The sparseness of parts and the penalties, driven through the GUI (no
//! display): the slider holds every part at the sparseness chosen, from a
//! warm start; the Hoyer preset sets k and the sparseness in one click; a
//! penalty that zeroes parts says so in the status line; hovering a part
//! gives its sparseness and support; the eigenfaces caption says what the
//! parts are.

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use eframe::egui::accesskit::Role;
use egui_kittest::kittest::{NodeT, Queryable};
use facenmf::app::{FaceNmfApp, View};
use facenmf::model::Action;
use facenmf::nmf::{Params, Solver};

fn sparseness_range(app: &FaceNmfApp) -> (f32, f32) {
    let s = &app.fit().unwrap().sparseness;
    s.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)))
}

#[test]
fn the_slider_holds_every_part_at_the_sparseness_chosen_from_a_warm_start() {
    let mut h = common::fitted(Params::new(8).max_iter(60).tol(0.0).seed(1));
    let (lo, hi) = sparseness_range(h.state());
    let plain_id = h.state().fit().unwrap().progress.fit_id;
    assert!(hi - lo > 0.02, "plain parts differ in sparseness: {lo}..{hi}");
    h.get_by_role_and_label(Role::Slider, "Sparseness of parts").set_value_accesskit(0.8);
    h.run_ok();
    assert_eq!(h.state().settings().params.sparseness_w, Some(0.8));
    common::step_until(&mut h, "the sparse fit to finish", |a| {
        common::finished(a) && a.fit().is_some_and(|f| f.progress.params.sparseness_w == Some(0.8))
    });
    let fit = h.state().fit().unwrap();
    assert!(fit.progress.warm_started, "the sparseness applies from a warm start");
    assert_ne!(fit.progress.fit_id, plain_id);
    let (lo, hi) = sparseness_range(h.state());
    assert!((lo - 0.8).abs() < 2e-3 && (hi - 0.8).abs() < 2e-3, "every part at 0.8: {lo}..{hi}");
    h.get_by_label_contains("parts now: sparseness 0.80");

    // Back to 0: plain NMF again, the parts free.
    h.get_by_role_and_label(Role::Slider, "Sparseness of parts").set_value_accesskit(0.0);
    h.run_ok();
    assert_eq!(h.state().settings().params.sparseness_w, None);
    common::step_until(&mut h, "the plain fit to finish", |a| {
        common::finished(a) && a.fit().is_some_and(|f| f.progress.params.sparseness_w.is_none())
    });
    let (lo, hi) = sparseness_range(h.state());
    assert!(hi - lo > 0.02, "free parts again: {lo}..{hi}");
}

#[test]
fn the_slider_needs_hals_and_another_solver_turns_the_sparseness_off() {
    let mut h = common::harness(common::small(), Params::new(6).solver(Solver::Mu));
    h.step();
    assert!(h.get_by_role_and_label(Role::Slider, "Sparseness of parts").accesskit_node().is_disabled());
    h.state_mut().apply(Action::SetSparseness(Some(0.5)));
    h.run_ok();
    assert!(h.state().error().is_some_and(|e| e.contains("needs the HALS solver")), "{:?}", h.state().error());
    assert_eq!(h.state().settings().params.sparseness_w, None);

    let mut h = common::harness(common::small(), Params::new(6));
    h.step();
    h.state_mut().apply(Action::SetSparseness(Some(0.5)));
    h.state_mut().apply(Action::SetSparseness(Some(1.0)));
    h.run_ok();
    assert!(h.state().error().is_some_and(|e| e.contains("sparseness 1 is out of range")));
    assert_eq!(h.state().settings().params.sparseness_w, Some(0.5));
    let p = Params::new(6).solver(Solver::Mu);
    h.state_mut().apply(Action::SetParams(p));
    h.run_ok();
    assert_eq!(h.state().settings().params.solver, Solver::Mu);
    assert_eq!(h.state().settings().params.sparseness_w, None);
    h.get_by_label_contains("sparseness of parts needs the HALS solver: turned off for mu");
}

#[test]
fn the_hoyer_preset_sets_k_and_the_sparseness_and_fits() {
    let mut h = common::fitted(Params::new(5).max_iter(40).tol(0.0).seed(2));
    h.get_by_label("Local parts (Hoyer 2004)").click();
    h.run_ok();
    let p = h.state().settings().params.clone();
    // 40 faces allow k up to 40, not 49: said in the status line.
    assert_eq!((p.k, p.solver, p.sparseness_w), (40, Solver::Hals, Some(0.75)));
    h.get_by_label_contains("these faces allow k up to 40");
    common::step_until(&mut h, "the preset's fit to finish", |a| {
        common::finished(a) && a.fit().is_some_and(|f| f.k() == 40)
    });
    let (lo, hi) = sparseness_range(h.state());
    assert!((lo - 0.75).abs() < 2e-3 && (hi - 0.75).abs() < 2e-3, "{lo}..{hi}");
}

#[test]
fn a_penalty_that_zeroes_parts_says_so_in_the_status_line() {
    let mut h = common::fitted(Params::new(8).max_iter(80).tol(0.0).seed(1));
    assert!(h.query_by_label_contains("parts are zero").is_none());
    // The alpha tooltips give the range from the stopped fit.
    let limits = h.state().fit().unwrap().progress.alpha_limits.expect("limits of a stopped fit");
    assert!(limits.alpha_w > 0.0 && limits.alpha_h > 0.0, "{limits:?}");
    let p = Params { alpha_w: limits.alpha_w * 0.3, l1_ratio: 1.0, ..h.state().settings().params.clone() };
    h.state_mut().apply(Action::SetParams(p));
    h.state_mut().apply(Action::Reset);
    h.run_ok();
    h.get_by_label("Run").click();
    common::step_until(&mut h, "the penalised fit to finish", |a| {
        common::finished(a) && a.fit().is_some_and(|f| f.progress.params.alpha_w > 0.0)
    });
    let zeroed = h.state().fit().unwrap().zeroed;
    assert!(zeroed.parts > 0, "alpha_W at 0.3 of the limit zeroes parts: {zeroed:?}");
    let text = format!("{} of 8 parts are zero", zeroed.parts);
    h.get_by_label_contains(&text);
    h.get_by_label_contains("the L1 penalty (alpha_W");
}

#[test]
fn hovering_a_part_gives_its_sparseness_and_support() {
    let mut h = common::fitted(Params::new(6).max_iter(40).tol(0.0).seed(3));
    h.get_by_label("Basis 1").hover();
    h.run_ok();
    let c = h.state().fit().unwrap().order[0];
    let support = h.state().fit().unwrap().support90(c) * 100.0;
    assert!(support > 0.0 && support < 100.0, "{support}");
    h.get_by_label_contains(&format!("support90: {support:.1} % of the pixels"));
    h.get_by_label_contains("sparseness (Hoyer)");
}

#[test]
fn the_eigenfaces_caption_says_what_the_parts_are() {
    let mut h = common::fitted(Params::new(20).max_iter(100).tol(0.0).seed(3));
    h.state_mut().apply(Action::SetView(View::Eigenfaces));
    h.run_ok();
    h.run_ok();
    // The built-in faces are made of local parts; plain NMF finds them.
    let caption: Vec<String> = h.get_all_by_label_contains("Here").map(|n| n.value().unwrap_or_default()).collect();
    assert!(caption.iter().any(|c| c.contains("Here NMF's parts are local")), "{caption:?}");
    h.state_mut().apply(Action::SetSparseness(Some(0.1)));
    common::step_until(&mut h, "the dense fit to finish", |a| {
        common::finished(a) && a.fit().is_some_and(|f| f.progress.params.sparseness_w == Some(0.1))
    });
    h.run_ok();
    h.get_by_label_contains("still holistic at sparseness 0.10");
}
