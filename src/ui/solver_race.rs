//! SKELETON: to be replaced by the view.

use eframe::egui;

use crate::app::FaceNmfApp;

pub fn solver_race_ui(_app: &mut FaceNmfApp, ui: &mut egui::Ui) {
    super::hint_ui(ui, "not built yet");
}
