//! The rank explorer: NMF fitted at a range of k in the background, its
//! error beside the SVD's optimum (Eckart–Young), the explained variance and
//! the sparseness of the parts, per k; click a k (or its Open button) to
//! open that fit in the explorer.

use eframe::egui;

use egui::{Color32, Vec2};
use egui_plot::{Corner, Legend, Line, MarkerShape, Plot, PlotPoints, Points};

use crate::dataset::count_of;
use crate::model::{Action, Model};
use crate::nmf::sweep::{CvMethod, Phase, RankSpec, Suggestion, SweepPoint, Validation, parse_ranks, suggest_k};

const HELP: &str = "Fit NMF at every k of a range (each from its own initialisation, with the solver, init, tol and \
     penalties set on the left and the iterations per k set here) and compare its error with the SVD's: the best any \
     rank-k factorisation can do. Click a k, or its Open button, to open that fit in the explorer.";

const RANKS_HELP: &str = "The ranks to fit: a range such as 2..62 (every step from the first while <= the last) or a \
     list such as 2, 4, 8, 16.";

/// Colours of the series (readable on light and dark backgrounds).
const NMF_COLOR: Color32 = Color32::from_rgb(230, 120, 20);
const SVD_COLOR: Color32 = Color32::from_rgb(60, 130, 220);
const EXPLAINED_COLOR: Color32 = Color32::from_rgb(60, 170, 90);
const SPARSE_COLOR: Color32 = Color32::from_rgb(190, 80, 190);
const CV_COLOR: Color32 = Color32::from_rgb(200, 50, 60);
const STABILITY_COLOR: Color32 = Color32::from_rgb(40, 160, 170);

const CHOOSE_HELP: &str = "Answer which k to use. Cross-validation: each fold hides part of the faces (bicross, the \
     default: some pixels of some faces; holdout: its own random 10 % of the pixels); a fit that never sees them is \
     scored on them (held-out error). Extra parts first fit the faces better, then start fitting noise, so the \
     held-out error levels off or rises; the suggested k is the smallest within one standard error of its minimum. \
     Restarts: the same k fitted from different random starts; stability is 1 minus the mean Amari distance between \
     their parts (1 = the same parts every time). Each k costs folds + restarts fits.";

/// The rank explorer's inputs: the ranks as typed, the step of a range and
/// the iterations of each k.
pub struct RankExplorer {
    /// The ranks as typed: a list (2,4,8) or a range (2..62).
    pub spec: String,
    /// Step of a range.
    pub step: usize,
    /// max_iter of each rank in the next sweep (the rest of the parameters
    /// are the settings').
    pub max_iter_per_k: usize,
    /// The max_k the spec was filled in for.
    spec_for: Option<usize>,
    /// Whether the next sweep cross-validates and restarts each k.
    pub choose_k: bool,
    /// Its folds, how they hold data out, and restarts.
    pub cv_folds: usize,
    pub cv_method: CvMethod,
    pub restarts: usize,
    /// Where the table is saved (.csv or .json).
    pub table_path: String,
}

impl Default for RankExplorer {
    fn default() -> Self {
        RankExplorer {
            spec: String::new(),
            step: 4,
            max_iter_per_k: 200,
            spec_for: None,
            choose_k: false,
            cv_folds: 5,
            cv_method: CvMethod::default(),
            restarts: 3,
            table_path: "ranks.csv".into(),
        }
    }
}

impl RankExplorer {
    /// Fills in a default range for new faces: 2..min(64, max_k) in steps
    /// of 4 (fewer for tiny sets).
    pub(super) fn sync(&mut self, model: &Model) {
        let Some(max_k) = model.faces.as_ref().map(|f| f.max_k()) else {
            return;
        };
        if self.spec_for == Some(max_k) {
            return;
        }
        let top = max_k.min(64);
        if top < 2 {
            self.spec = "1".into();
        } else {
            self.step = if top >= 16 { 4 } else { 1 };
            self.spec = format!("2..{top}");
        }
        self.spec_for = Some(max_k);
    }

    /// The cross-validation and restarts of the next sweep.
    pub fn validation(&self) -> Validation {
        if self.choose_k {
            Validation {
                cv_folds: self.cv_folds,
                cv_method: self.cv_method,
                cv_fraction: 0.1,
                restarts: self.restarts.max(1),
            }
        } else {
            Validation::default()
        }
    }

    /// The ranks the spec asks for, or why it is invalid (checked against
    /// `max_k` before a range is expanded: typing a huge range is cheap).
    pub fn ranks(&self, max_k: usize) -> Result<Vec<usize>, String> {
        parse_ranks(&self.spec, self.step, max_k).map_err(|e| e.to_string())
    }

    /// The bound typed that the step misses (64 in 2..64 step 4).
    fn missed_bound(&self) -> Option<usize> {
        RankSpec::parse(&self.spec, self.step).ok()?.stops_short().map(|(_, last)| last)
    }

    /// The k axis of the plots: the ranks asked for (or found).
    fn x_range(&self, model: &Model) -> (f64, f64) {
        let asked = self.ranks(model.max_k()).ok().and_then(|ks| Some((*ks.first()?, *ks.last()?)));
        let found = model
            .sweep
            .points
            .iter()
            .map(|p| p.k)
            .fold(None, |r: Option<(usize, usize)>, k| Some(r.map_or((k, k), |(a, b)| (a.min(k), b.max(k)))));
        let (lo, hi) = match (asked, found) {
            (Some(a), Some(f)) => (a.0.min(f.0), a.1.max(f.1)),
            (Some(r), None) | (None, Some(r)) => r,
            (None, None) => (1, 2),
        };
        (lo as f64 - 0.5, hi as f64 + 0.5)
    }

    pub fn rank_explorer_ui(&mut self, ui: &mut egui::Ui, model: &Model, out: &mut Vec<Action>) {
        super::heading_ui(ui, "Rank explorer: how does the error fall with k?", HELP);
        if model.faces.is_none() {
            super::hint_ui(ui, "Open faces to sweep over k.");
            return;
        }
        self.controls_ui(ui, model, out);
        progress_ui(ui, model);
        if let Some(s) = suggest_k(&model.sweep.points) {
            // Mid-sweep the minimum may still move to a k not fitted yet.
            let text = if model.sweep.is_running() {
                // (and the last k done is naturally the largest so far).
                let s = Suggestion { min_is_largest: false, ..s };
                format!("So far (ranks done): suggested {}", s.describe())
            } else {
                format!("Suggested {}", s.describe())
            };
            ui.label(egui::RichText::new(text).strong().color(CV_COLOR)).on_hover_text(CHOOSE_HELP);
        }
        ui.add_space(2.0);
        let total = ui.available_height();
        let table_height = (total * 0.28).clamp(90.0, 220.0);
        let plots = (total - table_height - 64.0).max(160.0);
        let x_range = self.x_range(model);
        let clicked_err = error_plot_ui(ui, model, plots * 0.6, x_range);
        ui.label(
        egui::RichText::new(
            "SVD: the best any rank-k factorisation can do (Eckart–Young), so NMF's error is never below it; the gap \
             is the price of W, H >= 0. Click a k to open that fit.",
        )
        .small(),
    );
        let clicked_unit = unit_plot_ui(ui, model, plots * 0.4, x_range);
        self.save_ui(ui, model, out);
        let clicked_row = table_ui(ui, model);
        if let Some(i) = clicked_err.or(clicked_unit).or(clicked_row) {
            out.push(Action::OpenSweepPoint(i));
        }
    }

    /// The table's file name, Save, and the question whether to replace.
    fn save_ui(&mut self, ui: &mut egui::Ui, model: &Model, out: &mut Vec<Action>) {
        if model.sweep.points.is_empty() {
            return;
        }
        ui.horizontal(|ui| {
            let label = ui.label("Save table as");
            ui.add(egui::TextEdit::singleline(&mut self.table_path).desired_width(220.0))
                .labelled_by(label.id)
                .on_hover_text("A file name ending in .csv (one row per k) or .json (with the suggested k)");
            if ui.button("Save table").on_hover_text("Write the table below to that file").clicked() {
                out.push(Action::SaveRankTable { path: self.table_path.trim().into(), overwrite: false });
            }
            if let Some(path) = &model.sweep.table_confirm {
                ui.colored_label(ui.visuals().warn_fg_color, format!("{} exists.", crate::dataset::display_name(path)));
                if ui.button("Replace").clicked() {
                    out.push(Action::SaveRankTable { path: path.clone(), overwrite: true });
                }
                if ui.button("Keep it").clicked() {
                    out.push(Action::CancelRankTableConfirm);
                }
            }
        });
    }

    /// The ranks field, step, Start / Cancel.
    fn controls_ui(&mut self, ui: &mut egui::Ui, model: &Model, out: &mut Vec<Action>) {
        let max_k = model.max_k();
        let running = model.sweep.is_running();
        let parsed = self.ranks(max_k);
        ui.horizontal(|ui| {
            let label = ui.label("Ranks:");
            ui.add_enabled(
                !running,
                egui::TextEdit::singleline(&mut self.spec).desired_width(110.0).hint_text("2..62 or 2, 4, 8"),
            )
            .labelled_by(label.id)
            .on_hover_text(RANKS_HELP);
            let is_range = self.spec.contains("..");
            let step = ui.label("step");
            ui.add_enabled(!running && is_range, egui::DragValue::new(&mut self.step).range(1..=64))
                .labelled_by(step.id)
                .on_hover_text("Step of a range (a list takes every k as typed)");
            let iters = ui.label("iterations per k");
            ui.add_enabled(!running, egui::DragValue::new(&mut self.max_iter_per_k).range(1..=1_000_000))
            .labelled_by(iters.id)
            .on_hover_text(
                "Iterations of each k (tol and the rest as set on the left). Fewer make a quicker sweep; opening a k \
                 lets you go on fitting it.",
            );
            if running {
                if ui.button("Cancel").on_hover_text("Stop the sweep now; the ranks done so far stay.").clicked() {
                    out.push(Action::CancelSweep);
                }
            } else {
                let racing = model.race.is_active();
                let ok = matches!(&parsed, Ok(ks) if !ks.is_empty()) && !racing;
                if ui
                    .add_enabled(ok, egui::Button::new("Start"))
                    .on_hover_text(
                        "Fit every k in the background. The live fit is paused meanwhile (they share the cores).",
                    )
                    .on_disabled_hover_text(if racing {
                        "A solver race is running: stop it or let it finish first (they would share the cores)."
                    } else {
                        "Give the ranks to fit, e.g. 2..64 or 2, 4, 8."
                    })
                    .clicked()
                    && let Ok(ks) = &parsed
                {
                    out.push(Action::StartSweep {
                        ks: ks.clone(),
                        max_iter: self.max_iter_per_k,
                        validation: self.validation(),
                    });
                }
            }
        });
        ui.horizontal(|ui| {
            ui.add_enabled(!running, egui::Checkbox::new(&mut self.choose_k, "Choose k: held-out error and stability"))
                .on_hover_text(CHOOSE_HELP);
            if self.choose_k {
                let folds = ui.label("folds");
                let fewest = if self.cv_method == CvMethod::Bicross { 2 } else { 1 };
                ui.add_enabled(!running, egui::DragValue::new(&mut self.cv_folds).range(fewest..=10))
                    .labelled_by(folds.id)
                    .on_hover_text(match self.cv_method {
                        CvMethod::Holdout => "Cross-validation folds, each holding out its own 10 % of the entries",
                        CvMethod::Bicross => {
                            "Cross-validation folds, each holding out 1/folds of the pixels of 1/folds of the faces"
                        }
                    });
                self.cv_folds = self.cv_folds.max(fewest);
                ui.add_enabled_ui(!running, |ui| {
                    let text = |m: CvMethod| (m.name(), m.description());
                    super::controls::labelled_choice_ui(ui, "by", &mut self.cv_method, &CvMethod::ALL, text, "");
                });
                let restarts = ui.label("restarts");
                ui.add_enabled(!running, egui::DragValue::new(&mut self.restarts).range(1..=10))
                    .labelled_by(restarts.id)
                    .on_hover_text("Fits of each k from different starts (the first is the plain fit), for stability");
                ui.label(format!("{} per k", count_of(self.validation().fits_per_rank(), "fit")));
            }
        });
        // On a line of its own (the row above is full): what will be fitted.
        if let Ok(ks) = &parsed {
            ui.label(swept_text(ks, self.missed_bound()))
                .on_hover_text(format!("{}\nThese faces allow k up to {max_k}.", list_text(ks)));
        }
        // On a line of its own: the message names the value and the limit.
        if let Err(e) = &parsed {
            ui.colored_label(ui.visuals().error_fg_color, e.as_str());
        }
    }
}

/// What a sweep of `ks` fits: "16 ranks: 2, 6, …, 62 (64 is not on the
/// step)" (`missed`: the bound typed that the step does not reach).
fn swept_text(ks: &[usize], missed: Option<usize>) -> String {
    let shown = match ks {
        [] => String::new(),
        [a, b, c, .., z] if ks.len() > 4 => format!("{a}, {b}, {c}, …, {z}"),
        few => few.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
    };
    let missed = missed.map_or_else(String::new, |m| format!(" ({m} is not on the step)"));
    format!("{}: {shown}{missed}", count_of(ks.len(), "rank"))
}

/// "2, 6, 10, …, 62".
fn list_text(ks: &[usize]) -> String {
    let shown: Vec<String> = ks.iter().take(12).map(ToString::to_string).collect();
    let more = if ks.len() > 12 { ", …" } else { "" };
    format!("k = {}{more}", shown.join(", "))
}

/// Progress bar while running; a summary after.
fn progress_ui(ui: &mut egui::Ui, model: &Model) {
    let s = &model.sweep;
    if s.is_running() {
        let p = s.progress;
        let text = match p.current {
            Some((k, it, err)) => format!(
                "{} of {} done; fitting k = {k}{}: iteration {it} of {}, rel_err {err:.4}",
                p.done,
                count_of(p.total, "rank"),
                match p.phase {
                    Some(phase @ (Phase::Fold { .. } | Phase::Restart { .. })) => format!(", {phase}"),
                    _ => String::new(),
                },
                s.max_iter()
            ),
            None if s.spectrum.is_none() => "computing the SVD…".to_string(),
            None => format!("{} of {} done", p.done, count_of(p.total, "rank")),
        };
        ui.add(egui::ProgressBar::new(s.fraction()).text(text))
            .on_hover_text("The live fit is paused while the sweep runs; it resumes when the sweep ends.");
    } else if let Some(crate::model::sweep::SweepRun { secs, cancelled }) =
        // A summary of no rank describes nothing shown.
        s.last_run.filter(|r| r.cancelled || !s.points.is_empty())
    {
        let done = s.points.len();
        let what = if cancelled {
            format!("Cancelled after {secs:.1} s: {done} of {} done.", count_of(s.progress.total, "rank"))
        } else {
            format!("{} in {secs:.1} s.", count_of(done, "rank"))
        };
        let what = match s.progress.reused {
            0 => what,
            r => format!("{what} {r} of them from the last sweep with the same settings."),
        };
        let svd = match s.spectrum {
            Some((true, secs)) => format!(" SVD exact ({secs:.2} s)."),
            Some((false, secs)) => format!(" SVD randomized ({secs:.2} s)."),
            None => String::new(),
        };
        let paused = if s.paused_live_fit { " The live fit was paused meanwhile." } else { "" };
        super::hint_ui(ui, &format!("{what}{svd}{paused}"));
    } else {
        super::hint_ui(
            ui,
            "Each k is fitted from scratch (solver, init, tol as on the left); the live fit is paused while the sweep runs.",
        );
    }
}

/// Points and a line through them.
fn series<'a>(plot_ui: &mut egui_plot::PlotUi<'a>, name: &str, pts: Vec<[f64; 2]>, color: Color32, shape: MarkerShape) {
    plot_ui.line(Line::new(name, PlotPoints::from(pts.clone())).color(color).width(1.5));
    plot_ui.points(Points::new(name, PlotPoints::from(pts)).color(color).radius(3.5).shape(shape).filled(true));
}

/// Summary of rank `p` for hover labels.
fn describe(p: &SweepPoint) -> String {
    let mut s = format!(
        "k = {}\nrel_err {:.4} (SVD {:.4})\nexplained variance {:.3} (uncentred)\nsparseness of W {:.3}\n{:.2} s, {}",
        p.k,
        p.rel_err,
        p.svd_rel_err,
        p.explained_variance,
        p.sparseness_w,
        p.fit_secs,
        count_of(p.iterations, "iteration")
    );
    if let Some(cv) = &p.cv {
        s.push_str(&format!("\nheld-out error {:.4} ± {:.4} ({})", cv.mean, cv.sd, count_of(cv.folds.len(), "fold")));
    }
    if let Some(st) = p.stability {
        s.push_str(&format!("\nstability {st:.3}"));
    }
    s
}

/// Hover text near a k, and the sweep index nearest to a clicked x.
fn nearest(points: &[(usize, String)], x: f64) -> Option<usize> {
    points
        .iter()
        .enumerate()
        .min_by(|(_, a), (_, b)| (a.0 as f64 - x).abs().total_cmp(&(b.0 as f64 - x).abs()))
        .map(|(i, _)| i)
}

/// Runs `plot` and returns the sweep index clicked on it, if any.
fn plot_with_click(
    model: &Model,
    ui: &mut egui::Ui,
    plot: Plot<'_>,
    legend: Corner,
    build: impl FnOnce(&mut egui_plot::PlotUi<'_>),
) -> Option<usize> {
    let ks: Vec<(usize, String)> = model.sweep.points.iter().map(|p| (p.k, describe(p))).collect();
    let hover = ks.clone();
    let link = ui.make_persistent_id("ranks x");
    let response = plot
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .link_axis(link, [true, false])
        .legend(Legend::default().position(legend))
        .x_axis_formatter(|mark, _| if mark.value.fract() == 0.0 { format!("{}", mark.value) } else { String::new() })
        .label_formatter(move |pos| match pos {
            egui_plot::HoverPosition::NearDataPoint { position, .. } => {
                nearest(&hover, position.x).map(|i| format!("{}\nclick to open", hover[i].1))
            }
            egui_plot::HoverPosition::Elsewhere { .. } => None,
        })
        .show(ui, build);
    if !response.response.clicked() {
        return None;
    }
    let pos = response.response.interact_pointer_pos()?;
    let x = response.transform.value_from_position(pos).x;
    nearest(&ks, x)
}

/// rel_err of NMF and of the SVD against k.
fn error_plot_ui(ui: &mut egui::Ui, model: &Model, height: f32, x_range: (f64, f64)) -> Option<usize> {
    let pts = &model.sweep.points;
    let nmf: Vec<[f64; 2]> = pts.iter().map(|p| [p.k as f64, p.rel_err]).collect();
    let svd: Vec<[f64; 2]> = pts.iter().map(|p| [p.k as f64, p.svd_rel_err]).collect();
    let plot = Plot::new("rank errors")
        .height(height)
        .x_axis_label("k")
        .y_axis_label("||A - WH|| / ||A||")
        // Errors span a few hundredths to a few tenths: label every 0.05.
        .y_grid_spacer(egui_plot::uniform_grid_spacer(|_| [0.01, 0.05, 0.1]))
        .y_axis_formatter(|mark, _| format!("{:.2}", mark.value))
        .include_x(x_range.0)
        .include_x(x_range.1)
        .include_y(if pts.is_empty() { 0.4 } else { pts[0].svd_rel_err })
        .include_y(if pts.is_empty() { 0.0 } else { pts[0].rel_err })
        .y_axis_min_width(40.0);
    let cv: Vec<(f64, f64, f64)> =
        pts.iter().filter_map(|p| p.cv.as_ref().map(|c| (p.k as f64, c.mean, c.sd))).collect();
    let suggestion = suggest_k(pts);
    plot_with_click(model, ui, plot, Corner::RightTop, |plot_ui| {
        series(plot_ui, "NMF rel_err", nmf, NMF_COLOR, MarkerShape::Circle);
        series(plot_ui, "SVD rel_err (optimum)", svd, SVD_COLOR, MarkerShape::Square);
        if !cv.is_empty() {
            let name = "held-out rel_err (CV, ± sd)";
            for &(k, mean, sd) in &cv {
                plot_ui.line(
                    Line::new(name, PlotPoints::from(vec![[k, mean - sd], [k, mean + sd]])).color(CV_COLOR).width(2.0),
                );
            }
            series(plot_ui, name, cv.iter().map(|&(k, m, _)| [k, m]).collect(), CV_COLOR, MarkerShape::Cross);
        }
        if let Some(s) = suggestion {
            plot_ui.vline(
                egui_plot::VLine::new(format!("suggested k = {} ({})", s.k, s.rule.name()), s.k as f64)
                    .color(CV_COLOR)
                    .style(egui_plot::LineStyle::dashed_loose()),
            );
        }
    })
}

/// Explained variance and sparseness of W (both in [0, 1]) against k.
fn unit_plot_ui(ui: &mut egui::Ui, model: &Model, height: f32, x_range: (f64, f64)) -> Option<usize> {
    let pts = &model.sweep.points;
    let explained: Vec<[f64; 2]> = pts.iter().map(|p| [p.k as f64, p.explained_variance]).collect();
    let sparse: Vec<[f64; 2]> = pts.iter().map(|p| [p.k as f64, f64::from(p.sparseness_w)]).collect();
    let plot = Plot::new("rank unit")
        .height(height)
        .x_axis_label("k")
        .y_axis_label("0 to 1")
        .include_x(x_range.0)
        .include_x(x_range.1)
        .include_y(0.0)
        .include_y(1.0)
        .y_axis_min_width(40.0);
    let stability: Vec<[f64; 2]> = pts.iter().filter_map(|p| Some([p.k as f64, p.stability?])).collect();
    plot_with_click(model, ui, plot, Corner::RightBottom, |plot_ui| {
        series(plot_ui, "explained variance (SVD, uncentred)", explained, EXPLAINED_COLOR, MarkerShape::Diamond);
        series(plot_ui, "sparseness of W (Hoyer)", sparse, SPARSE_COLOR, MarkerShape::Up);
        if !stability.is_empty() {
            series(plot_ui, "stability of parts (restarts)", stability, STABILITY_COLOR, MarkerShape::Asterisk);
        }
    })
}

/// The table's columns: title and tooltip.
const COLUMNS: [(&str, &str); 8] = [
    ("k", "Number of parts"),
    ("rel_err", "NMF's ||A - WH|| / ||A||, computed exactly at the end of the fit"),
    ("svd_rel_err", "The SVD's error at this k: the optimum for any rank-k factorisation"),
    (
        EXPLAINED_TITLE,
        "Uncentred explained variance, 1 − svd_rel_err²: the share of ||A||² (the sum of the squared pixels, the \
         mean face not subtracted) captured by the best rank-k approximation. PCA's explained variance ratio \
         (scikit-learn's explained_variance_ratio_) is centred: it counts the spread around the mean face, so it \
         is lower at the same k.",
    ),
    ("sparseness_w", "Mean Hoyer sparseness of the basis images: 0 dense, 1 a single pixel"),
    ("cv_rel_err", "Held-out error: mean ± sd over the folds of the error on entries the fit never saw"),
    ("stability", "1 - mean Amari distance between the parts of the restarts (1 = the same parts)"),
    ("fit_secs", "Seconds of this fit, initialisation included (all fits of this k in the hover)"),
];

/// The explained-variance column's title.
const EXPLAINED_TITLE: &str = "explained (uncentred)";

/// The cells of rank `p`'s row, in the order of [`COLUMNS`].
fn row_cells(p: &SweepPoint) -> [String; 8] {
    [
        p.k.to_string(),
        format!("{:.4}", p.rel_err),
        format!("{:.4}", p.svd_rel_err),
        format!("{:.3}", p.explained_variance),
        format!("{:.3}", p.sparseness_w),
        p.cv.as_ref().map_or_else(|| "—".into(), |c| format!("{:.4} ± {:.4}", c.mean, c.sd)),
        p.stability.map_or_else(|| "—".into(), |s| format!("{s:.3}")),
        format!("{:.2}", p.fit_secs),
    ]
}

/// One row per rank, with an Open button; returns the row opened. The
/// header stays in place while the rows scroll under it (both scroll
/// sideways together).
fn table_ui(ui: &mut egui::Ui, model: &Model) -> Option<usize> {
    let mut open = None;
    let points = &model.sweep.points;
    if points.is_empty() {
        super::hint_ui(
            ui,
            "Each k finished appears here: its errors, explained variance, sparseness, seconds, and an Open button.",
        );
        return None;
    }
    // Column widths: the widest of the title and the cells.
    let font = egui::TextStyle::Body.resolve(ui.style());
    let text_width = |t: &str| ui.painter().layout_no_wrap(t.to_string(), font.clone(), Color32::WHITE).size().x;
    let cells: Vec<[String; 8]> = points.iter().map(row_cells).collect();
    let mut widths: [f32; 8] = COLUMNS.map(|(title, _)| text_width(title));
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = w.max(text_width(cell));
        }
    }
    // The Open button comes first, where it is always in sight.
    let open_width = points.iter().map(|p| text_width(&format!("Open k = {}", p.k))).fold(0.0, f32::max)
        + 2.0 * ui.spacing().button_padding.x;
    let gap = 12.0;
    let row_height = ui.spacing().interact_size.y;
    let cell_ui = |ui: &mut egui::Ui, width: f32, add: &mut dyn FnMut(&mut egui::Ui)| {
        ui.allocate_ui_with_layout(
            Vec2::new(width, row_height),
            egui::Layout::left_to_right(egui::Align::Center),
            |ui| {
                ui.set_min_size(Vec2::new(width, row_height));
                add(ui);
            },
        );
    };
    // The header sits above the rows' scroll area and follows its sideways
    // scrolling (last frame's offset), so it never scrolls out of sight.
    let offset_id = ui.make_persistent_id("ranks table offset");
    let offset_x = ui.data(|d| d.get_temp::<f32>(offset_id)).unwrap_or(0.0);
    egui::ScrollArea::horizontal()
        .id_salt("ranks table header")
        .scroll_source(egui::scroll_area::ScrollSource::NONE)
        .scroll_bar_visibility(egui::scroll_area::ScrollBarVisibility::AlwaysHidden)
        .horizontal_scroll_offset(offset_x)
        .auto_shrink([false, true])
        .show(ui, |ui| {
            ui.spacing_mut().item_spacing.x = gap;
            ui.horizontal(|ui| {
                cell_ui(ui, open_width, &mut |_| {});
                for ((title, tip), &w) in COLUMNS.iter().zip(&widths) {
                    cell_ui(ui, w, &mut |ui| {
                        ui.label(egui::RichText::new(*title).strong()).on_hover_text(*tip);
                    });
                }
            });
        });
    ui.separator();
    // Solid scroll bars: beside the rows, never over the last one's button.
    ui.spacing_mut().scroll = egui::style::ScrollStyle::solid();
    let body = egui::ScrollArea::both().id_salt("ranks table").auto_shrink([false, true]).show_rows(
        ui,
        row_height,
        points.len(),
        |ui, rows| {
            ui.spacing_mut().item_spacing.x = gap;
            for i in rows {
                let (p, row) = (&points[i], &cells[i]);
                ui.horizontal(|ui| {
                    cell_ui(ui, open_width, &mut |ui| {
                        if ui
                            .small_button(format!("Open k = {}", p.k))
                            .on_hover_text(
                                "Open this fit in the explorer (its W and H, as fitted); k and max_iter on the \
                                 left become this sweep's",
                            )
                            .clicked()
                        {
                            open = Some(i);
                        }
                    });
                    for (c, (cell, &w)) in row.iter().zip(&widths).enumerate() {
                        cell_ui(ui, w, &mut |ui| {
                            let label = ui.label(cell.as_str());
                            if c == 7 {
                                label.on_hover_text(format!("{:.2} s for every fit of this k", p.total_secs));
                            }
                        });
                    }
                });
            }
        },
    );
    if body.state.clamped_offset().x != offset_x {
        ui.data_mut(|d| d.insert_temp(offset_id, body.state.clamped_offset().x));
        ui.ctx().request_repaint();
    }
    open
}
