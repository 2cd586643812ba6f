//! The Export… window: a folder (typed or chosen), confirmation before
//! writing into a folder that holds files, and a progress bar.

use eframe::egui;

use crate::app::FaceNmfApp;

pub fn export_window_ui(app: &mut FaceNmfApp, ctx: &egui::Context) {
    if !app.export.window_open {
        return;
    }
    let mut open = true;
    let (mut export, mut browse, mut overwrite, mut cancel) = (false, false, false, false);
    let running = app.export.is_running();
    let summary = app.fit.as_ref().map(|f| {
        let p = &f.progress;
        let state = if f.is_running() { "running, exported as it is now" } else { "stopped" };
        format!("k = {}, {} iterations, rel_err {:.4} ({state})", p.params.k, p.snapshot.iteration, p.snapshot.rel_err)
    });
    egui::Window::new("Export the fit").open(&mut open).collapsible(false).resizable(false).show(ctx, |ui| {
        ui.label(summary.as_deref().unwrap_or("No fit to export."));
        super::hint_ui(
            ui,
            "Writes W and H (.npy and .csv), the basis images, the reconstructions and report.json (parameters, \
             files, history).",
        );
        if let Some(note) = &app.export.note {
            super::hint_ui(ui, note);
        }
        ui.add_enabled_ui(!running && app.export.confirm.is_none(), |ui| {
            ui.horizontal(|ui| {
                let label = ui.label("Export folder:");
                let edit = ui
                    .add(egui::TextEdit::singleline(&mut app.export.path).desired_width(320.0))
                    .labelled_by(label.id)
                    .on_hover_text("The folder to write (created if missing).");
                export = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                browse = ui.button("Browse…").on_hover_text("Choose the folder in the system's dialog").clicked();
            });
            export |= ui.add_enabled(summary.is_some(), egui::Button::new("Export")).clicked();
        });
        if let Some(dir) = &app.export.confirm {
            ui.separator();
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!(
                    "{} already exists and is not empty. Overwrite the export's files in it (W.npy, basis/…)? Other \
                     files are left alone.",
                    dir.display()
                ),
            );
            ui.horizontal(|ui| {
                overwrite = ui.button("Overwrite").clicked();
                cancel = ui.button("Cancel").clicked();
            });
        }
        if let Some(notice) = app.export.notice.as_deref().filter(|_| !running && app.export.confirm.is_none()) {
            ui.separator();
            ui.label(format!("Done. {notice}."));
        }
        if let Some((done, total)) = app.export.progress {
            let fraction = done as f32 / total.max(1) as f32;
            ui.add(egui::ProgressBar::new(fraction).text(format!("{done} of {total} files")));
        }
    });
    if browse {
        app.browse_export_folder();
    }
    if export {
        app.request_export();
    }
    if overwrite {
        app.confirm_overwrite();
    }
    if cancel {
        app.export.confirm = None;
    }
    if !open {
        app.export.window_open = false;
        app.export.confirm = None;
    }
}
