//! Status line: the data set, the solver's state, iteration, rel_err,
//! iterations per second, load warnings and the last error.

use eframe::egui;

use crate::app::FaceNmfApp;
use crate::worker::FitState;

pub fn status_bar_ui(app: &mut FaceNmfApp, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        if let Some(text) = app.loading.describe() {
            ui.spinner();
            ui.label(text);
            ui.separator();
        }
        match app.faces() {
            Some(f) => {
                ui.label(format!("{}: {}", f.name, f.summary())).on_hover_text("The open faces");
            }
            None => {
                ui.label("No faces open");
            }
        }
        ui.separator();
        let state = match app.fit() {
            _ if app.is_fitting() && app.fit().is_none_or(|f| !f.is_running()) => "starting…".to_string(),
            None => "idle".to_string(),
            Some(f) => {
                let p = &f.progress;
                let opened = app.sweep.opened_k == Some(p.params.k) && p.snapshot.iteration == 0;
                match p.state {
                    FitState::Stopped(crate::nmf::StopReason::Cancelled)
                        if app.sweep.is_running() && app.sweep.resume_fit =>
                    {
                        format!("paused for the sweep ({}, k = {})", p.params.solver, p.params.k)
                    }
                    FitState::Stopped(crate::nmf::StopReason::Cancelled) if opened => {
                        format!(
                            "opened from the rank sweep ({}, k = {}); Run goes on fitting",
                            p.params.solver, p.params.k
                        )
                    }
                    FitState::Running => format!("running {} (k = {})", p.params.solver, p.params.k),
                    FitState::Paused => {
                        format!("paused while a background job runs ({}, k = {})", p.params.solver, p.params.k)
                    }
                    FitState::Stopped(r) => {
                        format!("stopped: {} ({}, k = {})", describe(r), p.params.solver, p.params.k)
                    }
                }
            }
        };
        ui.label(format!("solver: {state}")).on_hover_text("What the solver is doing");
        if let Some(f) = app.fit() {
            let p = &f.progress;
            ui.separator();
            ui.label(format!("iteration {}", p.snapshot.iteration));
            ui.separator();
            ui.label(format!("rel_err {:.4}", p.snapshot.rel_err)).on_hover_text("||A - WH|| / ||A||");
            let init = p.init_secs;
            let work = p.snapshot.secs - init;
            if p.snapshot.iteration > 0 && work > 0.0 {
                ui.separator();
                ui.label(format!("{:.0} it/s", p.snapshot.iteration as f64 / work))
                    .on_hover_text("Solver iterations per second in this fit");
            }
        }
        if app.sweep.is_running() {
            ui.separator();
            ui.spinner();
            let p = app.sweep.progress;
            if ui
                .link(format!("sweep {}/{}", p.done, p.total))
                .on_hover_text("A sweep over k runs in the background (ranks done of all): show it")
                .clicked()
            {
                app.settings.view = crate::app::View::Ranks;
            }
        }
        let skipped = app.faces().map_or(0, |f| f.dataset.skipped.len());
        if skipped > 0 {
            ui.separator();
            let text = format!("{skipped} file{} skipped", if skipped == 1 { "" } else { "s" });
            if ui.link(text).on_hover_text("Show which files were not loaded, and why").clicked() {
                app.show_skipped = true;
            }
        }
        if let Some(notice) = &app.export.notice {
            ui.separator();
            ui.label(notice.as_str()).on_hover_text("The last export");
        }
        if let Some(err) = app.error().map(str::to_string) {
            ui.separator();
            ui.colored_label(ui.visuals().error_fg_color, err.as_str()).on_hover_text(err.as_str());
        }
    });
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
