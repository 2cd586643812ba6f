//! The k basis images (columns of W) as a grid, auto-contrasted, ordered by
//! importance. Hover: index, importance, sparseness; click: the faces that
//! use the part most (shown in the faces view).

use eframe::egui;

use egui::Vec2;

use super::SharedTextures;
use crate::model::{Action, Model};

const HELP: &str = "The parts NMF learns: each column of W shown as an image (its own contrast), the most important \
     (largest share of all weights) first. Nothing can be subtracted, so faces are sums of parts; on photographs \
     plain NMF's parts are often whole ghost faces, and the sparseness of parts (in the controls) makes them \
     local: eyes, brows, noses, mouths, outlines. Hover a part for its sparseness and support.";

/// Height of the gallery for a width: what the tiles need, at most `max`.
pub fn gallery_height(model: &Model, shared: &SharedTextures, width: f32, max: f32) -> f32 {
    let Some(fit) = model.fit() else {
        return 60.0_f32.min(max);
    };
    let (w, h) = (shared.basis.tile[0] as f32, shared.basis.tile[1] as f32);
    let header = 26.0;
    let (cols, size) = super::grid_fit(fit.k(), w / h, Vec2::new(width, max - header), GAP);
    let rows = fit.k().div_ceil(cols) as f32;
    (header + rows * (size.y + GAP) + 8.0).min(max)
}

/// Space between tiles.
const GAP: f32 = 3.0;

/// The basis gallery (no state of its own: the basis texture is shared).
#[derive(Default)]
pub struct BasisGallery;

impl BasisGallery {
    pub fn basis_gallery_ui(
        &mut self,
        ui: &mut egui::Ui,
        model: &Model,
        shared: &SharedTextures,
        out: &mut Vec<Action>,
    ) {
        let Some(fit) = model.fit() else {
            super::heading_ui(ui, "Basis images (parts)", HELP);
            super::hint_ui(ui, if model.is_fitting() { "Initialising…" } else { "Press Run to learn the parts." });
            return;
        };
        let k = fit.k();
        super::heading_ui(ui, &format!("Basis images (k = {k}), most important first"), HELP);
        let Some(texture) = shared.basis.texture().cloned() else {
            return;
        };
        let (w, h) = (shared.basis.tile[0] as f32, shared.basis.tile[1] as f32);
        let gap = GAP;
        let avail = ui.available_size() - Vec2::new(0.0, 2.0);
        let (cols, size) = super::grid_fit(k, w / h, avail, gap);
        let mut clicked = None;
        let accent = super::accent(ui);
        ui.spacing_mut().item_spacing = Vec2::splat(gap);
        for row_start in (0..k).step_by(cols.max(1)) {
            ui.horizontal(|ui| {
                for r in row_start..(row_start + cols).min(k) {
                    let c = fit.order[r];
                    let selected = model.selected_part == Some(c);
                    let response = super::image_ui(
                        ui,
                        &texture,
                        shared.basis.uv(r),
                        size,
                        || format!("Basis {}", r + 1),
                        selected.then_some(accent),
                    );
                    let response = response.on_hover_ui(|ui| {
                        ui.label(format!(
                            "Basis {} (column {} of W)\nimportance: {:.1} % of all weight\nsparseness (Hoyer): {:.2}\n\
                         support90: {:.1} % of the pixels hold 90 % of its energy\nclick: the faces that use it most",
                            r + 1,
                            c,
                            fit.importance[c] * 100.0,
                            fit.sparseness[c],
                            fit.support90(c) * 100.0
                        ));
                    });
                    if response.clicked() {
                        clicked = Some(c);
                    }
                }
            });
        }
        if let Some(c) = clicked {
            out.push(Action::SelectPart(if model.selected_part == Some(c) { None } else { Some(c) }));
        }
    }
}
