//! The teaching views driven through egui_kittest, with no display: parts
//! versus eigenfaces (PCA beside NMF at the same k) and the solver race
//! (start, finish, stop, cancel on new faces, no thread left).
//!
//! The tests take a lock so that they run one at a time: the thread counts
//! they check are per process.

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use egui_kittest::kittest::{NodeT, Queryable};
use facenmf::app::{FaceNmfApp, LoadRequest};
use facenmf::dataset::builtin;
use facenmf::jobs::live_threads;
use facenmf::model::Outcome;
use facenmf::nmf::race::RACE_SOLVERS;
use facenmf::nmf::{Params, StopReason};

use common::serial;

/// The number after `after` in the label of the node whose label contains
/// `prefix`.
fn number_in_label(h: &egui_kittest::Harness<'_, FaceNmfApp>, prefix: &str, after: &str) -> f64 {
    // A label keeps its text as the AccessKit value.
    let node = h.get_by_label_contains(prefix);
    let label = node.value().or_else(|| node.accesskit_node().label()).unwrap_or_default();
    let rest = label.split(after).nth(1).unwrap_or_else(|| panic!("no '{after}' in '{label}'"));
    let number: String = rest.trim().chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    number.parse().unwrap_or_else(|_| panic!("no number after '{after}' in '{label}'"))
}

fn pca_ready(app: &FaceNmfApp) -> bool {
    app.model.pca_key().is_some_and(|key| app.model.pca.result_for(&key).is_some())
}

#[test]
fn eigenfaces_beside_parts_with_reconstructions_and_errors() {
    let _serial = serial();
    let k = 6;
    let mut h = common::harness(builtin::generate(40, 24, 7).dataset, Params::new(k).max_iter(80).tol(0.0).seed(1));
    h.step();
    h.get_by_label("Parts vs eigenfaces").click();
    common::step_until(&mut h, "the PCA", pca_ready);

    // Before any fit: the eigenfaces, and an offer to run NMF.
    for i in 1..=k {
        h.get_by_label(&format!("Eigenface {i}"));
    }
    assert!(h.query_by_label(&format!("Eigenface {}", k + 1)).is_none());
    h.get_by_label_contains("Eigenface colour scale");
    assert!(h.query_by_label("Part 1").is_none());
    h.get_by_label_contains("No NMF fit yet");
    h.get_by_label("PCA reconstruction of face 1");
    assert!(h.query_by_label("NMF reconstruction of face 1").is_none());

    h.get_by_label("Run NMF").click();
    common::step_until(&mut h, "the fit to finish", common::finished);
    common::step_until(&mut h, "the NMF reconstruction", |a| {
        a.views.eigenfaces.face_errors.is_some_and(|e| e.nmf.is_some())
    });
    for i in 1..=k {
        h.get_by_label(&format!("Part {i}"));
        h.get_by_label(&format!("Eigenface {i}"));
    }
    assert!(h.query_by_label(&format!("Part {}", k + 1)).is_none());
    h.get_by_label("Original face 1");
    h.get_by_label("PCA reconstruction of face 1");
    h.get_by_label("NMF reconstruction of face 1");

    // Both errors are shown; PCA (mean + k components) is the better
    // least-squares fit of the whole set.
    let pca_face = number_in_label(&h, "PCA: this face", "this face");
    let pca_set = number_in_label(&h, "PCA: this face", "whole set");
    let nmf_face = number_in_label(&h, "NMF: this face", "this face");
    let nmf_set = number_in_label(&h, "NMF: this face", "whole set");
    for e in [pca_face, pca_set, nmf_face, nmf_set] {
        assert!(e > 0.0 && e < 1.0, "errors in (0, 1): {pca_face} {pca_set} {nmf_face} {nmf_set}");
    }
    assert!(pca_set <= nmf_set + 1e-3, "PCA's whole-set error {pca_set} should not exceed NMF's {nmf_set}");
    let fit_err = h.state().fit().unwrap().progress.snapshot.rel_err;
    assert!((nmf_set - fit_err).abs() < 1e-3, "shown {nmf_set}, fit {fit_err}");

    // Step to the next face: its three images replace face 1's.
    h.get_by_label("Next ›").click();
    common::step_until(&mut h, "face 2", |a| a.views.eigenfaces.face_errors.is_some_and(|e| e.face == 1));
    assert_eq!(h.state().selected_face(), Some(1));
    h.get_by_label("PCA reconstruction of face 2");
    h.get_by_label("NMF reconstruction of face 2");
    assert!(h.query_by_label("PCA reconstruction of face 1").is_none());
    let pca_face_2 = number_in_label(&h, "PCA: this face", "this face");
    assert_ne!(pca_face_2, pca_face, "another face, another error");
    assert!(h.state().error().is_none(), "{:?}", h.state().error());
}

#[test]
fn eigenfaces_follow_k() {
    let _serial = serial();
    let mut h = common::harness(builtin::generate(40, 24, 7).dataset, Params::new(4).seed(1));
    h.step();
    h.get_by_label("Parts vs eigenfaces").click();
    common::step_until(&mut h, "the PCA at k = 4", pca_ready);
    h.get_by_label("Eigenface 4");
    h.state_mut().set_k(7);
    common::step_until(&mut h, "the PCA at k = 7", |a| pca_ready(a) && a.model.eigen_k() == 7);
    h.get_by_label("Eigenface 7");
    assert!(h.query_by_label("Eigenface 8").is_none());
}

fn race_over(app: &FaceNmfApp) -> bool {
    !app.model.race.is_active() && app.model.race.outcome.is_some()
}

#[test]
fn race_finishes_stops_and_leaves_no_thread() {
    let _serial = serial();
    assert_eq!(live_threads(), 0);
    {
        let data = builtin::generate(40, 24, 7).dataset;
        let mut h = common::harness(data, Params::new(5).max_iter(1_000_000).tol(0.0).seed(2));
        h.step();
        // A live fit runs: the race pauses it and runs it again after.
        h.get_by_label("Run").click();
        common::step_until(&mut h, "the live fit", |a| a.fit().is_some_and(|f| f.progress.snapshot.iteration > 0));
        h.get_by_label("Solver race").click();
        h.run_ok();
        h.get_by_label("seconds per solver").set_value_accesskit(0.5);
        h.step();
        assert_eq!(h.state().views.race.budget_secs, 0.5);
        h.get_by_label("Start race").click();
        common::step_until(&mut h, "the race to start", |a| a.model.race.is_active());
        assert!(!h.state().is_fitting(), "the live fit is paused during the race");
        h.get_by_label_contains("The live fit is paused");
        common::step_until(&mut h, "the race to finish", race_over);

        let race = &h.state().model.race;
        assert_eq!(race.outcome, Some(Outcome::Finished));
        assert_eq!(race.lanes.len(), RACE_SOLVERS.len());
        for (lane, solver) in race.lanes.iter().zip(RACE_SOLVERS) {
            assert_eq!(lane.solver, solver);
            assert_eq!(lane.stop, StopReason::Time);
            assert!(lane.points.len() > 5, "{solver}: {} points", lane.points.len());
            assert!(lane.secs() >= 0.5, "{solver} ran {} s", lane.secs());
            let (first, last) = (lane.points[0].rel_err, lane.final_rel_err().unwrap());
            assert!(last.is_finite() && last > 0.0 && last < first, "{solver}: {first} → {last}");
        }
        // Every lane starts from the same initialisation.
        let starts: Vec<f64> = race.lanes.iter().map(|l| l.points[0].rel_err).collect();
        assert!(starts.windows(2).all(|w| (w[0] - w[1]).abs() < 1e-9), "{starts:?}");
        h.get_by_label("Solver race plot: rel_err against time");
        h.get_by_label("final rel_err");
        h.get_by_label_contains("time to rel_err ≤");
        h.get_by_label("Finished.");
        common::step_until(&mut h, "the live fit to go on", FaceNmfApp::is_fitting);
        h.get_by_label("Stop").click();
        common::step_until(&mut h, "the live fit to stop", |a| !a.is_fitting());

        // Stop mid-race: it ends within moments, the lane cancelled.
        h.get_by_label("seconds per solver").set_value_accesskit(30.0);
        h.step();
        h.get_by_label("Start race").click();
        // (The finished race's lanes stay until the click is handled.)
        common::step_until(&mut h, "the second race to start", |a| a.model.race.is_active());
        common::step_until(&mut h, "streamed points", |a| {
            a.model.race.lanes.first().is_some_and(|l| l.points.len() > 3)
        });
        let asked = Instant::now();
        h.get_by_label("Stop race").click();
        common::step_until(&mut h, "the stop", race_over);
        assert!(asked.elapsed() < Duration::from_secs(3), "stopping took {:?}", asked.elapsed());
        let race = &h.state().model.race;
        assert_eq!(race.outcome, Some(Outcome::Stopped("Stop pressed".into())));
        assert_eq!(race.lanes.last().map(|l| l.stop), Some(StopReason::Cancelled));
        assert!(race.lanes.len() < RACE_SOLVERS.len());
        assert!(!h.state().is_fitting(), "the live fit was not running, so it is not started");

        // New faces cancel a running race.
        h.get_by_label("Start race").click();
        common::step_until(&mut h, "the race to start again", |a| a.model.race.is_active());
        h.state_mut().load(LoadRequest::BuiltIn);
        common::step_until(&mut h, "the new faces", |a| !a.is_loading());
        common::step_until(&mut h, "the race to be cancelled", race_over);
        assert_eq!(h.state().model.race.outcome, Some(Outcome::Stopped("the faces changed".into())));
        assert!(h.state().model.race.lanes.is_empty());

        // And a race left running when the app closes is stopped by the drop.
        h.get_by_label("Start race").click();
        common::step_until(&mut h, "a last race", |a| a.model.race.is_active());
        assert!(live_threads() >= 1);
    }
    assert_eq!(live_threads(), 0, "a race or PCA thread is still running");
    assert_eq!(facenmf::jobs::live_threads(), 0);
}
