//! Every face beside its live reconstruction (or residual); click selects a
//! face for the inspector. Owns the thumbnails of the faces (once per set)
//! and of their reconstructions (once per snapshot).

use std::time::Instant;

use eframe::egui;

use egui::{TextureOptions, Vec2};
use ndarray::Array2;

use super::SyncTimes;
use super::atlas::{Atlas, gray_into, residual_into};
use crate::model::thumb::{THUMB_SIDE, Thumb};
use crate::model::{Action, Model};

const HELP: &str = "Each face (left) beside its reconstruction W·h from the parts (right). With \"residual\" on, the \
     right image shows face - reconstruction: gray is 0, bright where the fit is too dark, dark where too bright.";

/// Smallest tile height before the view scrolls.
const MIN_TILE_HEIGHT: f32 = 30.0;

/// The faces view: its thumbnails and what they show.
pub struct FacesView {
    /// Every face at thumbnail size (set once per data set).
    faces: Atlas,
    /// Every face's reconstruction, or its residual (face − reconstruction).
    right: Atlas,
    /// Every face at thumbnail size (thumb pixels × faces).
    a_small: Array2<f32>,
    thumb: Option<Thumb>,
    /// What `faces` shows: the faces' generation.
    faces_shown: Option<u64>,
    /// What `right` shows: (faces generation, fit key, residual?).
    right_shown: Option<(u64, (u64, usize), bool)>,
    /// Every face's reconstruction by the pinned fit.
    pinned: Atlas,
    /// What `pinned` shows: (faces generation, pinned fit's key).
    pinned_shown: Option<(u64, (u64, usize))>,
}

impl Default for FacesView {
    fn default() -> Self {
        FacesView {
            faces: Atlas::new("faces", TextureOptions::LINEAR),
            right: Atlas::new("reconstructions", TextureOptions::LINEAR),
            a_small: Array2::zeros((0, 0)),
            thumb: None,
            faces_shown: None,
            right_shown: None,
            pinned: Atlas::new("pinned reconstructions", TextureOptions::LINEAR),
            pinned_shown: None,
        }
    }
}

impl FacesView {
    /// Rebuilds the thumbnails that changed: the faces with a new set, the
    /// right-hand column with a new snapshot or the residual toggle.
    pub(super) fn sync(&mut self, ctx: &egui::Context, model: &Model) -> Option<SyncTimes> {
        let Some(faces) = &model.faces else {
            self.faces.clear();
            self.right.clear();
            self.faces_shown = None;
            self.right_shown = None;
            return None;
        };
        if self.faces_shown != Some(faces.generation) {
            let t = Thumb::new(faces.meta.width, faces.meta.height, THUMB_SIDE);
            self.a_small = t.downsample(faces.matrix.a());
            let a = &self.a_small;
            self.faces.update(ctx, a.ncols(), [t.width, t.height], |j, out| gray_into(a.column(j), 0.0, 1.0, out));
            self.thumb = Some(t);
            self.faces_shown = Some(faces.generation);
            self.right_shown = None;
        }
        self.sync_pinned(ctx, model);
        let (Some(fit), Some(t)) = (model.fit(), self.thumb) else {
            self.right.clear();
            self.right_shown = None;
            return None;
        };
        let residual = model.settings.show_residual;
        let key = (faces.generation, fit.key(), residual);
        if self.right_shown == Some(key) {
            return None;
        }
        self.right_shown = Some(key);
        let started = Instant::now();
        // Downsampling is linear: thumbnail(W·H) = thumbnail(W)·H.
        let w_small = t.downsample(fit.progress.snapshot.w.view());
        let r = w_small.dot(&*fit.progress.snapshot.h);
        let derive = started.elapsed();
        let a = &self.a_small;
        if residual {
            let mut diff = vec![0.0f32; t.pixels()];
            self.right.update(ctx, r.ncols(), [t.width, t.height], |j, out| {
                for ((d, &x), &y) in diff.iter_mut().zip(a.column(j).iter()).zip(r.column(j).iter()) {
                    *d = x - y;
                }
                residual_into(ndarray::ArrayView1::from(&diff[..]), 0.5, out);
            });
        } else {
            self.right.update(ctx, r.ncols(), [t.width, t.height], |j, out| gray_into(r.column(j), 0.0, 1.0, out));
        }
        Some(SyncTimes { derive, textures: started.elapsed() - derive })
    }

    /// The pinned fit's reconstructions, rebuilt when another fit is
    /// pinned.
    fn sync_pinned(&mut self, ctx: &egui::Context, model: &Model) {
        let (Some(faces), Some(pinned), Some(t)) = (&model.faces, model.pinned(), self.thumb) else {
            self.pinned.clear();
            self.pinned_shown = None;
            return;
        };
        let key = (faces.generation, pinned.key());
        if self.pinned_shown == Some(key) {
            return;
        }
        let snapshot = &pinned.view.progress.snapshot;
        let r = t.downsample(snapshot.w.view()).dot(&*snapshot.h);
        self.pinned.update(ctx, r.ncols(), [t.width, t.height], |j, out| gray_into(r.column(j), 0.0, 1.0, out));
        self.pinned_shown = Some(key);
    }

    /// The faces' atlas (the rank strips and the inspector use its tiles).
    pub fn faces_atlas(&self) -> &Atlas {
        &self.faces
    }

    pub fn faces_ui(&mut self, ui: &mut egui::Ui, model: &Model, out: &mut Vec<Action>) {
        let Some(faces) = model.faces.as_ref() else {
            super::heading_ui(ui, "Faces", HELP);
            return;
        };
        let n = faces.count();
        let mut select = None;
        ui.horizontal(|ui| {
            let heading = if model.pinned().is_some() {
                format!("Faces ({n}), their reconstructions, and the pinned fit's")
            } else {
                format!("Faces ({n}) and their reconstructions")
            };
            super::heading_ui(ui, &heading, HELP);
            let mut residual = model.settings.show_residual;
            if ui
                .checkbox(&mut residual, "show residuals")
                .on_hover_text("Show face - reconstruction instead of the reconstruction.")
                .changed()
            {
                out.push(Action::SetShowResidual(residual));
            }
        });
        let Some(face_tex) = self.faces.texture().cloned() else {
            return;
        };
        let (tw, th) = (self.faces.tile[0] as f32, self.faces.tile[1] as f32);
        // The reconstruction or residual atlas, whichever the toggle shows.
        let right = &self.right;
        let right_tex =
            right.texture().cloned().filter(|_| self.right_shown.is_some_and(|s| s.2 == model.settings.show_residual));
        let accent = super::accent(ui);

        // The faces that use the selected part most.
        if let (Some(c), Some(fit)) = (model.selected_part, model.fit()) {
            ui.horizontal(|ui| {
                let rank = fit.rank[c] + 1;
                ui.label(format!("Basis {rank} is used most by:"));
                let size = Vec2::new(tw, th) * (28.0 / th);
                for j in fit.top_faces(c, 12) {
                    let r = super::image_ui(
                        ui,
                        &face_tex,
                        self.faces.uv(j),
                        size,
                        || format!("Face {} (uses basis {rank})", j + 1),
                        None,
                    )
                    .on_hover_ui(|ui| {
                        let label = faces.label(j);
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
        // Face, reconstruction and, with a pinned fit, its reconstruction.
        let pinned_tex = self.pinned.texture().cloned().filter(|_| model.pinned().is_some());
        let per_face = if pinned_tex.is_some() { 3.0 } else { 2.0 };
        let pair_aspect = (per_face * tw + (per_face - 1.0) * pair_gap) / th;
        let (mut cols, mut pair) = super::grid_fit(n, pair_aspect, avail, gap);
        if pair.y < MIN_TILE_HEIGHT {
            pair = Vec2::new(MIN_TILE_HEIGHT * pair_aspect, MIN_TILE_HEIGHT);
            cols = (((avail.x + gap) / (pair.x + gap)).floor() as usize).max(1);
        }
        let tile = Vec2::new((pair.x - (per_face - 1.0) * pair_gap) / per_face, pair.y);
        let what = if model.settings.show_residual { "Residual" } else { "Reconstruction" };
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
                            let outline = (model.selected_face == Some(j)).then_some(accent);
                            let hover = |ui: &mut egui::Ui| {
                                let label = faces.label(j);
                                ui.label(format!("Face {} ({label}); click to inspect", j + 1));
                            };
                            let r = super::image_ui(
                                ui,
                                &face_tex,
                                self.faces.uv(j),
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
                            if let Some(t) = &pinned_tex {
                                let r = super::image_ui(
                                    ui,
                                    t,
                                    self.pinned.uv(j),
                                    tile,
                                    || format!("Pinned reconstruction of face {}", j + 1),
                                    outline,
                                )
                                .on_hover_ui(|ui| {
                                    ui.label(format!("Face {} by the pinned fit; click to inspect", j + 1));
                                });
                                if r.clicked() {
                                    select = Some(j);
                                }
                            }
                            ui.add_space(gap - 2.0 * pair_gap);
                        }
                    });
                }
            },
        );
        if let Some(j) = select {
            out.push(Action::SelectFace(j));
        }
    }
}
