//! Speed figures on ORL (k = 49), ignored by default because they need the
//! ORL faces and a release build:
//!
//! ```text
//! FACENMF_ORL=/path/to/orl_faces cargo test --release --test gui_speed -- --ignored --nocapture
//! ```
//!
//! Prints the headless solver's iterations per second, the worker's (same
//! solver on the background thread, snapshots published ten times a second), and
//! the latency from Run to the first snapshot. The window's own figures
//! (UI ms per frame, it/s with the window open) come from running the app
//! with `FACENMF_PROFILE=1`.

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use facenmf::dataset::{LoadOptions, load_folder};
use facenmf::jobs::{CpuLease, no_wake};
use facenmf::nmf::{FaceMatrix, Nmf, Params};
use facenmf::worker::{FitState, Worker};

const ITERS: usize = 150;

fn orl() -> Option<Arc<FaceMatrix>> {
    let dir = std::env::var_os("FACENMF_ORL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/shared/datasets/orl_faces"));
    if !dir.is_dir() {
        eprintln!("no ORL faces at {}: set FACENMF_ORL", dir.display());
        return None;
    }
    let d = load_folder(&dir, &LoadOptions::default()).expect("ORL loads");
    Some(Arc::new(FaceMatrix::new(d.matrix).expect("valid faces")))
}

#[test]
#[ignore = "needs the ORL faces and --release"]
fn orl_k49_worker_vs_headless() {
    let Some(data) = orl() else {
        return;
    };
    let params = Params::new(49).max_iter(ITERS).tol(0.0).seed(0);

    let started = Instant::now();
    let mut fit = Nmf::new(Arc::clone(&data), params.clone()).expect("fit");
    let init_ms = started.elapsed().as_secs_f64() * 1e3;
    let steps = Instant::now();
    fit.run(None, |_| {});
    let headless = ITERS as f64 / steps.elapsed().as_secs_f64();
    println!(
        "headless: init {init_ms:.0} ms (rel_err {:.4}), {headless:.1} it/s, rel_err after {ITERS}: {:.4}",
        fit.history()[0].rel_err,
        fit.rel_err()
    );

    let mut worker = Worker::spawn(data, no_wake(), CpuLease::new()).expect("worker");
    let run_at = Instant::now();
    worker.run(params);
    let mut first_ms = None;
    let mut first_iter_at = None;
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        match worker.take_update() {
            Some(u) => {
                let Some(p) = u.fit else {
                    continue;
                };
                first_ms.get_or_insert(run_at.elapsed().as_secs_f64() * 1e3);
                if p.snapshot.iteration == 0 {
                    first_iter_at = Some(Instant::now());
                }
                if matches!(p.state, FitState::Stopped(_)) {
                    let secs = first_iter_at.map_or(run_at, |t| t).elapsed().as_secs_f64();
                    let rate = ITERS as f64 / secs;
                    println!(
                        "worker: first snapshot {:.0} ms after Run, {rate:.1} it/s ({:.0} % of headless)",
                        first_ms.unwrap_or(f64::NAN),
                        100.0 * rate / headless
                    );
                    break;
                }
            }
            None => {
                assert!(Instant::now() < deadline, "the worker went quiet");
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}
