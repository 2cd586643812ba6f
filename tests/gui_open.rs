//! Opening faces: the typed-path window (where no native dialog exists), a
//! bad path's error in the status line, a real folder (with a skipped file
//! listed a click away), recent folders, dropped image files, and settings
//! that survive a missing or partial stored state.

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use eframe::egui;
use egui_kittest::kittest::Queryable;
use facenmf::app::Settings;
use facenmf::dataset::builtin;
use facenmf::nmf::Params;

#[test]
fn typed_paths_and_skipped_files() {
    let mut h = common::harness(builtin::generate(20, 16, 1).dataset, Params::new(3).max_iter(5).tol(0.0));
    h.step();
    common::type_path(&mut h, "/no/such/folder");
    let err = h.state().error().unwrap_or_default().to_string();
    assert!(err.contains("is not a folder"), "{err}");
    h.get_by_label_contains("is not a folder");

    // A real folder, with one file that is not an image.
    let dir = tempfile::tempdir().unwrap();
    builtin::write_folder(&builtin::generate(12, 16, 2), dir.path()).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a face").unwrap();
    h.get_by_label("Close window").click();
    h.run_ok();
    common::type_path(&mut h, &dir.path().display().to_string());
    common::step_until(&mut h, "the folder to load", |a| !a.is_loading() && a.faces().is_some_and(|f| f.count() == 12));
    assert!(h.state().error().is_none(), "{:?}", h.state().error());
    assert_eq!(h.state().settings().recent_folders.first().map(|p| p.as_path()), Some(dir.path()));
    h.get_by_label("1 file skipped").click();
    h.run_ok();
    h.get_by_label_contains("notes.txt");
}

#[derive(Debug)]
struct Dropped(std::path::PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn dropped_image_files_open_as_one_set() {
    let dir = tempfile::tempdir().unwrap();
    builtin::write_folder(&builtin::generate(6, 16, 3), dir.path()).unwrap();
    let files: Vec<_> = walk(dir.path());
    assert_eq!(files.len(), 6);
    let mut h = common::harness(builtin::generate(20, 16, 1).dataset, Params::new(3).max_iter(5).tol(0.0));
    h.step();
    for f in files {
        h.input_mut().dropped_files.push(Arc::new(Dropped(f)));
    }
    h.step();
    common::step_until(&mut h, "the dropped files to load", |a| {
        !a.is_loading() && a.faces().is_some_and(|f| f.count() == 6)
    });
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out.sort();
    out
}

#[test]
fn settings_tolerate_partial_state() {
    let s: Settings = serde_json::from_str(r#"{"theme":"dark","params":{"k":7}}"#).unwrap();
    assert_eq!(s.params.k, 7);
    assert!(s.auto_run, "missing fields take their defaults");
    let back: Settings = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
    assert_eq!(back, s);
}

#[test]
fn ctrl_o_without_a_portal_offers_the_path_field() {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
        eprintln!("a desktop session bus is present: Ctrl+O would open the real dialog; skipped");
        return;
    }
    let mut h = common::harness(builtin::generate(20, 16, 1).dataset, Params::new(3).max_iter(5).tol(0.0));
    h.step();
    assert!(h.query_by_label("Folder path:").is_none());
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::O);
    h.run_ok();
    h.get_by_label("Folder path:");
    h.get_by_label_contains("No native file dialog");
}
