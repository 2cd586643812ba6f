//! Load-speed measurements (ignored by default; they print timings and assert nothing timed).
//!
//! ```sh
//! cargo test --test dataset_bench -- --ignored --nocapture --test-threads 1
//! # peak memory of the 13k load alone (after make_13k has run once):
//! /usr/bin/time -v target/debug/deps/dataset_bench-* load_13k --ignored --exact --nocapture
//! ```

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use facenmf::dataset::builtin::{generate, write_folder};
use facenmf::dataset::{LoadOptions, decode_scan, fmt_bytes, load_folder, scan_folder};

fn big_dir() -> PathBuf {
    std::env::var_os("FACENMF_13K_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("facenmf_13k_faces"))
}

/// Peak resident set size of this process so far (Linux), for reporting.
fn vm_hwm() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM")).map(|l| l.to_string()))
        .unwrap_or_else(|| "VmHWM unknown".to_string())
}

fn time_load(dir: &Path, reps: usize) -> (Duration, Duration, Duration, usize) {
    let opts = LoadOptions::default();
    let mut best = (Duration::MAX, Duration::MAX, Duration::MAX, 0);
    for _ in 0..reps {
        let t0 = Instant::now();
        let scan = scan_folder(dir, &opts).expect("scan");
        let t1 = Instant::now();
        let ds = decode_scan(scan, &opts).expect("decode");
        let t2 = Instant::now();
        if t2 - t0 < best.0 {
            best = (t2 - t0, t1 - t0, t2 - t1, ds.faces());
        }
    }
    best
}

#[test]
#[ignore]
fn load_orl() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets/orl_faces");
    if !dir.is_dir() {
        println!("ORL face database not found at {}; skipping", dir.display());
        return;
    }
    let _ = load_folder(&dir, &LoadOptions::default()); // warm the file cache
    let (total, scan, decode, n) = time_load(&dir, 10);
    println!("ORL: {n} faces in {total:?} (best of 10; scan {scan:?}, decode {decode:?})");
}

#[test]
#[ignore]
fn make_13k() {
    let dir = big_dir();
    if dir.is_dir() {
        println!("{} exists; not regenerating", dir.display());
        return;
    }
    let t = Instant::now();
    let faces = generate(13_000, 64, 13_000);
    println!("generated 13000 faces in {:?}", t.elapsed());
    let t = Instant::now();
    write_folder(&faces, &dir).expect("write");
    println!("wrote {} in {:?}", dir.display(), t.elapsed());
}

#[test]
#[ignore]
fn load_13k() {
    let dir = big_dir();
    if !dir.is_dir() {
        println!("{} not found; run make_13k first", dir.display());
        return;
    }
    println!("before: {}", vm_hwm());
    let t = Instant::now();
    let ds = load_folder(&dir, &LoadOptions::default()).expect("load");
    let el = t.elapsed();
    let bytes = (ds.matrix.len() * 4) as u64;
    println!(
        "13k: {} faces {}×{} in {el:?}; matrix {}; after: {}",
        ds.faces(),
        ds.width,
        ds.height,
        fmt_bytes(bytes),
        vm_hwm()
    );
    drop(ds);
    let (total, scan, decode, _) = time_load(&dir, 2);
    println!("13k again (warm cache): {total:?} (scan {scan:?}, decode {decode:?})");
}
