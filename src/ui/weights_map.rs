//! All of H as a heat map: one row per part (most important on top), one
//! column per face, faces grouped by label. Hover shows the value; click
//! selects the face and the part.

use eframe::egui;

use egui::{Color32, ColorImage, Pos2, Sense, Stroke, TextureOptions, Vec2, WidgetInfo};

use super::atlas::{Picture, viridis};
use crate::model::{Action, Model};

const HELP: &str = "H, the weights: one row per part (most important on top), one column per face (grouped by \
     label). Bright = the face uses much of that part (each row scaled to its own maximum). Faces of the same \
     person use similar parts.";

/// The heat map of H and the snapshot it shows.
pub struct WeightsMap {
    picture: Picture,
    shown: Option<(u64, (u64, usize))>,
}

impl Default for WeightsMap {
    fn default() -> Self {
        WeightsMap { picture: Picture::new("weights"), shown: None }
    }
}

impl WeightsMap {
    /// Rows = components by importance, columns = faces by label, each row
    /// scaled to its own maximum; rebuilt once per snapshot.
    pub(super) fn sync(&mut self, ctx: &egui::Context, model: &Model) {
        let (Some(faces), Some(fit)) = (&model.faces, model.fit()) else {
            self.picture.clear();
            self.shown = None;
            return;
        };
        let key = (faces.generation, fit.key());
        if self.shown == Some(key) {
            return;
        }
        self.shown = Some(key);
        let h = &fit.progress.snapshot.h;
        let (k, n) = (fit.order.len(), faces.by_label.len());
        let mut pixels = Vec::with_capacity(k * n);
        for &c in &fit.order {
            let row = h.row(c);
            let max = row.iter().fold(0.0f32, |m, &v| m.max(v));
            let scale = if max > 0.0 { 1.0 / max } else { 0.0 };
            pixels.extend(faces.by_label.iter().map(|&j| viridis(row[j] * scale)));
        }
        self.picture.set(ctx, ColorImage::new([n, k], pixels), TextureOptions::NEAREST);
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
