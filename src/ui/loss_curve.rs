//! rel_err against iteration or against time, on a log scale, live.

use eframe::egui;

use egui_plot::{Legend, Line, LineStyle, Plot, PlotPoints, Points, VLine};

use crate::model::Model;

const HELP: &str = "Relative reconstruction error ||A - WH|| / ||A|| (log scale) as the fit goes on, from the first iteration (the initialisation's error is in the tooltip). Vertical lines mark \
     changes of k (the fit continues from a warm start).";

/// The loss curve and its x axis (iterations or seconds).
#[derive(Default)]
pub struct LossCurve {
    by_time: bool,
}

impl LossCurve {
    pub fn loss_curve_ui(&mut self, ui: &mut egui::Ui, model: &Model) {
        let mut by_time = self.by_time;
        ui.horizontal(|ui| {
            super::heading_ui(ui, "Loss curve", HELP);
            ui.selectable_value(&mut by_time, false, "vs iteration").on_hover_text("x axis: iterations");
            ui.selectable_value(&mut by_time, true, "vs time").on_hover_text("x axis: seconds of solver work");
        });
        self.by_time = by_time;
        let curve = &model.live.curve;
        let x = usize::from(by_time);
        // The initialisation (iteration 0 of the first fit) is left out: its
        // error can be far above the rest and would squash the curve.
        let mut points: Vec<[f64; 2]> = curve
            .points
            .iter()
            .skip(1)
            .filter(|p| p[2] > 0.0 && p[2].is_finite())
            .map(|p| [p[x], p[2].log10()])
            .collect();
        let init = curve.points.first().map(|p| p[2]);
        // A fit that has not iterated yet (e.g. one opened from the rank
        // explorer): show where it starts.
        let start_only = points.is_empty() && init.is_some_and(|e| e > 0.0 && e.is_finite());
        if start_only && let Some(p) = curve.points.first() {
            points.push([p[x], p[2].log10()]);
        }
        let marks: Vec<(f64, usize)> = if by_time { Vec::new() } else { curve.k_marks.clone() };
        // The pinned fit's curve, dashed, to compare.
        let pinned = model.pinned().map(|p| {
            let pts: Vec<[f64; 2]> = p
                .curve
                .points
                .iter()
                .skip(1)
                .filter(|q| q[2] > 0.0 && q[2].is_finite())
                .map(|q| [q[x], q[2].log10()])
                .collect();
            (format!("pinned: {}", p.short_label), pts)
        });
        // The iteration the timeline shows, on this axis.
        let replay_at = model.live.scrub.as_ref().and_then(|(t, _)| {
            let t = *t as f64;
            if by_time { curve.points.iter().find(|q| q[0] >= t).map(|q| q[1]) } else { Some(t) }
        });
        let last = curve.points.last().map(|p| p[2]);
        let mut plot = Plot::new("loss");
        if pinned.is_some() {
            // Which line is which.
            plot = plot.legend(Legend::default().position(egui_plot::Corner::RightTop).background_alpha(0.6));
        }
        plot.x_axis_label(if by_time { "seconds" } else { "iteration" })
            .y_axis_label("rel_err")
            .y_axis_formatter(|mark, _| {
                // Enough decimals that neighbouring labels differ.
                let value = 10f64.powf(mark.value);
                let spacing = value * (10f64.powf(mark.step_size) - 1.0);
                let decimals = if spacing > 0.0 { (-spacing.log10()).ceil().clamp(3.0, 6.0) as usize } else { 3 };
                format!("{value:.decimals$}")
            })
            .label_formatter(move |pos| {
                let (name, p) = match pos {
                    egui_plot::HoverPosition::NearDataPoint { position, .. } => ("", *position),
                    egui_plot::HoverPosition::Elsewhere { position } => ("", *position),
                };
                Some(format!(
                    "{name}{} {:.1}\nrel_err {:.4}",
                    if by_time { "s" } else { "iteration" },
                    p.x,
                    10f64.powf(p.y)
                ))
            })
            .allow_scroll(false)
            .show(ui, |plot_ui| {
                if let Some((name, pts)) = pinned {
                    plot_ui.line(Line::new(name, PlotPoints::from(pts)).style(LineStyle::dashed_loose()));
                }
                if let Some(at) = replay_at {
                    plot_ui.vline(VLine::new("replay", at).style(LineStyle::dotted_dense()));
                }
                if start_only {
                    plot_ui.points(Points::new("rel_err", PlotPoints::from(points)).radius(3.0));
                } else {
                    plot_ui.line(Line::new("rel_err", PlotPoints::from(points)));
                }
                for (at, k) in marks {
                    plot_ui.vline(VLine::new(format!("k = {k}"), at));
                }
            })
            .response
            .on_hover_text(match last {
                Some(e) => format!("rel_err now: {e:.4} (after the initialisation: {:.4})", init.unwrap_or(f64::NAN)),
                None => "No fit yet".to_string(),
            });
    }
}
