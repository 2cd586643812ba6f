//! Parts versus eigenfaces (Lee & Seung 1999, Fig. 1): PCA of the same faces
//! at the same k beside NMF. The eigenfaces are signed (a diverging colour
//! map, each scaled by its own max |value|), the NMF parts are grey; below,
//! the selected face, its PCA and NMF reconstructions and both errors.

use eframe::egui;

use egui::{Color32, Rect, Sense, TextureOptions, Vec2, pos2};

use super::SharedTextures;
use super::atlas::{Atlas, Picture, diverging, diverging_into, gray_image};
use crate::model::{Action, Model};

const HELP: &str = "Lee & Seung (1999), Fig. 1: the same faces factored two ways at the same k. PCA's eigenfaces \
     are orthogonal images with positive (red) and negative (blue) values; a face is the mean face plus a signed \
     sum of them. NMF's parts and weights are non-negative, so a face is a sum of parts. Lee & Seung normalised \
     each face first: choose preprocessing lee-seung for parts closer to theirs.";

const CAPTION: &str = "NMF's parts are additive: with only non-negative weights, a face is a sum of parts, never a \
     difference. Eigenfaces are holistic: whole faces with positive and negative values that cancel each other out.";

/// A median support90 at or below this makes the parts "local" in the
/// caption (ORL: plain NMF 24 %, at sparseness 0.75 about 3 %).
const LOCAL_SUPPORT90: f32 = 0.10;

/// How often the parts' measures are taken again while the fit runs.
const MEASURE_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// What the caption says of the parts shown: measured on the fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PartsMeasure {
    /// The fit snapshot measured (fit id, iteration).
    pub key: (u64, usize),
    /// Median share of pixels holding 90 % of a part's energy.
    pub median_support90: f32,
    /// Mean Hoyer sparseness of the parts.
    pub mean_sparseness: f32,
}

impl PartsMeasure {
    pub fn is_local(&self) -> bool {
        self.median_support90 <= LOCAL_SUPPORT90
    }

    /// The caption's sentence on these parts.
    fn sentence(&self, sparse: Option<f32>) -> String {
        let (support, s) = (self.median_support90 * 100.0, self.mean_sparseness);
        match (self.is_local(), sparse) {
            (true, Some(target)) => format!(
                "Here NMF's parts are local: held at sparseness {target:.2}, the median part draws 90 % of its \
                 energy from {support:.1} % of the pixels."
            ),
            (true, None) => format!(
                "Here NMF's parts are local: the median part draws 90 % of its energy from {support:.1} % of the \
                 pixels (sparseness {s:.2})."
            ),
            (false, Some(target)) => format!(
                "Here NMF's parts are still holistic at sparseness {target:.2}: the median part needs {support:.1} \
                 % of the pixels for 90 % of its energy. Raise the sparseness of parts (Hoyer used 0.75) to make \
                 them local."
            ),
            (false, None) => format!(
                "Here plain NMF's parts are holistic: the median part spreads 90 % of its energy over {support:.1} \
                 % of the pixels (sparseness {s:.2}); on photographs such as ORL they are ghost faces. Raise the \
                 sparseness of parts, or use the preset Local parts (Hoyer 2004), to make them local."
            ),
        }
    }
}

const EIGEN_HELP: &str = "Eigenfaces: the principal components of the faces (PCA), most variance first. Red is \
     positive, blue negative, white zero; each image is scaled to its own largest |value|.";

const PARTS_HELP: &str = "NMF's parts: the columns of W, most important first, each with its own contrast (as in \
     the explorer).";

const ERROR_NOTE: &str = "PCA's error is the lowest that the mean plus k components can reach (Eckart–Young, for \
     centred data), so it is usually below NMF's: NMF gives up some accuracy for parts that only add.";

/// Width the error column needs beside the pictures (its lines unbroken).
const ERRORS_WIDTH: f32 = 270.0;

/// How the selected face's row is laid out in `avail`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct FaceRowLayout {
    /// Size of each of the three pictures.
    image: Vec2,
    /// The error column beside the pictures (else under them).
    errors_beside: bool,
}

/// The three pictures as large as the row allows (at most 190 high),
/// with the error column beside them when that leaves each picture at
/// least 48 wide, else under them; faces of any aspect (19×19 to 320×243).
fn face_row_layout(avail: Vec2, aspect: f32, spacing: f32) -> FaceRowLayout {
    let aspect = if aspect.is_finite() && aspect > 0.0 { aspect } else { 1.0 };
    let size = |max_w: f32, max_h: f32| {
        let h = max_h.clamp(24.0, 190.0).min(max_w.max(8.0) / aspect);
        Vec2::new(h * aspect, h)
    };
    // Caption line, and the caption's spacing.
    let caption = 24.0;
    let beside_w = (avail.x - ERRORS_WIDTH - 6.0 - 4.0 * spacing) / 3.0;
    if beside_w >= 48.0 {
        return FaceRowLayout { image: size(beside_w, avail.y - caption - 20.0), errors_beside: true };
    }
    // The errors take about five lines under the pictures.
    FaceRowLayout {
        image: size((avail.x - 3.0 * spacing) / 3.0, avail.y - caption - 20.0 - 100.0),
        errors_beside: false,
    }
}

/// Least height of the selected-face row at the bottom.
const FACE_ROW_HEIGHT: f32 = 200.0;
/// Height of a grid's heading line.
const GRID_HEADER_HEIGHT: f32 = 22.0;
/// Space between tiles.
const GAP: f32 = 3.0;

/// The errors the view shows for the selected face.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceErrors {
    /// Which face (0-based).
    pub face: usize,
    /// ‖face − PCA reconstruction‖ / ‖face‖.
    pub pca: f64,
    /// ‖face − W·h‖ / ‖face‖, when there is a fit at the PCA's k.
    pub nmf: Option<f64>,
}

/// What the selected-face images show, to rebuild them only on change:
/// (faces generation, face, PCA generation, fit key at the PCA's k).
type Shown = (u64, usize, u64, Option<(u64, usize)>);

/// The eigenfaces view: the eigenfaces' atlas and the selected face three
/// ways.
pub struct Eigenfaces {
    /// The eigenfaces, each in the diverging map scaled by its max |value|.
    atlas: Atlas,
    /// Which PCA result the atlas shows.
    atlas_shown: Option<u64>,
    /// The selected face (full size, grey).
    original: Picture,
    /// Its PCA reconstruction: the mean plus k eigenfaces.
    pca_recon: Picture,
    /// Its NMF reconstruction: W times its weights.
    nmf_recon: Picture,
    shown: Option<Shown>,
    pub face_errors: Option<FaceErrors>,
    /// The parts' measures for the caption, and when they were taken.
    pub parts: Option<PartsMeasure>,
    measured_at: Option<std::time::Instant>,
}

impl Default for Eigenfaces {
    fn default() -> Self {
        Eigenfaces {
            atlas: Atlas::new("eigenfaces", TextureOptions::LINEAR),
            atlas_shown: None,
            original: Picture::new("eigen view: face"),
            pca_recon: Picture::new("eigen view: PCA reconstruction"),
            nmf_recon: Picture::new("eigen view: NMF reconstruction"),
            shown: None,
            face_errors: None,
            parts: None,
            measured_at: None,
        }
    }
}

impl Eigenfaces {
    /// Rebuilds the eigenfaces with a new PCA, and the selected face's
    /// three images and errors when the face, the PCA or the fit changed.
    pub(super) fn sync(&mut self, ctx: &egui::Context, model: &Model) {
        self.measure_parts(model);
        let (Some(faces), Some(key)) = (&model.faces, model.pca_key()) else {
            return;
        };
        let Some(result) = model.pca.result_for(&key) else {
            return;
        };
        if self.atlas_shown != Some(model.pca.generation) {
            let (c, t) = (&result.components_small, result.thumb);
            self.atlas.update(ctx, c.ncols(), [t.width, t.height], |i, out| diverging_into(c.column(i), out));
            self.atlas_shown = Some(model.pca.generation);
        }
        let Some(j) = model.selected_face else {
            return;
        };
        let fit = model.fit().filter(|f| f.k() == key.k);
        let shown = (faces.generation, j, model.pca.generation, fit.map(crate::model::FitView::key));
        if self.shown == Some(shown) {
            return;
        }
        let (width, height) = (faces.meta.width, faces.meta.height);
        let original = faces.face(j);
        // The face and its PCA reconstruction change only with the face or
        // the PCA; the NMF reconstruction with every snapshot of the fit.
        let same_face = self.shown.is_some_and(|s| (s.0, s.1, s.2) == (shown.0, shown.1, shown.2));
        let pca_err = match self.face_errors.filter(|_| same_face) {
            Some(e) => e.pca,
            None => {
                let pca_recon = result.pca.reconstruct(j);
                self.original.set(ctx, gray_image(original, width, height), TextureOptions::LINEAR);
                self.pca_recon.set(ctx, gray_image(pca_recon.view(), width, height), TextureOptions::LINEAR);
                crate::nmf::metrics::rel_err(original, pca_recon.view())
            }
        };
        let nmf = fit.map(|f| crate::nmf::reconstruct(f.progress.snapshot.w.view(), f.progress.snapshot.h.column(j)));
        let nmf_err = nmf.as_ref().map(|r| crate::nmf::metrics::rel_err(original, r.view()));
        match &nmf {
            Some(r) => self.nmf_recon.set(ctx, gray_image(r.view(), width, height), TextureOptions::LINEAR),
            None => self.nmf_recon.clear(),
        }
        self.face_errors = Some(FaceErrors { face: j, pca: pca_err, nmf: nmf_err });
        self.shown = Some(shown);
    }

    /// Takes the parts' measures again for a new snapshot: at once when the
    /// fit is new or has stopped, every [`MEASURE_EVERY`] while it runs
    /// (support90 sorts every basis image).
    fn measure_parts(&mut self, model: &Model) {
        let Some(fit) = model.fit() else {
            self.parts = None;
            return;
        };
        let key = fit.key();
        let Some(old) = self.parts.filter(|p| p.key != key) else {
            if self.parts.is_none() {
                self.take_measure(fit);
            }
            return;
        };
        let due =
            old.key.0 != key.0 || !fit.is_running() || self.measured_at.is_none_or(|t| t.elapsed() >= MEASURE_EVERY);
        if due {
            self.take_measure(fit);
        }
    }

    fn take_measure(&mut self, fit: &crate::model::FitView) {
        let w = fit.progress.snapshot.w.view();
        let k = fit.k().max(1);
        self.parts = Some(PartsMeasure {
            key: fit.key(),
            median_support90: crate::nmf::metrics::median_support90(w),
            mean_sparseness: fit.sparseness.iter().sum::<f32>() / k as f32,
        });
        self.measured_at = Some(std::time::Instant::now());
    }

    /// The caption: the general contrast, then what the parts shown are.
    fn caption(&self, model: &Model) -> String {
        match (self.parts, model.fit()) {
            (Some(p), Some(fit)) => format!("{CAPTION} {}", p.sentence(fit.progress.params.sparseness_w)),
            _ => format!("{CAPTION} Run NMF to see what its parts are on these faces."),
        }
    }

    pub fn eigenfaces_ui(&mut self, ui: &mut egui::Ui, model: &Model, shared: &SharedTextures, out: &mut Vec<Action>) {
        let k = model.eigen_k();
        super::heading_ui(ui, &format!("Parts (NMF) versus eigenfaces (PCA) at k = {k}"), HELP);
        if model.faces.is_none() {
            super::hint_ui(ui, "Open some faces to compare NMF's parts with PCA's eigenfaces.");
            return;
        }
        ui.label(self.caption(model));
        ui.add_space(2.0);
        let total = ui.available_rect_before_wrap();
        let (grids, bottom) = super::split_vertical(ui, Self::grids_height(model, total.size()));
        let mid = grids.center().x;
        let left = Rect::from_min_max(grids.min, pos2(mid, grids.max.y));
        let right = Rect::from_min_max(pos2(mid, grids.min.y), grids.max);
        super::child_ui(ui, left, "eigenfaces", |ui| self.eigenface_grid_ui(ui, model));
        super::child_ui(ui, right, "nmf parts", |ui| Self::parts_grid_ui(ui, model, shared, out));
        super::child_ui(ui, bottom, "selected face", |ui| self.selected_face_ui(ui, model, out));
    }

    /// Height of the two grids: what k tiles need at the largest size that fits
    /// half the width, leaving at least [`FACE_ROW_HEIGHT`] for the face row.
    fn grids_height(model: &Model, avail: Vec2) -> f32 {
        let max = (avail.y - FACE_ROW_HEIGHT).max(120.0);
        let Some(faces) = model.faces.as_ref() else {
            return max;
        };
        let aspect = faces.meta.width as f32 / faces.meta.height.max(1) as f32;
        // Each grid sits in half the width, inside a child's margins, under a heading.
        let (header, margins) = (GRID_HEADER_HEIGHT, 10.0);
        let k = model.eigen_k();
        let (cols, size) = super::grid_fit(k, aspect, Vec2::new(avail.x / 2.0 - margins, max - header - margins), GAP);
        let rows = k.div_ceil(cols.max(1)) as f32;
        (header + margins + rows * (size.y + GAP)).min(max)
    }

    /// The k eigenfaces, or a spinner while the PCA computes.
    fn eigenface_grid_ui(&self, ui: &mut egui::Ui, model: &Model) {
        ui.horizontal(|ui| {
            super::heading_ui(ui, "PCA: eigenfaces", EIGEN_HELP);
            Self::colour_bar_ui(ui);
        });
        let Some(key) = model.pca_key() else {
            return;
        };
        let Some(result) = model.pca.result_for(&key).filter(|_| self.atlas_shown == Some(model.pca.generation)) else {
            ui.horizontal(|ui| {
                if model.pca.is_computing() {
                    ui.spinner();
                    ui.label(format!("Computing PCA (k = {})…", key.k));
                } else {
                    super::hint_ui(ui, "PCA could not be computed (see the status line).");
                }
            });
            return;
        };
        let Some(texture) = self.atlas.texture().cloned() else {
            return;
        };
        let ratios = &result.pca.explained_variance_ratio;
        Self::atlas_grid_ui(
            ui,
            &self.atlas,
            &texture,
            |i| format!("Eigenface {}", i + 1),
            |i| {
                format!(
                    "Eigenface {}: {:.1} % of the variance\nred +, blue −, white 0 (scaled to its own max |value|)",
                    i + 1,
                    ratios.get(i).copied().unwrap_or(0.0) * 100.0
                )
            },
        );
    }

    /// Every tile of `atlas` in a grid as large as the space allows, each with
    /// its alt text and tooltip.
    fn atlas_grid_ui(
        ui: &mut egui::Ui,
        atlas: &Atlas,
        texture: &egui::TextureHandle,
        alt: impl Fn(usize) -> String,
        hover: impl Fn(usize) -> String,
    ) {
        let count = atlas.count;
        let aspect = atlas.tile[0] as f32 / atlas.tile[1] as f32;
        let (cols, size) = super::grid_fit(count, aspect, ui.available_size() - Vec2::new(0.0, 2.0), GAP);
        ui.spacing_mut().item_spacing = Vec2::splat(GAP);
        for row_start in (0..count).step_by(cols.max(1)) {
            ui.horizontal(|ui| {
                for i in row_start..(row_start + cols).min(count) {
                    super::image_ui(ui, texture, atlas.uv(i), size, || alt(i), None).on_hover_text(hover(i));
                }
            });
        }
    }

    /// A small blue–white–red legend for the eigenfaces' colours.
    fn colour_bar_ui(ui: &mut egui::Ui) {
        ui.label(egui::RichText::new("−").small());
        let (rect, response) = ui.allocate_exact_size(Vec2::new(72.0, 10.0), Sense::hover());
        let steps = 36;
        let w = rect.width() / steps as f32;
        for s in 0..steps {
            let t = (s as f32 + 0.5) / steps as f32 * 2.0 - 1.0;
            let r = Rect::from_min_size(pos2(rect.min.x + s as f32 * w, rect.min.y), Vec2::new(w + 0.5, rect.height()));
            ui.painter().rect_filled(r, 0.0, diverging(t));
        }
        ui.painter().rect_stroke(rect, 0.0, (1.0, Color32::GRAY), egui::StrokeKind::Outside);
        ui.label(egui::RichText::new("+").small());
        response.widget_info(|| {
            egui::WidgetInfo::labeled(
                egui::accesskit::Role::Image,
                true,
                "Eigenface colour scale: blue −, white 0, red +",
            )
        });
        response
            .on_hover_text("Eigenface colours: blue negative, white 0, red positive (each image to its own scale).");
    }

    /// The k NMF parts (the explorer's basis images), or an offer to run.
    fn parts_grid_ui(ui: &mut egui::Ui, model: &Model, shared: &SharedTextures, out: &mut Vec<Action>) {
        super::heading_ui(ui, "NMF: parts (columns of W)", PARTS_HELP);
        let Some(fit) = model.fit() else {
            if model.is_fitting() {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Initialising…");
                });
            } else {
                super::hint_ui(ui, "No NMF fit yet.");
                if ui.button("Run NMF").on_hover_text("Fit NMF with the current settings to see its parts.").clicked() {
                    out.push(Action::Run);
                }
            }
            return;
        };
        let importance: Vec<f32> = fit.order.iter().map(|&c| fit.importance[c]).collect();
        let Some(texture) = shared.basis.texture().cloned() else {
            return;
        };
        Self::atlas_grid_ui(
            ui,
            &shared.basis,
            &texture,
            |r| format!("Part {}", r + 1),
            |r| format!("Part {}: {:.1} % of all weight", r + 1, importance.get(r).copied().unwrap_or(0.0) * 100.0),
        );
    }

    /// The selected face three ways, with the errors of both methods.
    fn selected_face_ui(&self, ui: &mut egui::Ui, model: &Model, out: &mut Vec<Action>) {
        let Some(faces) = model.faces.as_ref() else {
            return;
        };
        let count = faces.count();
        let (fw, fh) = (faces.meta.width as f32, faces.meta.height as f32);
        let j = model.selected_face.unwrap_or(0).min(count.saturating_sub(1));
        let label = faces.label(j);
        let mut chosen = j;
        ui.horizontal(|ui| {
            ui.label(egui::RichText::new("Selected face").strong());
            if ui.add_enabled(j > 0, egui::Button::new("‹ Prev")).on_hover_text("Previous face").clicked() {
                chosen = j - 1;
            }
            let mut number = j + 1;
            let name = ui.label("number");
            ui.add(egui::DragValue::new(&mut number).range(1..=count.max(1)))
                .labelled_by(name.id)
                .on_hover_text("Which face to reconstruct (also chosen by clicking a face in the explorer).");
            chosen = if number != j + 1 { number - 1 } else { chosen };
            if ui.add_enabled(j + 1 < count, egui::Button::new("Next ›")).on_hover_text("Next face").clicked() {
                chosen = j + 1;
            }
            if !label.is_empty() {
                ui.label(egui::RichText::new(format!("({label})")).weak());
            }
        });
        if chosen != j {
            out.push(Action::SelectFace(chosen));
            ui.ctx().request_repaint();
        }
        let n = j + 1;
        let Some(key) = model.pca_key() else {
            return;
        };
        let ready = model.pca.result_for(&key).is_some() && self.face_errors.is_some_and(|e| e.face == j);
        let layout = face_row_layout(ui.available_size(), fw / fh, ui.spacing().item_spacing.x);
        let pictures = |ui: &mut egui::Ui| {
            let pictures = [
                (&self.original, format!("Original face {n}"), "original"),
                (&self.pca_recon, format!("PCA reconstruction of face {n}"), "PCA: mean + k eigenfaces"),
                (&self.nmf_recon, format!("NMF reconstruction of face {n}"), "NMF: W·h (k parts)"),
            ];
            for (picture, alt, caption) in pictures {
                super::captioned_ui(ui, picture.texture().filter(|_| ready), layout.image, &alt, caption, 0.0);
            }
        };
        if layout.errors_beside {
            ui.horizontal_top(|ui| {
                pictures(ui);
                ui.add_space(6.0);
                ui.vertical(|ui| {
                    ui.set_width(ui.available_width().max(ERRORS_WIDTH));
                    self.errors_ui(ui, model, j, ready);
                });
            });
        } else {
            ui.horizontal_top(pictures);
            self.errors_ui(ui, model, j, ready);
        }
    }

    /// Both methods' relative errors: this face's and the whole set's.
    fn errors_ui(&self, ui: &mut egui::Ui, model: &Model, j: usize, ready: bool) {
        ui.label(egui::RichText::new("Relative error").strong()).on_hover_text(
        "For a face: ||face − reconstruction|| / ||face||. For the whole set: ||A − Â||_F / ||A||_F (Frobenius norms).",
    );
        let Some(key) = model.pca_key() else {
            return;
        };
        match (model.pca.result_for(&key), self.face_errors.filter(|e| ready && e.face == j)) {
            (Some(result), Some(errors)) => {
                ui.label(format!("PCA: this face {:.4}, whole set {:.4}", errors.pca, result.set_rel_err));
                match (model.fit(), errors.nmf) {
                    (Some(fit), Some(face_err)) => {
                        let iteration = fit.progress.snapshot.iteration;
                        ui.label(format!(
                            "NMF: this face {face_err:.4}, whole set {:.4}",
                            fit.progress.snapshot.rel_err
                        ))
                        .on_hover_text(format!(
                            "After {} of the current fit.",
                            crate::dataset::count_of(iteration, "iteration")
                        ));
                    }
                    _ => {
                        super::hint_ui(ui, "NMF: no fit at this k yet.");
                    }
                }
            }
            _ => {
                super::hint_ui(ui, "Waiting for the PCA…");
            }
        }
        ui.add_space(2.0);
        ui.label(egui::RichText::new(ERROR_NOTE).small().weak());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_face_row_fits_every_face_size_with_room_for_the_errors() {
        // The central panel's bottom row at 1280×800, at 800×500, and wide.
        for avail in [Vec2::new(640.0, 220.0), Vec2::new(330.0, 200.0), Vec2::new(1400.0, 300.0)] {
            for (w, h) in [(19.0f32, 19.0f32), (64.0, 64.0), (92.0, 112.0), (320.0, 243.0), (24.0, 200.0)] {
                let l = face_row_layout(avail, w / h, 8.0);
                assert!((l.image.x / l.image.y - w / h).abs() < 1e-3, "aspect kept");
                let pictures = 3.0 * l.image.x + 2.0 * 8.0;
                let errors = if l.errors_beside { ERRORS_WIDTH + 6.0 + 8.0 } else { 0.0 };
                assert!(pictures + errors <= avail.x + 0.5, "{w}×{h} in {avail:?}: {l:?}");
                assert!(l.image.y <= 190.0 && l.image.y >= 8.0, "{w}×{h} in {avail:?}: {l:?}");
            }
        }
        // 64×64 at the default window: the errors beside, not squeezed.
        assert!(face_row_layout(Vec2::new(640.0, 220.0), 1.0, 8.0).errors_beside);
    }
}
