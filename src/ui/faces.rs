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
        if ui
            .checkbox(&mut app.settings.show_residual, "show residuals")
            .on_hover_text("Show face - reconstruction instead of the reconstruction.")
            .changed()
        {
            ui.ctx().request_repaint();
        }
    });
    let Some(face_tex) = app.textures.faces.texture().cloned() else {
        return;
    };
    let (tw, th) = (app.textures.faces.tile[0] as f32, app.textures.faces.tile[1] as f32);
    // The reconstruction or residual atlas, whichever the toggle shows.
    let right = &app.textures.right;
    let right_tex = right.texture().cloned().filter(|_| app.textures.right_is_residual == app.settings.show_residual);
    let accent = super::accent(ui);

    // The faces that use the selected part most.
    if let (Some(c), Some(fit)) = (app.selected_part, app.fit.as_ref()) {
        ui.horizontal(|ui| {
            let rank = fit.rank[c] + 1;
            ui.label(format!("Basis {rank} is used most by:"));
            let size = Vec2::new(tw, th) * (28.0 / th);
            for j in fit.top_faces(c, 12) {
                let r = super::image_ui(
                    ui,
                    &face_tex,
                    app.textures.faces.uv(j),
                    size,
                    || format!("Face {} (uses basis {rank})", j + 1),
                    None,
                )
                .on_hover_ui(|ui| {
                    let label = faces.dataset.labels.get(j).map_or("", |s| s);
                    ui.label(format!("Face {} ({label}): weight {:.3}", j + 1, fit.progress.snapshot.h[[c, j]]));
                });
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
    let what = if app.settings.show_residual { "Residual" } else { "Reconstruction" };
    let rows = n.div_ceil(cols);
    // Only the visible rows are laid out (hundreds of faces stay cheap).
    egui::ScrollArea::vertical().id_salt("faces scroll").auto_shrink([false, false]).show_rows(
        ui,
        tile.y,
        rows,
        |ui, visible| {
            ui.spacing_mut().item_spacing = Vec2::new(pair_gap, gap);
            for row in visible {
                ui.horizontal(|ui| {
                    for j in row * cols..((row + 1) * cols).min(n) {
                        let outline = (app.selected_face == Some(j)).then_some(accent);
                        let hover = |ui: &mut egui::Ui| {
                            let label = faces.dataset.labels.get(j).map_or("", |s| s);
                            ui.label(format!("Face {} ({label}); click to inspect", j + 1));
                        };
                        let r = super::image_ui(
                            ui,
                            &face_tex,
                            app.textures.faces.uv(j),
                            tile,
                            || format!("Face {}", j + 1),
                            outline,
                        )
                        .on_hover_ui(hover);
                        if r.clicked() {
                            select = Some(j);
                        }
                        if let Some(t) = &right_tex {
                            let r = super::image_ui(
                                ui,
                                t,
                                right.uv(j),
                                tile,
                                || format!("{what} of face {}", j + 1),
                                outline,
                            )
                            .on_hover_ui(hover);
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
        },
    );
    if let Some(j) = select {
        app.select_face(j);
    }
}
