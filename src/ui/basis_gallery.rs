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

/// Height of the gallery for a width: what the tiles need, at most `max`
/// (with a pinned fit, the two galleries share the width).
pub fn gallery_height(model: &Model, shared: &SharedTextures, width: f32, max: f32) -> f32 {
    let Some(fit) = model.fit() else {
        return 60.0_f32.min(max);
    };
    let (w, h) = (shared.basis.tile[0] as f32, shared.basis.tile[1] as f32);
    let header = 26.0;
    let (k, width) = match model.pinned() {
        Some(p) => (fit.k().max(p.view.k()), width / 2.0 - PAIR_GAP),
        None => (fit.k(), width),
    };
    let (cols, size) = super::grid_fit(k, w / h, Vec2::new(width, max - header), GAP);
    let rows = k.div_ceil(cols) as f32;
    (header + rows * (size.y + GAP) + 8.0).min(max)
}

/// Space between tiles.
const GAP: f32 = 3.0;
/// Space between the pinned gallery and the live one.
const PAIR_GAP: f32 = 8.0;

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
        let Some(texture) = shared.basis.texture().cloned() else {
            super::heading_ui(ui, &format!("Basis images (k = {}), most important first", fit.k()), HELP);
            return;
        };
        let pinned = model.pinned().zip(shared.pinned_basis.texture().cloned());
        let Some((pinned, pinned_texture)) = pinned else {
            super::heading_ui(ui, &format!("Basis images (k = {}), most important first", fit.k()), HELP);
            let grid = Grid { texture: &texture, atlas: &shared.basis, fit, alt: "Basis", selectable: true };
            if let Some(c) = grid.grid_ui(ui, model) {
                out.push(Action::SelectPart(if model.selected_part == Some(c) { None } else { Some(c) }));
            }
            return;
        };
        // Pinned beside live, each in half the width.
        let rect = ui.available_rect_before_wrap();
        let half = (rect.width() - PAIR_GAP) / 2.0;
        let left = egui::Rect::from_min_size(rect.min, Vec2::new(half, rect.height()));
        let right =
            egui::Rect::from_min_size(rect.min + Vec2::new(half + PAIR_GAP, 0.0), Vec2::new(half, rect.height()));
        let mut clicked = None;
        let mut side = |rect: egui::Rect, id: &str, add: &mut dyn FnMut(&mut egui::Ui)| {
            let mut child = ui.new_child(egui::UiBuilder::new().max_rect(rect).id_salt(id));
            child.set_clip_rect(rect.intersect(ui.clip_rect()));
            add(&mut child);
        };
        side(left, "pinned basis", &mut |ui| {
            super::heading_ui(ui, &format!("Pinned: {}", pinned.label), PINNED_HELP);
            let grid = Grid {
                texture: &pinned_texture,
                atlas: &shared.pinned_basis,
                fit: &pinned.view,
                alt: "Pinned basis",
                selectable: false,
            };
            grid.grid_ui(ui, model);
        });
        side(right, "live basis", &mut |ui| {
            let what = if model.is_replaying() { "Replay" } else { "Live" };
            super::heading_ui(ui, &format!("{what}: k = {}, most important first", fit.k()), HELP);
            let grid = Grid { texture: &texture, atlas: &shared.basis, fit, alt: "Basis", selectable: true };
            clicked = grid.grid_ui(ui, model);
        });
        if let Some(c) = clicked {
            out.push(Action::SelectPart(if model.selected_part == Some(c) { None } else { Some(c) }));
        }
    }
}

const PINNED_HELP: &str = "The pinned fit's parts, most important first, beside the fit now (right): pin a fit in \
     the controls, then change k, the solver or the sparseness and run another.";

/// One gallery of basis images.
struct Grid<'a> {
    texture: &'a egui::TextureHandle,
    atlas: &'a super::atlas::Atlas,
    fit: &'a crate::model::FitView,
    /// Alt text of each tile: "{alt} {rank}".
    alt: &'a str,
    /// Clicking a part selects it (the live fit's parts only).
    selectable: bool,
}

impl Grid<'_> {
    /// Draws the tiles in the space left; returns the part clicked.
    fn grid_ui(&self, ui: &mut egui::Ui, model: &Model) -> Option<usize> {
        let (fit, k) = (self.fit, self.fit.k());
        let (w, h) = (self.atlas.tile[0] as f32, self.atlas.tile[1] as f32);
        let avail = ui.available_size() - Vec2::new(0.0, 2.0);
        let (cols, size) = super::grid_fit(k, w / h, avail, GAP);
        let mut clicked = None;
        let accent = super::accent(ui);
        ui.spacing_mut().item_spacing = Vec2::splat(GAP);
        for row_start in (0..k).step_by(cols.max(1)) {
            ui.horizontal(|ui| {
                for r in row_start..(row_start + cols).min(k) {
                    let c = fit.order[r];
                    let selected = self.selectable && model.selected_part == Some(c);
                    let response = super::image_ui(
                        ui,
                        self.texture,
                        self.atlas.uv(r),
                        size,
                        || format!("{} {}", self.alt, r + 1),
                        selected.then_some(accent),
                    );
                    let response = response.on_hover_ui(|ui| {
                        ui.label(format!(
                            "{} {} (column {} of W)\nimportance: {:.1} % of all weight\nsparseness (Hoyer): {:.2}\n\
                             support90: {:.1} % of the pixels hold 90 % of its energy{}",
                            self.alt,
                            r + 1,
                            c,
                            fit.importance[c] * 100.0,
                            fit.sparseness[c],
                            fit.support90(c) * 100.0,
                            if self.selectable { "\nclick: the faces that use it most" } else { "" }
                        ));
                    });
                    if self.selectable && response.clicked() {
                        clicked = Some(c);
                    }
                }
            });
        }
        clicked
    }
}
