//! The app's model on its own, without egui: actions in, jobs polled, state
//! out.

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use facenmf::dataset::builtin;
use facenmf::jobs;
use facenmf::model::{Action, Model, Settings};
use facenmf::nmf::Params;
use facenmf::worker::FitState;

fn model(params: Params, auto_run: bool) -> Model {
    let settings = Settings { params, auto_run, ..Settings::default() };
    let mut m = Model::new(settings, jobs::no_wake());
    m.install_dataset(builtin::generate(30, 16, 5).dataset);
    m
}

fn poll_until(m: &mut Model, what: &str, done: impl Fn(&Model) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done(m) {
        assert!(Instant::now() < deadline, "timed out waiting for {what} (error: {:?})", m.error);
        m.poll();
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn actions_drive_the_live_fit() {
    let _serial = common::serial();
    let mut m = model(Params::new(4).max_iter(30).tol(0.0).seed(1), false);
    assert!(m.fit().is_none());
    m.apply(Action::Run);
    poll_until(&mut m, "the fit to finish", |m| !m.is_fitting() && m.fit().is_some_and(|f| !f.is_running()));
    let fit = m.fit().unwrap();
    assert_eq!(fit.progress.snapshot.iteration, 30);
    assert_eq!(m.live.curve.points.len(), 31, "initialisation + 30 iterations");
    m.apply(Action::SetK(6));
    poll_until(&mut m, "k = 6", |m| !m.is_fitting() && m.fit().is_some_and(|f| f.k() == 6));
    assert!(m.fit().unwrap().progress.warm_started);
    assert_eq!(m.live.curve.k_marks.len(), 1);
    // Out of range: refused with the range, nothing changed.
    m.apply(Action::SetK(0));
    assert!(m.error.as_deref().is_some_and(|e| e.contains("k = 0 is out of range") && e.contains("1 to 30")));
    assert_eq!(m.settings.params.k, 6);
}

#[test]
fn new_faces_that_allow_a_smaller_k_say_so() {
    let _serial = common::serial();
    let mut m = Model::new(Settings { params: Params::new(25), ..Settings::default() }, jobs::no_wake());
    m.install_dataset(builtin::generate(12, 16, 5).dataset);
    assert_eq!(m.settings.params.k, 12);
    let note = m.note.clone().unwrap_or_default();
    assert!(note.contains("k = 25") && note.contains("k set to 12"), "{note}");
}

#[test]
fn a_race_pauses_the_live_fit_which_goes_on_after() {
    let _serial = common::serial();
    let mut m = model(Params::new(4).max_iter(1_000_000).tol(0.0).seed(2), true);
    poll_until(&mut m, "the live fit", |m| m.fit().is_some_and(|f| f.progress.snapshot.iteration > 3));
    m.apply(Action::StartRace { budget_secs: 0.5 });
    poll_until(&mut m, "the pause", |m| m.live.is_paused());
    assert!(!m.is_fitting());
    let at = m.fit().unwrap().progress.snapshot.iteration;
    std::thread::sleep(Duration::from_millis(100));
    m.poll();
    assert!(m.fit().unwrap().progress.snapshot.iteration <= at + 1, "the fit moved on while paused");
    poll_until(&mut m, "the race to end", |m| !m.race.is_active());
    poll_until(&mut m, "the fit to go on", |m| {
        m.fit().is_some_and(|f| f.progress.state == FitState::Running && f.progress.snapshot.iteration > at + 1)
    });
    // Out of the offered range: refused, naming it.
    m.apply(Action::StartRace { budget_secs: 1000.0 });
    assert!(m.error.as_deref().is_some_and(|e| e.contains("1000 s is out of range")));
    assert!(!m.race.is_active());
    m.apply(Action::Stop);
    drop(m);
    assert_eq!(jobs::live_threads(), 0);
}

#[test]
fn the_matrix_is_shared_not_copied() {
    let _serial = common::serial();
    let mut m = model(Params::new(3).max_iter(5).tol(0.0), false);
    let faces = m.faces.as_ref().unwrap();
    assert_eq!(Arc::strong_count(&faces.meta), 1);
    // The worker holds the same matrix as the model.
    let data = Arc::clone(&faces.matrix);
    m.apply(Action::Run);
    poll_until(&mut m, "the fit", |m| !m.is_fitting() && m.fit().is_some());
    assert!(Arc::strong_count(&data) >= 3, "model, worker and this test share one matrix");
    assert!(std::ptr::eq(m.faces.as_ref().unwrap().matrix.a().as_ptr(), data.a().as_ptr()));
}
