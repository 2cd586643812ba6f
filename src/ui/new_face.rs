//! A face that is not in the set, in the inspector: the image, its
//! reconstruction from the parts with W fixed, the residual, its error, its
//! weights and the strip "face ≈ w·part + …"; and the "Project a face"
//! window.

use eframe::egui;

use egui::TextureOptions;

use super::SharedTextures;
use super::atlas::{Picture, gray_image, residual_image};
use crate::model::{Action, Answer, Model, Purpose};

const HELP: &str = "An image that is not in the set, projected onto the parts: its weights are computed with W fixed \
     (non-negative least squares), so you see how well the parts learned from the set describe a new face. It is \
     projected again whenever the fit changes.";

/// Height of the weights bar chart.
const CHART_HEIGHT: f32 = 56.0;

/// The new face's pictures and the "Project a face" window.
pub struct NewFaceView {
    /// The window with the path field.
    pub window_open: bool,
    pub path: String,
    /// Why the native dialog is not available, when it is not.
    pub note: Option<String>,
    face: Picture,
    recon: Picture,
    residual: Picture,
    /// What the pictures show: (face id, projection generation).
    shown: Option<(u64, u64)>,
    /// The last dialog answer taken.
    answer_seen: Option<u64>,
}

impl Default for NewFaceView {
    fn default() -> Self {
        NewFaceView {
            window_open: false,
            path: String::new(),
            note: None,
            face: Picture::new("new face"),
            recon: Picture::new("new face reconstruction"),
            residual: Picture::new("new face residual"),
            shown: None,
            answer_seen: None,
        }
    }
}

impl NewFaceView {
    pub(super) fn sync(&mut self, ctx: &egui::Context, model: &Model) {
        if let Some((n, Purpose::ProjectImage, answer)) = &model.dialog_answer
            && self.answer_seen != Some(*n)
        {
            self.answer_seen = Some(*n);
            match answer {
                Answer::Picked(path) => {
                    self.path = path.display().to_string();
                    self.window_open = false;
                }
                Answer::Cancelled => {}
                Answer::Unavailable(why) => {
                    self.window_open = true;
                    self.note = Some(format!("{why} Type the image's path."));
                }
            }
        }
        let (Some(faces), Some(current)) = (&model.faces, &model.new_face) else {
            self.shown = None;
            return;
        };
        let key = (current.id, current.generation);
        if self.shown == Some(key) {
            return;
        }
        let (w, h) = (faces.meta.width, faces.meta.height);
        let face = current.loaded.face.view();
        if self.shown.is_none_or(|s| s.0 != key.0) {
            // A new face was projected: its window has done its work.
            self.window_open = false;
            self.face.set(ctx, gray_image(face, w, h), TextureOptions::LINEAR);
        }
        match &current.projection {
            Some(p) => {
                self.recon.set(ctx, gray_image(p.reconstruction.view(), w, h), TextureOptions::LINEAR);
                let diff = &current.loaded.face - &p.reconstruction;
                self.residual.set(ctx, residual_image(diff.view(), w, h), TextureOptions::LINEAR);
            }
            None => {
                self.recon.clear();
                self.residual.clear();
            }
        }
        self.shown = Some(key);
    }

    /// Opens the "Project a face" window.
    pub fn open_window(&mut self) {
        self.window_open = true;
        if !crate::model::dialog::portal_available() {
            self.note = Some("No native file dialog here (no desktop portal): type the image's path.".into());
        }
    }
}

/// What was done to a new face of another size ("92×150 image: its centre
/// cropped to 92×112, the set's shape, then resized to the set's 46×56").
fn reshape_note(resized_from: Option<(u32, u32)>, cropped_to: Option<(u32, u32)>, (w, h): (usize, usize)) -> String {
    match (resized_from, cropped_to) {
        (Some((ow, oh)), Some((cw, ch))) => {
            format!(
                "{ow}×{oh} image: its centre cropped to {cw}×{ch} (the set's shape), then resized to the set's {w}×{h}."
            )
        }
        (Some((ow, oh)), None) if ow as usize * h != oh as usize * w => {
            format!("{ow}×{oh} image stretched to the set's {w}×{h} (its shape not kept).")
        }
        (Some((ow, oh)), None) => format!("{ow}×{oh} image resized to the set's {w}×{h} (same shape)."),
        (None, _) => format!("{w}×{h}, not in the set: weights with W fixed (NNLS)."),
    }
}

/// The choice of how an image of another size is brought to the set's.
fn reshape_choice_ui(ui: &mut egui::Ui, name: &str, reshape: &mut crate::project::Reshape) {
    use crate::project::Reshape;
    super::controls::labelled_choice_ui(
        ui,
        name,
        reshape,
        &Reshape::ALL,
        |r| (r.name(), r.description()),
        "\n(for images of another size than the set's)",
    );
}

/// Height the new face's inspector needs in a column `width` wide.
pub fn new_face_height(model: &Model, width: f32) -> f32 {
    let Some(faces) = model.faces.as_ref() else {
        return 120.0;
    };
    let image_height = super::inspector::image_size(faces.meta.width, faces.meta.height, width - 8.0).y;
    // heading, note, images + captions, error line, bar chart, strip.
    24.0 + 18.0 + 24.0 + image_height + 20.0 + 22.0 + CHART_HEIGHT + 60.0
}

impl NewFaceView {
    /// The inspector's content when a new face is shown.
    pub fn new_face_ui(&mut self, ui: &mut egui::Ui, model: &Model, shared: &SharedTextures, out: &mut Vec<Action>) {
        let (Some(faces), Some(current)) = (model.faces.as_ref(), model.new_face.as_ref()) else {
            return;
        };
        let mut back = false;
        ui.horizontal(|ui| {
            super::heading_ui(ui, &format!("New face: {}", current.name), HELP);
            let target = model.selected_face.map_or_else(|| "the set".to_string(), |j| format!("face {}", j + 1));
            back = ui
                .button(format!("Back to {target}"))
                .on_hover_text("Inspect the set's faces again (clicking any face does too).")
                .clicked();
        });
        let (w, h) = (faces.meta.width, faces.meta.height);
        super::hint_ui(ui, &reshape_note(current.loaded.resized_from, current.loaded.cropped_to, (w, h)));
        if current.loaded.resized_from.is_some() {
            let mut reshape = model.settings.reshape;
            ui.horizontal(|ui| reshape_choice_ui(ui, "shape", &mut reshape));
            if reshape != model.settings.reshape {
                out.push(Action::SetReshape(reshape));
            }
        }
        let size = super::inspector::image_size(w, h, ui.available_width());
        ui.horizontal(|ui| {
            let pictures = [
                (&self.face, "Inspector: new face", "new face"),
                (&self.recon, "Inspector: reconstruction of new face", "reconstruction"),
                (&self.residual, "Inspector: residual of new face", "residual"),
            ];
            for (picture, alt, caption) in pictures {
                super::captioned_ui(ui, picture.texture(), size, alt, caption, 0.0);
            }
        });
        if back {
            out.push(Action::CloseNewFace);
        }
        let (Some(fit), Some(projection)) = (model.fit(), current.projection.as_ref()) else {
            super::hint_ui(ui, "Run a fit to project this face onto its parts.");
            return;
        };
        ui.label(format!("relative error of the new face: {:.3}", projection.rel_err))
            .on_hover_text("||face - W·h|| / ||face|| with h >= 0 the best weights for the current parts");
        let k = fit.k();
        if k == 0 || projection.weights.len() != k || fit.order.len() != k {
            return;
        }
        let weights = &projection.weights;

        // Bar chart of the weights, in importance order (read-only).
        let chart = super::inspector::WeightsChart {
            fit,
            weights: weights.as_slice().unwrap_or(&[]),
            fitted: None,
            selected: model.selected_part,
        };
        chart.chart_ui(ui, CHART_HEIGHT, "Weights of new face");

        // face ≈ w₁·part + w₂·part + … for the largest contributions.
        let terms = super::inspector::top_terms(fit, weights.view());
        let thumb = super::inspector::strip_thumb(w as f32, h as f32);
        super::inspector::strip_ui(ui, &shared.basis, fit, &terms, thumb, "new face", |ui, c, r| {
            ui.label(format!("{:.2}·", weights[c])).on_hover_text(format!("Weight of basis {} in the new face", r + 1));
        });
    }

    /// The "Project a face" window: a path field and a Browse… button.
    pub fn project_window_ui(&mut self, ctx: &egui::Context, model: &Model, out: &mut Vec<Action>) {
        if !self.window_open {
            return;
        }
        let mut open = true;
        let mut project = false;
        let mut browse = false;
        let mut reshape = model.settings.reshape;
        egui::Window::new("Project a face").open(&mut open).collapsible(false).resizable(false).show(ctx, |ui| {
            ui.label("An image that is not in the set: its weights are computed with the parts W fixed.");
            if let Some(note) = &self.note {
                super::hint_ui(ui, note);
            }
            (project, browse) = super::path_field_ui(
                ui,
                "Image file:",
                &mut self.path,
                "Path of an image file (PNG, PGM, JPEG, …); other sizes are brought to the set's as chosen below.",
                Some("Choose the image in the system's file dialog"),
            );
            ui.horizontal(|ui| reshape_choice_ui(ui, "other sizes", &mut reshape));
            project |= ui.button("Project").clicked();
        });
        if reshape != model.settings.reshape {
            out.push(Action::SetReshape(reshape));
        }
        if browse && model.dialog_open().is_none() {
            out.push(Action::Browse(Purpose::ProjectImage));
        }
        if project {
            let text = self.path.trim().to_string();
            if text.is_empty() {
                out.push(Action::ReportError("type the path of an image to project".into()));
            } else {
                out.push(Action::ProjectFace(std::path::PathBuf::from(text)));
            }
        }
        if !open || super::escape_pressed(ctx) {
            self.window_open = false;
        }
    }
}
