//! The replay timeline under the loss curve: a slider over the snapshots
//! the worker kept (log-spaced iterations), which shows every view as the
//! fit was then, and "Live" to come back. Scrubbing never touches the fit.

use eframe::egui;

use crate::model::{Action, Model};

const HELP: &str = "Replay: the fit's parts and weights are kept at log-spaced iterations (every early one, then \
     sparser; at most 64 snapshots or 64 MB, 16 MB for a large set, which keeps fewer). Drag to see every view as it was at that iteration; the fit goes on \
     meanwhile. Live returns to the fit as it is now.";

/// Height the timeline takes.
pub const TIMELINE_HEIGHT: f32 = 48.0;

/// The timeline (no state of its own: what is shown is the model's).
#[derive(Default)]
pub struct Timeline;

impl Timeline {
    pub fn timeline_ui(&mut self, ui: &mut egui::Ui, model: &Model, out: &mut Vec<Action>) {
        let kept = &model.live.replay;
        let Some(last) = kept.len().checked_sub(1) else {
            ui.horizontal(|ui| {
                super::heading_ui(ui, "Replay", HELP);
                super::hint_ui(ui, "snapshots are kept as the fit runs");
            });
            return;
        };
        let scrubbed = model.live.scrub.as_ref().map(|(t, _)| *t);
        let shown = match scrubbed {
            Some(t) => kept.iter().position(|k| k.iteration >= t).unwrap_or(last),
            None => last,
        };
        ui.horizontal(|ui| {
            let label = ui.label(egui::RichText::new("Replay").strong()).on_hover_text(HELP);
            let mut index = shown;
            let width = (ui.available_width() - 70.0).max(60.0);
            ui.spacing_mut().slider_width = width;
            let response = ui
                .add(egui::Slider::new(&mut index, 0..=last).show_value(false))
                .labelled_by(label.id)
                .on_hover_text(HELP);
            if response.changed() && index != shown {
                out.push(Action::Scrub(Some(kept[index].iteration)));
            }
            if ui
                .add_enabled(scrubbed.is_some(), egui::Button::new("Live"))
                .on_hover_text("Show the fit as it is now.")
                .clicked()
            {
                out.push(Action::Scrub(None));
            }
        });
        let text = match (scrubbed, model.fit()) {
            (Some(t), Some(fit)) => format!(
                "showing iteration {t} (k = {}, rel_err {:.4}): snapshot {} of {} kept; the fit goes on",
                fit.k(),
                fit.progress.snapshot.rel_err,
                shown + 1,
                kept.len()
            ),
            _ => format!(
                "live; {} snapshots kept, up to iteration {}: drag to go back",
                kept.len(),
                kept[last].iteration
            ),
        };
        ui.small(text);
    }
}
