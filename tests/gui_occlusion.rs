//! The occlusion demo in the face inspector, driven through the GUI (no
//! display): cover part of a face with the brush and its reconstruction is
//! found from the seen pixels only, with the error inside and outside the
//! cover; a cover image of the wrong size is an error naming the file; one
//! of the right size covers its dark pixels.

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use eframe::egui::{Pos2, accesskit::Role};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use facenmf::app::FaceNmfApp;
use facenmf::dataset::builtin;
use facenmf::nmf::Params;
use facenmf::nmf::occlusion::transform_observed;

/// 40 built-in faces of 24 × 24, fitted to the end, face 3 selected.
fn fitted_with_face_3() -> Harness<'static, FaceNmfApp> {
    let mut h = common::harness(builtin::generate(40, 24, 7).dataset, Params::new(8).max_iter(60).tol(0.0).seed(1));
    h.step();
    h.get_by_label("Run").click();
    common::step_until(&mut h, "the fit to finish", common::finished);
    h.get_by_label("Face 3").click();
    h.run_ok();
    assert_eq!(h.state().selected_face(), Some(2));
    h
}

/// The error line's text.
fn error_line(h: &Harness<'_, FaceNmfApp>) -> Option<String> {
    let node = h.query_by_label_contains("pixels covered")?;
    Some(node.value().or_else(|| node.accesskit_node().label()).unwrap_or_default())
}

/// The number after `after` in `text`.
fn number_after(text: &str, after: &str) -> f64 {
    let rest = text.split(after).nth(1).unwrap_or_else(|| panic!("no '{after}' in '{text}'"));
    let number: String = rest.trim().chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    number.parse().unwrap_or_else(|_| panic!("no number after '{after}' in '{text}'"))
}

#[test]
fn dragging_on_the_face_covers_pixels_and_the_parts_fill_the_hole() {
    let mut h = fitted_with_face_3();
    assert!(error_line(&h).is_none());
    h.get_by_role_and_label(Role::CheckBox, "Cover pixels").click();
    h.run_ok();
    h.get_by_role_and_label(Role::Slider, "Brush");

    // Drag across the middle of the face.
    let rect = h.get_by_label("Inspector: face 3").rect();
    let y = rect.center().y;
    let (x0, x1) = (rect.min.x + rect.width() * 0.2, rect.min.x + rect.width() * 0.8);
    h.hover_at(Pos2::new(x0, y));
    h.run_ok();
    h.drag_at(Pos2::new(x0, y));
    h.run_ok();
    for i in 1..=6 {
        h.hover_at(Pos2::new(x0 + (x1 - x0) * i as f32 / 6.0, y));
        h.run_ok();
    }
    h.drop_at(Pos2::new(x1, y));
    h.run_ok();

    let line = error_line(&h).expect("the error line after a stroke");
    assert!(line.starts_with("error outside the cover"), "{line}");
    let n: usize = line.split("· ").last().unwrap().split(' ').next().unwrap().parse().unwrap();
    let outside = number_after(&line, "error outside the cover");
    let inside = number_after(&line, "inside the cover (filled from the parts)");
    assert!(n > 20 && n < 24 * 24 / 2, "a band across the face: {line}");
    assert!(outside > 0.0 && outside < 1.0, "{line}");
    assert!(inside > 0.0 && inside.is_finite(), "the inside error is computed: {line}");

    // What the inspector shows is W·h with h from the seen pixels only.
    let app = h.state();
    let mask = app.views.inspector.cover.mask().unwrap().clone();
    assert_eq!(mask.count, n);
    let fit = app.fit().unwrap();
    let w = fit.progress.snapshot.w.view();
    let face = app.model.faces.as_ref().unwrap().face(2).to_owned();
    let h_seen = transform_observed(w, face.view(), &mask.observed()).unwrap();
    let expected = w.dot(&h_seen);
    let shown = app.inspected_reconstruction().unwrap();
    assert_eq!(shown, expected);
    assert_ne!(shown, w.dot(&fit.weights(2)), "the cover changes the reconstruction");
    h.get_by_label("Weights of face 3 from the pixels not covered");
    h.get_by_label("filled from the parts");

    // Off: the fit's own reconstruction again, the cover kept; on: back.
    h.get_by_role_and_label(Role::CheckBox, "Cover pixels").click();
    h.run_ok();
    assert!(error_line(&h).is_none());
    assert_eq!(h.state().inspected_reconstruction().unwrap(), w_dot_fitted(&h, 2));
    h.get_by_role_and_label(Role::CheckBox, "Cover pixels").click();
    h.run_ok();
    assert_eq!(error_line(&h).as_deref(), Some(line.as_str()));

    // Clear cover: nothing covered.
    h.get_by_label("Clear cover").click();
    h.run_ok();
    assert!(error_line(&h).is_none());
    assert!(h.state().views.inspector.cover.mask().is_none());

    // The cover belongs to its face: another face drops it.
    h.hover_at(Pos2::new(x0, y));
    h.drag_at(Pos2::new(x0, y));
    h.run_ok();
    h.drop_at(Pos2::new(x0, y));
    h.run_ok();
    assert!(error_line(&h).is_some(), "a click covers one brush's worth");
    h.get_by_label("Face 5").click();
    h.run_ok();
    assert!(error_line(&h).is_none());
    assert!(h.state().views.inspector.cover.mask().is_none());
}

fn w_dot_fitted(h: &Harness<'_, FaceNmfApp>, j: usize) -> ndarray::Array1<f32> {
    let fit = h.state().fit().unwrap();
    fit.progress.snapshot.w.dot(&fit.weights(j))
}

#[test]
fn a_cover_image_of_the_wrong_size_is_an_error_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("facenmf-gui-cover-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let wrong = dir.join("wrong-size-cover.png");
    image::GrayImage::from_pixel(30, 20, image::Luma([0])).save(&wrong).unwrap();
    // The right size: the top 6 rows dark.
    let right = dir.join("top-rows.png");
    image::GrayImage::from_fn(24, 24, |_, y| image::Luma([if y < 6 { 0 } else { 255 }])).save(&right).unwrap();

    let mut h = fitted_with_face_3();
    h.get_by_role_and_label(Role::CheckBox, "Cover pixels").click();
    h.run_ok();
    h.get_by_label("Load cover image…").click();
    h.run_ok();
    h.get_by_label("Cover image file:").set_text_value_accesskit(&wrong.display().to_string());
    h.run_ok();
    h.get_by_label("Load cover").click();
    h.run_ok();
    let error = h.state().error().unwrap_or_default().to_string();
    assert!(error.contains("wrong-size-cover.png is 30×20, but the faces are 24×24"), "{error}");
    h.get_by_label_contains("wrong-size-cover.png is 30×20");
    assert!(error_line(&h).is_none());

    let missing = dir.join("no-such-cover.png");
    h.get_by_label("Cover image file:").set_text_value_accesskit(&missing.display().to_string());
    h.run_ok();
    h.get_by_label("Load cover").click();
    h.run_ok();
    let error = h.state().error().unwrap_or_default().to_string();
    assert!(error.starts_with("cannot read the cover image ") && error.contains("no-such-cover.png:"), "{error}");

    h.get_by_label("Cover image file:").set_text_value_accesskit(&right.display().to_string());
    h.run_ok();
    h.get_by_label("Load cover").click();
    h.run_ok();
    assert_eq!(h.state().error(), None);
    let line = error_line(&h).expect("the error line after loading a cover");
    assert!(line.ends_with("· 144 pixels covered"), "{line}");
    assert!(h.query_by_label("Cover image file:").is_none(), "the window closes once a cover is loaded");
    std::fs::remove_dir_all(&dir).ok();
}
