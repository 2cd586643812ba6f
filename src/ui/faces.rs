//! Every face beside its live reconstruction (or residual), and the pinned
//! fit's; click selects a face for the inspector. Only what is seen is
//! built: the thumbnails of the visible rows and a margin (the window) are
//! derived off the UI thread ([`super::tiles`]) from the newest snapshot and
//! set into three textures made once. Navigation: the scroll bar, Page
//! Up/Down, Home/End, "Go to face" (a number or a file name) and a label
//! (subfolder) filter.

use std::sync::Arc;
use std::time::Instant;

use eframe::egui;

use egui::{Color32, Key, Rect, Sense, TextureOptions, Vec2, WidgetInfo};

use super::SyncTimes;
use super::atlas::{Atlas, gray_into};
use super::tiles::{Factors, TileJob, TileWork};
use crate::jobs::Wake;
use crate::model::thumb::{THUMB_SIDE, Thumb};
use crate::model::{Action, Faces, Model};

const HELP: &str = "Each face (left) beside its reconstruction W·h from the parts (right). With \"residual\" on, the \
     right image shows face - reconstruction: gray is 0, bright where the fit is too dark, dark where too bright. \
     Scroll, Page Up/Down, Home/End, or go to a face by its number or file name.";

/// Smallest tile height before the view scrolls.
const MIN_TILE_HEIGHT: f32 = 30.0;
/// Most faces in one window (tiny tiles on a huge screen).
const MAX_WINDOW: usize = 4096;

/// Which faces a window holds: (list version, first position, end).
type WindowKey = (u64, usize, usize);

/// What a build in flight will show.
#[derive(Clone, Copy, PartialEq)]
struct Keys {
    originals: Option<WindowKey>,
    right: Option<(WindowKey, (u64, usize), bool)>,
    pinned: Option<(WindowKey, (u64, usize))>,
}

/// The faces view: its window of thumbnails, what they show, and where
/// the user is.
pub struct FacesView {
    /// The window's faces at thumbnail size.
    originals: Atlas,
    /// Their reconstructions, or residuals (face − reconstruction).
    right: Atlas,
    /// Their reconstructions by the pinned fit.
    pinned: Atlas,
    shown: Keys,
    /// The build in flight and what it will show.
    job: Option<(Keys, TileJob)>,
    wake: Option<Wake>,
    thumb: Option<Thumb>,
    /// The faces listed (all, or one label's), by position.
    list: Arc<[usize]>,
    /// What `list` is of: (faces generation, label filter).
    list_of: Option<(u64, Option<String>)>,
    list_version: u64,
    /// Positions of `list` to build: the visible rows and a margin.
    window: (usize, usize),
    /// The faces using the selected part most, and what they show.
    strip: Atlas,
    strip_faces: Vec<usize>,
    strip_shown: Option<(u64, (u64, usize), usize)>,
    /// The label whose faces are listed (None: all).
    pub label: Option<String>,
    /// The "Go to face" field, and why its last entry was refused.
    goto: String,
    goto_error: Option<String>,
    /// A position of `list` to scroll to on the next frame.
    scroll_to: Option<usize>,
    /// An offset to scroll to on the next frame (page keys).
    scroll_offset: Option<f32>,
    /// Last frame's scroll offset, visible height and content height.
    last_scroll: (f32, f32, f32),
    /// The selection seen last frame (a new one is scrolled into view).
    last_selected: Option<usize>,
}

impl Default for FacesView {
    fn default() -> Self {
        FacesView {
            originals: Atlas::new("faces", TextureOptions::LINEAR),
            right: Atlas::new("reconstructions", TextureOptions::LINEAR),
            pinned: Atlas::new("pinned reconstructions", TextureOptions::LINEAR),
            shown: Keys { originals: None, right: None, pinned: None },
            job: None,
            wake: None,
            thumb: None,
            list: Arc::from(Vec::new()),
            list_of: None,
            list_version: 0,
            window: (0, 0),
            strip: Atlas::new("faces using a part", TextureOptions::LINEAR),
            strip_faces: Vec::new(),
            strip_shown: None,
            label: None,
            goto: String::new(),
            goto_error: None,
            scroll_to: None,
            scroll_offset: None,
            last_scroll: (0.0, 0.0, 0.0),
            last_selected: None,
        }
    }
}

/// Slot of position `p` in an atlas showing window `w`, if it holds it.
fn slot(w: Option<WindowKey>, version: u64, p: usize) -> Option<usize> {
    let (v, start, end) = w?;
    (v == version && (start..end).contains(&p)).then(|| p - start)
}

impl FacesView {
    /// Takes finished thumbnails in, and starts building what the window
    /// needs next (one build at a time, from the newest snapshot); returns
    /// the time spent here on a new snapshot's images.
    pub(super) fn sync(&mut self, ctx: &egui::Context, model: &Model) -> Option<SyncTimes> {
        let Some(faces) = &model.faces else {
            self.forget();
            return None;
        };
        self.sync_list(faces);
        self.sync_strip(ctx, model, faces);
        let mut times = None;
        if let Some((keys, job)) = &mut self.job
            && let Some(result) = job.poll()
        {
            let keys = *keys;
            self.job = None;
            let started = Instant::now();
            match result {
                Ok(built) => {
                    let new_snapshot = built.right.is_some();
                    self.install(ctx, built, keys);
                    if new_snapshot {
                        times = Some(SyncTimes { derive: std::time::Duration::ZERO, textures: started.elapsed() });
                    }
                }
                Err(e) => log::warn!("building the faces' thumbnails failed: {e}"),
            }
        }
        if self.job.is_none() {
            self.start_build(ctx, model, faces);
        }
        times
    }

    fn forget(&mut self) {
        self.job = None;
        self.originals.clear();
        self.right.clear();
        self.pinned.clear();
        self.strip.clear();
        self.shown = Keys { originals: None, right: None, pinned: None };
        self.list = Arc::from(Vec::new());
        self.list_of = None;
        self.strip_shown = None;
    }

    /// The faces listed: all of them, or those of the chosen label.
    fn sync_list(&mut self, faces: &Faces) {
        if self.label.as_ref().is_some_and(|l| !faces.groups.iter().any(|(_, g)| g == l)) {
            self.label = None;
        }
        let of = (faces.generation, self.label.clone());
        if self.list_of.as_ref() == Some(&of) {
            return;
        }
        if self.list_of.as_ref().is_none_or(|(g, _)| *g != faces.generation) {
            // Other faces: nothing built belongs to them.
            self.job = None;
            self.thumb = Some(Thumb::new(faces.meta.width, faces.meta.height, THUMB_SIDE));
            self.last_selected = None;
            self.scroll_offset = Some(0.0);
        }
        self.list = match &self.label {
            None => (0..faces.count()).collect(),
            Some(l) => (0..faces.count()).filter(|&j| faces.label(j) == l).collect(),
        };
        self.list_of = Some(of);
        self.list_version += 1;
        self.window = (0, self.list.len().min(64));
        self.scroll_offset = Some(0.0);
    }

    /// What the window needs that is neither shown nor being built.
    fn wanted(&self, model: &Model) -> Keys {
        let wk = (self.list_version, self.window.0, self.window.1);
        let empty = self.window.0 >= self.window.1;
        let originals = (!empty).then_some(wk);
        let right = model.fit().filter(|_| !empty).map(|f| (wk, f.key(), model.settings.show_residual));
        let pinned = model.pinned().filter(|_| !empty).map(|p| (wk, p.key()));
        Keys { originals, right, pinned }
    }

    fn start_build(&mut self, ctx: &egui::Context, model: &Model, faces: &Faces) {
        let want = self.wanted(model);
        if want.originals.is_none() {
            self.originals.clear();
            self.right.clear();
            self.pinned.clear();
            self.shown = want;
            return;
        }
        if want.right.is_none() {
            self.right.clear();
            self.shown.right = None;
        }
        if want.pinned.is_none() {
            self.pinned.clear();
            self.shown.pinned = None;
        }
        let (originals, right, pinned) =
            (want.originals != self.shown.originals, want.right != self.shown.right, want.pinned != self.shown.pinned);
        if !(originals || right || pinned) {
            return;
        }
        let Some(thumb) = self.thumb else {
            return;
        };
        let factors =
            |p: &crate::worker::Progress| Factors { w: Arc::clone(&p.snapshot.w), h: Arc::clone(&p.snapshot.h) };
        let work = TileWork {
            data: Arc::clone(&faces.matrix),
            thumb,
            max_side: ctx.input(|i| i.max_texture_side),
            faces: self.list.get(self.window.0..self.window.1).unwrap_or_default().into(),
            originals,
            right: model.fit().filter(|_| right).map(|f| (factors(&f.progress), model.settings.show_residual)),
            pinned: model.pinned().filter(|_| pinned).map(|p| factors(&p.view.progress)),
        };
        let keys = Keys {
            originals: if originals { want.originals } else { self.shown.originals },
            right: if right { want.right } else { self.shown.right },
            pinned: if pinned { want.pinned } else { self.shown.pinned },
        };
        let wake = super::built_wake(&mut self.wake, ctx);
        match work.spawn(wake) {
            Ok(job) => self.job = Some((keys, job)),
            Err(e) => {
                log::warn!("could not build the faces' thumbnails: {e}");
                self.shown = keys;
            }
        }
    }

    /// Sets the built images into the textures.
    fn install(&mut self, ctx: &egui::Context, built: super::tiles::Built, keys: Keys) {
        if let Some(g) = built.originals {
            self.originals.install(ctx, g);
            self.shown.originals = keys.originals;
        }
        if let Some(g) = built.right {
            self.right.install(ctx, g);
            self.shown.right = keys.right;
        }
        if let Some(g) = built.pinned {
            self.pinned.install(ctx, g);
            self.shown.pinned = keys.pinned;
        }
    }

    /// The thumbnails of the faces that use the selected part most (a few,
    /// on this thread: one pass over that part's weights).
    fn sync_strip(&mut self, ctx: &egui::Context, model: &Model, faces: &Faces) {
        let (Some(c), Some(fit), Some(t)) = (model.selected_part, model.fit(), self.thumb) else {
            self.strip.clear();
            self.strip_shown = None;
            return;
        };
        let key = (faces.generation, fit.key(), c);
        if self.strip_shown == Some(key) {
            return;
        }
        self.strip_faces = fit.top_faces(c, STRIP_FACES);
        let matrix = &faces.matrix;
        let mut face = vec![0.0f32; matrix.pixels()];
        let mut small = vec![0.0f32; t.pixels()];
        let list = &self.strip_faces;
        self.strip.update(ctx, list.len(), [t.width, t.height], |i, out| {
            matrix.face_into(list[i], &mut face);
            t.downsample_one(&face, &mut small);
            gray_into(ndarray::ArrayView1::from(&small[..]), 0.0, 1.0, out);
        });
        self.strip_shown = Some(key);
    }

    /// The faces listed (all, or the chosen label's), by position.
    pub fn listed(&self) -> &[usize] {
        &self.list
    }

    /// True when every thumbnail the window needs is built and shown.
    pub fn is_settled(&self, model: &Model) -> bool {
        self.job.is_none() && self.wanted(model) == self.shown
    }

    /// The positions of the list whose thumbnails are asked for.
    pub fn window(&self) -> (usize, usize) {
        self.window
    }

    /// The positions of the list whose faces and reconstructions are
    /// built and shown, if any.
    pub fn built_window(&self) -> Option<(usize, usize)> {
        let (v, start, end) = self.shown.originals?;
        let (rv, rs, re) = self.shown.right.map(|r| r.0)?;
        (v == self.list_version && rv == v).then_some((start.max(rs), end.min(re)))
    }

    /// Finds a face by its number (1-based) or file name (or path below
    /// the folder, or name without extension).
    fn find_face(faces: &Faces, text: &str) -> Result<usize, String> {
        let text = text.trim();
        let n = faces.count();
        if text.is_empty() {
            return Err("type a face number or a file name".into());
        }
        if let Ok(number) = text.parse::<usize>() {
            return if (1..=n).contains(&number) {
                Ok(number - 1)
            } else {
                Err(format!("there is no face {number}: the faces are numbered 1 to {n}"))
            };
        }
        let files = &faces.meta.files;
        let by = |f: &dyn Fn(&std::path::Path) -> bool| files.iter().position(|p| f(p));
        by(&|p| p.to_str() == Some(text))
            .or_else(|| by(&|p| p.file_name().and_then(|s| s.to_str()) == Some(text)))
            .or_else(|| by(&|p| p.file_stem().and_then(|s| s.to_str()) == Some(text)))
            .or_else(|| {
                let lower = text.to_lowercase();
                by(&|p| p.file_name().and_then(|s| s.to_str()).is_some_and(|s| s.to_lowercase() == lower))
            })
            .ok_or_else(|| format!("no face is named \"{text}\": give a number from 1 to {n} or a file name"))
    }

    /// The heading line: the count, the residual toggle, "Go to face" and
    /// the label filter.
    fn header_ui(&mut self, ui: &mut egui::Ui, model: &Model, faces: &Faces, out: &mut Vec<Action>) {
        let n = faces.count();
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
        ui.horizontal(|ui| {
            let label = ui.label("Go to face");
            let edit = ui
                .add(egui::TextEdit::singleline(&mut self.goto).desired_width(90.0).hint_text("number or file"))
                .labelled_by(label.id)
                .on_hover_text(format!("A face number (1 to {n}) or a file name; Enter selects it and scrolls to it."));
            if edit.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter)) {
                match Self::find_face(faces, &self.goto) {
                    Ok(j) => {
                        self.goto_error = None;
                        out.push(Action::SelectFace(j));
                        if !self.list.contains(&j) {
                            self.label = None;
                        }
                        self.last_selected = None;
                    }
                    Err(e) => self.goto_error = Some(e),
                }
            }
            if faces.groups.len() > 1 {
                let label = ui.label("Label");
                let all = format!("all ({})", faces.groups.len());
                let mut chosen = self.label.clone();
                egui::ComboBox::from_id_salt("faces label filter")
                    .selected_text(chosen.clone().unwrap_or_else(|| all.clone()))
                    .width(110.0)
                    .show_ui(ui, |ui| {
                        ui.selectable_value(&mut chosen, None, all);
                        for (_, g) in &faces.groups {
                            ui.selectable_value(&mut chosen, Some(g.clone()), g.as_str());
                        }
                    })
                    .response
                    .labelled_by(label.id)
                    .on_hover_text("Show only the faces of one label (their subfolder).");
                if chosen != self.label {
                    self.label = chosen;
                    ui.ctx().request_repaint();
                }
                if self.label.is_some() {
                    ui.label(egui::RichText::new(format!("{} shown", self.list.len())).weak());
                }
            }
        });
        if let Some(e) = &self.goto_error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
    }

    /// Page Up/Down, Home and End (when no text field has the keys).
    fn page_keys(&mut self, ui: &egui::Ui) {
        if ui.ctx().memory(|m| m.focused().is_some()) {
            return;
        }
        let (offset, visible, content) = self.last_scroll;
        let page = (visible - 20.0).max(visible * 0.5);
        let end = (content - visible).max(0.0);
        let key = |k: Key| ui.input_mut(|i| i.consume_key(egui::Modifiers::NONE, k));
        if key(Key::PageDown) {
            self.scroll_offset = Some((offset + page).min(end));
        } else if key(Key::PageUp) {
            self.scroll_offset = Some((offset - page).max(0.0));
        } else if key(Key::Home) {
            self.scroll_offset = Some(0.0);
        } else if key(Key::End) {
            self.scroll_offset = Some(end);
        }
    }

    pub fn faces_ui(&mut self, ui: &mut egui::Ui, model: &Model, out: &mut Vec<Action>) {
        let Some(faces) = model.faces.as_ref() else {
            super::heading_ui(ui, "Faces", HELP);
            return;
        };
        let Some(t) = self.thumb else {
            return;
        };
        self.header_ui(ui, model, faces, out);
        let mut select = None;
        let (tw, th) = (t.width as f32, t.height as f32);
        let accent = super::accent(ui);
        let placeholder = super::tiles::placeholder(ui);
        let version = self.list_version;

        // The faces that use the selected part most.
        if let (Some(c), Some(fit), Some(tex)) = (model.selected_part, model.fit(), self.strip.texture().cloned()) {
            ui.horizontal(|ui| {
                let rank = fit.rank.get(c).map_or(0, |r| r + 1);
                ui.label(format!("Basis {rank} is used most by:"));
                let size = Vec2::new(tw, th) * (28.0 / th);
                for (i, &j) in self.strip_faces.iter().enumerate().take(self.strip.count) {
                    let r = super::image_ui(
                        ui,
                        &tex,
                        self.strip.uv(i),
                        size,
                        || format!("Face {} (uses basis {rank})", j + 1),
                        None,
                    )
                    .on_hover_ui(|ui| {
                        let label = faces.label(j);
                        let w = fit.progress.snapshot.h.get([c, j]).copied().unwrap_or(0.0);
                        ui.label(format!("Face {} ({label}): weight {w:.3}", j + 1));
                    });
                    if r.clicked() {
                        select = Some(j);
                    }
                }
            });
        }

        let gap = 4.0;
        let pair_gap = 1.0;
        let n = self.list.len();
        let avail = ui.available_size() - Vec2::new(18.0, 2.0);
        // Face, reconstruction and, with a pinned fit, its reconstruction.
        let has_pinned = model.pinned().is_some();
        let has_fit = model.fit().is_some();
        let per_face = if has_pinned { 3.0 } else { 2.0 };
        let pair_aspect = (per_face * tw + (per_face - 1.0) * pair_gap) / th;
        let (mut cols, mut pair) = super::grid_fit(n.min(2000), pair_aspect, avail, gap);
        if pair.y < MIN_TILE_HEIGHT || n > 2000 {
            pair = Vec2::new(MIN_TILE_HEIGHT * pair_aspect, MIN_TILE_HEIGHT);
            cols = (((avail.x + gap) / (pair.x + gap)).floor() as usize).max(1);
        }
        let tile = Vec2::new((pair.x - (per_face - 1.0) * pair_gap) / per_face, pair.y);
        let what = if model.settings.show_residual { "Residual" } else { "Reconstruction" };
        let rows = n.div_ceil(cols);
        let row_step = tile.y + gap;

        // A new selection (the weights map, "Go to face", the eigenfaces
        // view) is scrolled into view.
        if model.selected_face != self.last_selected {
            if let Some(j) = model.selected_face
                && let Some(p) = self.list.iter().position(|&x| x == j)
            {
                let (offset, visible, _) = self.last_scroll;
                let y = (p / cols) as f32 * row_step;
                if y < offset || y + row_step > offset + visible {
                    self.scroll_to = Some(p);
                }
            }
            self.last_selected = model.selected_face;
        }
        self.page_keys(ui);

        let right_tex =
            self.right.texture().cloned().filter(|_| {
                self.shown.right.is_some_and(|s| s.2 == model.settings.show_residual) && model.fit().is_some()
            });
        let originals_tex = self.originals.texture().cloned();
        let pinned_tex = self.pinned.texture().cloned().filter(|_| has_pinned);
        let (shown_originals, shown_right, shown_pinned) =
            (self.shown.originals, self.shown.right.map(|s| s.0), self.shown.pinned.map(|s| s.0));

        let mut area = egui::ScrollArea::vertical()
            .id_salt("faces scroll")
            .auto_shrink([false, false])
            .scroll_bar_visibility(egui::scroll_area::ScrollBarVisibility::VisibleWhenNeeded)
            .wheel_scroll_multiplier(Vec2::splat(2.0))
            .animated(false);
        if let Some(p) = self.scroll_to.take() {
            // The row a third of the way down.
            let y = (p / cols) as f32 * row_step - self.last_scroll.1 / 3.0;
            area = area.vertical_scroll_offset(y.max(0.0));
        } else if let Some(y) = self.scroll_offset.take() {
            area = area.vertical_scroll_offset(y);
        }
        let list = Arc::clone(&self.list);
        let selected = model.selected_face;
        let output = ui
            .scope(|ui| {
                // A solid scroll bar with a handle that can be grabbed at
                // any number of rows.
                let mut scroll = egui::style::ScrollStyle::solid();
                scroll.bar_width = 10.0;
                scroll.handle_min_length = 28.0;
                ui.spacing_mut().scroll = scroll;
                area.show_rows(ui, tile.y, rows, |ui, visible| {
                    ui.spacing_mut().item_spacing = Vec2::new(pair_gap, gap);
                    let first = visible.start * cols;
                    let last = (visible.end * cols).min(n);
                    for row in visible {
                        ui.horizontal(|ui| {
                            for p in row * cols..((row + 1) * cols).min(n) {
                                let j = list[p];
                                let outline = (selected == Some(j)).then_some(accent);
                                let hover = |ui: &mut egui::Ui| {
                                    let label = faces.label(j);
                                    ui.label(format!("Face {} ({label}); click to inspect", j + 1));
                                };
                                let pictures = [
                                    (
                                        originals_tex.as_ref(),
                                        &self.originals,
                                        slot(shown_originals, version, p),
                                        format!("Face {}", j + 1),
                                    ),
                                    (
                                        right_tex.as_ref(),
                                        &self.right,
                                        slot(shown_right, version, p),
                                        format!("{what} of face {}", j + 1),
                                    ),
                                    (
                                        pinned_tex.as_ref(),
                                        &self.pinned,
                                        slot(shown_pinned, version, p),
                                        format!("Pinned reconstruction of face {}", j + 1),
                                    ),
                                ];
                                for (i, (texture, atlas, at, alt)) in pictures.into_iter().enumerate() {
                                    if i == 2 && !has_pinned {
                                        continue;
                                    }
                                    if i == 1 && !has_fit {
                                        ui.allocate_exact_size(tile, Sense::hover());
                                        continue;
                                    }
                                    let image = texture.zip(at).map(|(t, s)| (t, atlas.uv(s)));
                                    let r = tile_ui(ui, image, tile, alt, outline, placeholder).on_hover_ui(hover);
                                    if r.clicked() {
                                        select = Some(j);
                                    }
                                }
                                ui.add_space(gap - 2.0 * pair_gap);
                            }
                        });
                    }
                    (first, last)
                })
            })
            .inner;
        let (first, last) = output.inner;
        self.last_scroll = (output.state.clamped_offset().y, output.inner_rect.height(), output.content_size.y);
        self.want_window(ui.ctx(), (first, last), cols, n);
        if let Some(j) = select {
            out.push(Action::SelectFace(j));
        }
    }

    /// Moves the window when the visible positions leave it (or it is far
    /// larger than they need): the visible ones and half as many again on
    /// each side.
    fn want_window(&mut self, ctx: &egui::Context, (first, last): (usize, usize), cols: usize, n: usize) {
        let span = last.saturating_sub(first).max(cols);
        let margin = (span / 2).div_ceil(cols) * cols;
        let (start, end) = self.window;
        let inside = start <= first && last <= end;
        let too_big = end - start > span + 4 * margin + 4 * cols;
        if inside && !too_big && end <= n {
            return;
        }
        let start = first.saturating_sub(margin);
        let end = (last + margin).min(n).min(start + MAX_WINDOW);
        if (start, end) != self.window {
            self.window = (start, end);
            ctx.request_repaint();
        }
    }
}

/// How many faces the "used most by" strip shows.
const STRIP_FACES: usize = 12;

/// One tile: a picture from an atlas, or a placeholder while it is being
/// built; clickable, with alt text.
fn tile_ui(
    ui: &mut egui::Ui,
    image: Option<(&egui::TextureHandle, Rect)>,
    size: Vec2,
    alt: String,
    outline: Option<Color32>,
    placeholder: Color32,
) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(size, Sense::click());
    if ui.is_rect_visible(rect) {
        match image {
            Some((texture, uv)) => {
                ui.painter().image(texture.id(), rect, uv, Color32::WHITE);
            }
            None => {
                ui.painter().rect_filled(rect, 0.0, placeholder);
            }
        }
        if let Some(color) = outline {
            ui.painter().rect_stroke(rect.expand(1.0), 1.0, egui::Stroke::new(2.0, color), egui::StrokeKind::Outside);
        }
    }
    response.widget_info(|| WidgetInfo::labeled(egui::accesskit::Role::Image, true, &alt));
    response
}
