//! A face that is not in the set, in the inspector: the image, its
//! reconstruction from the parts with W fixed, the residual, its error, its
//! weights and the strip "face ≈ w·part + …"; and the "Project a face"
//! window.

use eframe::egui;

use egui::{Pos2, Rect, Sense, Vec2, WidgetInfo};

use crate::app::FaceNmfApp;

const HELP: &str = "An image that is not in the set, projected onto the parts: its weights are computed with W fixed \
     (non-negative least squares), so you see how well the parts learned from the set describe a new face. It is \
     projected again whenever the fit changes.";

/// Height of the weights bar chart.
const CHART_HEIGHT: f32 = 56.0;

/// Height the new face's inspector needs in a column `width` wide.
pub fn new_face_height(app: &FaceNmfApp, width: f32) -> f32 {
    let Some(faces) = app.faces.as_ref() else {
        return 120.0;
    };
    let image_height = super::inspector::image_size(faces.dataset.width, faces.dataset.height, width - 8.0).y;
    // heading, note, images + captions, error line, bar chart, strip.
    24.0 + 18.0 + image_height + 20.0 + 22.0 + CHART_HEIGHT + 60.0
}

/// The inspector's content when a new face is shown.
pub fn new_face_ui(app: &mut FaceNmfApp, ui: &mut egui::Ui) {
    let (Some(faces), Some(current)) = (app.faces.as_ref(), app.new_face.current.as_ref()) else {
        return;
    };
    let mut back = false;
    ui.horizontal(|ui| {
        super::heading_ui(ui, &format!("New face: {}", current.name), HELP);
        let target = app.selected_face.map_or_else(|| "the set".to_string(), |j| format!("face {}", j + 1));
        back = ui
            .button(format!("Back to {target}"))
            .on_hover_text("Inspect the set's faces again (clicking any face does too).")
            .clicked();
    });
    let (w, h) = (faces.dataset.width, faces.dataset.height);
    let note = match current.loaded.resized_from {
        Some((ow, oh)) => format!("{ow}×{oh} image resized to the set's {w}×{h}; not in the set."),
        None => format!("{w}×{h}, not in the set: weights with W fixed (NNLS)."),
    };
    super::hint_ui(ui, &note);
    let size = super::inspector::image_size(w, h, ui.available_width());
    ui.horizontal(|ui| {
        let pictures = [
            (&app.new_face.face, "Inspector: new face", "new face"),
            (&app.new_face.recon, "Inspector: reconstruction of new face", "reconstruction"),
            (&app.new_face.residual, "Inspector: residual of new face", "residual"),
        ];
        for (picture, alt, caption) in pictures {
            ui.vertical(|ui| {
                match picture.texture() {
                    Some(t) => {
                        super::image_ui(ui, t, super::full_uv(), size, || alt.to_string(), None);
                    }
                    None => {
                        ui.allocate_exact_size(size, Sense::hover());
                    }
                }
                ui.label(egui::RichText::new(caption).small());
            });
        }
    });
    let (Some(fit), Some(projection)) = (app.fit.as_ref(), current.projection.as_ref()) else {
        super::hint_ui(ui, "Run a fit to project this face onto its parts.");
        if back {
            app.close_new_face();
        }
        return;
    };
    ui.label(format!("relative error of the new face: {:.3}", projection.rel_err))
        .on_hover_text("||face - W·h|| / ||face|| with h >= 0 the best weights for the current parts");
    let k = fit.k();
    if k == 0 || projection.weights.len() != k || fit.order.len() != k {
        return;
    }
    let weights = &projection.weights;

    // Bar chart of the weights, in importance order (read-only).
    let max = weights.iter().fold(1e-6f32, |m, &v| m.max(v)) * 1.15;
    let (rect, response) = ui.allocate_exact_size(Vec2::new(ui.available_width(), CHART_HEIGHT), Sense::hover());
    response.widget_info(|| WidgetInfo::labeled(egui::accesskit::Role::Image, true, "Weights of new face"));
    let bar_w = rect.width() / k as f32;
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, ui.visuals().extreme_bg_color);
    let color = ui.visuals().widgets.inactive.fg_stroke.color;
    for (r, &c) in fit.order.iter().take(k).enumerate() {
        let x0 = rect.min.x + r as f32 * bar_w;
        let top = rect.max.y - (weights[c] / max).clamp(0.0, 1.0) * rect.height();
        painter.rect_filled(
            Rect::from_min_max(Pos2::new(x0 + bar_w * 0.1, top), Pos2::new(x0 + bar_w * 0.9, rect.max.y)),
            0.0,
            color,
        );
    }
    if let Some(p) = response.hover_pos() {
        let r = (((p.x - rect.min.x) / bar_w).floor().max(0.0) as usize).min(k - 1);
        let c = fit.order[r];
        response.on_hover_text_at_pointer(format!("Basis {}: weight {:.3}", r + 1, weights[c]));
    }

    // face ≈ w₁·part + w₂·part + … for the largest contributions.
    let terms = super::inspector::top_terms(fit, weights.view());
    let thumb = Vec2::new(34.0 * w as f32 / h as f32, 34.0);
    super::inspector::strip_ui(ui, &app.textures.basis, fit, &terms, thumb, "new face", |ui, c, r| {
        ui.label(format!("{:.2}·", weights[c])).on_hover_text(format!("Weight of basis {} in the new face", r + 1));
    });
    if back {
        app.close_new_face();
    }
}

/// The "Project a face" window: a path field and a Browse… button.
pub fn project_window_ui(app: &mut FaceNmfApp, ctx: &egui::Context) {
    if !app.new_face.window_open {
        return;
    }
    let mut open = true;
    let mut project = false;
    let mut browse = false;
    egui::Window::new("Project a face").open(&mut open).collapsible(false).resizable(false).show(ctx, |ui| {
        ui.label("An image that is not in the set: its weights are computed with the parts W fixed.");
        if let Some(note) = &app.new_face.note {
            super::hint_ui(ui, note);
        }
        ui.horizontal(|ui| {
            let label = ui.label("Image file:");
            let edit = ui
                .add(egui::TextEdit::singleline(&mut app.new_face.path).desired_width(320.0))
                .labelled_by(label.id)
                .on_hover_text("Path of an image file (PNG, PGM, JPEG, …); other sizes are resized to the set's.");
            project = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            browse = ui.button("Browse…").on_hover_text("Choose the image in the system's file dialog").clicked();
        });
        project |= ui.button("Project").clicked();
    });
    if browse {
        app.browse_new_face();
    }
    if project {
        let text = app.new_face.path.trim().to_string();
        if text.is_empty() {
            app.report_error(&anyhow::anyhow!("type the path of an image to project"));
        } else {
            app.project_new_face(std::path::Path::new(&text));
        }
    }
    if !open {
        app.new_face.window_open = false;
    }
}
