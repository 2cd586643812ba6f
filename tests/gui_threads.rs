//! 50 rapid Run/Stop/k changes end with no panic, no error, and no worker
//! thread left running (the only test in this binary, so the count of live
//! job and worker threads is this test's alone).

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use facenmf::dataset::builtin;
use facenmf::nmf::Params;

#[test]
fn rapid_commands_leave_no_thread() {
    assert_eq!(facenmf::jobs::live_threads(), 0);
    {
        let mut h =
            common::harness(builtin::generate(40, 24, 7).dataset, Params::new(4).max_iter(200).tol(0.0).seed(3));
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
        common::step_until(&mut h, "the last fit to finish", common::finished);
        assert!(h.state().error().is_none(), "{:?}", h.state().error());
    }
    // Dropping the app dropped the worker handle, which joined the thread.
    assert_eq!(facenmf::jobs::live_threads(), 0, "a worker thread is still running");
}
