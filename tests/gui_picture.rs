//! Save picture… driven through egui_kittest, with no display: the labelled
//! basis montage written through the window (and replaced only after
//! "Replace"), and a screenshot of the basis gallery cropped to the gallery
//! with a caption under it, at 1× and 2×.
//!
//! The harness answers the app's screenshot request as the window does (it
//! renders the frame with wgpu, here on the CPU), so the whole path is the
//! app's own: request, callback, crop to the gallery, caption, PNG. The
//! crop's geometry is checked exactly on a made-up screenshot.

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use facenmf::app::FaceNmfApp;
use facenmf::dataset::builtin;
use facenmf::nmf::Params;

/// The app on 30 built-in faces of 24×24, fitted with k = 4.
fn fitted() -> Harness<'static, FaceNmfApp> {
    let mut h = common::harness(builtin::generate(30, 24, 3).dataset, Params::new(4).max_iter(30).tol(0.0).seed(1));
    h.step();
    h.get_by_label("Run").click();
    common::step_until(&mut h, "the fit", common::finished);
    h
}

/// Opens the window, picks `what`, types `path` and presses Save.
fn save(h: &mut Harness<'_, FaceNmfApp>, what: &str, path: &std::path::Path) {
    if h.query_by_label("Picture file:").is_none() {
        h.get_by_label("Save picture…").click();
        h.run_ok();
    }
    h.get_by_label_contains(what).click();
    h.run_ok();
    h.get_by_label("Picture file:").set_text_value_accesskit(&path.display().to_string());
    h.run_ok();
    h.get_by_label("Save").click();
    h.run_ok();
}

fn saved(app: &FaceNmfApp) -> bool {
    !app.model.picture.is_busy() && app.model.picture.notice.is_some()
}

#[test]
fn the_labelled_montage_is_saved_and_replaced_only_when_confirmed() {
    let _serial = common::serial();
    let mut h = fitted();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("basis.png");
    save(&mut h, "Basis montage (labelled)", &path);
    common::step_until(&mut h, "the picture", saved);
    assert_eq!(h.state().error(), None);
    h.get_by_label_contains("Saved the picture");
    let first = image::open(&path).unwrap().to_luma8();
    // 2× by default: four 24-pixel images two by two, twice as large, with
    // labels and a caption.
    assert!(first.width() >= 2 * 2 * 24 && first.height() >= 2 * 2 * 24 + 40, "{:?}", first.dimensions());
    let expected = facenmf::export::basis_montage(
        h.state().fit().unwrap().progress.snapshot.w.view(),
        h.state().fit().unwrap().progress.snapshot.h.view(),
        24,
        24,
        &facenmf::export::MontageSpec { scale: 2, caption: h.state().model.caption(), ..Default::default() },
    )
    .unwrap();
    assert_eq!(first, expected, "the library's labelled montage of the fit shown");

    // Again, without labels: the file exists, so the user is asked first.
    h.get_by_label("Labels").click();
    h.run_ok();
    h.get_by_label("Save").click();
    h.run_ok();
    h.get_by_label_contains("already exists. Replace it?");
    assert_eq!(image::open(&path).unwrap().to_luma8(), first, "not replaced before the answer");
    h.get_by_label("Cancel").click();
    h.run_ok();
    assert!(h.query_by_label_contains("already exists").is_none());
    assert_eq!(image::open(&path).unwrap().to_luma8(), first);
    h.get_by_label("Save").click();
    h.run_ok();
    h.get_by_label("Replace").click();
    h.run_ok();
    common::step_until(&mut h, "the picture", |app| saved(app) && app.model.picture.confirm.is_none());
    let second = image::open(&path).unwrap().to_luma8();
    assert_ne!(second, first);
    assert!(second.height() < first.height(), "no label strips");

    // A name that is not .png is refused in the status line, naming it.
    let bad = dir.path().join("basis.jpg");
    h.get_by_label("Picture file:").set_text_value_accesskit(&bad.display().to_string());
    h.run_ok();
    h.get_by_label("Save").click();
    h.run_ok();
    let error = h.state().error().unwrap().to_string();
    assert!(error.contains("basis.jpg") && error.contains(".png"), "{error}");
}

#[test]
fn a_screenshot_of_the_gallery_is_cropped_and_captioned_at_1x_and_2x() {
    let _serial = common::serial();
    let mut h = fitted();
    // The shortcut opens the window.
    h.key_press_modifiers(egui::Modifiers::COMMAND | egui::Modifiers::SHIFT, egui::Key::S);
    h.run_ok();
    h.get_by_label("Picture file:");
    let dir = tempfile::tempdir().unwrap();
    let mut sizes = Vec::new();
    for (scale, name) in [(1u32, "gallery.png"), (2, "gallery2.png")] {
        if scale == 2 {
            h.get_by_label("2×").click();
            h.run_ok();
        }
        let path = dir.path().join(name);
        save(&mut h, "The basis gallery", &path);
        common::step_until(&mut h, "the screenshot", |app| app.pending_screenshot().is_none());
        common::step_until(&mut h, "the picture", saved);
        assert_eq!(h.state().error(), None);
        h.get_by_label_contains("Saved the picture");
        let img = image::open(&path).unwrap().to_rgba8();
        let gallery = h.state().views.regions.gallery.unwrap();
        let (gw, gh) = (gallery.width().round() as u32, gallery.height().round() as u32);
        assert_eq!(img.width(), gw * scale, "the gallery's width");
        assert!(img.height() > (gh + 20) * scale, "a caption strip under it: {:?}", img.dimensions());
        // The basis images: many grey levels in the picture's top part.
        let levels: std::collections::BTreeSet<u8> = (0..gh * scale)
            .flat_map(|y| (0..img.width()).map(move |x| (x, y)))
            .map(|(x, y)| img.get_pixel(x, y).0[0])
            .collect();
        assert!(levels.len() > 50, "{} grey levels: not the gallery?", levels.len());
        // The caption: dark text on white under the picture.
        let strip = (gh * scale)..img.height();
        let dark = strip.flat_map(|y| (0..img.width()).map(move |x| (x, y)));
        assert!(dark.filter(|&(x, y)| img.get_pixel(x, y).0[0] < 100).count() > 100);
        sizes.push(img.dimensions());
    }
    assert_eq!(sizes[1].0, 2 * sizes[0].0);
}

#[test]
fn a_screenshot_is_cropped_to_the_view_exactly() {
    // A made-up screenshot of a 300×200-point window at 2 pixels per point:
    // each pixel's colour says where it is.
    let (w, hh) = (600, 400);
    let pixels = (0..w * hh).map(|i| egui::Color32::from_rgb((i % w % 256) as u8, (i / w % 256) as u8, 7)).collect();
    let shot = egui::ColorImage::new([w, hh], pixels);
    let rect = egui::Rect::from_min_max(egui::pos2(10.0, 20.5), egui::pos2(110.0, 70.0));
    let img = facenmf::app::crop_screenshot(&shot, rect, 2.0);
    assert_eq!(img.dimensions(), (200, 99));
    for (x, y) in [(0, 0), (199, 98), (37, 5)] {
        let (sx, sy) = (20 + x, 41 + y);
        assert_eq!(img.get_pixel(x, y).0, [(sx % 256) as u8, (sy % 256) as u8, 7, 255], "pixel {x},{y}");
    }
    // A rectangle reaching outside the screenshot is cut to it.
    let out = egui::Rect::from_min_max(egui::pos2(250.0, 150.0), egui::pos2(400.0, 300.0));
    assert_eq!(facenmf::app::crop_screenshot(&shot, out, 2.0).dimensions(), (100, 100));
}

#[test]
fn movies_of_the_kept_snapshots_from_the_app() {
    use image::AnimationDecoder;
    let _serial = common::serial();
    let mut h = fitted();
    let kept = h.state().model.live.replay.len();
    assert!(kept >= 11, "iterations 0..=10 at least are kept: {kept}");
    let dir = tempfile::tempdir().unwrap();

    // The basis images over the kept snapshots.
    let path = dir.path().join("parts.gif");
    save(&mut h, "Movie of the basis images", &path);
    common::step_until(&mut h, "the movie", saved);
    assert_eq!(h.state().error(), None);
    h.get_by_label_contains("Saved the movie");
    let file = std::io::BufReader::new(std::fs::File::open(&path).unwrap());
    let frames = image::codecs::gif::GifDecoder::new(file).unwrap().into_frames().collect_frames().unwrap();
    assert_eq!(frames.len(), kept.max(10), "one frame per kept snapshot");
    let (w, hgt) = frames[0].buffer().dimensions();
    assert!(w.min(hgt) >= 200, "{w}×{hgt}");
    assert_ne!(frames[0].buffer(), frames[frames.len() - 1].buffer(), "the parts change over the fit");

    // The selected face beside its reconstruction.
    h.get_by_label("Face 3").click();
    h.run_ok();
    let path = dir.path().join("face3.gif");
    save(&mut h, "Movie of the selected face", &path);
    common::step_until(&mut h, "the face movie", |a| saved(a) && path.exists());
    let file = std::io::BufReader::new(std::fs::File::open(&path).unwrap());
    let frames = image::codecs::gif::GifDecoder::new(file).unwrap().into_frames().collect_frames().unwrap();
    assert_eq!(frames.len(), kept.max(10));
    let expected = facenmf::export::movie::render_movie(
        &h.state()
            .model
            .live
            .replay
            .iter()
            .map(|s| facenmf::export::MovieFrame {
                iteration: s.iteration,
                rel_err: s.progress.snapshot.rel_err,
                w: s.progress.snapshot.w.clone(),
                h: s.progress.snapshot.h.clone(),
            })
            .collect::<Vec<_>>(),
        &facenmf::export::MovieSpec {
            content: facenmf::export::MovieContent::Face {
                index: 2,
                original: std::sync::Arc::new(h.state().faces().unwrap().face(2).to_owned()),
            },
            ..facenmf::export::MovieSpec::basis(24, 24, h.state().faces().unwrap().name.clone(), "hals")
        },
    )
    .unwrap()
    .0;
    let last = frames[frames.len() - 1].buffer();
    let want = expected.last().unwrap();
    assert_eq!(last.dimensions(), want.dimensions());
    assert!(last.pixels().zip(want.pixels()).all(|(a, b)| a.0[0] == b.0[0]), "the last frame is the library's");
}
