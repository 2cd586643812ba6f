//! Movies and pictures of a fit (`export::movie`, `export::picture`): the GIF
//! decodes back with enough frames of enough size that differ, loops, and is
//! never written over an existing file unless asked; the labelled montage.

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;

use facenmf::dataset::builtin;
use facenmf::export::movie::{MIN_FRAMES, MIN_SHORT_SIDE_PX, check_movie_destination};
use facenmf::export::{
    Caption, ExportError, MontageSpec, MovieContent, MovieFrame, MovieSpec, SnapshotSchedule, basis_montage, save_png,
    write_movie,
};
use facenmf::nmf::{FaceMatrix, Nmf, Params};
use image::AnimationDecoder;

const SIZE: usize = 24;

/// Snapshots of a fit of 30 built-in faces of 24×24 with k = 4, kept on the
/// movie schedule, the last one exact.
fn snapshots(max_iter: usize) -> (Vec<MovieFrame>, Arc<ndarray::Array2<f32>>) {
    let set = builtin::generate(30, SIZE, 3);
    let a = Arc::new(set.dataset.matrix.clone());
    let data = Arc::new(FaceMatrix::new(set.dataset.matrix).unwrap());
    let mut nmf = Nmf::new(data, Params::new(4).max_iter(max_iter).tol(0.0)).unwrap();
    let mut kept = Vec::new();
    let mut schedule = SnapshotSchedule::default();
    let mut keep = |n: &Nmf| {
        if schedule.keeps(n.iteration()) {
            kept.push(frame(n));
        }
    };
    keep(&nmf);
    nmf.run(None, &mut keep);
    if kept.last().map(|f| f.iteration) != Some(nmf.iteration()) {
        kept.push(frame(&nmf));
    }
    (kept, a)
}

fn frame(n: &Nmf) -> MovieFrame {
    MovieFrame {
        iteration: n.iteration(),
        rel_err: n.exact_rel_err(),
        w: Arc::new(n.w().to_owned()),
        h: Arc::new(n.h().to_owned()),
    }
}

/// The frames of a GIF file, as RGBA images, and their delays in ms.
fn decode(path: &Path) -> Vec<(image::RgbaImage, u32)> {
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let decoder = image::codecs::gif::GifDecoder::new(file).unwrap();
    decoder
        .into_frames()
        .map(|f| {
            let f = f.unwrap();
            let (num, den) = f.delay().numer_denom_ms();
            (f.into_buffer(), num / den.max(1))
        })
        .collect()
}

#[test]
fn the_basis_movie_decodes_with_enough_large_frames_that_differ() {
    let (frames, _) = snapshots(60);
    let iterations: Vec<usize> = frames.iter().map(|f| f.iteration).collect();
    assert_eq!(&iterations[..6], &[0, 1, 2, 3, 4, 6], "log-spaced: {iterations:?}");
    assert_eq!(iterations.last(), Some(&60));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("learning.gif");
    let spec = MovieSpec::basis(SIZE, SIZE, "built-in faces", "hals");
    let report = write_movie(&path, &frames, &spec, false).unwrap();
    assert_eq!(report.snapshots, frames.len());
    assert_eq!(report.frames, frames.len().max(MIN_FRAMES));
    assert_eq!(report.bytes, std::fs::metadata(&path).unwrap().len());

    let decoded = decode(&path);
    assert_eq!(decoded.len(), report.frames);
    assert!(decoded.len() >= MIN_FRAMES);
    for (img, _) in &decoded {
        assert_eq!(img.dimensions(), (report.width, report.height));
        assert!(img.width().min(img.height()) >= MIN_SHORT_SIDE_PX, "{:?}", img.dimensions());
        // Grey frames, exactly: every pixel has R = G = B.
        assert!(img.pixels().all(|p| p.0[0] == p.0[1] && p.0[1] == p.0[2] && p.0[3] == 255));
    }
    // The basis images change as the fit learns, and so do the captions.
    assert_ne!(decoded[0].0, decoded[decoded.len() - 1].0);
    assert_ne!(decoded[1].0, decoded[2].0);
    // 0.2 s a frame, the last held 2 s.
    assert_eq!(decoded[0].1, 200);
    assert_eq!(decoded[decoded.len() - 1].1, 2000);
    // It loops forever (the NETSCAPE2.0 extension with a count of 0).
    let bytes = std::fs::read(&path).unwrap();
    let at = bytes.windows(11).position(|w| w == b"NETSCAPE2.0").expect("a looping GIF");
    assert_eq!(&bytes[at + 11..at + 15], &[3, 1, 0, 0]);
    // Nothing else is left in the folder (the temporary file was renamed).
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn a_short_fit_still_makes_ten_frames_and_a_face_movie_shows_the_face() {
    let (frames, a) = snapshots(3);
    assert_eq!(frames.len(), 4, "every iteration of a short fit is kept");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("face.GIF");
    let mut spec = MovieSpec::basis(SIZE, SIZE, "built-in faces", "hals");
    spec.content = MovieContent::Face { index: 7, original: Arc::new(a.column(7).to_owned()) };
    let report = write_movie(&path, &frames, &spec, false).unwrap();
    assert_eq!((report.frames, report.snapshots), (MIN_FRAMES, 4));
    let decoded = decode(&path);
    assert_eq!(decoded.len(), MIN_FRAMES);
    let (first, last) = (&decoded[0].0, &decoded[MIN_FRAMES - 1].0);
    assert!(first.width() > first.height(), "the face and its reconstruction side by side");
    assert!(first.height() >= MIN_SHORT_SIDE_PX);
    assert_ne!(first, last);

    // A face that is not in the set is refused, naming it.
    spec.content = MovieContent::Face { index: 30, original: Arc::new(a.column(0).to_owned()) };
    let e = write_movie(&dir.path().join("no.gif"), &frames, &spec, false).unwrap_err();
    assert!(matches!(e, ExportError::FaceIndex { index: 30, faces: 30 }), "{e}");
    assert!(e.to_string().contains("face 31"), "{e}");
    // So are no snapshots.
    spec.content = MovieContent::Basis;
    let e = write_movie(&dir.path().join("none.gif"), &[], &spec, false).unwrap_err();
    assert!(matches!(e, ExportError::NoFrames), "{e}");
    assert!(!dir.path().join("none.gif").exists() && !dir.path().join("no.gif").exists());
}

#[test]
fn a_movie_never_replaces_a_file_unless_asked_and_names_bad_paths() {
    let (frames, _) = snapshots(5);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.gif");
    std::fs::write(&path, b"mine").unwrap();
    let spec = MovieSpec::basis(SIZE, SIZE, "built-in faces", "hals");
    let e = write_movie(&path, &frames, &spec, false).unwrap_err();
    assert!(matches!(e, ExportError::Exists { .. }), "{e}");
    assert!(e.to_string().contains("m.gif"), "{e}");
    assert_eq!(std::fs::read(&path).unwrap(), b"mine");
    write_movie(&path, &frames, &spec, true).unwrap();
    assert_eq!(decode(&path).len(), MIN_FRAMES);

    let e = check_movie_destination(&dir.path().join("m.png"), false).unwrap_err();
    assert!(e.to_string().contains("m.png") && e.to_string().contains(".gif"), "{e}");
    let missing = dir.path().join("no-such-folder").join("m.gif");
    let e = check_movie_destination(&missing, false).unwrap_err();
    assert!(matches!(e, ExportError::NoFolder { .. }), "{e}");
    assert!(e.to_string().contains("no-such-folder") && e.to_string().contains("m.gif"), "{e}");
    let e = check_movie_destination(dir.path(), true).unwrap_err();
    assert!(e.to_string().contains(".gif"), "{e}");
    std::fs::create_dir(dir.path().join("d.gif")).unwrap();
    let e = check_movie_destination(&dir.path().join("d.gif"), true).unwrap_err();
    assert!(e.to_string().contains("is a folder"), "{e}");
}

#[test]
fn the_labelled_montage_has_labels_a_caption_and_a_scale_and_is_saved_once() {
    let (frames, _) = snapshots(30);
    let last = frames.last().unwrap();
    let caption = Caption {
        dataset: "built-in faces".into(),
        k: 4,
        solver: "hals".into(),
        iteration: last.iteration,
        rel_err: last.rel_err,
    };
    let bare = MontageSpec { labels: false, ..MontageSpec::default() };
    let plain = basis_montage(last.w.view(), last.h.view(), SIZE, SIZE, &bare).unwrap();
    let labelled = basis_montage(last.w.view(), last.h.view(), SIZE, SIZE, &MontageSpec::default()).unwrap();
    assert_ne!(plain.dimensions(), labelled.dimensions());
    // The label strip under the first row holds dark text pixels.
    let strip = (6 + SIZE as u32)..(6 + SIZE as u32 + 12);
    let dark = strip.flat_map(|y| (0..labelled.width()).map(move |x| (x, y)));
    let dark = dark.filter(|&(x, y)| labelled.get_pixel(x, y).0[0] < 128).count();
    assert!(dark > 10, "{dark} dark pixels in the labels");
    let spec = MontageSpec { scale: 3, caption: Some(caption), ..MontageSpec::default() };
    let big = basis_montage(last.w.view(), last.h.view(), SIZE, SIZE, &spec).unwrap();
    assert!(big.width() >= 3 * 2 * SIZE as u32 && big.height() > 3 * labelled.height());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("basis.png");
    save_png(&path, &image::DynamicImage::ImageLuma8(big.clone()), false).unwrap();
    let back = image::open(&path).unwrap().to_luma8();
    assert_eq!(back, big);
    let e = save_png(&path, &image::DynamicImage::ImageLuma8(plain.clone()), false).unwrap_err();
    assert!(matches!(e, ExportError::Exists { .. }), "{e}");
    assert_eq!(image::open(&path).unwrap().to_luma8(), big);
    save_png(&path, &image::DynamicImage::ImageLuma8(plain.clone()), true).unwrap();
    assert_eq!(image::open(&path).unwrap().to_luma8(), plain);
    let e = save_png(&dir.path().join("basis.jpg"), &image::DynamicImage::ImageLuma8(plain), false).unwrap_err();
    assert!(e.to_string().contains("basis.jpg") && e.to_string().contains(".png"), "{e}");
}
