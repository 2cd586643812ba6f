//! Loads the ORL / AT&T face database if it is present next to the crate.

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

mod common;

use facenmf::dataset::{LoadOptions, Source, load_folder};

fn orl_dir() -> Option<PathBuf> {
    common::orl()
}

#[test]
fn orl_loads_in_natural_order() {
    let Some(dir) = orl_dir() else { return };
    let ds = load_folder(&dir, &LoadOptions::default()).expect("ORL loads");
    assert_eq!(ds.faces(), 400);
    assert_eq!((ds.width, ds.height), (92, 112));
    assert_eq!(ds.pixels(), 10304);
    assert_eq!(ds.matrix.dim(), (10304, 400));
    assert_eq!(ds.source, Source::Folder(dir.clone()));

    let f = |j: usize| ds.files[j].to_string_lossy().replace('\\', "/");
    assert_eq!(f(0), "s1/1.pgm");
    assert_eq!(f(1), "s1/2.pgm");
    assert_eq!(f(9), "s1/10.pgm");
    assert_eq!(f(10), "s2/1.pgm");
    assert_eq!(f(399), "s40/10.pgm");
    assert_eq!(ds.labels[0], "s1");
    assert_eq!(ds.labels[10], "s2");
    assert_eq!(ds.labels[90], "s10");
    assert_eq!(ds.labels[399], "s40");
    let mut distinct = ds.labels.clone();
    distinct.dedup();
    let want: Vec<String> = (1..=40).map(|i| format!("s{i}")).collect();
    assert_eq!(distinct, want);

    // The README is skipped as a non-image.
    assert!(
        ds.skipped
            .iter()
            .any(|s| s.path.file_name().is_some_and(|n| n == "README") && s.reason.contains("not an image")),
        "skipped: {:?}",
        ds.skipped
    );

    // Values are 8-bit / 255 and face 0 matches the file.
    let img = image::open(dir.join("s1/1.pgm")).expect("s1/1.pgm").to_luma8();
    for (p, &v) in img.as_raw().iter().enumerate() {
        assert_eq!(ds.matrix[(p, 0)], v as f32 / 255.0);
    }
    assert!(ds.matrix.iter().all(|v| (0.0..=1.0).contains(v)));
}

#[test]
fn orl_scaled() {
    let Some(dir) = orl_dir() else { return };
    let opts = LoadOptions { scale: Some(0.5), ..Default::default() };
    let ds = load_folder(&dir, &opts).expect("ORL loads at half size");
    assert_eq!((ds.faces(), ds.width, ds.height), (400, 46, 56));
}
