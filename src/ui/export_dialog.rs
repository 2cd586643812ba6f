//! The Export… window: a folder (typed or chosen), confirmation before
//! writing into a folder that holds files, and a progress bar.

use eframe::egui;

use crate::model::{Action, Answer, Model, Purpose};

/// The Export… window: the folder as typed, and why it must be typed.
#[derive(Default)]
pub struct ExportDialog {
    pub window_open: bool,
    /// The destination folder as typed (or chosen).
    pub path: String,
    /// Why the native dialog is not available, when it is not.
    pub note: Option<String>,
    answer_seen: Option<u64>,
    /// An export was asked for since the window last opened: its outcome
    /// ("Done. …") is shown, an older one is not.
    asked: bool,
}

impl ExportDialog {
    /// Opens the window.
    pub fn open_window(&mut self) {
        self.window_open = true;
        self.asked = false;
        if !crate::model::dialog::portal_available() {
            self.note = Some("No native folder dialog here (no desktop portal): type the folder's path.".into());
        }
    }

    /// Takes the folder the native dialog chose.
    pub(super) fn sync(&mut self, model: &Model) {
        if let Some((n, Purpose::ExportFolder, answer)) = &model.dialog_answer
            && self.answer_seen != Some(*n)
        {
            self.answer_seen = Some(*n);
            match answer {
                Answer::Picked(dir) => self.path = dir.display().to_string(),
                Answer::Cancelled => {}
                Answer::Unavailable(why) => self.note = Some(format!("{why} Type the folder's path.")),
            }
        }
    }

    pub fn export_window_ui(&mut self, ctx: &egui::Context, model: &Model, out: &mut Vec<Action>) {
        if !self.window_open {
            return;
        }
        let mut open = true;
        let (mut export, mut browse, mut overwrite, mut cancel) = (false, false, false, false);
        let running = model.export.is_running();
        let summary = model.fit().map(|f| {
            let p = &f.progress;
            let state = if f.is_running() { "running, exported as it is now" } else { "stopped" };
            format!(
                "k = {}, {}, rel_err {:.4} ({state})",
                p.params.k,
                crate::dataset::count_of(p.snapshot.iteration, "iteration"),
                p.snapshot.rel_err
            )
        });
        egui::Window::new("Export the fit").open(&mut open).collapsible(false).resizable(false).show(ctx, |ui| {
            ui.label(summary.as_deref().unwrap_or("No fit to export."));
            super::hint_ui(
                ui,
                "Writes W and H (.npy and .csv), the basis images, the reconstructions and report.json (parameters, \
             files, history).",
            );
            if let Some(note) = &self.note {
                super::hint_ui(ui, note);
            }
            ui.add_enabled_ui(!running && model.export.confirm.is_none(), |ui| {
                (export, browse) = super::path_field_ui(
                    ui,
                    "Export folder:",
                    &mut self.path,
                    "The folder to write (created if missing).",
                    Some("Choose the folder in the system's dialog"),
                );
                export |= ui.add_enabled(summary.is_some(), egui::Button::new("Export")).clicked();
            });
            if let Some(dir) = &model.export.confirm {
                ui.separator();
                ui.colored_label(
                ui.visuals().warn_fg_color,
                format!(
                    "{} already exists and is not empty. Overwrite the export's files in it (W.npy, basis/…)? Other \
                     files are left alone.",
                    crate::dataset::display_name(dir)
                ),
            );
                ui.horizontal(|ui| {
                    overwrite = ui.button("Overwrite").clicked();
                    cancel = ui.button("Cancel").clicked();
                });
            }
            if let Some(notice) =
                model.export.notice.as_deref().filter(|_| self.asked && !running && model.export.confirm.is_none())
            {
                ui.separator();
                ui.label(format!("Done. {notice}."));
            }
            if let Some((done, total)) = model.export.progress {
                let fraction = done as f32 / total.max(1) as f32;
                ui.add(
                    egui::ProgressBar::new(fraction)
                        .text(format!("{done} of {}", crate::dataset::count_of(total, "file"))),
                );
            }
        });
        if browse && model.dialog_open().is_none() {
            out.push(Action::Browse(Purpose::ExportFolder));
        }
        if export || overwrite {
            self.asked = true;
        }
        if export {
            let text = self.path.trim();
            if text.is_empty() {
                out.push(Action::ReportError("type the folder to export to".into()));
            } else {
                out.push(Action::Export { dir: std::path::PathBuf::from(text), overwrite: false });
            }
        }
        if overwrite && let Some(dir) = &model.export.confirm {
            out.push(Action::Export { dir: dir.clone(), overwrite: true });
        }
        if cancel {
            out.push(Action::CancelExportConfirm);
        }
        if !open || super::escape_pressed(ctx) {
            self.window_open = false;
            out.push(Action::CancelExportConfirm);
        }
    }
}
