//! 50 rapid Run/Stop/k changes end with no panic, no error, and no worker
//! thread left running (the only test in this binary, so the count of live
//! workers is this test's alone).

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use facenmf::app::{AppOptions, FaceNmfApp};
use facenmf::dataset::builtin;
use facenmf::nmf::Params;
use facenmf::worker::FitState;

fn harness(params: Params) -> Harness<'static, FaceNmfApp> {
    let data = builtin::generate(40, 24, 7).dataset;
    Harness::builder().with_size([1280.0, 800.0]).with_max_steps(20).build_eframe(move |cc| {
        FaceNmfApp::new(
            cc,
            AppOptions { dataset: Some(data), params: Some(params), auto_run: Some(false), ..Default::default() },
        )
    })
}

/// Steps frames (the worker runs on its own thread) until `done` or timeout.
fn step_until(h: &mut Harness<'_, FaceNmfApp>, what: &str, mut done: impl FnMut(&FaceNmfApp) -> bool) -> usize {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut frames = 0;
    while !done(h.state()) {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        h.step();
        frames += 1;
        std::thread::sleep(Duration::from_millis(5));
    }
    h.step();
    frames
}

fn finished(app: &FaceNmfApp) -> bool {
    !app.is_fitting() && app.fit().is_some_and(|f| f.progress.state != FitState::Running)
}

#[test]
fn rapid_commands_leave_no_thread() {
    assert_eq!(facenmf::worker::live_workers(), 0);
    {
        let mut h = harness(Params::new(4).max_iter(200).tol(0.0).seed(3));
        h.step();
        for i in 0..50 {
            match i % 5 {
                0 => h.state_mut().run_fit(),
                1 => h.state_mut().set_k(3 + i % 7),
                2 => h.state_mut().stop_fit(),
                3 => h.state_mut().set_k(2 + i % 5),
                _ => h.state_mut().reset_fit(),
            }
            h.step();
        }
        h.state_mut().run_fit();
        step_until(&mut h, "the last fit to finish", finished);
        assert!(h.state().error().is_none(), "{:?}", h.state().error());
    }
    // Dropping the app dropped the worker handle, which joined the thread.
    assert_eq!(facenmf::worker::live_workers(), 0, "a worker thread is still running");
}
