//! The views, one struct and file each, and the layout that places them.
//! A view reads the [`Model`], keeps its own state, caches and textures,
//! and returns what the user asked for as [`Action`]s (pushed to `out`);
//! it never writes the model. Every image has alt text through AccessKit
//! ("Basis 3", "Face 12", ...), every control a label and a tooltip.

use eframe::egui;

pub mod atlas;
mod basis_gallery;
mod controls;
mod cover;
mod eigenfaces;
mod export_dialog;
mod faces;
mod field;
mod inspector;
mod loss_curve;
mod new_face;
mod picture_dialog;
mod rank_explorer;
mod solver_race;
mod status_bar;
mod textures;
mod tiles;
mod timeline;
mod toolbar;
mod weights_map;

use std::time::Duration;

use egui::{Color32, Rect, Response, Sense, TextureHandle, Vec2, WidgetInfo};

use crate::model::{Action, Model, ThemeChoice, View};
pub use inspector::Edits;
pub use textures::SharedTextures;

/// Width of the controls panel.
const CONTROLS_WIDTH: f32 = 236.0;
/// Width of the inspector / loss curve column.
const RIGHT_WIDTH: f32 = 390.0;

/// Every view, and the textures several of them draw.
#[derive(Default)]
pub struct Views {
    pub shared: SharedTextures,
    pub toolbar: toolbar::Toolbar,
    pub controls: controls::Controls,
    pub explorer: faces::FacesView,
    pub gallery: basis_gallery::BasisGallery,
    pub inspector: inspector::Inspector,
    pub new_face: new_face::NewFaceView,
    pub weights: weights_map::WeightsMap,
    pub loss: loss_curve::LossCurve,
    pub timeline: timeline::Timeline,
    pub eigenfaces: eigenfaces::Eigenfaces,
    pub ranks: rank_explorer::RankExplorer,
    pub race: solver_race::SolverRace,
    pub export: export_dialog::ExportDialog,
    pub picture: picture_dialog::PictureDialog,
    /// Where the views were drawn in the last frame (for pictures of them).
    pub regions: Regions,
    /// The window is cleared to the panel colour before each frame
    /// ([`crate::app::FaceNmfApp`]'s `clear_color`, honoured by eframe's
    /// painter), so the panels paint no fill of their own. Under the
    /// software renderer the panel fills were about 40 % of the
    /// rendering threads' CPU per frame (README, Large sets); a clear is a
    /// memset. Off where the host clears to transparent (egui_kittest).
    pub cleared_background: bool,
}

/// Where the views that can be pictured were drawn, in points (None: not
/// drawn in the last frame).
#[derive(Debug, Clone, Copy, Default)]
pub struct Regions {
    pub window: Option<Rect>,
    pub gallery: Option<Rect>,
    pub faces: Option<Rect>,
    pub eigenfaces: Option<Rect>,
}

impl Regions {
    /// The rectangle of a screenshot of `what`, if it was drawn.
    pub fn rect(&self, what: crate::model::PictureWhat) -> Option<Rect> {
        use crate::model::PictureWhat as P;
        match what {
            P::Window => self.window,
            P::Gallery => self.gallery,
            P::Faces => self.faces,
            P::Eigenfaces => self.eigenfaces,
            P::Montage | P::Movie | P::FaceMovie => None,
        }
    }
}

/// How soon a frame follows an image built off the UI thread when nothing
/// else asks for one. While a fit runs, the next snapshot's frame (every
/// 100 ms, or 200 ms for large sets) comes first and shows the images
/// built for the one before: one frame per snapshot, as when they were
/// built on the UI thread (without a GPU each frame costs the solver about
/// 25 ms of CPU).
const BUILT_REPAINT_DELAY: Duration = Duration::from_millis(250);

/// The wake of a view's background builds, made once: a repaint
/// [`BUILT_REPAINT_DELAY`] later (the images are shown with the next
/// snapshot's frame, or then).
fn built_wake(slot: &mut Option<crate::jobs::Wake>, ctx: &egui::Context) -> crate::jobs::Wake {
    slot.get_or_insert_with(|| {
        let ctx = ctx.clone();
        std::sync::Arc::new(move || ctx.request_repaint_after(BUILT_REPAINT_DELAY))
    })
    .clone()
}

/// Time spent turning a new snapshot into textures, for FACENMF_PROFILE.
#[derive(Debug, Clone, Copy, Default)]
pub struct SyncTimes {
    /// Deriving what the textures show (thumbnails' reconstructions).
    pub derive: Duration,
    /// Filling and uploading the textures.
    pub textures: Duration,
}

impl Views {
    /// Brings the views' textures up to date with the model (after
    /// [`Model::poll`]); returns the time a new snapshot took, if one came.
    pub fn sync(&mut self, ctx: &egui::Context, model: &Model) -> Option<SyncTimes> {
        let mut times = self.shared.sync(ctx, model);
        if model.settings.view == View::Explorer
            && let Some(t) = self.explorer.sync(ctx, model)
        {
            let total = times.get_or_insert_with(SyncTimes::default);
            total.derive += t.derive;
            total.textures += t.textures;
        }
        self.weights.sync(ctx, model);
        self.inspector.sync(ctx, model);
        self.new_face.sync(ctx, model);
        if model.settings.view == View::Eigenfaces {
            self.eigenfaces.sync(ctx, model);
        }
        self.ranks.sync(model);
        self.export.sync(model);
        self.picture.sync(model);
        self.toolbar.sync(model);
        times
    }

    /// Opens the Save picture… window (the toolbar's button, Ctrl+Shift+S).
    pub fn open_picture_window(&mut self, model: &Model) {
        self.picture.open_window(model);
    }

    /// True when the views built off the UI thread (the faces' thumbnails,
    /// the weights map) show the model's fit (tests wait for this).
    pub fn is_settled(&self, model: &Model) -> bool {
        (model.settings.view != View::Explorer || self.explorer.is_settled(model)) && self.weights.is_settled(model)
    }

    /// The frame of the side, top and bottom panels.
    fn panel_frame(&self, ui: &egui::Ui) -> egui::Frame {
        self.bare(egui::Frame::side_top_panel(ui.style()))
    }

    /// The frame of the central panel.
    fn central_frame(&self, ui: &egui::Ui) -> egui::Frame {
        self.bare(egui::Frame::central_panel(ui.style()))
    }

    fn bare(&self, frame: egui::Frame) -> egui::Frame {
        if self.cleared_background { frame.fill(egui::Color32::TRANSPARENT) } else { frame }
    }

    /// Draws the whole window; what the user asked for goes to `out`.
    pub fn ui(&mut self, ui: &mut egui::Ui, model: &Model, out: &mut Vec<Action>) {
        let mut regions = Regions { window: Some(ui.max_rect()), ..Regions::default() };
        let shared = &self.shared;
        egui::Panel::top("toolbar").frame(self.panel_frame(ui)).show(ui, |ui| self.toolbar.toolbar_ui(ui, model, out));
        if std::mem::take(&mut self.toolbar.open_project) {
            self.new_face.open_window();
        }
        if std::mem::take(&mut self.toolbar.open_export) {
            self.export.open_window();
        }
        if std::mem::take(&mut self.toolbar.open_picture) {
            self.picture.open_window(model);
        }
        egui::Panel::bottom("status")
            .frame(self.panel_frame(ui))
            .show(ui, |ui| status_bar::status_bar_ui(ui, model, &mut self.toolbar, out));
        if !model.settings.presenting {
            egui::Panel::left("controls")
                .frame(self.panel_frame(ui))
                .resizable(false)
                .exact_size(CONTROLS_WIDTH)
                .show(ui, |ui| self.controls.controls_ui(ui, model, out));
        }
        egui::Panel::right("inspect").frame(self.panel_frame(ui)).resizable(false).exact_size(RIGHT_WIDTH).show(
            ui,
            |ui| {
                let total = ui.available_height();
                let inspector_height = if model.new_face.is_some() {
                    new_face::new_face_height(model, RIGHT_WIDTH)
                } else {
                    self.inspector.height(model, RIGHT_WIDTH)
                }
                .min(total * 0.6);
                let (upper, lower) = split_vertical(ui, inspector_height);
                // Presenting, the text is larger: the loss curve keeps its
                // room and the weights map (the least read view) gives way.
                let map_height = if model.settings.presenting { 0.0 } else { (lower.height() * 0.42).max(80.0) };
                let map = Rect::from_min_size(lower.min, Vec2::new(lower.width(), map_height));
                let loss = Rect::from_min_max(egui::pos2(lower.min.x, map.max.y), lower.max);
                child_ui(ui, upper, "inspector", |ui| {
                    if model.new_face.is_some() {
                        self.new_face.new_face_ui(ui, model, shared, out);
                    } else {
                        self.inspector.inspector_ui(ui, model, shared, out);
                    }
                });
                if map_height > 0.0 {
                    child_ui(ui, map, "weights", |ui| self.weights.weights_map_ui(ui, model, out));
                }
                let (loss, timeline) = split_vertical_rect(loss, loss.height() - timeline::TIMELINE_HEIGHT);
                child_ui(ui, loss, "loss", |ui| self.loss.loss_curve_ui(ui, model));
                child_ui(ui, timeline, "timeline", |ui| self.timeline.timeline_ui(ui, model, out));
            },
        );
        egui::CentralPanel::default().frame(self.central_frame(ui)).show(ui, |ui| match model.settings.view {
            View::Explorer => {
                let total = ui.available_height();
                let avail_width = ui.available_width();
                let gallery_height = basis_gallery::gallery_height(model, shared, avail_width - 8.0, total * 0.5);
                let (gallery, faces) = split_vertical(ui, gallery_height);
                (regions.gallery, regions.faces) = (Some(gallery), Some(faces));
                child_ui(ui, gallery, "gallery", |ui| self.gallery.basis_gallery_ui(ui, model, shared, out));
                child_ui(ui, faces, "faces", |ui| self.explorer.faces_ui(ui, model, out));
            }
            View::Eigenfaces => {
                regions.eigenfaces = Some(ui.max_rect());
                self.eigenfaces.eigenfaces_ui(ui, model, shared, out);
            }
            View::Ranks => self.ranks.rank_explorer_ui(ui, model, out),
            View::Race => self.race.solver_race_ui(ui, model, out),
        });
        self.toolbar.windows_ui(ui, model, out);
        self.new_face.project_window_ui(ui.ctx(), model, out);
        self.inspector.cover.cover_window_ui(ui.ctx(), model, out);
        self.export.export_window_ui(ui.ctx(), model, out);
        self.picture.picture_window_ui(ui.ctx(), model, out);
        self.regions = regions;
    }
}

/// egui's theme preference for the remembered choice.
pub fn theme_preference(theme: ThemeChoice) -> egui::ThemePreference {
    match theme {
        ThemeChoice::System => egui::ThemePreference::System,
        ThemeChoice::Light => egui::ThemePreference::Light,
        ThemeChoice::Dark => egui::ThemePreference::Dark,
    }
}

/// Splits the remaining space of `ui` at `height` from the top.
fn split_vertical(ui: &egui::Ui, height: f32) -> (Rect, Rect) {
    split_vertical_rect(ui.available_rect_before_wrap(), height)
}

/// Splits `r` at `height` from its top.
fn split_vertical_rect(r: Rect, height: f32) -> (Rect, Rect) {
    let y = (r.min.y + height.max(0.0)).min(r.max.y);
    (Rect::from_min_max(r.min, egui::pos2(r.max.x, y)), Rect::from_min_max(egui::pos2(r.min.x, y), r.max))
}

/// Runs `add` in a child ui confined to `rect` (with a small margin).
fn child_ui(ui: &mut egui::Ui, rect: Rect, id: &str, add: impl FnOnce(&mut egui::Ui)) {
    let inner = rect.shrink(4.0);
    let mut child = ui
        .new_child(egui::UiBuilder::new().max_rect(inner).id_salt(id).layout(egui::Layout::top_down(egui::Align::Min)));
    child.set_clip_rect(inner.intersect(ui.clip_rect()));
    add(&mut child);
}

/// A heading with a tooltip explaining the view.
fn heading_ui(ui: &mut egui::Ui, text: &str, help: &str) {
    ui.label(egui::RichText::new(text).strong()).on_hover_text(help);
}

/// One image from a texture (or a tile of an atlas: `uv`), clickable, with
/// alt text for screen readers and tests.
fn image_ui(
    ui: &mut egui::Ui,
    texture: &TextureHandle,
    uv: Rect,
    size: Vec2,
    alt: impl Fn() -> String,
    outline: Option<Color32>,
) -> Response {
    let (rect, response) = ui.allocate_exact_size(size, Sense::click());
    if ui.is_rect_visible(rect) {
        ui.painter().image(texture.id(), rect, uv, Color32::WHITE);
        if let Some(color) = outline {
            ui.painter().rect_stroke(rect.expand(1.0), 1.0, egui::Stroke::new(2.0, color), egui::StrokeKind::Outside);
        }
    }
    response.widget_info(|| WidgetInfo::labeled(egui::accesskit::Role::Image, true, alt()));
    response
}

/// A picture with a small caption under it (an empty space of the same size
/// while it has no texture); `width` reserves at least that much room.
fn captioned_ui(ui: &mut egui::Ui, texture: Option<&TextureHandle>, size: Vec2, alt: &str, caption: &str, width: f32) {
    ui.vertical(|ui| {
        ui.set_width(size.x.max(width));
        match texture {
            Some(t) => {
                image_ui(ui, t, full_uv(), size, || alt.to_string(), None).on_hover_text(alt);
            }
            None => {
                ui.allocate_exact_size(size, Sense::hover());
            }
        }
        ui.label(egui::RichText::new(caption).small());
    });
}

/// A labelled path field, with a Browse… button when `browse_help` is
/// given; returns (Enter pressed in the field, Browse… clicked).
fn path_field_ui(
    ui: &mut egui::Ui,
    label: &str,
    path: &mut String,
    help: &str,
    browse_help: Option<&str>,
) -> (bool, bool) {
    ui.horizontal(|ui| {
        let label = ui.label(label);
        let edit =
            ui.add(egui::TextEdit::singleline(path).desired_width(320.0)).labelled_by(label.id).on_hover_text(help);
        let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        let browse = browse_help.is_some_and(|h| ui.button("Browse…").on_hover_text(h).clicked());
        (enter, browse)
    })
    .inner
}

/// Full-texture UV rectangle.
fn full_uv() -> Rect {
    Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0))
}

/// The largest tile size (aspect `w:h`) with which `count` tiles fit in
/// `avail` with `gap` between them; returns (columns, tile size).
fn grid_fit(count: usize, aspect: f32, avail: Vec2, gap: f32) -> (usize, Vec2) {
    let mut best = (1, Vec2::ZERO);
    for cols in 1..=count.max(1) {
        let rows = count.div_ceil(cols) as f32;
        let w_by_width = (avail.x - gap * (cols as f32 - 1.0)) / cols as f32;
        let h_by_height = (avail.y - gap * (rows - 1.0)) / rows;
        let w = w_by_width.min(h_by_height * aspect);
        if w > best.1.x {
            best = (cols, Vec2::new(w, w / aspect));
        }
    }
    best
}

/// The highlight colour (selection).
fn accent(ui: &egui::Ui) -> Color32 {
    ui.visuals().selection.stroke.color
}

/// True in the frame Escape is pressed: every window the app opens (Export,
/// Project a face, Open folder, the resize offer, skipped files, a status
/// message, the cover image) closes on it.
fn escape_pressed(ctx: &egui::Context) -> bool {
    ctx.input(|i| i.key_pressed(egui::Key::Escape))
}

/// A muted hint line.
fn hint_ui(ui: &mut egui::Ui, text: &str) {
    ui.label(egui::RichText::new(text).weak().small());
}
