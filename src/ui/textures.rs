//! Textures several views draw: the basis images (the explorer's gallery,
//! the eigenfaces view's parts, the inspector's strips), rebuilt once per
//! snapshot.

use std::time::Instant;

use eframe::egui;

use super::SyncTimes;
use super::atlas::{Atlas, gray_into, min_max};
use crate::model::Model;
use crate::model::thumb::{GALLERY_SIDE, Thumb};

/// The basis images at the gallery's size, in importance order.
pub struct SharedTextures {
    pub basis: Atlas,
    /// The snapshot the basis shows: (faces generation, fit id, iteration).
    shown: Option<(u64, u64, usize)>,
}

impl Default for SharedTextures {
    fn default() -> Self {
        SharedTextures { basis: Atlas::new("basis", egui::TextureOptions::LINEAR), shown: None }
    }
}

impl SharedTextures {
    pub(super) fn sync(&mut self, ctx: &egui::Context, model: &Model) -> Option<SyncTimes> {
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
        let w = g.downsample(fit.progress.snapshot.w.view());
        let derive = started.elapsed();
        self.basis.update(ctx, fit.order.len(), [g.width, g.height], |i, out| {
            let col = w.column(fit.order[i]);
            let (lo, hi) = min_max(col);
            gray_into(col, lo, hi, out);
        });
        Some(SyncTimes { derive, textures: started.elapsed() - derive })
    }
}
