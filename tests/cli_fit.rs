//! `facenmf fit` end to end, and the engine's accuracy on ORL.

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::{Command, Output};
use std::sync::Arc;

use facenmf::dataset::{LoadOptions, load_folder};
use facenmf::nmf::{FaceMatrix, Init, Nmf, Params, Solver};

fn facenmf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_facenmf")).args(args).output().expect("run facenmf")
}

/// A small folder of faces from the built-in generator.
fn small_faces() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let faces = facenmf::dataset::builtin::generate(30, 24, 3);
    facenmf::dataset::builtin::write_folder(&faces, dir.path()).expect("write faces");
    dir
}

#[test]
fn hals_on_orl_beats_scikit_learns_200_iterations_in_100() {
    let Some(dir) = common::orl() else { return };
    let ds = load_folder(&dir, &LoadOptions::default()).expect("ORL loads");
    let data = Arc::new(FaceMatrix::new(ds.matrix).expect("valid"));
    let params = Params::new(16).solver(Solver::Hals).init(Init::Nndsvda).tol(0.0).max_iter(100);
    let mut nmf = Nmf::new(data, params).expect("params");
    nmf.run(None, |_| {});
    assert_eq!(nmf.iteration(), 100);
    let err = nmf.exact_rel_err();
    assert!(err <= 0.2012, "rel_err {err} after 100 iterations");
}

#[test]
fn fit_json_reports_every_field() {
    let dir = small_faces();
    let out = facenmf(&["fit", dir.path().to_str().expect("utf-8"), "--k", "5", "--max-iter", "30", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.trim().lines().last().expect("a line");
    let v: serde_json::Value = serde_json::from_str(last).expect("JSON");
    for key in [
        "faces",
        "pixels",
        "width",
        "height",
        "k",
        "solver",
        "init",
        "iterations",
        "load_secs",
        "fit_secs",
        "rel_err",
        "stop_reason",
        "threads",
    ] {
        assert!(v.get(key).is_some(), "missing {key} in {last}");
    }
    assert_eq!(v["faces"], 30);
    assert_eq!(v["pixels"], 24 * 24);
    assert_eq!(v["k"], 5);
    assert_eq!(v["solver"], "hals");
    // The default init, auto, is nndsvd for hals.
    assert_eq!(v["init"], "nndsvd");
    let rel = v["rel_err"].as_f64().expect("number");
    assert!(rel > 0.0 && rel < 0.5, "{rel}");
    assert!(["tol", "max_iter"].contains(&v["stop_reason"].as_str().expect("string")));
}

#[test]
fn fit_is_identical_with_one_or_two_threads_and_stops_as_asked() {
    let dir = small_faces();
    let path = dir.path().to_str().expect("utf-8");
    let run = |threads: &str| {
        let out = facenmf(&["fit", path, "--k", "4", "--max-iter", "40", "--tol", "0", "--threads", threads, "--json"]);
        assert!(out.status.success());
        let v: serde_json::Value =
            serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim().lines().last().expect("line"))
                .expect("JSON");
        v
    };
    let (a, b) = (run("1"), run("2"));
    assert_eq!(a["rel_err"], b["rel_err"]);
    assert_eq!(a["threads"], 1);
    assert_eq!(b["threads"], 2);
    assert_eq!(a["stop_reason"], "max_iter");
    assert_eq!(a["iterations"], 40);

    let out = facenmf(&["fit", path, "--k", "4", "--target-rel-err", "0.9", "--json"]);
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim().lines().last().expect("line")).expect("JSON");
    assert_eq!(v["stop_reason"], "target");
}

#[test]
fn nonsense_is_refused_naming_the_value() {
    let dir = small_faces();
    let path = dir.path().to_str().expect("utf-8");
    let missing = dir.path().join("no such folder");
    let empty = tempfile::tempdir().expect("tempdir");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["fit", path, "--k", "0"], "k = 0"),
        (vec!["fit", path, "--k", "577"], "k = 577"),
        (vec!["fit", path, "--k", "3", "--tol", "-1"], "tol"),
        (vec!["fit", path, "--k", "3", "--max-iter", "0"], "max_iter"),
        (vec!["fit", path, "--k", "3", "--solver", "cd"], "cd"),
        (vec!["fit", path, "--k", "3", "--init", "svd"], "svd"),
        (vec!["fit", path, "--k", "3", "--threads", "0"], "threads"),
        (vec!["fit", path, "--k", "3", "--scale", "2"], "scale"),
        (vec!["fit", missing.to_str().expect("utf-8"), "--k", "3"], "no such folder"),
        (vec!["fit", empty.path().to_str().expect("utf-8"), "--k", "3"], "image"),
        // Refused before any window opens.
        (vec!["gui", path, "--tol", "-1"], "got -1"),
        (vec!["gui", path, "--tol", "NaN"], "got NaN"),
        (vec!["gui", path, "--max-iter", "0"], "--max-iter"),
    ];
    for (args, needle) in cases {
        let out = facenmf(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(stderr.contains(needle), "{args:?}: error does not mention {needle:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    }
}

#[test]
fn skipped_files_are_named_on_stderr() {
    let dir = small_faces();
    std::fs::write(dir.path().join("notes.txt"), "not a face").expect("write");
    let out = facenmf(&["fit", dir.path().to_str().expect("utf-8"), "--k", "3", "--max-iter", "5"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("notes.txt"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("relative error"), "{stdout}");
}

#[test]
fn thread_counts_beyond_the_limit_are_refused() {
    let dir = small_faces();
    let path = dir.path().to_str().expect("utf-8");
    for args in [
        vec!["fit", path, "--k", "3", "--threads", "100000000"],
        vec!["fit", path, "--k", "3", "--threads", "1025"],
        vec!["sweep", path, "--k", "2,3", "--threads", "100000000"],
        vec!["bench", "--threads", "100000000"],
    ] {
        let out = facenmf(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        let n = args.last().expect("count");
        assert!(stderr.contains(&format!("--threads {n}")) && stderr.contains("1024"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: {}", String::from_utf8_lossy(&out.stdout));
    }
    // The limit itself is fine.
    let out = facenmf(&["fit", path, "--k", "2", "--max-iter", "2", "--threads", "1024", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn k_zero_names_the_value_and_the_rule() {
    let dir = small_faces();
    let out = facenmf(&["fit", dir.path().to_str().expect("utf-8"), "--k", "0"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("k = 0") && stderr.contains("k must be at least 1"), "{stderr}");
    assert!(!stderr.contains(&usize::MAX.to_string()), "{stderr}");
}

/// Runs facenmf with stdout going to /dev/full (every write fails).
#[cfg(target_os = "linux")]
fn facenmf_into_dev_full(args: &[&str]) -> Output {
    let full = std::fs::File::options().write(true).open("/dev/full").expect("/dev/full");
    Command::new(env!("CARGO_BIN_EXE_facenmf"))
        .args(args)
        .stdout(std::process::Stdio::from(full))
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run facenmf")
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_stdout_is_an_error_not_a_panic() {
    let dir = small_faces();
    let path = dir.path().to_str().expect("utf-8");
    let made = tempfile::tempdir().expect("tempdir");
    let made = made.path().join("faces");
    for args in [
        vec!["fit", path, "--k", "2", "--max-iter", "3", "--json"],
        vec!["fit", path, "--k", "2", "--max-iter", "3"],
        vec!["sweep", path, "--k", "1,2", "--max-iter", "3", "--json"],
        vec!["sweep", path, "--k", "1,2", "--max-iter", "3"],
        vec!["make-faces", made.to_str().expect("utf-8")],
    ] {
        let out = facenmf_into_dev_full(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("could not write to stdout"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

/// A baseline JPEG of `w`×`h` cut halfway through its image data (which
/// the decoder fills with grey, saying nothing).
fn truncated_jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = image::GrayImage::from_fn(w, h, |x, y| image::Luma([((x * 9 + y * 5) % 256) as u8]));
    let mut bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Jpeg).expect("encode");
    let scan = bytes.windows(2).position(|m| m == [0xFF, 0xDA]).expect("a start-of-scan marker");
    bytes.truncate(scan + (bytes.len() - scan) / 2);
    bytes
}

#[test]
fn a_truncated_jpeg_is_skipped_with_the_reason_and_refused_as_a_projection() {
    let dir = small_faces();
    let cut = dir.path().join("cut.jpg");
    std::fs::write(&cut, truncated_jpeg(24, 24)).expect("write");
    let path = dir.path().to_str().expect("utf-8");
    let out = facenmf(&["fit", path, "--k", "3", "--max-iter", "3", "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let warning = stderr.lines().find(|l| l.contains("cut.jpg")).unwrap_or_else(|| panic!("not skipped: {stderr}"));
    assert!(warning.starts_with("warning: skipped") && warning.contains("truncated JPEG"), "{warning}");
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim().lines().last().expect("line")).expect("JSON");
    assert_eq!((v["faces"].as_u64(), v["skipped"].as_u64()), (Some(30), Some(1)));

    // As a face to project it is an error, before the fit.
    let faces = small_faces();
    let out =
        facenmf(&["fit", faces.path().to_str().expect("utf-8"), "--k", "3", "--project", cut.to_str().expect("utf-8")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cut.jpg") && stderr.contains("truncated JPEG"), "{stderr}");
    assert!(out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn fit_holds_the_sparseness_asked_for_and_reports_it() {
    let dir = small_faces();
    let path = dir.path().to_str().expect("utf-8");
    let out = facenmf(&[
        "fit",
        path,
        "--k",
        "5",
        "--max-iter",
        "20",
        "--sparseness-w",
        "0.6",
        "--sparseness-h",
        "0.3",
        "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim().lines().last().expect("line")).expect("JSON");
    assert_eq!(v["sparseness_w"].as_f64().map(|s| (s - 0.6).abs() < 1e-6), Some(true), "{v}");
    assert_eq!(v["sparseness_h"].as_f64().map(|s| (s - 0.3).abs() < 1e-6), Some(true), "{v}");
    let mean = v["mean_sparseness_w"].as_f64().expect("number");
    assert!((mean - 0.6).abs() < 1e-4, "{mean}");
    for end in [0, 1] {
        let s = v["sparseness_w_range"][end].as_f64().expect("number");
        assert!((s - 0.6).abs() < 1e-4, "{v}");
    }
    let support = v["median_support90_w"].as_f64().expect("number");
    assert!(support > 0.0 && support < 0.9, "{support}");
    assert_eq!(v["zeroed_parts"]["parts"], 0);

    // A free fit reports its own sparseness, and null targets.
    let out = facenmf(&["fit", path, "--k", "5", "--max-iter", "20", "--json"]);
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim().lines().last().expect("line")).expect("JSON");
    assert!(v["sparseness_w"].is_null() && v["mean_sparseness_w"].is_number(), "{v}");

    // Out of range, or with a solver that has no constraint: refused, naming it.
    for (args, needle) in [
        (vec!["--sparseness-w", "1"], "sparseness_w = 1"),
        (vec!["--sparseness-h", "-0.2"], "sparseness_h = -0.2"),
        (vec!["--sparseness-w", "0.5", "--solver", "mu"], "hals"),
    ] {
        let mut all = vec!["fit", path, "--k", "3"];
        all.extend(args.iter().copied());
        let out = facenmf(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(needle), "{args:?}: {stderr}");
    }
}

#[test]
fn a_penalty_that_zeroes_parts_is_reported() {
    let dir = small_faces();
    let path = dir.path().to_str().expect("utf-8");
    let out = facenmf(&["fit", path, "--k", "5", "--max-iter", "60", "--alpha-w", "0.5", "--l1-ratio", "1", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim().lines().last().expect("line")).expect("JSON");
    let zeroed = v["zeroed_parts"]["parts"].as_u64().expect("count");
    assert!(zeroed >= 1, "{v}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("warning: {zeroed} of 5 parts are zero")), "{stderr}");
    assert!(stderr.contains("L1 penalty"), "{stderr}");

    // No warning when nothing is zeroed.
    let out = facenmf(&["fit", path, "--k", "5", "--max-iter", "20"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("parts are zero"));
}

#[test]
fn the_iteration_log_has_every_iteration_in_order() {
    let dir = small_faces();
    let log = dir.path().join("iterations.log");
    let out = Command::new(env!("CARGO_BIN_EXE_facenmf"))
        .args(["bench-big", dir.path().to_str().expect("utf-8"), "--k", "3", "--secs", "0.3"])
        .env(facenmf::jobs::ITERATION_LOG_VAR, &log)
        .output()
        .expect("run facenmf");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let iterations = v["iterations"].as_u64().expect("iterations") as usize;
    let lines: Vec<(usize, f64)> = std::fs::read_to_string(&log)
        .expect("the log was written")
        .lines()
        .map(|l| {
            let (n, t) = l.split_once(' ').expect("ITERATION TIME");
            (n.parse().expect("an iteration"), t.parse().expect("seconds"))
        })
        .collect();
    assert!(iterations > 1);
    assert_eq!(lines.len(), iterations, "one line per iteration");
    assert!(lines.iter().enumerate().all(|(i, &(n, _))| n == i + 1), "iterations 1, 2, … in order");
    assert!(lines.windows(2).all(|w| w[0].1 <= w[1].1), "times never go back");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs_f64();
    assert!(lines.iter().all(|&(_, t)| (now - 60.0..=now).contains(&t)), "UNIX times of this run");
}
