//! rel_err against iteration or against time, on a log scale, live.

use eframe::egui;

use egui_plot::{GridInput, GridMark, Legend, Line, LineStyle, Plot, PlotPoints, Points, VLine};

use crate::model::Model;

const HELP: &str = "Relative reconstruction error ||A - WH|| / ||A|| (log scale) as the fit goes on, from the first iteration (the initialisation's error is in the tooltip). Iterations are counted along the whole curve: \
     vertical lines mark changes of k or of the sparseness (the fit continues from a warm start).";

/// The lowest rel_err drawn on the log axis: an error of 0 (an exact fit)
/// or below this is drawn here, and the plot says so. Below it f32
/// rounding dominates anyway.
pub const REL_ERR_FLOOR: f64 = 1e-7;

/// The smallest span of the y axis, in decades (log10 units): a flat loss
/// is shown in a band this tall around it, so that the tick labels differ
/// and rounding noise does not fill the plot.
const MIN_LOG_SPAN: f64 = 0.01;

/// The x axis has at most this many labelled steps across its width (so
/// that on the 330 px wide plot they are far enough apart to be drawn).
const X_LABELS: f64 = 5.0;

/// A labelled x step closer than this (in steps) to the plot's edge is not
/// labelled: half its label would be cut off.
const EDGE_STEPS: f64 = 0.08;

/// The loss curve and its x axis (iterations or seconds).
#[derive(Default)]
pub struct LossCurve {
    by_time: bool,
}

/// One point of the curve as drawn: iteration (cumulative), seconds and
/// rel_err as measured.
#[derive(Debug, Clone, Copy, PartialEq)]
struct CurvePoint {
    iteration: f64,
    secs: f64,
    rel_err: f64,
}

impl CurvePoint {
    fn x(&self, by_time: bool) -> f64 {
        if by_time { self.secs } else { self.iteration }
    }
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
        // The initialisation (iteration 0 of the first fit) is left out: its
        // error can be far above the rest and would squash the curve.
        let mut shown: Vec<CurvePoint> = curve
            .points
            .iter()
            .skip(1)
            .filter(|p| p[2].is_finite())
            .map(|p| CurvePoint { iteration: p[0], secs: p[1], rel_err: p[2] })
            .collect();
        let init = curve.points.first().map(|p| p[2]);
        // A fit that has not iterated yet (e.g. one opened from the rank
        // explorer): show where it starts.
        let start_only = shown.is_empty() && init.is_some_and(f64::is_finite);
        if start_only && let Some(p) = curve.points.first() {
            shown.push(CurvePoint { iteration: p[0], secs: p[1], rel_err: p[2] });
        }
        let floored = shown.iter().filter(|p| p.rel_err < REL_ERR_FLOOR).count();
        if floored > 0 {
            super::hint_ui(
                ui,
                &format!(
                    "{} with rel_err below {REL_ERR_FLOOR:e} (0 = an exact fit) drawn at {REL_ERR_FLOOR:e}, the \
                     bottom of the axis",
                    crate::dataset::count_of(floored, "point")
                ),
            );
        }
        let points: Vec<[f64; 2]> = shown.iter().map(|p| [p.x(by_time), plotted_y(p.rel_err)]).collect();
        let marks: Vec<(f64, usize)> = if by_time { Vec::new() } else { curve.k_marks.clone() };
        // The pinned fit's curve, dashed, to compare.
        let pinned = model.pinned().map(|p| {
            let pts: Vec<[f64; 2]> = p
                .curve
                .points
                .iter()
                .skip(1)
                .filter(|q| q[2].is_finite())
                .map(|q| [if by_time { q[1] } else { q[0] }, plotted_y(q[2])])
                .collect();
            (format!("pinned: {}", p.short_label), pts)
        });
        // The iteration the timeline shows, on this axis.
        let replay_at = model.live.scrub.as_ref().and_then(|(t, _)| {
            let t = *t as f64;
            if by_time { curve.points.iter().find(|q| q[0] >= t).map(|q| q[1]) } else { Some(t) }
        });
        let last = curve.points.last().map(|p| p[2]);
        let mut plot = Plot::new("loss")
            .x_axis_label(if by_time { "seconds" } else { "iteration" })
            .y_axis_label("rel_err")
            .x_grid_spacer(x_grid_marks)
            .x_axis_formatter(move |mark, _| x_tick_label(mark, by_time))
            .y_axis_formatter(|mark, _| y_tick_label(mark))
            .label_formatter(move |pos| {
                let x = match pos {
                    egui_plot::HoverPosition::NearDataPoint { position, .. } => position.x,
                    egui_plot::HoverPosition::Elsewhere { position } => position.x,
                };
                nearest(&shown, x, by_time).map(|p| hover_label(p, by_time))
            })
            .allow_scroll(false);
        if let Some((lo, hi)) = padded_y_range(points.iter().map(|p| p[1])) {
            plot = plot.include_y(lo).include_y(hi);
        }
        if pinned.is_some() {
            // Which line is which.
            plot = plot.legend(Legend::default().position(egui_plot::Corner::RightTop).background_alpha(0.6));
        }
        plot.show(ui, |plot_ui| {
            // The live curve first: it keeps the first colour whatever else
            // is drawn.
            if start_only {
                plot_ui.points(Points::new("rel_err", PlotPoints::from(points)).radius(3.0));
            } else {
                plot_ui.line(Line::new("rel_err", PlotPoints::from(points)));
            }
            if let Some((name, pts)) = pinned {
                plot_ui.line(Line::new(name, PlotPoints::from(pts)).style(LineStyle::dashed_loose()));
            }
            if let Some(at) = replay_at {
                plot_ui.vline(VLine::new("replay", at).style(LineStyle::dotted_dense()));
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

/// Where rel_err `e` is drawn on the log axis: log10(e), an error below
/// [`REL_ERR_FLOOR`] (0 included) at the floor.
fn plotted_y(e: f64) -> f64 {
    e.max(REL_ERR_FLOOR).log10()
}

/// The y range (log10 units) to include so that it spans at least
/// [`MIN_LOG_SPAN`] around the values `ys`; None when they span more.
fn padded_y_range(ys: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let (lo, hi) = ys
        .filter(|y| y.is_finite())
        .fold(None, |r: Option<(f64, f64)>, y| Some(r.map_or((y, y), |(lo, hi)| (lo.min(y), hi.max(y)))))?;
    if hi - lo >= MIN_LOG_SPAN {
        return None;
    }
    let mid = (lo + hi) / 2.0;
    Some((mid - MIN_LOG_SPAN / 2.0, mid + MIN_LOG_SPAN / 2.0))
}

/// A y tick label (the axis holds log10 of rel_err): enough decimals that
/// neighbouring labels differ.
fn y_tick_label(mark: GridMark) -> String {
    let value = 10f64.powf(mark.value);
    let spacing = value * (10f64.powf(mark.step_size) - 1.0);
    // The first decimal at which two labels one step apart differ, and one
    // more so that the steps between them read evenly.
    let decimals = if spacing > 0.0 && spacing.is_finite() {
        ((-spacing.log10()).ceil() + 1.0).clamp(2.0, 12.0) as usize
    } else {
        3
    };
    if value < 1e-3 { format!("{value:.1e}") } else { format!("{value:.decimals$}") }
}

/// The 1-2-5 step at least `raw` long.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let decade = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * decade).find(|&s| s >= raw * (1.0 - 1e-9)).unwrap_or(10.0 * decade)
}

/// The x axis's grid: labelled steps of 1, 2 or 5 × 10ⁿ, about
/// [`X_LABELS`] across the plot (so the labels are far enough apart for
/// egui_plot to draw them), with fainter lines at a fifth of the step.
fn x_grid_marks(input: GridInput) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    let step = nice_step((hi - lo) / X_LABELS);
    let mut marks = Vec::new();
    for (size, labelled) in [(step / 5.0, false), (step, true)] {
        if !(size.is_finite() && size > 0.0) {
            continue;
        }
        let first = (lo / size).ceil() as i64;
        let last = (hi / size).floor() as i64;
        if last - first > 1000 {
            continue;
        }
        for i in first..=last {
            let value = i as f64 * size;
            if !labelled && (value / step - (value / step).round()).abs() < 1e-6 {
                continue;
            }
            // A label centred on a line at the plot's edge would be cut in
            // half ("30" for 300): that line is drawn, unlabelled.
            let at_edge = labelled && (value - lo).min(hi - value) < EDGE_STEPS * step;
            marks.push(GridMark { value, step_size: if at_edge { step / 5.0 } else { size } });
        }
    }
    marks.sort_by(|a, b| a.value.total_cmp(&b.value));
    marks
}

/// An x tick label: iterations are whole numbers (other marks get no
/// label), seconds have as many decimals as the step needs.
fn x_tick_label(mark: GridMark, by_time: bool) -> String {
    if by_time {
        let decimals = (-mark.step_size.log10()).ceil().clamp(0.0, 6.0) as usize;
        format!("{:.decimals$}", mark.value)
    } else if (mark.value - mark.value.round()).abs() < 1e-6 {
        format!("{:.0}", mark.value)
    } else {
        String::new()
    }
}

/// The point of `points` nearest to `x` along the axis shown.
fn nearest(points: &[CurvePoint], x: f64, by_time: bool) -> Option<CurvePoint> {
    points.iter().copied().min_by(|a, b| (a.x(by_time) - x).abs().total_cmp(&(b.x(by_time) - x).abs()))
}

/// The hover label of a point: its whole iteration, its time and its error
/// as measured (also when it is drawn at the floor).
fn hover_label(p: CurvePoint, by_time: bool) -> String {
    let err = if p.rel_err < REL_ERR_FLOOR {
        format!("rel_err {:.3e} (drawn at {REL_ERR_FLOOR:e})", p.rel_err)
    } else if p.rel_err < 1e-3 {
        format!("rel_err {:.3e}", p.rel_err)
    } else {
        format!("rel_err {:.4}", p.rel_err)
    };
    if by_time {
        format!("{:.2} s (iteration {:.0})\n{err}", p.secs, p.iteration)
    } else {
        format!("iteration {:.0}\n{err}", p.iteration)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(value: f64, step_size: f64) -> GridMark {
        GridMark { value, step_size }
    }

    #[test]
    fn a_flat_loss_gets_a_band_whose_ticks_differ() {
        let flat = 0.4547f64.log10();
        let (lo, hi) = padded_y_range([flat, flat + 1e-9, flat].into_iter()).expect("padded");
        assert!((hi - lo - MIN_LOG_SPAN).abs() < 1e-12 && lo < flat && flat < hi);
        // A curve that falls is left as it is.
        assert_eq!(padded_y_range([0.0, -0.5].into_iter()), None);
        // The ticks egui_plot would put in that band (log grid of 10ⁿ
        // decades) read differently from each other.
        let step = 1e-3;
        let labels: Vec<String> =
            (0..10).map(|i| ((lo / step).ceil() + f64::from(i)) * step).map(|v| y_tick_label(mark(v, step))).collect();
        for pair in labels.windows(2) {
            assert_ne!(pair[0], pair[1], "{labels:?}");
        }
        // Even steps of 1e-7 decades (zoomed far in) differ.
        let a = y_tick_label(mark(flat, 1e-7));
        let b = y_tick_label(mark(flat + 1e-7, 1e-7));
        assert_ne!(a, b);
    }

    #[test]
    fn x_ticks_are_labelled_whole_iterations_or_seconds() {
        for (lo, hi) in [(0.0, 1686.0), (0.0, 900.0), (0.0, 7.0), (120.0, 130.0), (0.0, 1.0e6)] {
            // egui_plot's bounds: the data and a margin of 5 % each side.
            let (lo, hi) = (lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo));
            let marks = x_grid_marks(GridInput { bounds: (lo, hi), base_step_size: (hi - lo) / 40.0 });
            let labelled: Vec<String> =
                marks.iter().map(|&m| x_tick_label(m, false)).filter(|t| !t.is_empty()).collect();
            // Several labels, not just "0", whatever the range.
            let biggest = marks.iter().map(|m| m.step_size).fold(0.0, f64::max);
            let big_labels = marks.iter().filter(|m| m.step_size == biggest).count();
            assert!(big_labels >= 3, "{lo}..{hi}: {labelled:?}");
            assert!(biggest >= (hi - lo) / 6.0, "{lo}..{hi}: labels {biggest} apart are too close to be drawn");
            assert!(labelled.iter().all(|t| t.parse::<i64>().is_ok()), "{labelled:?}");
        }
        // 300 at the right edge of -14.5..304.5 is not labelled ("30" once
        // half of it was cut); 0, 100 and 200 are.
        let marks = x_grid_marks(GridInput { bounds: (-14.5, 304.5), base_step_size: 8.0 });
        let labelled: Vec<f64> = marks.iter().filter(|m| m.step_size == 100.0).map(|m| m.value).collect();
        assert_eq!(labelled, vec![0.0, 100.0, 200.0]);
        assert_eq!(x_tick_label(mark(2.5, 0.5), false), "");
        assert_eq!(x_tick_label(mark(1500.0, 500.0), false), "1500");
        assert_eq!(x_tick_label(mark(0.25, 0.05), true), "0.25");
        assert_eq!(x_tick_label(mark(12.0, 5.0), true), "12");
        assert_eq!(nice_step(375.0), 500.0);
        assert_eq!(nice_step(1.5), 2.0);
        assert_eq!(nice_step(0.03), 0.05);
    }

    #[test]
    fn hovering_shows_the_nearest_whole_iteration() {
        let points: Vec<CurvePoint> = (1..=2000)
            .map(|i| CurvePoint { iteration: f64::from(i), secs: f64::from(i) * 0.01, rel_err: 0.4547 })
            .collect();
        let p = nearest(&points, 1686.1, false).expect("a point");
        assert_eq!(hover_label(p, false), "iteration 1686\nrel_err 0.4547");
        let p = nearest(&points, 3.333, true).expect("a point");
        assert_eq!(hover_label(p, true), "3.33 s (iteration 333)\nrel_err 0.4547");
    }

    #[test]
    fn zero_error_is_drawn_at_the_stated_floor() {
        assert_eq!(plotted_y(0.0), REL_ERR_FLOOR.log10());
        assert_eq!(plotted_y(1e-12), REL_ERR_FLOOR.log10());
        assert_eq!(plotted_y(-1.0), REL_ERR_FLOOR.log10());
        assert!((plotted_y(0.1) + 1.0).abs() < 1e-12);
        let p = CurvePoint { iteration: 5.0, secs: 0.1, rel_err: 0.0 };
        assert_eq!(hover_label(p, false), "iteration 5\nrel_err 0.000e0 (drawn at 1e-7)");
    }
}
