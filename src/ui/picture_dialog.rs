//! The Save picture… window: what to picture (the window, a view, or the
//! labelled basis montage), its scale, caption and labels, the PNG file
//! (typed or chosen), and the question before replacing a file. Hidden
//! while the screenshot is taken, so it is not in the picture.

use eframe::egui;

use crate::model::{Action, Answer, Model, PictureRequest, PictureWhat, Purpose, View};

/// The Save picture… window's inputs.
pub struct PictureDialog {
    pub window_open: bool,
    /// The PNG file as typed (or chosen).
    pub path: String,
    pub what: PictureWhat,
    /// Screenshots: 1 or 2.
    pub shot_scale: u32,
    /// The montage: 1 to 8.
    pub montage_scale: u32,
    /// Movies: 1 to 8, or None for the smallest that makes 200 px frames.
    pub movie_scale: Option<u32>,
    pub caption: bool,
    pub labels: bool,
    /// Why the native dialog is not available, when it is not.
    pub note: Option<String>,
    /// The file name the window proposed (replaced by the next proposal
    /// while the user has not typed another).
    proposed: Option<String>,
    answer_seen: Option<u64>,
}

impl Default for PictureDialog {
    fn default() -> Self {
        PictureDialog {
            window_open: false,
            path: String::new(),
            what: PictureWhat::Window,
            shot_scale: 1,
            montage_scale: 2,
            movie_scale: None,
            caption: true,
            labels: true,
            note: None,
            proposed: None,
            answer_seen: None,
        }
    }
}

/// The view a picture needs on screen, if any.
fn view_for(what: PictureWhat) -> Option<View> {
    match what {
        PictureWhat::Gallery | PictureWhat::Faces => Some(View::Explorer),
        PictureWhat::Eigenfaces => Some(View::Eigenfaces),
        PictureWhat::Window | PictureWhat::Montage | PictureWhat::Movie | PictureWhat::FaceMovie => None,
    }
}

impl PictureDialog {
    /// Opens the window (Ctrl+Shift+S or the toolbar), proposing a file in
    /// the home folder the first time.
    pub fn open_window(&mut self, model: &Model) {
        self.window_open = true;
        self.propose(model);
        if !crate::model::dialog::portal_available() {
            self.note = Some("No native file dialog here (no desktop portal): type the file's path.".into());
        }
    }

    /// Proposes a file in the home folder named after the faces, k and
    /// what is pictured, unless the user typed or chose one.
    fn propose(&mut self, model: &Model) {
        if !(self.path.is_empty() || self.proposed.as_deref() == Some(self.path.as_str())) {
            return;
        }
        let Some(home) = std::env::var_os("HOME") else { return };
        let name = model.faces.as_ref().map_or("faces".to_string(), |f| file_stem(&f.name));
        let k = model.fit().map_or(model.settings.params.k, |f| f.k());
        let what = match self.what {
            PictureWhat::Window => "window",
            PictureWhat::Gallery => "gallery",
            PictureWhat::Faces => "faces",
            PictureWhat::Eigenfaces => "eigenfaces",
            PictureWhat::Montage => "montage",
            PictureWhat::Movie => "movie",
            PictureWhat::FaceMovie => "face-movie",
        };
        let ext = self.what.extension();
        let file = std::path::Path::new(&home).join(format!("facenmf-{name}-k{k}-{what}.{ext}"));
        self.path = file.display().to_string();
        self.proposed = Some(self.path.clone());
    }

    /// Takes the file the native dialog chose.
    pub(super) fn sync(&mut self, model: &Model) {
        if let Some((n, Purpose::SavePicture, answer)) = &model.dialog_answer
            && self.answer_seen != Some(*n)
        {
            self.answer_seen = Some(*n);
            match answer {
                Answer::Picked(file) => {
                    let mut file = file.clone();
                    if file.extension().is_none() {
                        file.set_extension(self.what.extension());
                    }
                    self.path = file.display().to_string();
                }
                Answer::Cancelled => {}
                Answer::Unavailable(why) => self.note = Some(format!("{why} Type the file's path.")),
            }
        }
    }

    /// The request as the window's inputs say.
    fn request(&self, path: std::path::PathBuf) -> PictureRequest {
        let scale = if self.what.is_screenshot() {
            self.shot_scale
        } else if self.what.is_movie() {
            self.movie_scale.unwrap_or(0)
        } else {
            self.montage_scale
        };
        PictureRequest { path, what: self.what, scale, caption: self.caption, labels: self.labels }
    }

    pub fn picture_window_ui(&mut self, ctx: &egui::Context, model: &Model, out: &mut Vec<Action>) {
        // Hidden while the screenshot is taken: it is not part of the picture.
        if !self.window_open || model.picture.shot.is_some() {
            return;
        }
        let mut open = true;
        let (mut save, mut browse, mut replace, mut cancel) = (false, false, false, false);
        let caption = model.caption();
        let busy = model.picture.is_busy();
        egui::Window::new("Save a picture").open(&mut open).collapsible(false).resizable(false).show(ctx, |ui| {
            ui.label(caption.as_ref().map_or_else(|| "No fit to picture yet.".to_string(), |c| c.to_string()));
            super::hint_ui(
                ui,
                "A PNG for slides: the window or one view as you see it, or the basis images drawn sharp.",
            );
            if let Some(note) = &self.note {
                super::hint_ui(ui, note);
            }
            ui.add_enabled_ui(!busy && model.picture.confirm.is_none(), |ui| {
                ui.label("Picture of:");
                for what in PictureWhat::ALL {
                    let text = match view_for(what).filter(|v| *v != model.settings.view) {
                        Some(v) => format!("{} (shows the {} view)", what.name(), v.name()),
                        None => what.name().to_string(),
                    };
                    if ui.radio_value(&mut self.what, what, text).on_hover_text(what.help()).changed() {
                        self.propose(model);
                    }
                }
                ui.horizontal(|ui| {
                    ui.label("Scale:");
                    if self.what.is_screenshot() {
                        ui.radio_value(&mut self.shot_scale, 1, "1×").on_hover_text("The window's own pixels.");
                        ui.radio_value(&mut self.shot_scale, 2, "2×").on_hover_text(
                            "Every pixel of the window doubled: sharp edges when a projector enlarges it. For finer \
                             basis images choose the labelled montage, which is drawn at any scale.",
                        );
                    } else if self.what.is_movie() {
                        let mut auto = self.movie_scale.is_none();
                        ui.checkbox(&mut auto, "at least 200 px").on_hover_text(
                            "The smallest scale whose frames are at least 200 pixels on their short side.",
                        );
                        match (auto, self.movie_scale) {
                            (true, _) => self.movie_scale = None,
                            (false, None) => self.movie_scale = Some(self.montage_scale),
                            (false, Some(_)) => {}
                        }
                        if let Some(scale) = &mut self.movie_scale {
                            ui.add(
                                egui::DragValue::new(scale).range(1..=crate::export::picture::MAX_SCALE).suffix("×"),
                            )
                            .on_hover_text("Each pixel of a face becomes a square this many pixels wide.");
                        }
                    } else {
                        ui.add(
                            egui::DragValue::new(&mut self.montage_scale)
                                .range(1..=crate::export::picture::MAX_SCALE)
                                .suffix("×"),
                        )
                        .on_hover_text("Each pixel of a basis image becomes a square this many pixels wide.");
                    }
                });
                ui.checkbox(&mut self.caption, "Caption")
                    .on_hover_text("Write the data set, k, solver, iteration and rel_err on the picture.");
                if self.what.is_movie() {
                    let kept = model.live.replay.len();
                    super::hint_ui(
                        ui,
                        &format!(
                            "{kept} snapshot{} kept for replay (log-spaced iterations); a movie has at least 10 \
                             frames.",
                            if kept == 1 { "" } else { "s" }
                        ),
                    );
                }
                if self.what == PictureWhat::Montage {
                    ui.checkbox(&mut self.labels, "Labels")
                        .on_hover_text("Write each basis image's number and share of the reconstruction under it.");
                }
                (save, browse) = super::path_field_ui(
                    ui,
                    "Picture file:",
                    &mut self.path,
                    "The file to write: a .png picture, or a .gif for a movie.",
                    Some("Choose the file in the system's dialog"),
                );
                save |= ui.add_enabled(caption.is_some(), egui::Button::new("Save")).clicked();
            });
            if let Some(request) = &model.picture.confirm {
                ui.separator();
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    format!("{} already exists. Replace it?", crate::dataset::display_name(&request.path)),
                );
                ui.horizontal(|ui| {
                    replace = ui.button("Replace").clicked();
                    cancel = ui.button("Cancel").clicked();
                });
            }
            if let Some(notice) = model.picture.notice.as_deref().filter(|_| !busy && model.picture.confirm.is_none()) {
                ui.separator();
                ui.label(format!("Done. {notice}."));
            }
            if busy {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Saving…");
                });
            }
        });
        if browse && model.dialog_open().is_none() {
            out.push(Action::Browse(Purpose::SavePicture));
        }
        let show_view = |out: &mut Vec<Action>, what: PictureWhat| {
            if let Some(v) = view_for(what).filter(|v| *v != model.settings.view) {
                out.push(Action::SetView(v));
            }
        };
        if save {
            let text = self.path.trim();
            if text.is_empty() {
                out.push(Action::ReportError("type the file to save the picture to".into()));
            } else {
                show_view(out, self.what);
                out.push(Action::SavePicture { request: self.request(text.into()), overwrite: false });
            }
        }
        if replace && let Some(request) = &model.picture.confirm {
            show_view(out, request.what);
            out.push(Action::SavePicture { request: request.clone(), overwrite: true });
        }
        if cancel {
            out.push(Action::CancelPictureConfirm);
        }
        if !open {
            self.window_open = false;
            out.push(Action::CancelPictureConfirm);
        }
    }
}

/// A data set's name as part of a file name: letters, digits, `-` and `_`.
fn file_stem(name: &str) -> String {
    let s: String = name.chars().map(|c| if c.is_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    s.trim_matches('_').to_string()
}
