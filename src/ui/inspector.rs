//! The selected face: original, reconstruction, residual; its weights as a
//! bar chart; the strip "face ≈ w₁·part + w₂·part + …"; and editable weights
//! (drag a bar or a number, see the reconstruction change at once). With
//! "Cover pixels" on, part of the face can be painted over (or a cover
//! image loaded): its weights then come from the seen pixels only, and the
//! reconstruction fills the hole from the parts ([`super::cover`]).

use eframe::egui;

use egui::{Color32, Pos2, Rect, Sense, Stroke, TextureOptions, Vec2, WidgetInfo};
use ndarray::Array1;

use super::SharedTextures;
use super::atlas::{Picture, gray_image, residual_image};
use super::cover::{Cover, Filled};
use crate::model::{Action, FitView, Model};

const HELP: &str = "The selected face, its reconstruction from the parts (W·h) and the residual (face - \
     reconstruction). Below: how much of each part the face uses. Drag a bar or a weight to change it and watch \
     the reconstruction change. Cover pixels: paint over part of the face and watch the parts fill the hole.";

/// Terms shown in the strip.
const STRIP_TERMS: usize = 3;

/// Weights of one face changed by hand in the inspector.
#[derive(Debug, Clone, PartialEq)]
pub struct Edits {
    pub face: usize,
    /// The fit the weights were edited on: (fit id, k).
    pub fit: (u64, usize),
    pub weights: Vec<f32>,
}

/// What the inspector's pictures show: (faces generation, face, fit key,
/// edited weights, version of the cover applied).
type Shown = (u64, usize, Option<(u64, usize)>, Option<Vec<f32>>, Option<u64>);

/// The inspector: the selected face three ways, and edited weights.
pub struct Inspector {
    face: Picture,
    recon: Picture,
    residual: Picture,
    /// ‖face − reconstruction‖ / ‖face‖ of the face shown.
    rel_err: Option<f64>,
    /// Weights changed by hand (until another face, fit or k).
    pub edits: Option<Edits>,
    shown: Option<Shown>,
    /// The occlusion demo: the covered pixels and their controls.
    pub cover: Cover,
    /// The face's weights from its seen pixels, with a cover applied.
    filled: Option<Filled>,
    /// The face's reconstruction by the pinned fit, and its error.
    pinned: Picture,
    pinned_err: Option<f64>,
    /// What `pinned` shows: (faces generation, face, pinned fit's key).
    pinned_shown: Option<(u64, usize, (u64, usize))>,
}

impl Default for Inspector {
    fn default() -> Self {
        Inspector {
            face: Picture::new("face"),
            recon: Picture::new("face reconstruction"),
            residual: Picture::new("face residual"),
            rel_err: None,
            edits: None,
            shown: None,
            cover: Cover::default(),
            filled: None,
            pinned: Picture::new("pinned reconstruction"),
            pinned_err: None,
            pinned_shown: None,
        }
    }
}

impl Inspector {
    /// The weights the inspector shows for face `j`: with a cover, those
    /// found from the seen pixels; the edited ones if they belong to this
    /// face and fit; else the fitted ones.
    pub fn weights(&self, fit: &FitView, j: usize) -> Array1<f32> {
        if let Some(f) = self.filled.as_ref().filter(|f| f.face == j && f.fit == fit.key()) {
            return f.weights.clone();
        }
        match &self.edits {
            Some(e) if e.face == j && e.fit == (fit.progress.fit_id, fit.k()) => Array1::from(e.weights.clone()),
            _ => fit.weights(j),
        }
    }

    /// The selected face's reconstruction as shown: W times its weights.
    pub fn reconstruction(&self, model: &Model) -> Option<Array1<f32>> {
        let (fit, j) = (model.fit()?, model.selected_face?);
        Some(crate::nmf::reconstruct(fit.progress.snapshot.w.view(), self.weights(fit, j).view()))
    }

    /// Rebuilds the three pictures when the face, the fit, the edits or
    /// the cover changed.
    pub(super) fn sync(&mut self, ctx: &egui::Context, model: &Model) {
        self.cover.take_from(model);
        let (Some(faces), Some(j)) = (&model.faces, model.selected_face) else {
            self.shown = None;
            self.cover.forget();
            return;
        };
        self.cover.keep_for(j, faces.generation);
        self.sync_pinned(ctx, model, j);
        let fit = model.fit();
        if let (Some(e), Some(f)) = (&self.edits, fit)
            && (e.face != j || e.fit != (f.progress.fit_id, f.k()))
        {
            self.edits = None;
        }
        let applied = self.cover.applied().map(|c| c.version);
        if applied.is_some() {
            // Weights come from the seen pixels while a cover is on.
            self.edits = None;
        }
        let key = (faces.generation, j, fit.map(FitView::key), self.edits.as_ref().map(|e| e.weights.clone()), applied);
        if self.shown.as_ref() == Some(&key) {
            return;
        }
        let (width, height) = (faces.meta.width, faces.meta.height);
        let face = faces.face(j);
        if self.shown.as_ref().is_none_or(|s| (s.0, s.1, s.4) != (key.0, key.1, key.4)) {
            let mut image = gray_image(face, width, height);
            if let Some(c) = self.cover.applied() {
                super::cover::tint(&mut image, &c.covered);
            }
            self.face.set(ctx, image, TextureOptions::LINEAR);
        }
        self.filled = match (fit, self.cover.applied()) {
            (Some(fit), Some(c)) => Some(Filled::compute(fit, face, j, c)),
            _ => None,
        };
        match fit {
            Some(fit) => {
                let recon = crate::nmf::reconstruct(fit.progress.snapshot.w.view(), self.weights(fit, j).view());
                let mut image = gray_image(recon.view(), width, height);
                if let Some(c) = self.cover.applied() {
                    super::cover::outline(&mut image, &c.covered, width);
                }
                self.recon.set(ctx, image, TextureOptions::LINEAR);
                let diff = &face - &recon;
                self.residual.set(ctx, residual_image(diff.view(), width, height), TextureOptions::LINEAR);
                self.rel_err = Some(crate::nmf::metrics::rel_err(face, recon.view()));
            }
            None => {
                self.recon.clear();
                self.residual.clear();
                self.rel_err = None;
            }
        }
        self.shown = Some(key);
    }
}

impl Inspector {
    /// Rebuilds the pinned fit's reconstruction of face `j` when the face
    /// or the pinned fit changed.
    fn sync_pinned(&mut self, ctx: &egui::Context, model: &Model, j: usize) {
        let (Some(faces), Some(pinned)) = (&model.faces, model.pinned()) else {
            self.pinned.clear();
            self.pinned_err = None;
            self.pinned_shown = None;
            return;
        };
        let key = (faces.generation, j, pinned.key());
        if self.pinned_shown == Some(key) {
            return;
        }
        let snapshot = &pinned.view.progress.snapshot;
        let recon = crate::nmf::reconstruct(snapshot.w.view(), snapshot.h.column(j));
        let face = faces.face(j);
        self.pinned_err = Some(crate::nmf::metrics::rel_err(face, recon.view()));
        let image = gray_image(recon.view(), faces.meta.width, faces.meta.height);
        self.pinned.set(ctx, image, TextureOptions::LINEAR);
        self.pinned_shown = Some(key);
    }

    /// Height the inspector needs in a column `width` wide.
    pub fn height(&self, model: &Model, width: f32) -> f32 {
        let Some(faces) = model.faces.as_ref() else {
            return 120.0;
        };
        let image_height = image_size(faces.meta.width, faces.meta.height, width - 8.0).y;
        // heading, images + captions, cover controls, error line, bar
        // chart, strip.
        24.0 + image_height + 20.0 + self.cover.controls_height() + 22.0 + CHART_HEIGHT + 70.0
    }
}

/// Height of the weights bar chart.
const CHART_HEIGHT: f32 = 64.0;

/// Size of each of the three images.
pub(super) fn image_size(width: usize, height: usize, avail_width: f32) -> Vec2 {
    let (fw, fh) = (width as f32, height as f32);
    let w = ((avail_width - 16.0) / 3.0).max(20.0);
    let h = (w * fh / fw).min(150.0);
    Vec2::new(h * fw / fh, h)
}

impl Inspector {
    pub fn inspector_ui(&mut self, ui: &mut egui::Ui, model: &Model, shared: &SharedTextures, out: &mut Vec<Action>) {
        let _ = out;
        let (Some(faces), Some(j)) = (model.faces.as_ref(), model.selected_face) else {
            super::heading_ui(ui, "Face inspector", HELP);
            super::hint_ui(ui, "Click a face to inspect it.");
            return;
        };
        let label = faces.label(j).to_string();
        ui.horizontal(|ui| {
            super::heading_ui(ui, &format!("Face {} ({label})", j + 1), HELP);
            if self.edits.as_ref().is_some_and(|e| e.face == j)
                && ui.button("Reset weights").on_hover_text("Go back to the fitted weights.").clicked()
            {
                self.edits = None;
                ui.ctx().request_repaint();
            }
        });
        let (fw, fh) = (faces.meta.width as f32, faces.meta.height as f32);
        let pinned = model.pinned();
        // A fourth picture, the pinned fit's reconstruction, when one is pinned.
        let avail = if pinned.is_some() { ui.available_width() * 0.75 } else { ui.available_width() };
        let size = image_size(faces.meta.width, faces.meta.height, avail);
        let n = j + 1;
        let (recon_caption, residual_caption) = if self.cover.applied().is_some() {
            ("filled from the parts", "residual")
        } else {
            ("reconstruction", "residual")
        };
        ui.horizontal(|ui| {
            let alt = format!("Inspector: face {n}");
            let (width, height) = (faces.meta.width, faces.meta.height);
            self.cover.face_picture_ui(ui, self.face.texture(), size, &alt, (width, height), j, faces.generation);
            let pictures = [
                (&self.recon, format!("Inspector: reconstruction of face {n}"), recon_caption),
                (&self.residual, format!("Inspector: residual of face {n}"), residual_caption),
            ];
            for (picture, alt, caption) in pictures {
                super::captioned_ui(ui, picture.texture(), size, &alt, caption, 0.0);
            }
            if let Some(p) = pinned {
                let alt = format!("Inspector: pinned fit's reconstruction of face {n} ({})", p.label);
                let caption = format!("pinned, k = {}", p.view.k());
                super::captioned_ui(ui, self.pinned.texture(), size, &alt, &caption, 0.0);
            }
        });
        self.cover.controls_ui(ui, (faces.meta.width, faces.meta.height));
        let Some(fit) = model.fit() else {
            super::hint_ui(ui, "Run a fit to see this face's parts.");
            return;
        };
        let k = fit.k();
        let fitted = fit.weights(j);
        let mut weights: Vec<f32> = self.weights(fit, j).to_vec();
        let before = weights.clone();
        let covered = match &self.filled {
            Some(filled) => {
                filled.error_line_ui(ui);
                true
            }
            None => {
                match (self.rel_err, self.pinned_err.filter(|_| pinned.is_some())) {
                    (Some(err), Some(p)) => {
                        ui.label(format!("relative error of this face: {err:.3} (pinned fit: {p:.3})"));
                    }
                    (Some(err), None) => {
                        ui.label(format!("relative error of this face: {err:.3}"));
                    }
                    _ => {}
                }
                false
            }
        };

        // Bar chart of the weights, in importance order; drag a bar to edit
        // it (not while a cover is on: the weights are then the seen
        // pixels' own).
        let alt = if covered {
            format!("Weights of face {n} from the pixels not covered")
        } else {
            format!("Weights of face {n} (drag a bar to edit)")
        };
        let chart = WeightsChart {
            fit,
            weights: &weights,
            fitted: (!covered).then(|| fitted.as_slice().unwrap_or(&[])),
            selected: model.selected_part,
        };
        if let Some((c, v)) = chart.chart_ui(ui, CHART_HEIGHT, &alt) {
            weights[c] = v;
        }
        let max = chart_max(&weights, fitted.as_slice().unwrap_or(&[]));

        // face ≈ w₁·part + w₂·part + … for the largest contributions.
        let shown = Array1::from(weights.clone());
        let terms = top_terms(fit, if covered { shown.view() } else { fitted.view() });
        let thumb = strip_thumb(fw, fh);
        strip_ui(ui, &shared.basis, fit, &terms, thumb, &format!("face {n}"), |ui, c, r| {
            if covered {
                ui.label(format!("{:.2}·", weights[c])).on_hover_text(format!(
                    "Weight of basis {} found from the pixels not covered (clear the cover or turn it off to edit \
                     the weights)",
                    r + 1
                ));
                return;
            }
            ui.vertical(|ui| {
                let label = ui.label(egui::RichText::new(format!("w{}", r + 1)).small());
                ui.add(egui::DragValue::new(&mut weights[c]).speed(max / 200.0).range(0.0..=f32::MAX).max_decimals(2))
                    .labelled_by(label.id)
                    .on_hover_text(format!("Weight of basis {} in this face: drag to change it", r + 1));
            });
        });
        if weights != before && !covered {
            self.edits = Some(Edits { face: j, fit: (fit.progress.fit_id, k), weights });
            ui.ctx().request_repaint();
        }
    }
}

/// A bar chart of one face's weights, in importance order.
pub(super) struct WeightsChart<'a> {
    pub fit: &'a FitView,
    /// The weights shown (k).
    pub weights: &'a [f32],
    /// The fitted weights, when `weights` can be edited: changed bars show
    /// the fitted value as a red mark, and dragging a bar edits it.
    pub fitted: Option<&'a [f32]>,
    /// The part to highlight.
    pub selected: Option<usize>,
}

/// The top of the chart's scale: a little above the largest weight.
fn chart_max(weights: &[f32], fitted: &[f32]) -> f32 {
    fitted.iter().chain(weights.iter()).fold(1e-6f32, |m, &v| m.max(v)) * 1.15
}

impl WeightsChart<'_> {
    /// Draws the chart; returns (component, new weight) when a bar was
    /// dragged (only with `fitted`).
    pub(super) fn chart_ui(&self, ui: &mut egui::Ui, height: f32, alt: &str) -> Option<(usize, f32)> {
        let (fit, weights) = (self.fit, self.weights);
        let k = fit.k().min(weights.len()).min(fit.order.len());
        if k == 0 {
            return None;
        }
        let max = chart_max(weights, self.fitted.unwrap_or(&[]));
        let sense = if self.fitted.is_some() { Sense::click_and_drag() } else { Sense::hover() };
        let (rect, response) = ui.allocate_exact_size(Vec2::new(ui.available_width(), height), sense);
        response.widget_info(|| WidgetInfo::labeled(egui::accesskit::Role::Image, true, alt));
        let bar_w = rect.width() / k as f32;
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 2.0, ui.visuals().extreme_bg_color);
        let accent = super::accent(ui);
        let y = |v: f32| rect.max.y - (v / max).clamp(0.0, 1.0) * rect.height();
        for (r, &c) in fit.order.iter().take(k).enumerate() {
            let x0 = rect.min.x + r as f32 * bar_w;
            let color = if self.selected == Some(c) { accent } else { ui.visuals().widgets.inactive.fg_stroke.color };
            let bar =
                Rect::from_min_max(Pos2::new(x0 + bar_w * 0.1, y(weights[c])), Pos2::new(x0 + bar_w * 0.9, rect.max.y));
            painter.rect_filled(bar, 0.0, color);
            if let Some(fitted) = self.fitted
                && (weights[c] - fitted[c]).abs() > f32::EPSILON
            {
                let ft = y(fitted[c]);
                painter.line_segment([Pos2::new(x0, ft), Pos2::new(x0 + bar_w, ft)], Stroke::new(1.0, Color32::RED));
            }
        }
        let bar_at = |p: Pos2| (((p.x - rect.min.x) / bar_w).floor().max(0.0) as usize).min(k - 1);
        if let Some(p) = response.hover_pos() {
            let r = bar_at(p);
            let c = fit.order[r];
            let text = match self.fitted {
                Some(f) => format!(
                    "Basis {}: weight {:.3} (fitted {:.3})\ndrag up or down to change it",
                    r + 1,
                    weights[c],
                    f[c]
                ),
                None => format!("Basis {}: weight {:.3}", r + 1, weights[c]),
            };
            response.clone().on_hover_text_at_pointer(text);
        }
        if self.fitted.is_some()
            && (response.dragged() || response.clicked())
            && let Some(p) = response.interact_pointer_pos()
        {
            let c = fit.order[bar_at(p)];
            return Some((c, ((rect.max.y - p.y) / rect.height() * max).max(0.0)));
        }
        None
    }
}

/// A basis image's size in the strip: within a 34 × 34 box, so that the
/// strip's terms fit the column whatever the faces' aspect (19×19 to
/// 320×243).
pub(super) fn strip_thumb(width: f32, height: f32) -> Vec2 {
    let (w, h) = (width.max(1.0), height.max(1.0));
    if w > h { Vec2::new(34.0, 34.0 * h / w) } else { Vec2::new(34.0 * w / h, 34.0) }
}

/// The components with the largest contributions to a face with these
/// weights (weight × the part's total intensity), largest first.
pub(super) fn top_terms(fit: &FitView, weights: ndarray::ArrayView1<f32>) -> Vec<usize> {
    let k = fit.k().min(weights.len()).min(fit.w_sums.len());
    let mut terms: Vec<usize> = (0..k).collect();
    let mass: Vec<f32> = (0..k).map(|c| weights[c] * fit.w_sums[c]).collect();
    terms.sort_by(|&a, &b| mass[b].total_cmp(&mass[a]).then(a.cmp(&b)));
    terms.truncate(STRIP_TERMS.min(k));
    terms
}

/// The strip "face ≈ w·part + w·part + …" for `terms`; `weight_ui` draws
/// the weight of component c (basis image r).
pub(super) fn strip_ui(
    ui: &mut egui::Ui,
    basis: &super::atlas::Atlas,
    fit: &FitView,
    terms: &[usize],
    thumb: Vec2,
    face: &str,
    mut weight_ui: impl FnMut(&mut egui::Ui, usize, usize),
) {
    let texture = basis.texture().cloned();
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        ui.label("face ≈");
        for (i, &c) in terms.iter().enumerate() {
            let r = fit.rank[c];
            weight_ui(ui, c, r);
            if let Some(t) = &texture {
                super::image_ui(ui, t, basis.uv(r), thumb, || format!("Basis {} in {face}", r + 1), None)
                    .on_hover_text(format!("Basis {}", r + 1));
            }
            if i + 1 < terms.len() {
                ui.label("+");
            }
        }
        if fit.k() > terms.len() {
            ui.label("+ …");
        }
    });
}
