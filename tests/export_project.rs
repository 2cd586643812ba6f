//! New faces: `facenmf::project` and `facenmf fit --project`.

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};
use std::sync::Arc;

use facenmf::dataset::Preprocess;
use facenmf::nmf::{FaceMatrix, Nmf, Params};
use facenmf::project::{ProjectError, project_file};

fn facenmf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_facenmf")).args(args).output().expect("run facenmf")
}

#[test]
fn projecting_a_face_of_the_set_does_at_least_as_well_as_the_fit() {
    let set = facenmf::dataset::builtin::generate(40, 24, 11);
    let ds = &set.dataset;
    let data = Arc::new(FaceMatrix::new(ds.matrix.clone()).expect("valid"));
    let mut nmf = Nmf::new(data, Params::new(6).max_iter(100)).expect("params");
    nmf.run(None, |_| {});
    let tmp = tempfile::tempdir().expect("tempdir");

    // Face 7 as a PNG of the same size: its weights with W fixed are the
    // least-squares optimum, so no worse than the fit's own column of H.
    let j = 7;
    let same = tmp.path().join("face.png");
    ds.face_image(j).save(&same).expect("save");
    let p = project_file(&same, nmf.w(), ds.width, ds.height, Preprocess::None).expect("projects");
    assert_eq!(p.resized_from, None);
    assert_eq!(p.weights.len(), 6);
    assert!(p.weights.iter().all(|&v| v >= 0.0));
    assert_eq!(p.face, ds.face(j));
    let recon_fit = nmf.w().dot(&nmf.h().column(j));
    let col = ds.face(j);
    let fit_err =
        ((&col - &recon_fit).mapv(|v| f64::from(v).powi(2)).sum() / col.mapv(|v| f64::from(v).powi(2)).sum()).sqrt();
    assert!(p.rel_err <= fit_err + 1e-4, "projection {} vs fit {fit_err}", p.rel_err);
    assert!(p.rel_err > 0.0 && p.rel_err < 0.5, "{}", p.rel_err);
    let recon = nmf.w().dot(&p.weights);
    for (a, b) in recon.iter().zip(p.reconstruction.iter()) {
        assert!((a - b).abs() < 1e-5);
    }

    // Twice the size, in colour: converted to luma and resized, and said so.
    let big = tmp.path().join("big.png");
    let rgb = image::DynamicImage::ImageLuma8(ds.face_image(j))
        .resize_exact(48, 48, image::imageops::FilterType::Triangle)
        .to_rgb8();
    rgb.save(&big).expect("save");
    let q = project_file(&big, nmf.w(), ds.width, ds.height, Preprocess::None).expect("projects");
    assert_eq!(q.resized_from, Some((48, 48)));
    assert_eq!(q.face.len(), 24 * 24);
    assert!(q.rel_err < fit_err + 0.1, "{} vs {fit_err}", q.rel_err);

    // Not an image, a folder: errors naming the path.
    let text = tmp.path().join("notes.txt");
    std::fs::write(&text, "not a face").expect("write");
    let err = project_file(&text, nmf.w(), ds.width, ds.height, Preprocess::None).expect_err("not an image");
    assert!(matches!(err, ProjectError::Load { .. }), "{err:?}");
    assert!(err.to_string().contains("notes.txt") && err.to_string().contains("not an image"), "{err}");
    let err = project_file(tmp.path(), nmf.w(), ds.width, ds.height, Preprocess::None).expect_err("a folder");
    assert!(err.to_string().contains("is a folder"), "{err}");
}

#[test]
fn fit_project_prints_each_rel_err() {
    let faces = tempfile::tempdir().expect("tempdir");
    let set = facenmf::dataset::builtin::generate(30, 24, 3);
    facenmf::dataset::builtin::write_folder(&set, faces.path()).expect("write faces");
    let other = tempfile::tempdir().expect("tempdir");
    let new_set = facenmf::dataset::builtin::generate(2, 32, 99);
    let (a, b) = (other.path().join("a.png"), other.path().join("b.png"));
    new_set.dataset.face_image(0).save(&a).expect("save");
    new_set.dataset.face_image(1).save(&b).expect("save");
    let (d, a_s, b_s) = (faces.path().to_str().expect("utf-8"), a.to_str().expect("utf-8"), b.to_str().expect("utf-8"));

    let out = facenmf(&["fit", d, "--k", "5", "--max-iter", "30", "--project", a_s, b_s]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for f in [a_s, b_s] {
        let line =
            stdout.lines().find(|l| l.starts_with(&format!("{f}: rel_err "))).unwrap_or_else(|| panic!("{stdout}"));
        assert!(line.contains("resized from 32×32 to 24×24"), "{line}");
    }

    let out = facenmf(&["fit", d, "--k", "5", "--max-iter", "30", "--json", "--project", a_s]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(stdout.trim().lines().last().expect("line")).expect("JSON");
    let projected = v["projected"].as_array().expect("projected");
    assert_eq!(projected.len(), 1);
    assert_eq!(projected[0]["file"], a_s);
    let e = projected[0]["rel_err"].as_f64().expect("rel_err");
    assert!(e > 0.0 && e < 1.0, "{e}");
    assert_eq!(projected[0]["resized_from"], serde_json::json!([32, 32]));

    // A missing or unreadable image is refused before the fit, naming it.
    let missing = other.path().join("missing.png");
    let out = facenmf(&["fit", d, "--k", "5", "--project", missing.to_str().expect("utf-8")]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.png"));
    let text = other.path().join("t.txt");
    std::fs::write(&text, "x").expect("write");
    let out = facenmf(&["fit", d, "--k", "5", "--project", text.to_str().expect("utf-8")]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("t.txt") && stderr.contains("not an image"), "{stderr}");
    assert!(out.stdout.is_empty());
}
