//! Textures several views draw: the basis images (the explorer's gallery,
//! the eigenfaces view's parts, the inspector's strips), rebuilt once per
//! snapshot.

use std::time::Instant;

use eframe::egui;

use super::SyncTimes;
use super::atlas::{Atlas, gray_into, min_max};
use crate::model::thumb::{GALLERY_SIDE, Thumb};
use crate::model::{FitView, Model};

/// The basis images at the gallery's size, in importance order (of the
/// fit shown, and of the pinned fit).
pub struct SharedTextures {
    pub basis: Atlas,
    /// The snapshot the basis shows: (faces generation, fit id, iteration).
    shown: Option<(u64, u64, usize)>,
    /// The pinned fit's basis images, in its importance order.
    pub pinned_basis: Atlas,
    /// What `pinned_basis` shows: (faces generation, pinned fit's key).
    pinned_shown: Option<(u64, (u64, usize))>,
}

impl Default for SharedTextures {
    fn default() -> Self {
        SharedTextures {
            basis: Atlas::new("basis", egui::TextureOptions::LINEAR),
            shown: None,
            pinned_basis: Atlas::new("pinned basis", egui::TextureOptions::LINEAR),
            pinned_shown: None,
        }
    }
}

/// Fills `atlas` with the basis images of `fit`, most important first;
/// returns the time taken to derive them (the rest is the upload).
fn basis_into(atlas: &mut Atlas, ctx: &egui::Context, g: &Thumb, fit: &FitView) -> std::time::Duration {
    let started = Instant::now();
    let w = g.downsample(fit.progress.snapshot.w.view());
    let derive = started.elapsed();
    atlas.update(ctx, fit.order.len(), [g.width, g.height], |i, out| {
        let col = w.column(fit.order[i]);
        let (lo, hi) = min_max(col);
        gray_into(col, lo, hi, out);
    });
    derive
}

impl SharedTextures {
    pub(super) fn sync(&mut self, ctx: &egui::Context, model: &Model) -> Option<SyncTimes> {
        self.sync_pinned(ctx, model);
        let (Some(faces), Some(fit)) = (&model.faces, model.fit()) else {
            self.basis.clear();
            self.shown = None;
            return None;
        };
        let key = (faces.generation, fit.progress.fit_id, fit.progress.snapshot.iteration);
        if self.shown == Some(key) {
            return None;
        }
        self.shown = Some(key);
        let started = Instant::now();
        let g = Thumb::new(faces.meta.width, faces.meta.height, GALLERY_SIDE);
        let derive = basis_into(&mut self.basis, ctx, &g, fit);
        Some(SyncTimes { derive, textures: started.elapsed() - derive })
    }

    /// The pinned fit's basis images, rebuilt when another fit is pinned.
    fn sync_pinned(&mut self, ctx: &egui::Context, model: &Model) {
        let (Some(faces), Some(pinned)) = (&model.faces, model.pinned()) else {
            self.pinned_basis.clear();
            self.pinned_shown = None;
            return;
        };
        let key = (faces.generation, pinned.key());
        if self.pinned_shown != Some(key) {
            let g = Thumb::new(faces.meta.width, faces.meta.height, GALLERY_SIDE);
            basis_into(&mut self.pinned_basis, ctx, &g, &pinned.view);
            self.pinned_shown = Some(key);
        }
    }
}
