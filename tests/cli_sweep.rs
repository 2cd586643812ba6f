//! `facenmf sweep` end to end.

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::{Command, Output};

fn facenmf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_facenmf")).args(args).output().expect("run facenmf")
}

/// A small folder of faces from the built-in generator (40 faces of 20×20).
fn small_faces() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let faces = facenmf::dataset::builtin::generate(40, 20, 9);
    facenmf::dataset::builtin::write_folder(&faces, dir.path()).expect("write faces");
    dir
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn check_lines(lines: &[serde_json::Value], ks: &[u64]) {
    let got: Vec<u64> = lines.iter().filter_map(|v| v["k"].as_u64()).collect();
    assert_eq!(got, ks);
    for v in lines {
        for key in ["k", "rel_err", "svd_rel_err", "explained_variance", "sparseness_w", "fit_secs", "iterations"] {
            assert!(v[key].is_number(), "missing {key} in {v}");
        }
        let (nmf, svd) = (v["rel_err"].as_f64().unwrap_or(-1.0), v["svd_rel_err"].as_f64().unwrap_or(2.0));
        assert!(nmf >= svd, "NMF {nmf} below the SVD's optimum {svd} in {v}");
        assert!(svd > 0.0 && nmf < 1.0, "{v}");
        assert!(v["stop_reason"].is_string(), "{v}");
    }
}

#[test]
fn json_prints_one_line_per_k() {
    let dir = small_faces();
    let d = dir.path().to_str().expect("utf-8");
    let out = facenmf(&["sweep", d, "--k", "5,2,3,3", "--max-iter", "60", "--json"]);
    check_lines(&json_lines(&out), &[2, 3, 5]);
    let out = facenmf(&["sweep", d, "--k", "2..7", "--step", "2", "--max-iter", "40", "--json", "--threads", "1"]);
    check_lines(&json_lines(&out), &[2, 4, 6]);
}

#[test]
fn table_has_a_row_per_k() {
    let dir = small_faces();
    let out = facenmf(&["sweep", dir.path().to_str().expect("utf-8"), "--k", "1..3", "--max-iter", "30"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].contains("svd_rel_err") && lines[0].contains("sparseness_w"), "{stdout}");
    let ks: Vec<&str> = lines[1..4].iter().filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(ks, ["1", "2", "3"], "{stdout}");
    assert!(lines[4].contains("40 faces of 20×20"), "{stdout}");
}

#[test]
fn bad_ranks_are_refused_naming_the_value() {
    let dir = small_faces();
    let d = dir.path().to_str().expect("utf-8");
    for (args, needle) in [
        (&["--k", "2,0"][..], "k = 0"),
        (&["--k", "2,401"][..], "k = 401"),
        (&["--k", "-3"][..], "k = -3"),
        (&["--k", "2,four"][..], "\"four\""),
        (&["--k", "2..8", "--step", "0"][..], "--step 0"),
        (&["--k", "8..2"][..], "8 > 2"),
        (&["--k", "2,3", "--step", "2"][..], "--step 2"),
        (&["--k", "2", "--max-iter", "0"][..], "max_iter"),
    ] {
        let mut all = vec!["sweep", d];
        all.extend_from_slice(args);
        let out = facenmf(&all);
        assert!(!out.status.success(), "{args:?} accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: {}", String::from_utf8_lossy(&out.stdout));
    }
}

#[test]
fn nmf_is_never_below_the_svd_on_orl() {
    let Some(dir) = common::orl() else { return };
    let out = facenmf(&["sweep", dir.to_str().expect("utf-8"), "--k", "2,4,8,16,32,49", "--json"]);
    let lines = json_lines(&out);
    check_lines(&lines, &[2, 4, 8, 16, 32, 49]);
    assert!(lines.iter().all(|v| v["svd_exact"] == true));
}

#[test]
fn huge_rank_specs_are_refused_before_any_work() {
    let dir = small_faces();
    let d = dir.path().to_str().expect("utf-8");
    // Once "memory allocation of 799999999984 bytes failed" and an abort.
    for (k, needles) in [
        ("2..99999999999", &["k = 99999999999", "40"][..]),
        ("2,99999999999", &["k = 99999999999", "40"][..]),
        ("1..18446744073709551616", &["k = 18446744073709551616 is too large"][..]),
        ("0..5", &["k = 0", "at least 1"][..]),
    ] {
        let out = facenmf(&["sweep", d, "--k", k, "--max-iter", "2"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "--k {k}: {stderr}");
        for n in needles {
            assert!(stderr.contains(n), "--k {k}: no {n:?} in {stderr}");
        }
        assert!(out.stdout.is_empty(), "--k {k}: {}", String::from_utf8_lossy(&out.stdout));
    }
}

#[test]
fn a_step_that_misses_the_end_of_the_range_says_so() {
    let dir = small_faces();
    let out = facenmf(&["sweep", dir.path().to_str().expect("utf-8"), "--k", "2..7", "--step", "2", "--max-iter", "3"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("note: --k 2..7 --step 2 fits ranks up to 6"), "{stderr}");
    let out = facenmf(&["sweep", dir.path().to_str().expect("utf-8"), "--k", "2..6", "--step", "2", "--max-iter", "3"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("note:"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn cross_validation_and_restarts_give_figures_and_a_suggested_k() {
    let dir = small_faces();
    let d = dir.path().to_str().expect("utf-8");
    let out = facenmf(&[
        "sweep",
        d,
        "--k",
        "2,4",
        "--max-iter",
        "40",
        "--cv",
        "2",
        "--cv-method",
        "holdout",
        "--restarts",
        "2",
        "--json",
    ]);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 3, "{lines:?}");
    check_lines(&lines[..2], &[2, 4]);
    for v in &lines[..2] {
        let (cv, sd, st) = (v["cv_rel_err"].as_f64(), v["cv_rel_err_sd"].as_f64(), v["stability"].as_f64());
        assert!(cv.is_some_and(|e| e > 0.0 && e < 1.0), "{v}");
        assert!(sd.is_some_and(|s| s >= 0.0), "{v}");
        assert!(st.is_some_and(|s| (0.0..=1.0).contains(&s)), "{v}");
        assert!(v["total_secs"].as_f64() >= v["fit_secs"].as_f64(), "{v}");
    }
    let last = &lines[2];
    assert!(matches!(last["suggested_k"].as_u64(), Some(2 | 4)), "{last}");
    assert_eq!(last["rule"], "one-standard-error");
    assert!(last["min_is_largest_k"].is_boolean(), "{last}");
    // Without them the fields are null and no suggestion is printed.
    let plain = json_lines(&facenmf(&["sweep", d, "--k", "2", "--max-iter", "20", "--json"]));
    assert_eq!(plain.len(), 1);
    assert!(plain[0]["cv_rel_err"].is_null() && plain[0]["stability"].is_null());
    // The table names the suggestion and its rule.
    let out = facenmf(&["sweep", d, "--k", "2,4", "--max-iter", "30", "--cv", "2"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("cv_rel_err") && text.contains("suggested k = "), "{text}");
    // Bad designs are refused before any work, naming the value.
    for (args, needle) in [
        (vec!["--cv", "20", "--cv-method", "holdout"], "20 folds"),
        (vec!["--cv", "2", "--cv-method", "holdout", "--cv-fraction", "1.5"], "1.5"),
        (vec!["--cv", "2", "--cv-fraction", "0.2"], "--cv-method holdout only"),
        (vec!["--restarts", "0"], "0 restarts"),
        (vec!["--cv", "2", "--solver", "kl"], "hals or mu"),
        (vec!["--cv", "2", "--cv-method", "bogus"], "bogus"),
        (vec!["--cv", "1", "--cv-method", "bicross"], "at least 2"),
        (vec!["--cv", "41", "--cv-method", "bicross"], "only 40 faces"),
    ] {
        let mut all = vec!["sweep", d, "--k", "2"];
        all.extend(args);
        let out = facenmf(&all);
        assert!(!out.status.success(), "{all:?} succeeded");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{all:?}: {err}");
    }
}

#[test]
fn bi_cross_validation_gives_figures_and_a_suggested_k() {
    let dir = small_faces();
    let d = dir.path().to_str().expect("utf-8");
    let args = ["sweep", d, "--k", "2,4", "--max-iter", "40", "--cv", "3", "--cv-method", "bicross", "--json"];
    let lines = json_lines(&facenmf(&args));
    assert_eq!(lines.len(), 3, "{lines:?}");
    check_lines(&lines[..2], &[2, 4]);
    for v in &lines[..2] {
        let (cv, sd) = (v["cv_rel_err"].as_f64(), v["cv_rel_err_sd"].as_f64());
        assert!(cv.is_some_and(|e| e > 0.0 && e < 1.0), "{v}");
        assert!(sd.is_some_and(|s| s >= 0.0), "{v}");
    }
    assert!(matches!(lines[2]["suggested_k"].as_u64(), Some(2 | 4)), "{}", lines[2]);
    // The same figures whatever the thread count.
    let one = json_lines(&facenmf(&[&args[..], &["--threads", "1"]].concat()));
    let cv = |l: &[serde_json::Value]| l[..2].iter().map(|v| v["cv_rel_err"].clone()).collect::<Vec<_>>();
    assert_eq!(cv(&lines), cv(&one));
    let text = String::from_utf8_lossy(&facenmf(&args[..args.len() - 1]).stdout).to_string();
    assert!(text.contains("bi-cross-validation error on 3 folds"), "{text}");
    // A fold fits 20 of the 40 faces: k = 30 cannot be cross-validated so.
    let out = facenmf(&["sweep", d, "--k", "30", "--cv", "2", "--cv-method", "bicross"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("k must be at most 20"), "{err}");
}

#[test]
fn independent_fits_each_k_from_its_own_start() {
    let dir = small_faces();
    let d = dir.path().to_str().expect("utf-8");
    let sketched = |extra: &[&str]| -> Vec<u64> {
        let mut args = vec!["sweep", d, "--k", "2,4", "--max-iter", "40", "--json"];
        args.extend_from_slice(extra);
        let lines = json_lines(&facenmf(&args));
        check_lines(&lines, &[2, 4]);
        lines.iter().map(|v| v["sketch_iterations"].as_u64().expect("sketch_iterations")).collect()
    };
    // The default fits on the shared sketch first; --independent never does.
    assert!(sketched(&[]).iter().all(|&n| n > 0));
    assert_eq!(sketched(&["--independent"]), [0, 0]);
}
