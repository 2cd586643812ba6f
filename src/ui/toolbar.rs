//! The top bar (open a folder, recent folders, built-in faces, theme) and
//! the small windows it opens (typed path, skipped files).

use eframe::egui;

use crate::model::{Action, Answer, LoadRequest, Model, Purpose, ThemeChoice, View};

const PRESENT_HELP: &str = "Presentation mode (F5): full screen, larger text, the controls hidden, for a class. \
     Space runs or stops the fit, the right arrow key steps one iteration; F5 again returns.";

/// A tab for each view.
fn view_tabs_ui(ui: &mut egui::Ui, model: &Model, out: &mut Vec<Action>) {
    for view in View::ALL {
        let selected = model.settings.view == view;
        if ui.selectable_label(selected, view.name()).on_hover_text(view.help()).clicked() {
            out.push(Action::SetView(view));
        }
    }
}

/// The top bar in presentation mode: the views, the keys, and the way out.
fn presenting_bar_ui(ui: &mut egui::Ui, model: &Model, out: &mut Vec<Action>) {
    ui.horizontal(|ui| {
        view_tabs_ui(ui, model, out);
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui.button("Exit presentation (F5)").on_hover_text(PRESENT_HELP).clicked() {
                out.push(Action::SetPresenting(false));
            }
            super::hint_ui(ui, "Space: run / stop    Right arrow: one iteration");
        });
    });
}

/// The top bar's windows: the typed-path opener and the skipped files.
#[derive(Default)]
pub struct Toolbar {
    /// The "Open folder" window with a path field: used where no native
    /// dialog is available, and always reachable from the bar.
    pub path_window_open: bool,
    pub path: String,
    /// Why the window was opened instead of the native dialog.
    pub note: Option<String>,
    pub show_skipped: bool,
    /// A status message shown whole in a window (the status line truncates).
    pub message: Option<String>,
    /// The faces' resize offer as edited: (width, height).
    resize: Option<(u32, u32)>,
    answer_seen: Option<u64>,
    /// The project window and the export window are opened from here.
    pub(super) open_project: bool,
    pub(super) open_export: bool,
    pub(super) open_picture: bool,
}

impl Toolbar {
    pub(super) fn sync(&mut self, model: &Model) {
        if let Some((n, Purpose::OpenFolder, answer)) = &model.dialog_answer
            && self.answer_seen != Some(*n)
        {
            self.answer_seen = Some(*n);
            if let Answer::Unavailable(why) = answer {
                let why = format!("{why} Type the folder's path.");
                self.open_path_window(model, Some(why));
            }
        }
        if model.resize_offer.is_none() {
            self.resize = None;
        }
    }

    fn open_path_window(&mut self, model: &Model, note: Option<String>) {
        self.path_window_open = true;
        self.note = note;
        if self.path.is_empty()
            && let Some(p) = &model.settings.last_folder
        {
            self.path = p.display().to_string();
        }
    }

    pub fn toolbar_ui(&mut self, ui: &mut egui::Ui, model: &Model, out: &mut Vec<Action>) {
        if model.settings.presenting {
            presenting_bar_ui(ui, model, out);
            return;
        }
        ui.horizontal(|ui| {
            if ui
                .button("Open folder…")
                .on_hover_text(
                    "Open a folder of grayscale face images (Ctrl+O). Sub-folders become labels, e.g. ORL's s1…s40.",
                )
                .clicked()
            {
                out.push(Action::Browse(Purpose::OpenFolder));
            }
            if ui
                .button("Type a path…")
                .on_hover_text("Open a folder by typing its path (works without a desktop file dialog).")
                .clicked()
            {
                self.open_path_window(model, None);
            }
            let recent = &model.settings.recent_folders;
            ui.add_enabled_ui(!recent.is_empty(), |ui| {
                ui.menu_button("Recent", |ui| {
                    for folder in recent {
                        if ui.button(folder.display().to_string()).clicked() {
                            out.push(Action::Load(LoadRequest::Folder(folder.clone())));
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
                .on_hover_text(
                    "Open the built-in synthetic faces: made of known parts, so you can check what NMF finds.",
                )
                .clicked()
            {
                out.push(Action::Load(LoadRequest::BuiltIn));
            }
            ui.separator();
            let has_fit = model.fit().is_some();
            if ui
                .add_enabled(has_fit, egui::Button::new("Project a face…"))
                .on_hover_text(
                    "Project an image that is not in the set onto the parts (weights with W fixed) and inspect it. \
                 Dropping one image on the window does the same.",
                )
                .on_disabled_hover_text("Run a fit first: a new face is described with its parts.")
                .clicked()
            {
                self.open_project = true;
            }
            if ui
                .add_enabled(has_fit, egui::Button::new("Export…"))
                .on_hover_text("Write the current fit to a folder: W, H, basis images, reconstructions, report.json.")
                .on_disabled_hover_text("Run a fit first.")
                .clicked()
            {
                self.open_export = true;
            }
            if ui
                .add_enabled(has_fit, egui::Button::new("Save picture…"))
                .on_hover_text(
                    "Save the window, one view or the labelled basis images as a PNG for slides, with a caption \
                 (Ctrl+Shift+S).",
                )
                .on_disabled_hover_text("Run a fit first.")
                .clicked()
            {
                self.open_picture = true;
            }
            ui.separator();
            view_tabs_ui(ui, model, out);
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui.button("Present").on_hover_text(PRESENT_HELP).clicked() {
                    out.push(Action::SetPresenting(true));
                }
                // A narrow combo box: the bar has no room for three buttons
                // or a label.
                let current = model.settings.theme;
                egui::ComboBox::from_id_salt("theme")
                    .selected_text(current.name())
                    .width(64.0)
                    .show_ui(ui, |ui| {
                        for theme in ThemeChoice::ALL {
                            if ui.selectable_label(current == theme, theme.name()).clicked() && current != theme {
                                out.push(Action::SetTheme(theme));
                                ui.ctx().set_theme(super::theme_preference(theme));
                            }
                        }
                    })
                    .response
                    .on_hover_text("Colour theme: the system's, light or dark");
            });
        });
    }

    /// Windows: the typed-path opener and the list of skipped files.
    pub fn windows_ui(&mut self, ui: &mut egui::Ui, model: &Model, out: &mut Vec<Action>) {
        let ctx = ui.ctx().clone();
        if self.path_window_open {
            let mut open = true;
            let mut typed = false;
            egui::Window::new("Open folder").open(&mut open).collapsible(false).resizable(false).show(&ctx, |ui| {
                if let Some(note) = &self.note {
                    ui.label(note.as_str());
                }
                let (enter, _) = super::path_field_ui(
                    ui,
                    "Folder path:",
                    &mut self.path,
                    "The folder of face images to open, e.g. /data/orl_faces",
                    None,
                );
                if ui.button("Open").clicked() || enter {
                    let text = self.path.trim();
                    if !text.is_empty() {
                        out.push(Action::OpenTypedFolder(std::path::PathBuf::from(text)));
                        typed = true;
                    }
                }
            });
            if !open || super::escape_pressed(&ctx) || (typed && std::path::Path::new(self.path.trim()).is_dir()) {
                self.path_window_open = false;
            }
        }
        self.resize_offer_ui(&ctx, model, out);
        if self.show_skipped {
            let mut open = true;
            let skipped = model.faces.as_ref().map_or(&[][..], |f| &f.meta.skipped[..]);
            egui::Window::new("Skipped files").open(&mut open).default_width(520.0).show(&ctx, |ui| {
                egui::ScrollArea::vertical().max_height(400.0).show_rows(ui, 18.0, skipped.len(), |ui, rows| {
                    for s in &skipped[rows] {
                        ui.label(s.to_string());
                    }
                });
            });
            self.show_skipped = open && !super::escape_pressed(&ctx);
        }
        if let Some(text) = &self.message {
            let mut open = true;
            let mut copy = false;
            egui::Window::new("Status message").open(&mut open).default_width(520.0).show(&ctx, |ui| {
                egui::ScrollArea::vertical().max_height(400.0).show(ui, |ui| {
                    ui.add(egui::Label::new(text.as_str()).wrap().selectable(true));
                });
                copy = ui.button("Copy").on_hover_text("Copy the message to the clipboard").clicked();
            });
            if copy {
                ctx.copy_text(text.clone());
            }
            if !open || super::escape_pressed(&ctx) {
                self.message = None;
            }
        }
    }

    /// Faces of several sizes, or too many for memory: offer to resize them
    /// all to one size (the most common, or the scale that fits, by
    /// default) instead of leaving the user with an error.
    fn resize_offer_ui(&mut self, ctx: &egui::Context, model: &Model, out: &mut Vec<Action>) {
        let Some(offer) = model.resize_offer.as_ref() else {
            return;
        };
        let (width, height) = self.resize.get_or_insert((offer.width, offer.height));
        let mut open = true;
        let mut accept = false;
        let title = if offer.too_large { "Too many faces for memory" } else { "Faces of different sizes" };
        egui::Window::new(title).open(&mut open).collapsible(false).default_width(480.0).show(ctx, |ui| {
            ui.label(offer.message.as_str());
            if offer.too_large {
                ui.label(
                    "The app keeps the pixel matrix and its transpose: both must fit in half of the memory \
                         available. Smaller faces fit; the size proposed is the largest that does.",
                );
            }
            ui.add_space(6.0);
            if let Some(scale) = offer.scale {
                ui.label(format!("At scale {scale} they fit: {}×{} pixels a face.", offer.width, offer.height));
            }
            ui.horizontal(|ui| {
                ui.label("Resize every face to");
                ui.add(egui::DragValue::new(width).range(1..=16384)).on_hover_text("Width in pixels");
                ui.label("×");
                ui.add(egui::DragValue::new(height).range(1..=16384)).on_hover_text("Height in pixels");
            });
            if !offer.too_large {
                ui.label(
                    "The most common size is proposed; faces of other sizes are stretched to it with a smooth \
                         filter.",
                );
            }
            accept = ui.button("Resize and open").clicked();
        });
        if accept {
            out.push(Action::LoadResized { request: offer.request.clone(), width: *width, height: *height });
        } else if !open || super::escape_pressed(ctx) {
            out.push(Action::DismissResizeOffer);
        }
    }
}
