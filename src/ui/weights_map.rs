//! All of H as a heat map: one row per part (most important on top), one
//! column per face, faces grouped by label. Hover shows the value; click
//! selects the face and the part.

use eframe::egui;

use egui::{Color32, Pos2, Sense, Stroke, Vec2, WidgetInfo};

use crate::app::FaceNmfApp;

const HELP: &str = "H, the weights: one row per part (most important on top), one column per face (grouped by \
     label). Bright = the face uses much of that part (each row scaled to its own maximum). Faces of the same \
     person use similar parts.";

pub fn weights_map_ui(app: &mut FaceNmfApp, ui: &mut egui::Ui) {
    super::heading_ui(ui, "Weights H (parts × faces)", HELP);
    let (Some(faces), Some(fit)) = (app.faces.as_ref(), app.fit.as_ref()) else {
        return;
    };
    let Some(texture) = app.textures.weights.texture() else {
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
        let label = faces.dataset.labels.get(j).map_or("", |s| s);
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
        app.selected_part = Some(fit.order[r]);
        app.select_face(j);
    }
}
