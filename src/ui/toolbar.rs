//! The top bar (open a folder, recent folders, built-in faces, theme) and
//! the small windows it opens (typed path, skipped files).

use eframe::egui;

use crate::app::{FaceNmfApp, LoadRequest, ThemeChoice, View};

pub fn toolbar_ui(app: &mut FaceNmfApp, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        if ui
            .button("Open folder…")
            .on_hover_text(
                "Open a folder of grayscale face images (Ctrl+O). Sub-folders become labels, e.g. ORL's s1…s40.",
            )
            .clicked()
        {
            app.open_folder_dialog();
        }
        if ui
            .button("Type a path…")
            .on_hover_text("Open a folder by typing its path (works without a desktop file dialog).")
            .clicked()
        {
            app.open_path_window(None);
        }
        let recent = app.settings.recent_folders.clone();
        ui.add_enabled_ui(!recent.is_empty(), |ui| {
            ui.menu_button("Recent", |ui| {
                for folder in recent {
                    if ui.button(folder.display().to_string()).clicked() {
                        app.load(LoadRequest::Folder(folder));
                        ui.close();
                    }
                }
            })
            .response
            .on_hover_text("Folders opened before.")
            .on_disabled_hover_text("No folder opened yet.");
        });
        if ui
            .button("Built-in faces")
            .on_hover_text("Open the built-in synthetic faces: made of known parts, so you can check what NMF finds.")
            .clicked()
        {
            app.load(LoadRequest::BuiltIn);
        }
        ui.separator();
        let has_fit = app.fit().is_some();
        if ui
            .add_enabled(has_fit, egui::Button::new("Project a face…"))
            .on_hover_text(
                "Project an image that is not in the set onto the parts (weights with W fixed) and inspect it. \
                 Dropping one image on the window does the same.",
            )
            .on_disabled_hover_text("Run a fit first: a new face is described with its parts.")
            .clicked()
        {
            app.open_project_window();
        }
        if ui
            .add_enabled(has_fit, egui::Button::new("Export…"))
            .on_hover_text("Write the current fit to a folder: W, H, basis images, reconstructions, report.json.")
            .on_disabled_hover_text("Run a fit first.")
            .clicked()
        {
            app.open_export_window();
        }
        ui.separator();
        for view in View::ALL {
            let selected = app.settings.view == view;
            if ui.selectable_label(selected, view.name()).on_hover_text(view.help()).clicked() {
                app.settings.view = view;
            }
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            for theme in ThemeChoice::ALL.into_iter().rev() {
                let selected = app.settings.theme == theme;
                if ui.selectable_label(selected, theme.name()).on_hover_text("Colour theme").clicked() {
                    app.settings.theme = theme;
                    ui.ctx().set_theme(theme.preference());
                }
            }
            ui.label("Theme:");
        });
    });
}

/// Windows: the typed-path opener and the list of skipped files.
pub fn windows_ui(app: &mut FaceNmfApp, ui: &mut egui::Ui) {
    let ctx = ui.ctx().clone();
    if app.open_dialog.open {
        let mut open = true;
        egui::Window::new("Open folder").open(&mut open).collapsible(false).resizable(false).show(&ctx, |ui| {
            if let Some(note) = &app.open_dialog.note {
                ui.label(note.as_str());
            }
            let label = ui.label("Folder path:");
            let edit = ui
                .add(egui::TextEdit::singleline(&mut app.open_dialog.path).desired_width(360.0))
                .labelled_by(label.id)
                .on_hover_text("The folder of face images to open, e.g. /data/orl_faces");
            let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui.button("Open").clicked() || enter {
                app.open_typed_path();
            }
        });
        if !open {
            app.open_dialog.open = false;
        }
    }
    resize_offer_ui(app, &ctx);
    if app.show_skipped {
        let mut open = true;
        let skipped: Vec<String> =
            app.faces().map(|f| f.dataset.skipped.iter().map(ToString::to_string).collect()).unwrap_or_default();
        egui::Window::new("Skipped files").open(&mut open).default_width(520.0).show(&ctx, |ui| {
            egui::ScrollArea::vertical().max_height(400.0).show(ui, |ui| {
                for s in &skipped {
                    ui.label(s.as_str());
                }
            });
        });
        app.show_skipped = open;
    }
}

/// Faces of several sizes: offer to resize them all to one size (the most
/// common by default) instead of leaving the user with an error.
fn resize_offer_ui(app: &mut FaceNmfApp, ctx: &egui::Context) {
    let Some(offer) = app.resize_offer.as_mut() else {
        return;
    };
    let mut open = true;
    let mut accept = false;
    egui::Window::new("Faces of different sizes").open(&mut open).collapsible(false).default_width(480.0).show(
        ctx,
        |ui| {
            ui.label(offer.message.as_str());
            ui.add_space(6.0);
            ui.horizontal(|ui| {
                ui.label("Resize every face to");
                ui.add(egui::DragValue::new(&mut offer.width).range(1..=16384)).on_hover_text("Width in pixels");
                ui.label("×");
                ui.add(egui::DragValue::new(&mut offer.height).range(1..=16384)).on_hover_text("Height in pixels");
            });
            ui.label(
                "The most common size is proposed; faces of other sizes are stretched to it with a smooth filter.",
            );
            accept = ui.button("Resize and open").clicked();
        },
    );
    if accept {
        let (request, size) = (offer.request.clone(), (offer.width, offer.height));
        app.load_with(request, Some(size));
    } else if !open {
        app.resize_offer = None;
    }
}
