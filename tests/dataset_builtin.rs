//! The built-in face set: written to a folder and loaded back, it is the same.

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use facenmf::dataset::builtin::{N_PARTS, builtin_faces, generate, write_folder};
use facenmf::dataset::{DatasetError, LoadOptions, Source, load_folder};

#[test]
fn written_folder_loads_back_exactly() {
    let faces = builtin_faces();
    let ds = &faces.dataset;
    assert_eq!(ds.source, Source::BuiltIn);
    assert_eq!((ds.faces(), ds.width, ds.height), (400, 64, 64));
    assert_eq!(faces.parts.dim(), (64 * 64, N_PARTS));

    let dir = tempfile::tempdir().unwrap();
    write_folder(&faces, dir.path()).unwrap();
    let back = load_folder(dir.path(), &LoadOptions::default()).unwrap();
    assert_eq!((back.width, back.height), (ds.width, ds.height));
    assert_eq!(back.files, ds.files);
    assert_eq!(back.labels, ds.labels);
    assert!(back.skipped.is_empty(), "{:?}", back.skipped);
    assert!(back.matrix == ds.matrix, "matrix differs after the round trip");
}

#[test]
fn write_folder_refuses_to_overwrite() {
    let faces = generate(12, 16, 3);
    let dir = tempfile::tempdir().unwrap();
    write_folder(&faces, dir.path()).unwrap();
    let victim = dir.path().join(&faces.dataset.files[5]);
    let before = std::fs::read(&victim).unwrap();
    let other = generate(12, 16, 4);
    match write_folder(&other, dir.path()) {
        Err(e @ DatasetError::FileExists { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("overwrite") && msg.contains("face_0001.png"), "{msg}");
        }
        other => panic!("expected FileExists, got {other:?}"),
    }
    assert_eq!(std::fs::read(&victim).unwrap(), before);
    // No temporary files left behind.
    for e in walkdir::WalkDir::new(dir.path()).min_depth(1) {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy();
        assert!(!name.starts_with(".facenmf-"), "{:?}", e.path());
    }
}

#[test]
fn small_sets_for_tests() {
    let f = generate(30, 24, 1);
    assert_eq!(f.dataset.matrix.dim(), (24 * 24, 30));
    assert_eq!(f.parts.dim(), (24 * 24, N_PARTS));
    assert_eq!(generate(0, 24, 1).dataset.faces(), 0);
}

/// The copy committed under datasets/builtin_faces is the current built-in set.
#[test]
fn committed_copy_matches() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets/builtin_faces");
    if !dir.is_dir() {
        println!("{} not found; skipping", dir.display());
        return;
    }
    let faces = builtin_faces();
    let back = load_folder(&dir, &LoadOptions::default()).unwrap();
    assert_eq!(back.files, faces.dataset.files);
    assert!(
        back.matrix == faces.dataset.matrix,
        "datasets/builtin_faces is stale: regenerate it with `facenmf make-faces`"
    );
}

/// Regenerates datasets/builtin_faces (run with --ignored after changing the
/// generator; delete the folder first).
#[test]
#[ignore]
fn regenerate_committed_copy() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets/builtin_faces");
    write_folder(&builtin_faces(), &dir).unwrap();
}
