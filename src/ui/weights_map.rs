//! All of H as a heat map: one row per part (most important on top), one
//! column per face, faces grouped by label. Hover shows the value; click
//! selects the face and the part.

use std::sync::Arc;

use eframe::egui;

use egui::{Color32, ColorImage, Pos2, Sense, Stroke, TextureOptions, Vec2, WidgetInfo};
use ndarray::Array2;

use super::atlas::{Picture, viridis};
use crate::jobs::{Job, Wake};
use crate::model::{Action, Model};

const HELP: &str = "H, the weights: one row per part (most important on top), one column per face (grouped by \
     label). Bright = the face uses much of that part (each row scaled to its own maximum). Faces of the same \
     person use similar parts. With more faces than pixels, each column is the mean of the faces under it; \
     hover shows the face under the pointer.";

/// What the map shows: (faces generation, fit key, columns).
type Shown = (u64, (u64, usize), usize);

/// The heat map of H and the snapshot it shows.
pub struct WeightsMap {
    picture: Picture,
    shown: Option<Shown>,
    /// The build in flight and what it will show.
    job: Option<(Shown, Job<(), ColorImage>)>,
    wake: Option<Wake>,
    /// The map's width in pixels when last drawn.
    width_px: usize,
}

impl Default for WeightsMap {
    fn default() -> Self {
        WeightsMap { picture: Picture::new("weights"), shown: None, job: None, wake: None, width_px: 380 }
    }
}

/// The map's image: rows = components by importance, columns = the faces
/// (by label) in `bins` equal runs, each the mean of its faces' weights,
/// each row scaled to its own maximum.
fn binned(h: &Array2<f32>, order: &[usize], by_label: &[usize], bins: usize) -> ColorImage {
    let (k, n) = (order.len(), by_label.len());
    let bins = bins.clamp(1, n.max(1));
    let mut pixels = Vec::with_capacity(k * bins);
    let mut sums = vec![0.0f32; bins];
    for &c in order {
        let row = h.row(c);
        let max = row.iter().fold(0.0f32, |m, &v| m.max(v));
        let scale = if max > 0.0 { 1.0 / max } else { 0.0 };
        for (b, s) in sums.iter_mut().enumerate() {
            let (lo, hi) = (b * n / bins, ((b + 1) * n / bins).max(b * n / bins + 1).min(n));
            let total: f32 = by_label[lo..hi].iter().map(|&j| row[j]).sum();
            *s = total / (hi - lo).max(1) as f32;
        }
        pixels.extend(sums.iter().map(|&v| viridis(v * scale)));
    }
    ColorImage::new([bins, k], pixels)
}

impl WeightsMap {
    /// Takes a finished map in, and starts the next (off the UI thread)
    /// for a new snapshot or width: one column per pixel at most.
    pub(super) fn sync(&mut self, ctx: &egui::Context, model: &Model) {
        let (Some(faces), Some(fit)) = (&model.faces, model.fit()) else {
            self.picture.clear();
            self.shown = None;
            self.job = None;
            return;
        };
        if let Some((key, job)) = &mut self.job
            && let Some(result) = job.poll()
        {
            let key = *key;
            self.job = None;
            match result {
                Ok(image) if key.0 == faces.generation => {
                    self.picture.set(ctx, image, TextureOptions::NEAREST);
                    self.shown = Some(key);
                }
                Ok(_) => {}
                Err(e) => log::warn!("building the weights map failed: {e}"),
            }
        }
        let bins = self.width_px.clamp(1, faces.by_label.len().max(1));
        let key = (faces.generation, fit.key(), bins);
        if self.shown == Some(key) || self.job.is_some() {
            return;
        }
        let h = Arc::clone(&fit.progress.snapshot.h);
        let order = fit.order.clone();
        let by_label = Arc::clone(&faces.by_label);
        let wake = super::built_wake(&mut self.wake, ctx);
        match Job::spawn("weights map", wake, None, move |_| binned(&h, &order, &by_label, bins)) {
            Ok(job) => self.job = Some((key, job)),
            Err(e) => {
                log::warn!("could not build the weights map: {e}");
                self.shown = Some(key);
            }
        }
    }

    /// True when the map shows the fit shown (nothing being built).
    pub fn is_settled(&self, model: &Model) -> bool {
        match (&model.faces, model.fit()) {
            (Some(faces), Some(fit)) => {
                self.job.is_none() && self.shown.is_some_and(|s| (s.0, s.1) == (faces.generation, fit.key()))
            }
            _ => true,
        }
    }

    pub fn weights_map_ui(&mut self, ui: &mut egui::Ui, model: &Model, out: &mut Vec<Action>) {
        super::heading_ui(ui, "Weights H (parts × faces)", HELP);
        let (Some(faces), Some(fit)) = (model.faces.as_ref(), model.fit()) else {
            return;
        };
        let Some(texture) = self.picture.texture() else {
            return;
        };
        let size = ui.available_size() - Vec2::new(0.0, 2.0);
        if size.x < 10.0 || size.y < 10.0 {
            return;
        }
        let (rect, response) = ui.allocate_exact_size(size, Sense::click());
        let width_px = (rect.width() * ui.ctx().pixels_per_point()).round().max(1.0) as usize;
        if width_px != self.width_px {
            self.width_px = width_px;
            ui.ctx().request_repaint();
        }
        response.widget_info(|| WidgetInfo::labeled(egui::accesskit::Role::Image, true, "Weights map"));
        let painter = ui.painter_at(rect);
        painter.image(texture.id(), rect, super::full_uv(), Color32::WHITE);
        let (k, n) = (fit.k(), faces.by_label.len());
        // Separators between label groups, when there is room.
        if faces.groups.len() > 1 && (rect.width() / faces.groups.len() as f32) > 3.0 {
            let stroke = Stroke::new(1.0, ui.visuals().panel_fill.gamma_multiply(0.6));
            for &(pos, _) in faces.groups.iter().skip(1) {
                let x = rect.min.x + pos as f32 / n as f32 * rect.width();
                painter.line_segment([Pos2::new(x, rect.min.y), Pos2::new(x, rect.max.y)], stroke);
            }
        }
        let cell = |p: Pos2| {
            let col = (((p.x - rect.min.x) / rect.width() * n as f32) as usize).min(n - 1);
            let row = (((p.y - rect.min.y) / rect.height() * k as f32) as usize).min(k - 1);
            (row, faces.by_label[col])
        };
        if let Some(p) = response.hover_pos() {
            let (r, j) = cell(p);
            let c = fit.order[r];
            let label = faces.label(j);
            response.clone().on_hover_text_at_pointer(format!(
                "Face {} ({label}), basis {}: weight {:.4}\nclick to select both",
                j + 1,
                r + 1,
                fit.progress.snapshot.h[[c, j]]
            ));
        }
        if response.clicked()
            && let Some(p) = response.interact_pointer_pos()
        {
            let (r, j) = cell(p);
            out.push(Action::SelectPart(Some(fit.order[r])));
            out.push(Action::SelectFace(j));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_the_means_of_their_faces() {
        // 2 parts, 6 faces (by label: 5, 4, 3, 2, 1, 0), 3 columns.
        let h =
            Array2::from_shape_vec((2, 6), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0]).unwrap();
        let image = binned(&h, &[1, 0], &[5, 4, 3, 2, 1, 0], 3);
        assert_eq!(image.size, [3, 2]);
        // Row 0 is part 1: face 5 (3) with face 4 (0) → 1.5 of max 3.
        assert_eq!(image[(0, 0)], viridis(0.5));
        assert_eq!(image[(1, 0)], viridis(0.0));
        // Row 1 is part 0: faces 1 and 0 → 1.5 of max 6.
        assert_eq!(image[(2, 1)], viridis(0.25));
        // As many columns as faces: each face its own.
        let full = binned(&h, &[0], &[0, 1, 2, 3, 4, 5], 10);
        assert_eq!(full.size, [6, 1]);
        assert_eq!(full[(5, 0)], viridis(1.0));
    }
}
