//! `facenmf fit --out DIR [--force]` end to end.

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

fn facenmf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_facenmf")).args(args).output().expect("run facenmf")
}

#[test]
fn fit_out_writes_refuses_and_forces() {
    let faces = tempfile::tempdir().expect("tempdir");
    let set = facenmf::dataset::builtin::generate(30, 24, 3);
    facenmf::dataset::builtin::write_folder(&set, faces.path()).expect("write faces");
    let outs = tempfile::tempdir().expect("tempdir");
    let out = outs.path().join("export");
    let (dir, out_s) = (faces.path().to_str().expect("utf-8"), out.to_str().expect("utf-8"));

    let run = facenmf(&["fit", dir, "--k", "4", "--max-iter", "20", "--out", out_s, "--json"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let stdout = String::from_utf8_lossy(&run.stdout);
    let v: serde_json::Value = serde_json::from_str(stdout.trim().lines().last().expect("line")).expect("JSON");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).expect("report")).expect("JSON");
    assert_eq!(report["rel_err"], v["rel_err"]);
    assert_eq!(report["parameters"]["k"], 4);
    let folder = report["folder"].as_str().expect("folder");
    assert!(std::path::Path::new(folder).is_absolute(), "{folder}");
    assert_eq!(report["files"].as_array().map(|a| a.len()), Some(30));
    assert_eq!(report["files"][0], set.dataset.files[0].to_string_lossy().as_ref());
    assert!(report["load_options"].is_object());
    assert!(out.join("basis/basis_04.png").is_file());
    assert!(report["parameters"]["sparseness_w"].is_null());
    assert!(report["mean_sparseness_w"].is_number() && report["median_support90_w"].is_number());
    assert_eq!(report["zeroed_parts"]["k"], 4);

    // Refused now that the folder is not empty: non-zero exit, the folder named, nothing fitted.
    let before = std::fs::read(out.join("H.npy")).expect("H.npy");
    let run = facenmf(&["fit", dir, "--k", "3", "--max-iter", "20", "--out", out_s]);
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains(out_s) && stderr.contains("--force"), "{stderr}");
    assert!(run.stdout.is_empty(), "{}", String::from_utf8_lossy(&run.stdout));
    assert_eq!(std::fs::read(out.join("H.npy")).expect("H.npy"), before);

    // Accepted with --force, and the files are replaced.
    let run = facenmf(&["fit", dir, "--k", "3", "--max-iter", "20", "--out", out_s, "--force"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(String::from_utf8_lossy(&run.stdout).contains(out_s));
    let h: ndarray::Array2<f32> = ndarray_npy::read_npy(out.join("H.npy")).expect("H.npy");
    assert_eq!(h.dim(), (3, 30));

    // A constrained fit's report says so.
    let run = facenmf(&["fit", dir, "--k", "3", "--max-iter", "5", "--sparseness-w", "0.7", "--out", out_s, "--force"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).expect("report")).expect("JSON");
    assert!((report["parameters"]["sparseness_w"].as_f64().expect("number") - 0.7).abs() < 1e-6);
    assert!((report["mean_sparseness_w"].as_f64().expect("number") - 0.7).abs() < 1e-4);

    // --force needs --out.
    let run = facenmf(&["fit", dir, "--k", "3", "--force"]);
    assert!(!run.status.success());
}
