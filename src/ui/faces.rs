//! Every face beside its live reconstruction (or residual); click selects a
//! face for the inspector.

use eframe::egui;

use egui::Vec2;

use crate::app::FaceNmfApp;

const HELP: &str = "Each face (left) beside its reconstruction W·h from the parts (right). With \"residual\" on, the \
     right image shows face - reconstruction: gray is 0, bright where the fit is too dark, dark where too bright.";

/// Smallest tile height before the view scrolls.
const MIN_TILE_HEIGHT: f32 = 30.0;

pub fn faces_ui(app: &mut FaceNmfApp, ui: &mut egui::Ui) {
    let Some(faces) = app.faces.as_ref() else {
        super::heading_ui(ui, "Faces", HELP);
        return;
    };
    let n = faces.dataset.faces();
    let mut select = None;
    ui.horizontal(|ui| {
        super::heading_ui(ui, &format!("Faces ({n}) and their reconstructions"), HELP);
        ui.checkbox(&mut app.settings.show_residual, "residual")
            .on_hover_text("Show face - reconstruction instead of the reconstruction.");
    });
    let Some(face_tex) = app.textures.faces.texture().cloned() else {
        return;
    };
    let (tw, th) = (app.textures.faces.tile[0] as f32, app.textures.faces.tile[1] as f32);
    let right = if app.settings.show_residual { &app.textures.residual } else { &app.textures.recon };
    let right_tex = right.texture().cloned();
    let accent = super::accent(ui);

    // The faces that use the selected part most.
    if let (Some(c), Some(fit)) = (app.selected_part, app.fit.as_ref()) {
        ui.horizontal(|ui| {
            ui.label(format!("Basis {} is used most by:", fit.rank[c] + 1));
            let size = Vec2::new(tw, th) * (28.0 / th);
            for j in fit.top_faces(c, 12) {
                let alt = format!("Face {} (uses basis {})", j + 1, fit.rank[c] + 1);
                let r =
                    super::image_ui(ui, &face_tex, app.textures.faces.uv(j), size, &alt, None).on_hover_text(format!(
                        "Face {} ({}): weight {:.3}",
                        j + 1,
                        faces.dataset.labels.get(j).map_or("", |s| s),
                        fit.progress.snapshot.h[[c, j]]
                    ));
                if r.clicked() {
                    select = Some(j);
                }
            }
        });
    }

    let gap = 4.0;
    let pair_gap = 1.0;
    let avail = ui.available_size() - Vec2::new(14.0, 2.0);
    let pair_aspect = (2.0 * tw + pair_gap) / th;
    let (mut cols, mut pair) = super::grid_fit(n, pair_aspect, avail, gap);
    if pair.y < MIN_TILE_HEIGHT {
        pair = Vec2::new(MIN_TILE_HEIGHT * pair_aspect, MIN_TILE_HEIGHT);
        cols = (((avail.x + gap) / (pair.x + gap)).floor() as usize).max(1);
    }
    let tile = Vec2::new((pair.x - pair_gap) / 2.0, pair.y);
    egui::ScrollArea::vertical().id_salt("faces scroll").auto_shrink([false, false]).show(ui, |ui| {
        ui.spacing_mut().item_spacing = Vec2::new(pair_gap, gap);
        for row_start in (0..n).step_by(cols) {
            ui.horizontal(|ui| {
                for j in row_start..(row_start + cols).min(n) {
                    let selected = app.selected_face == Some(j);
                    let outline = selected.then_some(accent);
                    let label = faces.dataset.labels.get(j).map_or("", |s| s);
                    let r = super::image_ui(
                        ui,
                        &face_tex,
                        app.textures.faces.uv(j),
                        tile,
                        &format!("Face {}", j + 1),
                        outline,
                    )
                    .on_hover_text(format!("Face {} ({label}); click to inspect", j + 1));
                    if r.clicked() {
                        select = Some(j);
                    }
                    if let Some(t) = &right_tex {
                        let what = if app.settings.show_residual { "Residual" } else { "Reconstruction" };
                        let r =
                            super::image_ui(ui, t, right.uv(j), tile, &format!("{what} of face {}", j + 1), outline)
                                .on_hover_text(format!("{what} of face {} ({label}); click to inspect", j + 1));
                        if r.clicked() {
                            select = Some(j);
                        }
                    } else {
                        ui.allocate_exact_size(tile, egui::Sense::hover());
                    }
                    ui.add_space(gap - 2.0 * pair_gap);
                }
            });
        }
    });
    if let Some(j) = select {
        app.select_face(j);
    }
}
