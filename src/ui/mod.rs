//! The views, one file each, and the layout that places them. Every image
//! has alt text through AccessKit ("Basis 3", "Face 12", ...), every control
//! a label and a tooltip.

use eframe::egui;

mod basis_gallery;
mod controls;
mod eigenfaces;
mod export_dialog;
mod faces;
mod inspector;
mod loss_curve;
mod new_face;
mod rank_explorer;
mod solver_race;
mod status_bar;
mod toolbar;
mod weights_map;

use egui::{Color32, Rect, Response, Sense, TextureHandle, Vec2, WidgetInfo};

use crate::app::{FaceNmfApp, View};

/// Width of the controls panel.
const CONTROLS_WIDTH: f32 = 236.0;
/// Width of the inspector / loss curve column.
const RIGHT_WIDTH: f32 = 390.0;

/// Draws the whole window.
pub fn app_ui(app: &mut FaceNmfApp, ui: &mut egui::Ui) {
    egui::Panel::top("toolbar").show(ui, |ui| toolbar::toolbar_ui(app, ui));
    egui::Panel::bottom("status").show(ui, |ui| status_bar::status_bar_ui(app, ui));
    egui::Panel::left("controls")
        .resizable(false)
        .exact_size(CONTROLS_WIDTH)
        .show(ui, |ui| controls::controls_ui(app, ui));
    egui::Panel::right("inspect").resizable(false).exact_size(RIGHT_WIDTH).show(ui, |ui| {
        let total = ui.available_height();
        let inspector_height = if app.new_face.current.is_some() {
            new_face::new_face_height(app, RIGHT_WIDTH)
        } else {
            inspector::inspector_height(app, RIGHT_WIDTH)
        }
        .min(total * 0.6);
        let (upper, lower) = split_vertical(ui, inspector_height);
        let map_height = (lower.height() * 0.42).max(80.0);
        let map = Rect::from_min_size(lower.min, Vec2::new(lower.width(), map_height));
        let loss = Rect::from_min_max(egui::pos2(lower.min.x, map.max.y), lower.max);
        child_ui(ui, upper, "inspector", |ui| inspector::inspector_ui(app, ui));
        child_ui(ui, map, "weights", |ui| weights_map::weights_map_ui(app, ui));
        child_ui(ui, loss, "loss", |ui| loss_curve::loss_curve_ui(app, ui));
    });
    egui::CentralPanel::default().show(ui, |ui| match app.settings.view {
        View::Explorer => explorer_ui(app, ui),
        View::Eigenfaces => eigenfaces::eigenfaces_ui(app, ui),
        View::Ranks => rank_explorer::rank_explorer_ui(app, ui),
        View::Race => solver_race::solver_race_ui(app, ui),
    });
    toolbar::windows_ui(app, ui);
    new_face::project_window_ui(app, ui.ctx());
    export_dialog::export_window_ui(app, ui.ctx());
}

/// The explorer's middle: the basis gallery above the faces.
fn explorer_ui(app: &mut FaceNmfApp, ui: &mut egui::Ui) {
    {
        let total = ui.available_height();
        let avail_width = ui.available_width();
        let gallery_height = basis_gallery::gallery_height(app, avail_width - 8.0, total * 0.5);
        let (gallery, faces) = split_vertical(ui, gallery_height);
        child_ui(ui, gallery, "gallery", |ui| basis_gallery::basis_gallery_ui(app, ui));
        child_ui(ui, faces, "faces", |ui| faces::faces_ui(app, ui));
    }
}

/// Splits the remaining space of `ui` at `height` from the top.
fn split_vertical(ui: &egui::Ui, height: f32) -> (Rect, Rect) {
    let r = ui.available_rect_before_wrap();
    let y = (r.min.y + height).min(r.max.y);
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

/// A muted hint line.
fn hint_ui(ui: &mut egui::Ui, text: &str) {
    ui.label(egui::RichText::new(text).weak().small());
}
