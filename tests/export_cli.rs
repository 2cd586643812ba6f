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

/// A folder of 30 built-in faces of 24×24.
fn faces() -> (tempfile::TempDir, facenmf::dataset::builtin::BuiltinFaces) {
    let dir = tempfile::tempdir().expect("tempdir");
    let set = facenmf::dataset::builtin::generate(30, 24, 3);
    facenmf::dataset::builtin::write_folder(&set, dir.path()).expect("write faces");
    (dir, set)
}

/// The files below `dir`, relative, sorted.
fn tree(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(|e| e.expect("walk").path().strip_prefix(dir).expect("below").to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_forced_export_replaces_the_whole_set_and_nothing_else() {
    let (faces, _) = faces();
    let outs = tempfile::tempdir().expect("tempdir");
    let out = outs.path().join("export");
    let (dir, out_s) = (faces.path().to_str().expect("utf-8"), out.to_str().expect("utf-8"));
    let run = facenmf(&["fit", dir, "--k", "12", "--max-iter", "5", "--out", out_s]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(out.join("basis/basis_12.png").is_file());
    // The user's own files, one with a name like the export's but not in its manifest.
    std::fs::write(out.join("notes.txt"), "mine").expect("write");
    std::fs::write(out.join("basis/basis_50.png"), "mine too").expect("write");
    std::fs::write(out.join("basis/sketch.png"), "and mine").expect("write");

    let run = facenmf(&["fit", dir, "--k", "3", "--max-iter", "5", "--out", out_s, "--force"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let mut expected: Vec<String> = [
        "H.csv",
        "H.npy",
        "W.csv",
        "W.npy",
        "basis",
        "basis/basis_01.png",
        "basis/basis_02.png",
        "basis/basis_03.png",
        "basis/basis_50.png",
        "basis/sketch.png",
        "basis_montage.png",
        "notes.txt",
        "reconstructions.png",
        "report.json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    expected.sort();
    assert_eq!(tree(&out), expected);
    assert_eq!(std::fs::read_to_string(out.join("notes.txt")).expect("kept"), "mine");
    assert_eq!(std::fs::read_to_string(out.join("basis/basis_50.png")).expect("kept"), "mine too");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).expect("report")).expect("JSON");
    assert_eq!(report["parameters"]["k"], 3);
    assert_eq!(report["written"].as_array().map(|a| a.len()), Some(6 + 3 + 1));

    // And back up to k = 5: the new set, still nothing else touched.
    let run = facenmf(&["fit", dir, "--k", "5", "--max-iter", "5", "--out", out_s, "--force"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let basis: Vec<String> = tree(&out).into_iter().filter(|f| f.starts_with("basis/basis_")).collect();
    assert_eq!(
        basis,
        [
            "basis/basis_01.png",
            "basis/basis_02.png",
            "basis/basis_03.png",
            "basis/basis_04.png",
            "basis/basis_05.png",
            "basis/basis_50.png"
        ]
    );
}

#[cfg(unix)]
#[test]
fn exported_files_get_the_usual_modes() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let (faces, _) = faces();
    let outs = tempfile::tempdir().expect("tempdir");
    let out = outs.path().join("export");
    let made = outs.path().join("made");
    for args in [
        vec![
            "fit",
            faces.path().to_str().expect("utf-8"),
            "--k",
            "3",
            "--max-iter",
            "3",
            "--out",
            out.to_str().expect("utf-8"),
        ],
        vec!["make-faces", made.to_str().expect("utf-8")],
    ] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_facenmf"));
        cmd.args(&args);
        // SAFETY: umask is async-signal-safe and touches nothing else.
        unsafe {
            cmd.pre_exec(|| {
                libc::umask(0o022);
                Ok(())
            });
        }
        let run = cmd.output().expect("run facenmf");
        assert!(run.status.success(), "{args:?}: {}", String::from_utf8_lossy(&run.stderr));
    }
    for root in [&out, &made] {
        let mut files = 0;
        for e in walkdir::WalkDir::new(root).min_depth(1) {
            let e = e.expect("walk");
            let mode = e.metadata().expect("metadata").permissions().mode() & 0o777;
            let want = if e.file_type().is_dir() { 0o755 } else { 0o644 };
            assert_eq!(mode, want, "{}: mode {mode:o}", e.path().display());
            files += usize::from(e.file_type().is_file());
        }
        assert!(files >= 10, "{}: {files} files", root.display());
    }
}

#[cfg(target_os = "linux")]
#[test]
fn an_unwritable_out_folder_is_refused_before_any_work() {
    use std::os::unix::fs::PermissionsExt;
    let (faces, _) = faces();
    // A file the loader skips: its warning would show that the fit began.
    std::fs::write(faces.path().join("notes.txt"), "not a face").expect("write");
    let outs = tempfile::tempdir().expect("tempdir");
    let locked = outs.path().join("locked");
    std::fs::create_dir(&locked).expect("mkdir");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    // root may write anywhere it has a mode for; /sys refuses even root.
    let root = unsafe { libc::geteuid() } == 0;
    let (folder, targets) = if root {
        (std::path::PathBuf::from("/sys"), vec![std::path::PathBuf::from("/sys/facenmf-export-test/out")])
    } else {
        (locked.clone(), vec![locked.join("out"), locked.clone()])
    };
    for target in targets {
        let run = facenmf(&[
            "fit",
            faces.path().to_str().expect("utf-8"),
            "--k",
            "3",
            "--max-iter",
            "3",
            "--out",
            target.to_str().expect("utf-8"),
        ]);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(&format!("cannot create files in {}", folder.display())), "{stderr}");
        assert!(stderr.contains(target.to_str().expect("utf-8")), "{stderr}");
        assert!(!stderr.contains("notes.txt"), "the faces were loaded first: {stderr}");
        assert!(run.stdout.is_empty());
    }
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).expect("chmod back");
}

#[cfg(unix)]
#[test]
fn odd_file_names_are_escaped_and_kept_apart() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let (faces, set) = faces();
    // Two copies of a face under names that differ only in bytes that are not UTF-8.
    let face = faces.path().join(&set.dataset.files[0]);
    for name in [&b"a\xff.png"[..], &b"a\xfe.png"[..]] {
        std::fs::copy(&face, faces.path().join(OsStr::from_bytes(name))).expect("copy");
    }
    // A file whose name would forge a warning line.
    std::fs::write(faces.path().join("x\nwarning: fake.pgm"), "not a face").expect("write");
    let outs = tempfile::tempdir().expect("tempdir");
    let out = outs.path().join("export");
    let run = facenmf(&[
        "fit",
        faces.path().to_str().expect("utf-8"),
        "--k",
        "3",
        "--max-iter",
        "3",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.starts_with("warning")).collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].starts_with("warning: skipped ") && warnings[0].contains("x\\nwarning: fake.pgm: "),
        "{stderr}"
    );

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).expect("report")).expect("JSON");
    let files: Vec<&str> = report["files"].as_array().expect("files").iter().filter_map(|v| v.as_str()).collect();
    assert_eq!(files.len(), 32);
    assert!(files.contains(&"a\\xff.png") && files.contains(&"a\\xfe.png"), "{files:?}");
    let mut unique = files.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), files.len(), "{files:?}");
}
