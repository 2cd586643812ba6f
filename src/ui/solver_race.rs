//! The solver race: MU, KL-MU and HALS from the same initialisation at the
//! current k, one after another with the same time budget; rel_err against
//! each solver's own time (log scale), then a table, so a student sees why
//! HALS is the default.

use eframe::egui;

use egui::Color32;
use egui_plot::{Corner, HLine, Legend, Line, Plot, PlotPoints};

use super::field::FieldNotes;
use crate::model::race::{BUDGET_RANGE_SECS, DEFAULT_BUDGET_SECS};
use crate::model::{Action, Model, Outcome, race_name};
use crate::nmf::Solver;
use crate::nmf::race::{Lane, RACE_SOLVERS, common_target};

const HELP: &str = "The three solvers start from the same initialisation (the current init and seed, at the current \
     k) and run one after another, each alone for the same time. The plot shows the relative error ||A − WH|| / ||A|| \
     against each solver's own time.";

const CAPTION: &str = "HALS updates one part at a time exactly (a least-squares step, clipped at 0), so every \
     iteration is a big step. MU's multiplicative updates are cheap but creep towards the optimum. KL-MU minimises a \
     different loss (the KL divergence, Lee & Seung's choice in 1999), so it is not trying to lower the squared \
     error plotted here. That is why HALS is the default.";

/// Height of the table and caption under the plot.
const BELOW_PLOT_HEIGHT: f32 = 215.0;

/// Each solver's colour in the plot and the table.
fn colour(solver: Solver) -> Color32 {
    match solver {
        Solver::Hals => Color32::from_rgb(31, 119, 180),
        Solver::Mu => Color32::from_rgb(255, 127, 14),
        Solver::Kl => Color32::from_rgb(44, 160, 44),
    }
}

/// The race view's input: the budget of the next race.
pub struct SolverRace {
    /// Seconds of work each solver gets.
    pub budget_secs: f64,
    notes: FieldNotes,
}

impl Default for SolverRace {
    fn default() -> Self {
        SolverRace { budget_secs: DEFAULT_BUDGET_SECS, notes: FieldNotes::default() }
    }
}

impl SolverRace {
    pub fn solver_race_ui(&mut self, ui: &mut egui::Ui, model: &Model, out: &mut Vec<Action>) {
        super::heading_ui(ui, "Solver race: MU, KL-MU and HALS from the same start", HELP);
        if model.faces.is_none() {
            super::hint_ui(ui, "Open some faces to race the solvers.");
            return;
        }
        self.controls_ui(ui, model, out);
        let race = &model.race;
        let params = race.params.clone().unwrap_or_else(|| model.settings.params.clone());
        let budget = if race.params.is_some() { race.raced_budget_secs } else { self.budget_secs };
        ui.label(
            egui::RichText::new(format!(
                "k = {}, init {}, seed {}, no penalties. Each solver runs alone for {budget:.1} s of its own time, \
             initialisation included (the error evaluations for the plot are not counted).",
                params.k, params.init, params.seed
            ))
            .weak(),
        );
        if race.paused_live_fit && race.is_active() {
            ui.label(
                egui::RichText::new(
                    "The live fit is paused while the race runs (it would share the CPU); it goes on after.",
                )
                .color(ui.visuals().warn_fg_color),
            );
        }
        if race.lanes.is_empty() && !race.is_active() {
            ui.add_space(12.0);
            ui.label(
                "Press Start race: MU, then KL-MU, then HALS fit the faces from the same initialisation, each for the \
             same time. Their errors appear here as they run, then a table compares them.",
            );
            ui.add_space(8.0);
            ui.label(CAPTION);
            return;
        }
        let plot_height = (ui.available_height() - BELOW_PLOT_HEIGHT).max(120.0);
        plot_ui(ui, model, plot_height);
        table_ui(ui, model);
        ui.add_space(4.0);
        ui.label(CAPTION);
    }

    /// Start, Stop, the budget, and the race's state.
    fn controls_ui(&mut self, ui: &mut egui::Ui, model: &Model, out: &mut Vec<Action>) {
        let active = model.race.is_active();
        ui.horizontal(|ui| {
            let sweeping = model.sweep.is_running();
            let start = ui
                .add_enabled(!active && !sweeping, egui::Button::new("Start race"))
                .on_hover_text("Run MU, KL-MU and HALS one after another from the same start (the live fit pauses).")
                .on_disabled_hover_text(if sweeping {
                    "A rank sweep is running: cancel it or let it finish first (they would share the cores)."
                } else {
                    "A race is running."
                });
            if start.clicked() {
                out.push(Action::StartRace { budget_secs: self.budget_secs });
            }
            let stop = ui
                .add_enabled(active, egui::Button::new("Stop race"))
                .on_hover_text("Stop the race after the current iteration.");
            if stop.clicked() {
                out.push(Action::StopRace);
            }
            ui.separator();
            let label = ui.label("seconds per solver");
            let r = ui
                .add_enabled(
                    !active,
                    egui::DragValue::new(&mut self.budget_secs).speed(0.1).max_decimals(1).suffix(" s"),
                )
                .labelled_by(label.id)
                .on_hover_text("How long each solver may run (its own work, initialisation included).");
            if r.changed() {
                self.notes.check_range("seconds per solver", &mut self.budget_secs, &BUDGET_RANGE_SECS);
            }
            self.notes.note_ui(ui, "seconds per solver");
            ui.separator();
            status_ui(ui, model);
        });
    }
}

fn status_ui(ui: &mut egui::Ui, model: &Model) {
    let race = &model.race;
    if race.is_active() {
        ui.spinner();
        let name = race.running.map_or("…", race_name);
        ui.label(format!("Racing {name} ({:.1} s so far)", race.elapsed_secs()));
    } else {
        match &race.outcome {
            Some(Outcome::Finished) => ui.label("Finished."),
            Some(Outcome::Stopped(why)) => ui.label(format!("Stopped: {why}.")),
            Some(Outcome::Failed(e)) => ui.label(egui::RichText::new(e).color(ui.visuals().error_fg_color)),
            None => ui.label(egui::RichText::new("Press Start race.").weak()),
        };
    }
}

/// rel_err against time, log scale, one line per solver.
fn plot_ui(ui: &mut egui::Ui, model: &Model, height: f32) {
    let race = &model.race;
    let finished = matches!(race.outcome, Some(Outcome::Finished));
    let target = if finished { common_target(&race.lanes) } else { None };
    let response = Plot::new("solver race")
        .height(height)
        .legend(Legend::default().position(Corner::RightTop))
        .x_axis_label("seconds (each solver from its own start)")
        .y_axis_label("rel_err (log scale)")
        .y_axis_formatter(|mark, _| format!("{:.3}", 10f64.powf(mark.value)))
        .label_formatter(|pos| {
            let (name, p) = match pos {
                egui_plot::HoverPosition::NearDataPoint { plot_name, position, .. } => (*plot_name, *position),
                egui_plot::HoverPosition::Elsewhere { position } => ("", *position),
            };
            Some(format!("{name}\n{:.2} s\nrel_err {:.4}", p.x, 10f64.powf(p.y)))
        })
        .include_x(0.0)
        .allow_scroll(false)
        .show(ui, |plot_ui| {
            for lane in &race.lanes {
                // From the first iteration: the initialisation's error can be
                // far above the rest and would squash the curves (it is in
                // the table's tooltip).
                let points: Vec<[f64; 2]> = lane
                    .points
                    .iter()
                    .filter(|p| p.iteration > 0 && p.rel_err > 0.0 && p.rel_err.is_finite())
                    .map(|p| [p.secs, p.rel_err.log10()])
                    .collect();
                plot_ui.line(
                    Line::new(race_name(lane.solver), PlotPoints::from(points)).color(colour(lane.solver)).width(2.0),
                );
            }
            if let Some(t) = target.filter(|t| *t > 0.0) {
                plot_ui.hline(
                    HLine::new("target: the worst final error", t.log10())
                        .color(Color32::GRAY)
                        .style(egui_plot::LineStyle::dashed_loose()),
                );
            }
        })
        .response;
    response.widget_info(|| {
        egui::WidgetInfo::labeled(egui::accesskit::Role::Image, true, "Solver race plot: rel_err against time")
    });
}

/// One row per solver: iterations, time, final error, time to the target.
fn table_ui(ui: &mut egui::Ui, model: &Model) {
    let race = &model.race;
    if race.lanes.is_empty() {
        return;
    }
    let finished = matches!(race.outcome, Some(Outcome::Finished));
    let target = common_target(&race.lanes);
    ui.add_space(4.0);
    egui::Grid::new("race table").num_columns(6).striped(true).spacing([14.0, 3.0]).show(ui, |ui| {
        ui.label(egui::RichText::new("solver").strong());
        ui.label(egui::RichText::new("loss minimised").strong());
        ui.label(egui::RichText::new("iterations").strong());
        ui.label(egui::RichText::new("time").strong());
        ui.label(egui::RichText::new("final rel_err").strong());
        let header = match target {
            Some(t) if finished => format!("time to rel_err ≤ {t:.4}"),
            _ => "time to target".to_string(),
        };
        ui.label(egui::RichText::new(header).strong()).on_hover_text(
            "Seconds until the solver first reached the worst final error of the three (a common target every \
             solver met), at the sampled points.",
        );
        ui.end_row();
        for solver in RACE_SOLVERS {
            let Some(lane) = race.lanes.iter().find(|l| l.solver == solver) else {
                continue;
            };
            row_ui(ui, lane, target.filter(|_| finished), race.running == Some(solver));
            ui.end_row();
        }
    });
}

fn row_ui(ui: &mut egui::Ui, lane: &Lane, target: Option<f64>, running: bool) {
    let name = race_name(lane.solver);
    ui.label(egui::RichText::new(name).color(colour(lane.solver)).strong()).on_hover_text(lane.solver.description());
    ui.label(lane.solver.loss_name());
    ui.label(format!("{}", lane.iterations()));
    let time = format!("{:.2} s{}", lane.secs(), if running { " …" } else { "" });
    ui.label(time).on_hover_text(format!("of which initialisation {:.2} s", lane.init_secs));
    let err = lane.final_rel_err().map_or_else(|| "—".to_string(), |e| format!("{e:.4}"));
    let init = lane.points.first().map_or(f64::NAN, |p| p.rel_err);
    ui.label(err).on_hover_text(format!("{name}: after the initialisation {init:.4}"));
    let reach = match target.and_then(|t| lane.secs_to_reach(t)) {
        Some(s) => format!("{s:.2} s"),
        None => "—".to_string(),
    };
    ui.label(reach);
}
