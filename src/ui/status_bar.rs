//! Status line: the data set, the solver's state, iteration, rel_err,
//! iterations per second, load warnings and the last error.

use eframe::egui;

use super::toolbar::Toolbar;
use crate::model::{Action, Model, View};
use crate::worker::FitState;

pub fn status_bar_ui(ui: &mut egui::Ui, model: &Model, toolbar: &mut Toolbar, out: &mut Vec<Action>) {
    ui.horizontal(|ui| {
        if let Some(text) = model.loading_what() {
            ui.spinner();
            ui.label(text);
            ui.separator();
        }
        match model.faces.as_ref() {
            Some(f) => {
                ui.label(format!("{}: {}", f.name, f.summary())).on_hover_text("The open faces");
            }
            None => {
                ui.label("No faces open");
            }
        }
        ui.separator();
        // The live fit's state, also while the timeline shows an earlier one.
        let live = model.live.fit.as_ref();
        let state = match live {
            _ if model.is_fitting() && live.is_none_or(|f| !f.is_running()) => "starting…".to_string(),
            None => "idle".to_string(),
            Some(f) => {
                let p = &f.progress;
                let opened = model.sweep.opened_k == Some(p.params.k) && model.live.adopted();
                let holder = if model.sweep.is_running() {
                    "the sweep"
                } else if model.race.is_active() {
                    "the race"
                } else {
                    "background work"
                };
                match p.state {
                    _ if model.live.is_paused() => {
                        format!("paused for {holder} ({}, k = {})", p.params.solver, p.params.k)
                    }
                    FitState::Stopped(_) if opened => {
                        format!(
                            "opened from the rank sweep ({}, k = {}); Run goes on fitting",
                            p.params.solver, p.params.k
                        )
                    }
                    FitState::Running | FitState::Paused => format!("running {} (k = {})", p.params.solver, p.params.k),
                    FitState::Stopped(r) => {
                        format!("stopped: {} ({}, k = {})", describe(r), p.params.solver, p.params.k)
                    }
                }
            }
        };
        ui.label(format!("solver: {state}")).on_hover_text("What the solver is doing");
        if let Some(f) = live {
            let p = &f.progress;
            ui.separator();
            let (text, help) = iteration_text(model.live.curve.iterations_before(), p.snapshot.iteration, p.params.k);
            ui.label(text).on_hover_text(help);
            ui.separator();
            ui.label(format!("rel_err {:.4}", p.snapshot.rel_err)).on_hover_text("||A - WH|| / ||A||");
            let init = model.live.history().first().map_or(0.0, |r| r.secs);
            let work = p.snapshot.secs - init;
            if p.snapshot.iteration > 0 && work > 0.0 {
                ui.separator();
                let rate = format!("{:.0} it/s", p.snapshot.iteration as f64 / work);
                match model.settings.pace.per_sec() {
                    Some(_) => ui.label(format!("{rate}, paced at {}", model.settings.pace.name())).on_hover_text(
                        "Solver iterations per second of its own work; the pace lets it take at most this many a \
                         second",
                    ),
                    None => ui.label(rate).on_hover_text("Solver iterations per second in this fit"),
                };
            }
        }
        if let Some((t, _)) = &model.live.scrub {
            ui.separator();
            ui.label(egui::RichText::new(format!("replay: showing iteration {t}")).strong())
                .on_hover_text("The views show the fit as it was then; Live (under the loss curve) returns.");
        }
        if model.sweep.is_running() {
            ui.separator();
            ui.spinner();
            let p = model.sweep.progress;
            if ui
                .link(format!("sweep {}/{}", p.done, p.total))
                .on_hover_text("A sweep over k runs in the background (ranks done of all): show it")
                .clicked()
            {
                out.push(Action::SetView(View::Ranks));
            }
        }
        let skipped = model.faces.as_ref().map_or(0, |f| f.meta.skipped.len());
        if skipped > 0 {
            ui.separator();
            let text = format!("{} skipped", crate::dataset::count_of(skipped, "file"));
            if ui.link(text).on_hover_text("Show which files were not loaded, and why").clicked() {
                toolbar.show_skipped = true;
            }
        }
        // The messages share what is left of the line; each is cut short
        // with "…" when it does not fit, whole on hover and, clicked, in a
        // window.
        let warn = ui.visuals().warn_fg_color;
        let messages: Vec<(String, Option<egui::Color32>, String)> = [
            model.export.notice.as_ref().map(|n| (n.clone(), None, "The last export".to_string())),
            model.zeroed_warning.as_ref().map(|w| {
                let help = format!(
                    "{w}.\nParts that are all zero add nothing to the faces: an L1 penalty (alpha_W or alpha_H \
                     with l1_ratio above 0) strong enough removes them. The alpha tooltips give the range that suits \
                     these faces; for sparse parts that stay, use the sparseness of parts."
                );
                (w.clone(), Some(warn), help)
            }),
            model.note.as_ref().map(|n| (n.clone(), Some(warn), n.clone())),
            model.error.as_ref().map(|e| (e.clone(), Some(ui.visuals().error_fg_color), e.clone())),
        ]
        .into_iter()
        .flatten()
        .collect();
        let count = messages.len();
        for (i, (text, color, help)) in messages.into_iter().enumerate() {
            ui.separator();
            let share = ui.available_width() / (count - i) as f32;
            let mut rich = egui::RichText::new(text.as_str());
            if let Some(c) = color {
                rich = rich.color(c);
            }
            let clicked = ui
                .scope(|ui| {
                    ui.set_max_width((share - 12.0).max(40.0));
                    ui.add(egui::Label::new(rich).truncate().sense(egui::Sense::click()))
                        .on_hover_text(format!("{help}\n(Click to see the message whole, and copy it.)"))
                        .clicked()
                })
                .inner;
            if clicked {
                toolbar.message = Some(text);
            }
        }
    });
}

/// "iteration 1686 (312 at k = 25)": the iteration counted as the loss
/// curve counts it (along the whole curve, across warm starts), and, after
/// a warm start, the current fit's own count; with the tooltip.
pub(super) fn iteration_text(before: usize, iteration: usize, k: usize) -> (String, String) {
    if before == 0 {
        (format!("iteration {iteration}"), "Iterations of this fit (as on the loss curve)".to_string())
    } else {
        (
            format!("iteration {} ({iteration} at k = {k})", before + iteration),
            format!(
                "{} along the loss curve; {iteration} since k (or the sparseness) last changed and the fit went on \
                 from a warm start (the vertical line on the curve)",
                crate::dataset::count_of(before + iteration, "iteration")
            ),
        )
    }
}

fn describe(reason: crate::nmf::StopReason) -> &'static str {
    use crate::nmf::StopReason::*;
    match reason {
        Tol => "converged (tol)",
        MaxIter => "max_iter reached",
        Target => "target reached",
        Time => "time limit",
        Cancelled => "by you",
    }
}
