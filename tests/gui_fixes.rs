//! Issue #14's fixes seen as a new user, driven through the GUI (no
//! display): the status bar counts iterations as the loss curve does; the
//! k slider is logarithmic and warm-starts once, on release; the rank
//! explorer says what a range sweeps, labels "explained" as uncentred and
//! keeps its table's header in place; messages go when they no longer
//! describe what is shown, long ones are cut short and can be read whole;
//! Escape closes the windows; a projected face of another shape is cropped
//! (or stretched, as chosen) and says which; counts read "1 face".

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

use eframe::egui;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use facenmf::app::{FaceNmfApp, View};
use facenmf::dataset::builtin;
use facenmf::model::Action;
use facenmf::nmf::Params;
use facenmf::project::Reshape;

fn press_escape(h: &mut Harness<'_, FaceNmfApp>) {
    h.key_press(egui::Key::Escape);
    h.run_ok();
}

fn pointer(h: &mut Harness<'_, FaceNmfApp>, pos: egui::Pos2, pressed: Option<bool>) {
    h.event(egui::Event::PointerMoved(pos));
    if let Some(pressed) = pressed {
        h.event(egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::default(),
        });
    }
    h.step();
}

fn k_slider_rect(h: &Harness<'_, FaceNmfApp>) -> egui::Rect {
    h.get_by_role_and_label(Role::Slider, "k").rect()
}

#[test]
fn the_status_bar_counts_iterations_as_the_loss_curve_does() {
    let _serial = common::serial();
    let mut h = common::fitted(Params::new(4).max_iter(20).tol(0.0).seed(3));
    h.get_by_label("iteration 20");
    // k changes: the fit goes on from a warm start for 20 more iterations.
    h.state_mut().set_k(6);
    common::step_until(&mut h, "the k = 6 fit", |a| common::finished(a) && a.fit().is_some_and(|f| f.k() == 6));
    let app = h.state();
    let curve = &app.model.live.curve;
    let own = app.fit().unwrap().progress.snapshot.iteration;
    assert_eq!(own, 20);
    let on_curve = curve.points.last().unwrap()[0];
    assert_eq!(on_curve, 40.0, "the curve counts every iteration");
    assert_eq!(curve.iterations_before() + own, 40);
    // The status bar says the curve's count, and the fit's own.
    h.get_by_label("iteration 40 (20 at k = 6)");
    assert!(h.query_by_label("iteration 20").is_none());
}

#[test]
fn the_k_slider_is_logarithmic_and_a_drag_warm_starts_once_on_release() {
    let _serial = common::serial();
    // 400 faces of 24 × 24: k from 1 to 400, as on ORL.
    let mut h = common::harness(builtin::generate(400, 24, 7).dataset, Params::new(9));
    h.step();
    h.run_ok();
    assert_eq!(h.state().model.max_k(), 400);
    // A 45 px drag from k = 9 stays within a factor of about six (it went
    // from 9 to 170 on the linear slider).
    let rect = k_slider_rect(&h);
    let r = rect.height() / 2.0;
    let x_of = |k: f64| rect.left() + r + ((k.ln() / 400f64.ln()) as f32) * (rect.width() - 2.0 * r);
    let y = rect.center().y;
    pointer(&mut h, egui::pos2(x_of(9.0), y), Some(true));
    for dx in [10.0, 20.0, 30.0, 45.0] {
        pointer(&mut h, egui::pos2(x_of(9.0) + dx, y), None);
    }
    pointer(&mut h, egui::pos2(x_of(9.0) + 45.0, y), Some(false));
    h.run_ok();
    let k = h.state().settings().params.k;
    assert!((20..=90).contains(&k), "a 45 px drag from 9 reached {k}");
    // Fine steps: −1 and +1.
    h.get_by_label("+1").click();
    h.run_ok();
    assert_eq!(h.state().settings().params.k, k + 1);
    h.get_by_label("−1").click();
    h.run_ok();
    assert_eq!(h.state().settings().params.k, k);

    // With a fit: dragging across many k warm-starts once, at the k released.
    let mut h = common::fitted(Params::new(4).max_iter(30).tol(0.0).seed(3));
    let first_fit = h.state().fit().unwrap().progress.fit_id;
    let rect = k_slider_rect(&h);
    let (y, left, width) = (rect.center().y, rect.left(), rect.width());
    pointer(&mut h, egui::pos2(left + width * 0.3, y), Some(true));
    for f in [0.4, 0.5, 0.6, 0.7, 0.8, 0.9] {
        pointer(&mut h, egui::pos2(left + width * f, y), None);
        assert_eq!(h.state().settings().params.k, 4, "k applied while dragging");
        assert!(h.state().model.live.curve.k_marks.is_empty(), "a warm start while dragging");
        assert_eq!(h.state().fit().unwrap().progress.fit_id, first_fit);
    }
    h.get_by_label_contains("on release (now 4)");
    pointer(&mut h, egui::pos2(left + width * 0.9, y), Some(false));
    h.run_ok();
    let k = h.state().settings().params.k;
    assert!(k > 10, "released at k = {k}");
    common::step_until(&mut h, "the warm-started fit", |a| common::finished(a) && a.fit().is_some_and(|f| f.k() == k));
    let marks = &h.state().model.live.curve.k_marks;
    assert_eq!(marks.len(), 1, "one warm start, at the k released: {marks:?}");
    assert_eq!(marks[0].1, k);
    assert!(h.query_by_label_contains("on release").is_none());
}

#[test]
fn the_rank_explorer_says_what_it_sweeps_and_keeps_its_header_in_place() {
    let _serial = common::serial();
    let mut h = common::harness(common::small(), Params::new(4).max_iter(40).tol(0.0).seed(3));
    h.step();
    h.get_by_label("Rank explorer").click();
    h.run_ok();
    common::set_text(&mut h, "Ranks:", "2..20");
    h.get_by_label("step").set_value_accesskit(4.0);
    h.run_ok();
    h.get_by_label("5 ranks: 2, 6, 10, …, 18 (20 is not on the step)");
    common::set_text(&mut h, "Ranks:", "1..24");
    h.get_by_label("step").set_value_accesskit(1.0);
    h.run_ok();
    h.get_by_label("iterations per k").set_value_accesskit(3.0);
    h.run_ok();
    h.get_by_label("Start").click();
    h.run_ok();
    common::step_until(&mut h, "the sweep", |a| !a.model.sweep.is_running() && a.model.sweep.points.len() == 24);
    h.get_by_label_contains("24 ranks in");
    // "explained" says it is uncentred, and its tooltip says what that is.
    h.get_by_label("explained (uncentred)");
    let header = h.get_by_label("svd_rel_err").rect();
    let first_row = h.get_by_label("Open k = 1").rect();
    // Scroll the table: the rows move under the header, which stays.
    for _ in 0..3 {
        h.event(egui::Event::PointerMoved(first_row.center()));
        h.event(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Point,
            delta: egui::vec2(0.0, -120.0),
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Wheel,
            modifiers: egui::Modifiers::default(),
        });
        h.step();
    }
    h.run_ok();
    let moved = h.query_by_label("Open k = 1").map(|n| n.rect().top());
    assert!(moved.is_none_or(|top| top < first_row.top() - 20.0), "the rows did not scroll: {moved:?}");
    let header_now = h.get_by_label("svd_rel_err").rect();
    assert_eq!(header_now, header, "the header scrolled away with the rows");
}

#[test]
fn messages_go_when_they_no_longer_describe_what_is_shown() {
    let _serial = common::serial();
    let mut h = common::fitted(Params::new(5).max_iter(30).tol(0.0).seed(3));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fit");
    common::export_through_window(&mut h, &out);
    h.get_by_label_contains("Done. Exported");
    // Escape closes the window; opened again, it does not say an old "Done".
    press_escape(&mut h);
    assert!(h.query_by_label("Export folder:").is_none(), "Escape did not close the export window");
    h.get_by_label("Export…").click();
    h.run_ok();
    h.get_by_label("Export folder:");
    assert!(h.query_by_label_contains("Done.").is_none(), "the window repeats an old outcome");
    press_escape(&mut h);
    // The status line says the export while its fit is shown...
    h.get_by_label_contains("Exported");
    // ... and not once another fit is (a warm start at another k).
    h.state_mut().set_k(3);
    common::step_until(&mut h, "the k = 3 fit", |a| a.fit().is_some_and(|f| f.k() == 3));
    h.run_ok();
    assert!(h.query_by_label_contains("Exported").is_none(), "the old export's notice stayed");

    // A sweep's summary goes with the faces it was made on.
    h.get_by_label("Rank explorer").click();
    h.run_ok();
    common::set_text(&mut h, "Ranks:", "2, 3");
    h.get_by_label("iterations per k").set_value_accesskit(3.0);
    h.run_ok();
    h.get_by_label("Start").click();
    h.run_ok();
    common::step_until(&mut h, "the sweep", |a| !a.model.sweep.is_running() && a.model.sweep.points.len() == 2);
    h.get_by_label_contains("2 ranks in");
    h.get_by_label("Built-in faces").click();
    h.run_ok();
    common::step_until(&mut h, "the built-in faces", |a| !a.is_loading() && a.faces().is_some_and(|f| f.count() != 40));
    assert!(h.query_by_label_contains("ranks in").is_none());
    assert!(h.query_by_label_contains("Open k =").is_none());
}

#[test]
fn a_long_status_message_is_cut_short_and_can_be_read_whole() {
    let _serial = common::serial();
    let mut h = common::harness(common::small(), Params::new(4));
    h.step();
    let long = format!("START of a long message: {} END", "a word that goes on and on ".repeat(30));
    h.state_mut().apply(Action::ReportError(long.clone()));
    h.run_ok();
    let node = h.get_by_label_contains("START of a long message");
    let width = 1280.0;
    assert!(node.rect().right() <= width + 1.0, "the message runs off the window: {:?}", node.rect());
    node.click();
    h.run_ok();
    // The whole message, in a window that Escape closes.
    h.get_by_label("Copy");
    assert!(h.query_all_by_label_contains("END").count() >= 1);
    press_escape(&mut h);
    assert!(h.query_by_label("Copy").is_none(), "Escape did not close the message window");
}

#[test]
fn escape_closes_every_window() {
    let _serial = common::serial();
    let mut h = common::fitted(Params::new(4).max_iter(10).tol(0.0).seed(3));
    h.get_by_label("Project a face…").click();
    h.run_ok();
    h.get_by_label("Image file:");
    press_escape(&mut h);
    assert!(h.query_by_label("Image file:").is_none());
    h.get_by_label("Type a path…").click();
    h.run_ok();
    h.get_by_label("Folder path:");
    press_escape(&mut h);
    assert!(h.query_by_label("Folder path:").is_none());
    h.get_by_label("Cover pixels").click();
    h.run_ok();
    h.get_by_label("Load cover image…").click();
    h.run_ok();
    h.get_by_label("Cover image file:");
    press_escape(&mut h);
    assert!(h.query_by_label("Cover image file:").is_none());

    // The offer to resize faces of several sizes.
    let dir = tempfile::tempdir().unwrap();
    builtin::write_folder(&builtin::generate(3, 24, 2), &dir.path().join("a")).unwrap();
    builtin::write_folder(&builtin::generate(1, 32, 3), &dir.path().join("b")).unwrap();
    common::type_path(&mut h, dir.path().to_str().unwrap());
    common::step_until(&mut h, "the offer", |a| a.model.resize_offer.is_some());
    h.get_by_label("Resize and open");
    press_escape(&mut h);
    assert!(h.query_by_label("Resize and open").is_none());
    assert!(h.state().model.resize_offer.is_none());
}

#[test]
fn a_face_of_another_shape_is_cropped_to_the_sets_shape_or_stretched() {
    let _serial = common::serial();
    let mut h = common::fitted(Params::new(6).max_iter(30).tol(0.0).seed(3));
    assert_eq!(h.state().settings().reshape, Reshape::Crop);
    // 24 × 48, twice as tall as the set's faces: black bands of 12 rows at
    // the top and bottom, white between them.
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("tall.png");
    image::GrayImage::from_fn(24, 48, |_, y| image::Luma([if (12..36).contains(&y) { 255 } else { 0 }]))
        .save(&png)
        .unwrap();
    h.get_by_label("Project a face…").click();
    h.run_ok();
    common::set_text(&mut h, "Image file:", &png.display().to_string());
    h.get_by_label("Project").click();
    h.run_ok();
    assert!(h.state().error().is_none(), "{:?}", h.state().error());
    h.get_by_label_contains("24×48 image: its centre cropped to 24×24 (the set's shape)");
    let mean = |a: &FaceNmfApp| a.model.new_face.as_ref().unwrap().loaded.face.mean().unwrap();
    // The centre is the white band: the face is white, not squashed.
    assert!(mean(h.state()) > 0.95, "cropped mean {}", mean(h.state()));

    // Stretch instead: the whole image squeezed, half of it black.
    h.get_by_label("shape").click();
    h.run_ok();
    h.get_by_label("stretch").click();
    h.run_ok();
    assert_eq!(h.state().settings().reshape, Reshape::Stretch);
    h.get_by_label_contains("24×48 image stretched to the set's 24×24");
    let m = mean(h.state());
    assert!((m - 0.5).abs() < 0.1, "stretched mean {m}");
    assert!(h.query_by_label("Inspector: reconstruction of new face").is_some());
}

#[test]
fn the_command_line_crops_projected_faces_and_counts_one_face() {
    let dir = tempfile::tempdir().unwrap();
    let faces = dir.path().join("faces");
    builtin::write_folder(&builtin::generate(12, 24, 5), &faces).unwrap();
    let png = dir.path().join("wide.png");
    image::GrayImage::from_fn(48, 24, |x, _| image::Luma([if (12..36).contains(&x) { 200 } else { 0 }]))
        .save(&png)
        .unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_facenmf")).args(args).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let (f, p) = (faces.to_str().unwrap(), png.to_str().unwrap());
    let text = run(&["fit", f, "--k", "3", "--max-iter", "5", "--project", p]);
    assert!(text.contains("centre cropped from 48×24 to 24×24, then resized to 24×24"), "{text}");
    let json = run(&["fit", f, "--k", "3", "--max-iter", "5", "--json", "--project", p, "--project-shape", "stretch"]);
    let v: serde_json::Value = serde_json::from_str(json.lines().last().unwrap()).unwrap();
    assert_eq!(v["projected"][0]["cropped_to"], serde_json::Value::Null);
    assert_eq!(v["projected"][0]["resized_from"], serde_json::json!([48, 24]));
    let json = run(&["fit", f, "--k", "3", "--max-iter", "5", "--json", "--project", p]);
    let v: serde_json::Value = serde_json::from_str(json.lines().last().unwrap()).unwrap();
    assert_eq!(v["projected"][0]["cropped_to"], serde_json::json!([24, 24]));

    // One face: "1 face", not "1 faces".
    let one = dir.path().join("one");
    builtin::write_folder(&builtin::generate(1, 24, 5), &one).unwrap();
    let text = run(&["fit", one.to_str().unwrap(), "--k", "1", "--max-iter", "3"]);
    assert!(text.contains("1 face of 24×24 pixels"), "{text}");
    assert!(!text.contains("1 faces"), "{text}");
}

#[test]
fn one_face_is_counted_as_one_face_in_the_app() {
    let _serial = common::serial();
    let mut h = common::harness(builtin::generate(1, 24, 5).dataset, Params::new(1).max_iter(3));
    h.step();
    h.run_ok();
    h.get_by_label_contains("1 face, 24×24");
    assert!(h.query_by_label_contains("1 faces").is_none());
    assert_eq!(h.state().settings().view, View::Explorer);
}
