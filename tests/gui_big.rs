//! A large generated set in the app: only the visible rows' thumbnails
//! are built; End scrolls to the last row, "Go to face" finds a face by
//! number or file name and the inspector shows it, the label filter lists
//! one label's faces.

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use eframe::egui;
use egui_kittest::kittest::Queryable;
use facenmf::app::FaceNmfApp;
use facenmf::dataset::builtin;
use facenmf::nmf::Params;

/// Faces in the set: far more rows than the window shows.
const N: usize = 6000;

fn go_to(h: &mut egui_kittest::Harness<'_, FaceNmfApp>, text: &str) {
    h.get_by_label("Go to face").set_text_value_accesskit(text);
    h.run_ok();
    h.get_by_label("Go to face").focus();
    h.run_ok();
    h.key_press(egui::Key::Enter);
    h.run_ok();
}

/// Steps until the thumbnails of position `p` are built.
fn wait_built(h: &mut egui_kittest::Harness<'_, FaceNmfApp>, p: usize) {
    common::step_until(h, "the visible rows' thumbnails", |a| {
        a.views.explorer.built_window().is_some_and(|(s, e)| (s..e).contains(&p))
    });
}

#[test]
fn big_set_scrolls_to_the_end_goes_to_the_last_face_and_inspects_it() {
    let data = builtin::generate(N, 16, 3).dataset;
    let last_file = data.meta.files[N - 2].file_name().unwrap().to_str().unwrap().to_string();
    let mut h = common::harness(data, Params::new(6).max_iter(15).tol(0.0).seed(1));
    h.step();
    h.get_by_label("Run").click();
    common::step_until(&mut h, "the fit to finish", common::finished);
    wait_built(&mut h, 0);

    // Only the first rows are laid out, and only a window around them built.
    h.get_by_label("Face 1");
    h.get_by_label("Reconstruction of face 1");
    assert!(h.query_by_label(&format!("Face {N}")).is_none());
    let (start, end) = h.state().views.explorer.built_window().unwrap();
    assert_eq!(start, 0);
    assert!(end < N / 10, "thumbnails of {end} faces built for the first rows");

    // End: the last row is shown, and its thumbnails are built.
    h.key_press(egui::Key::End);
    h.run_ok();
    h.get_by_label(&format!("Face {N}"));
    assert!(h.query_by_label("Face 1").is_none());
    wait_built(&mut h, N - 1);
    let (start, end) = h.state().views.explorer.built_window().unwrap();
    assert_eq!(end, N);
    assert!(end - start < N / 10, "thumbnails of {} faces built for the last rows", end - start);
    h.get_by_label(&format!("Reconstruction of face {N}"));

    // Home, then "Go to face" by number: selected, scrolled to, inspected.
    h.key_press(egui::Key::Home);
    h.run_ok();
    h.get_by_label("Face 1");
    assert!(h.query_by_label(&format!("Face {N}")).is_none());
    go_to(&mut h, &N.to_string());
    h.run_ok();
    assert_eq!(h.state().selected_face(), Some(N - 1));
    h.get_by_label(&format!("Face {N}"));
    h.get_by_label(&format!("Inspector: face {N}"));
    h.get_by_label(&format!("Inspector: reconstruction of face {N}"));
    wait_built(&mut h, N - 1);

    // By file name; a number out of range is refused, naming the range.
    h.key_press(egui::Key::Home);
    h.run_ok();
    go_to(&mut h, &last_file);
    assert_eq!(h.state().selected_face(), Some(N - 2));
    h.get_by_label(&format!("Inspector: face {}", N - 1));
    go_to(&mut h, &(N + 1).to_string());
    h.get_by_label_contains(&format!("the faces are numbered 1 to {N}"));
    assert_eq!(h.state().selected_face(), Some(N - 2));

    // Page Down moves on by about a screen of rows.
    h.key_press(egui::Key::Home);
    h.run_ok();
    let first_rows = h.state().views.explorer.window();
    h.key_press(egui::Key::PageDown);
    h.run_ok();
    assert!(h.query_by_label("Face 1").is_none(), "Page Down leaves the first row");
    assert!(h.state().views.explorer.window().0 > first_rows.0 || h.state().views.explorer.window().1 > first_rows.1);
}

#[test]
fn the_label_filter_lists_one_labels_faces() {
    let data = builtin::generate(N, 16, 3).dataset;
    let label = data.meta.labels[N - 1].clone();
    let count = data.meta.labels.iter().filter(|l| **l == label).count();
    assert!(count < N);
    let mut h = common::harness(data, Params::new(4).max_iter(5).tol(0.0).seed(1));
    h.step();
    h.get_by_label("Label").click();
    h.run_ok();
    h.get_by_label(&label).click();
    h.run_ok();
    h.get_by_label(&format!("{count} shown"));
    let listed = h.state().views.explorer.listed().to_vec();
    assert_eq!(listed.len(), count);
    let faces = h.state().faces().unwrap();
    assert!(listed.iter().all(|&j| faces.label(j) == label));
    // The first face listed is the first of that label.
    h.get_by_label(&format!("Face {}", listed[0] + 1));
}
