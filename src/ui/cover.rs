//! The inspector's occlusion demo: paint over part of the selected face (or
//! load a cover image) and its weights are found from the seen pixels only
//! ([`crate::nmf::occlusion`]), so the reconstruction fills the hole from
//! the parts. Owns the covered pixels (one face's, cleared when another face
//! or other faces are selected), the brush, and the "Load a cover image"
//! window.

use eframe::egui;

use egui::{Color32, ColorImage, Pos2, Sense, Stroke, TextureHandle, Vec2, WidgetInfo};
use ndarray::{Array1, ArrayView1};

use crate::model::cover::COVER_CONVENTION;
use crate::model::{Action, Answer, FitView, Model, Purpose};
use crate::nmf::occlusion::{HoleErrors, hole_errors, transform_observed};

const MODE_HELP: &str = "Paint over part of the face (drag on it) to hide those pixels: the face's weights are then \
     found from the pixels not covered only, and the reconstruction fills the hole from the parts. While a cover \
     is on, the weights are the seen pixels' own and cannot be edited (weights edited before are dropped). Turn \
     it off to compare with the fit's own reconstruction (the cover is kept while this face stays selected).";

/// The covered pixels of one face.
#[derive(Debug, Clone, PartialEq)]
pub struct CoverMask {
    /// The face (and faces generation) it covers.
    pub face: usize,
    pub generation: u64,
    /// One flag per pixel, row by row: true = covered.
    pub covered: Vec<bool>,
    /// Covered pixels.
    pub count: usize,
    /// Changes with every stroke (the inspector recomputes on change).
    pub version: u64,
}

impl CoverMask {
    /// The seen pixels (the complement of `covered`).
    pub fn observed(&self) -> Vec<bool> {
        self.covered.iter().map(|c| !c).collect()
    }
}

/// The occlusion demo's state.
pub struct Cover {
    /// "Cover pixels" is on: the cover applies and dragging paints it.
    pub on: bool,
    /// Brush radius in face pixels (None: a default for the face size).
    pub brush: Option<f32>,
    mask: Option<CoverMask>,
    next_version: u64,
    /// The last point painted in the current stroke (face pixels).
    last: Option<Pos2>,
    /// The "Load a cover image" window.
    pub window_open: bool,
    pub path: String,
    /// Why the native dialog is not available, when it is not.
    note: Option<String>,
    /// The last loaded cover and dialog answer taken.
    loaded_seen: Option<u64>,
    answer_seen: Option<u64>,
}

impl Default for Cover {
    fn default() -> Self {
        Cover {
            on: false,
            brush: None,
            mask: None,
            next_version: 1,
            last: None,
            window_open: false,
            path: String::new(),
            note: None,
            loaded_seen: None,
            answer_seen: None,
        }
    }
}

/// A brush radius that suits faces `width` × `height` (about a twelfth of
/// the smaller side), and the slider's range.
fn brush_range(width: usize, height: usize) -> (f32, std::ops::RangeInclusive<f32>) {
    let side = width.min(height).max(1) as f32;
    let max = (side / 3.0).max(2.0);
    ((side / 12.0).clamp(1.0, max), 0.5..=max)
}

impl Cover {
    /// The cover that applies now (on, and covering at least one pixel).
    pub fn applied(&self) -> Option<&CoverMask> {
        self.mask.as_ref().filter(|m| self.on && m.count > 0)
    }

    /// The cover, applied or not.
    pub fn mask(&self) -> Option<&CoverMask> {
        self.mask.as_ref()
    }

    /// Drops the cover.
    pub fn forget(&mut self) {
        self.mask = None;
        self.last = None;
    }

    /// Drops the cover unless it belongs to face `j` of these faces.
    pub fn keep_for(&mut self, j: usize, generation: u64) {
        if self.mask.as_ref().is_some_and(|m| (m.face, m.generation) != (j, generation)) {
            self.forget();
        }
    }

    /// Takes a cover image the model has read, and the native dialog's
    /// answer (each once).
    pub fn take_from(&mut self, model: &Model) {
        if let Some(c) = &model.cover
            && self.loaded_seen != Some(c.n)
        {
            self.loaded_seen = Some(c.n);
            let count = c.covered.iter().filter(|&&v| v).count();
            self.mask = Some(CoverMask {
                face: c.face,
                generation: c.generation,
                covered: c.covered.clone(),
                count,
                version: self.bump(),
            });
            self.on = true;
            self.window_open = false;
        }
        if let Some((n, Purpose::CoverImage, answer)) = &model.dialog_answer
            && self.answer_seen != Some(*n)
        {
            self.answer_seen = Some(*n);
            match answer {
                Answer::Picked(path) => self.path = path.display().to_string(),
                Answer::Cancelled => {}
                Answer::Unavailable(why) => {
                    self.window_open = true;
                    self.note = Some(format!("{why} Type the image's path."));
                }
            }
        }
    }

    fn bump(&mut self) -> u64 {
        self.next_version += 1;
        self.next_version
    }

    /// Covers every pixel within `radius` of the segment `from`–`to` (face
    /// pixel coordinates, pixel centres at +0.5) of face `j`; returns the
    /// pixels newly covered.
    pub fn paint(
        &mut self,
        (width, height): (usize, usize),
        j: usize,
        generation: u64,
        from: Pos2,
        to: Pos2,
        radius: f32,
    ) -> usize {
        self.keep_for(j, generation);
        let mask = self.mask.get_or_insert_with(|| CoverMask {
            face: j,
            generation,
            covered: vec![false; width * height],
            count: 0,
            version: 0,
        });
        if mask.covered.len() != width * height {
            return 0;
        }
        let r = radius.max(0.5);
        let (lo, hi) = (from.min(to) - Vec2::splat(r), from.max(to) + Vec2::splat(r));
        let x0 = lo.x.floor().max(0.0) as usize;
        let y0 = lo.y.floor().max(0.0) as usize;
        let x1 = (hi.x.ceil().max(0.0) as usize).min(width);
        let y1 = (hi.y.ceil().max(0.0) as usize).min(height);
        let seg = to - from;
        let len_sq = seg.length_sq();
        let mut added = 0;
        for y in y0..y1 {
            for x in x0..x1 {
                let p = Pos2::new(x as f32 + 0.5, y as f32 + 0.5);
                let t = if len_sq > 0.0 { ((p - from).dot(seg) / len_sq).clamp(0.0, 1.0) } else { 0.0 };
                let i = y * width + x;
                if (p - (from + seg * t)).length_sq() <= r * r && !mask.covered[i] {
                    mask.covered[i] = true;
                    added += 1;
                }
            }
        }
        mask.count += added;
        if added > 0 {
            self.next_version += 1;
            mask.version = self.next_version;
        }
        added
    }

    /// Room the cover controls take under the pictures.
    pub fn controls_height(&self) -> f32 {
        // The toggle's row; when on, the brush row; with a cover applied,
        // a second line of the error.
        24.0 + if self.on { 24.0 } else { 0.0 } + if self.applied().is_some() { 18.0 } else { 0.0 }
    }

    /// The face picture: with "Cover pixels" on, dragging on it paints the
    /// cover (a round brush, drawn under the pointer).
    #[allow(clippy::too_many_arguments)] // one picture, its place and its face
    pub fn face_picture_ui(
        &mut self,
        ui: &mut egui::Ui,
        texture: Option<&TextureHandle>,
        size: Vec2,
        alt: &str,
        (width, height): (usize, usize),
        j: usize,
        generation: u64,
    ) {
        ui.vertical(|ui| {
            ui.set_width(size.x);
            let sense = if self.on { Sense::click_and_drag() } else { Sense::click() };
            let (rect, response) = ui.allocate_exact_size(size, sense);
            if let Some(t) = texture
                && ui.is_rect_visible(rect)
            {
                ui.painter().image(t.id(), rect, super::full_uv(), Color32::WHITE);
            }
            response.widget_info(|| WidgetInfo::labeled(egui::accesskit::Role::Image, true, alt));
            let scale = rect.width() / width.max(1) as f32;
            let radius = self.brush.unwrap_or(brush_range(width, height).0);
            let to_face = |p: Pos2| Pos2::new((p.x - rect.min.x) / scale, (p.y - rect.min.y) / scale);
            if self.on {
                if let Some(p) = response.hover_pos() {
                    ui.painter_at(rect).circle_stroke(
                        p,
                        radius * scale,
                        Stroke::new(1.5, Color32::from_rgb(255, 80, 60)),
                    );
                }
                let down = response.is_pointer_button_down_on();
                match response.interact_pointer_pos().filter(|_| down || response.clicked()) {
                    Some(p) => {
                        let at = to_face(p);
                        let from = self.last.unwrap_or(at);
                        if self.paint((width, height), j, generation, from, at, radius) > 0 {
                            ui.ctx().request_repaint();
                        }
                        self.last = down.then_some(at);
                    }
                    None => self.last = None,
                }
                response.on_hover_text(format!("{alt}: drag to cover pixels (brush radius {radius:.1} px)"));
            } else {
                response.on_hover_text(alt);
            }
            ui.label(egui::RichText::new("face").small());
        });
    }

    /// The toggle, the brush size, "Clear cover" and "Load cover image…".
    pub fn controls_ui(&mut self, ui: &mut egui::Ui, (width, height): (usize, usize)) {
        ui.horizontal(|ui| {
            if ui.checkbox(&mut self.on, "Cover pixels").on_hover_text(MODE_HELP).changed() {
                ui.ctx().request_repaint();
            }
            if !self.on {
                return;
            }
            let has = self.mask.as_ref().is_some_and(|m| m.count > 0);
            if ui
                .add_enabled(has, egui::Button::new("Clear cover"))
                .on_hover_text("Uncover every pixel of this face.")
                .clicked()
            {
                self.forget();
                ui.ctx().request_repaint();
            }
            if ui.button("Load cover image…").on_hover_text(COVER_CONVENTION).clicked() {
                self.open_window();
            }
        });
        if self.on {
            let (default, range) = brush_range(width, height);
            let mut radius = self.brush.unwrap_or(default);
            ui.horizontal(|ui| {
                let label = ui.label("Brush");
                let slider = egui::Slider::new(&mut radius, range).suffix(" px").max_decimals(1);
                if ui
                    .add(slider)
                    .labelled_by(label.id)
                    .on_hover_text("Radius of the brush that covers pixels, in pixels of the face.")
                    .changed()
                {
                    self.brush = Some(radius);
                }
            });
        }
    }

    /// Opens the "Load a cover image" window.
    pub fn open_window(&mut self) {
        self.window_open = true;
        if !crate::model::dialog::portal_available() {
            self.note = Some("No native file dialog here (no desktop portal): type the image's path.".into());
        }
    }

    /// The "Load a cover image" window: a path field and a Browse… button.
    pub fn cover_window_ui(&mut self, ctx: &egui::Context, model: &Model, out: &mut Vec<Action>) {
        if !self.window_open {
            return;
        }
        let mut open = true;
        let (mut load, mut browse) = (false, false);
        egui::Window::new("Load a cover image").open(&mut open).collapsible(false).resizable(false).show(ctx, |ui| {
            ui.label(COVER_CONVENTION);
            if let Some(note) = &self.note {
                super::hint_ui(ui, note);
            }
            (load, browse) = super::path_field_ui(
                ui,
                "Cover image file:",
                &mut self.path,
                "Path of an image file (PNG, PGM, JPEG, …) the size of the faces: dark = covered.",
                Some("Choose the image in the system's file dialog"),
            );
            load |= ui.button("Load cover").clicked();
        });
        if browse && model.dialog_open().is_none() {
            out.push(Action::Browse(Purpose::CoverImage));
        }
        if load {
            let text = self.path.trim().to_string();
            if text.is_empty() {
                out.push(Action::ReportError("type the path of a cover image".into()));
            } else {
                out.push(Action::LoadCover(std::path::PathBuf::from(text)));
            }
        }
        if !open || super::escape_pressed(ctx) {
            self.window_open = false;
        }
    }
}

/// Tints the covered pixels of a face picture red.
pub fn tint(image: &mut ColorImage, covered: &[bool]) {
    for (px, _) in image.pixels.iter_mut().zip(covered).filter(|(_, c)| **c) {
        let g = u16::from(px.r());
        *px = Color32::from_rgb((110 + g * 145 / 255) as u8, (g * 60 / 255) as u8, (g * 50 / 255) as u8);
    }
}

/// Marks the edge of the cover (covered pixels beside a seen one) in red on
/// a picture `width` pixels wide, so that the filled hole can be found.
pub fn outline(image: &mut ColorImage, covered: &[bool], width: usize) {
    let height = covered.len().checked_div(width).unwrap_or(0);
    if image.pixels.len() != covered.len() {
        return;
    }
    let seen = |x: usize, y: usize| !covered[y * width + x];
    for y in 0..height {
        for x in 0..width {
            let edge = covered[y * width + x]
                && ((x > 0 && seen(x - 1, y))
                    || (x + 1 < width && seen(x + 1, y))
                    || (y > 0 && seen(x, y - 1))
                    || (y + 1 < height && seen(x, y + 1)));
            if edge {
                let px = &mut image.pixels[y * width + x];
                let g = u16::from(px.r());
                *px = Color32::from_rgb((128 + g / 2) as u8, (g / 3) as u8, (g / 3) as u8);
            }
        }
    }
}

/// The face's weights from its seen pixels and the errors inside and
/// outside the cover, for one fit snapshot and cover.
#[derive(Debug, Clone)]
pub struct Filled {
    pub face: usize,
    /// The fit snapshot ([`FitView::key`]).
    pub fit: (u64, usize),
    pub weights: Array1<f32>,
    pub errors: Option<HoleErrors>,
    /// Why there are no weights (every pixel covered).
    pub problem: Option<String>,
}

impl Filled {
    /// Solves for the weights of `face` (face `j`) from the pixels `cover`
    /// leaves, with the fit's W.
    pub fn compute(fit: &FitView, face: ArrayView1<f32>, j: usize, cover: &CoverMask) -> Filled {
        let w = fit.progress.snapshot.w.view();
        let observed = cover.observed();
        let solved = transform_observed(w, face, &observed).and_then(|h| {
            let r = crate::nmf::reconstruct(w, h.view());
            Ok((hole_errors(face, r.view(), &observed)?, h))
        });
        match solved {
            Ok((errors, weights)) => Filled { face: j, fit: fit.key(), weights, errors: Some(errors), problem: None },
            Err(e) => Filled {
                face: j,
                fit: fit.key(),
                weights: Array1::zeros(w.ncols()),
                errors: None,
                problem: Some(e.to_string()),
            },
        }
    }

    /// "error outside the cover … · inside the cover (filled from the
    /// parts) … · N pixels covered".
    pub fn error_line_ui(&self, ui: &mut egui::Ui) {
        let help = "Relative error ||face - W·h|| / ||face|| over the pixels not covered and over the covered ones. \
             The weights h come from the pixels not covered only, so the covered ones are filled from the parts; \
             the residual shows how far the fill is from the hidden face. Weights cannot be edited while a cover \
             is on (clear it, or turn Cover pixels off, to edit them).";
        match (&self.errors, &self.problem) {
            (Some(e), _) => {
                ui.add(
                    egui::Label::new(format!(
                        "error outside the cover {:.3} · inside the cover (filled from the parts) {:.3} · {} covered",
                        e.outside,
                        e.inside,
                        crate::dataset::count_of(e.hole_pixels, "pixel")
                    ))
                    .wrap(),
                )
                .on_hover_text(help);
            }
            (None, Some(p)) => {
                ui.add(egui::Label::new(format!("cannot fill the cover: {p}")).wrap());
            }
            (None, None) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outline_marks_only_covered_pixels_beside_seen_ones() {
        // 5 × 5, the middle 3 × 3 covered: its 8 border pixels are the edge.
        let covered: Vec<bool> = (0..25).map(|i| (1..4).contains(&(i % 5)) && (1..4).contains(&(i / 5))).collect();
        let mut image = ColorImage::new([5, 5], vec![Color32::from_gray(200); 25]);
        outline(&mut image, &covered, 5);
        let marked: Vec<usize> = (0..25).filter(|&i| image.pixels[i] != Color32::from_gray(200)).collect();
        assert_eq!(marked, vec![6, 7, 8, 11, 13, 16, 17, 18]);
    }

    #[test]
    fn a_stroke_covers_a_round_band_and_another_face_drops_it() {
        let mut c = Cover::default();
        let added = c.paint((20, 10), 3, 1, Pos2::new(5.0, 5.0), Pos2::new(15.0, 5.0), 2.0);
        let m = c.mask().unwrap().clone();
        assert_eq!(m.count, added);
        assert!(m.covered[5 * 20 + 10] && m.covered[5 * 20 + 4]);
        assert!(!m.covered[5 * 20 + 18] && !m.covered[20 + 10] && !m.covered[10]);
        // Painting the same place again covers nothing new, keeps the version.
        assert_eq!(c.paint((20, 10), 3, 1, Pos2::new(5.0, 5.0), Pos2::new(15.0, 5.0), 2.0), 0);
        assert_eq!(c.mask().unwrap().version, m.version);
        assert!(c.applied().is_none(), "not applied while off");
        c.on = true;
        assert_eq!(c.applied().unwrap().count, added);
        c.keep_for(4, 1);
        assert!(c.mask().is_none());
        // Off the picture: nothing, no panic.
        assert_eq!(c.paint((20, 10), 4, 1, Pos2::new(-9.0, -9.0), Pos2::new(-5.0, 40.0), 2.0), 0);
    }
}
