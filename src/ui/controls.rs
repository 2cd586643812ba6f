//! The fit's controls: k, solver, init, stopping rules, seed, penalties;
//! Run, Stop, Reset. Every control has a tooltip that says what it does.

use eframe::egui;

use std::cell::RefCell;

use super::field::{FieldNotes, number, parser};
use crate::model::{Action, Model};
use crate::nmf::{Init, Solver};

const K_HELP: &str = "k: how many parts (basis images) NMF learns. Few parts are blurry whole faces; more parts become \
     local features (eyes, noses, mouths). Changing k during or after a fit continues from the current parts.";
const MAX_ITER_HELP: &str = "max_iter: the fit stops after this many iterations (one iteration updates all parts, \
     then all weights).";
const TOL_HELP: &str = "tol: stop when 10 more iterations lower the loss by less than this share of its value 10 \
     iterations before. 0 = never stop early.";
const SEED_HELP: &str =
    "seed: the random seed of the initialisation. The same seed and settings give exactly the same parts.";
const ALPHA_W_HELP: &str = "alpha_W: penalty on the parts (basis images), in scikit-learn's units (scaled by the \
     number of faces). With L1 it pulls pixels to zero; but the weights can grow to make up for it, so a strong one \
     erases whole parts rather than making them sparse. For sparse parts, use the sparseness of parts instead.";
const ALPHA_H_HELP: &str = "alpha_H: penalty on the weights, in scikit-learn's units (scaled by the number of \
     pixels). With L1 each face uses fewer parts; too strong, it erases parts.";
const SPARSENESS_HELP: &str = "Sparseness of parts (Hoyer 2004): every basis image is held at exactly this \
     sparseness, from 0 (plain NMF, no constraint) to 0.9 (a few pixels each). Sparseness is \
     (√n − ‖x‖₁/‖x‖₂)/(√n − 1): 0 when all pixels are equal, 1 for a single pixel. On photographs plain NMF \
     learns ghost faces (sparseness about 0.4 on ORL); at 0.75 the parts become local: brows, lips, cheeks, \
     hairline. Applies at once, continuing from the current parts. Needs the HALS solver.";
const L1_HELP: &str = "l1_ratio: the mix of the penalties: 0 = L2 (shrinks values evenly), 1 = L1 (sets many to zero).";

/// The controls panel, the notes of its number fields, and the values of
/// the k and sparseness sliders while they are dragged (applied on release).
#[derive(Default)]
pub struct Controls {
    notes: FieldNotes,
    /// k under the pointer while the k slider is dragged.
    k_dragged: Option<usize>,
    /// The sparseness under the pointer while its slider is dragged.
    sparseness_dragged: Option<f32>,
}

/// What a slider's response says to do with the value it shows: apply it
/// now (a release after a drag, a typed value, a key or a screen reader's
/// set value), hold it (dragging), or nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SliderEdit {
    Apply,
    Hold,
    None,
}

impl SliderEdit {
    /// Reads `r` (a slider's response; `pending`: a value is held from an
    /// earlier frame): a value is applied once, when the pointer lets go,
    /// not at every value passed.
    pub(super) fn of(r: &egui::Response, pending: bool) -> Self {
        Self::from_flags(r.dragged() || r.is_pointer_button_down_on(), r.changed(), pending)
    }

    pub(super) fn from_flags(held: bool, changed: bool, pending: bool) -> Self {
        if held {
            SliderEdit::Hold
        } else if changed || pending {
            SliderEdit::Apply
        } else {
            SliderEdit::None
        }
    }
}

impl Controls {
    pub fn controls_ui(&mut self, ui: &mut egui::Ui, model: &Model, out: &mut Vec<Action>) {
        ui.add_space(4.0);
        ui.label(egui::RichText::new("Fit").strong()).on_hover_text(
            "NMF factors the faces A ≈ W·H: W holds k parts (basis images), H how much of each part every face uses.",
        );
        // Paused under the CPU lease counts as fitting here: Run would do
        // nothing, Stop stops it.
        let fitting = model.is_fitting() || model.live.is_paused();
        let has_data = model.faces.is_some();

        fit_buttons_ui(ui, model, fitting, has_data, out);
        ui.add_space(6.0);

        self.k_ui(ui, model, out);
        ui.add_space(4.0);
        sparseness_ui(ui, model, &mut self.sparseness_dragged, out);
        ui.add_space(4.0);

        preprocess_ui(ui, model, out);
        ui.add_space(4.0);

        let mut p = model.settings.params.clone();
        let refused = RefCell::new(None);
        egui::Grid::new("params").num_columns(2).spacing([8.0, 6.0]).show(ui, |ui| {
            choice_ui(ui, "solver", &mut p.solver, &Solver::ALL, |s| (s.name(), s.description()));
            ui.end_row();
            choice_ui(ui, "init", &mut p.init, &Init::ALL, |i| (i.name(), i.description()));
            ui.end_row();

            let label = ui.label("max_iter").on_hover_text(MAX_ITER_HELP);
            let mut max_iter = p.max_iter as f64;
            let r = ui
                .add(
                    egui::DragValue::new(&mut max_iter)
                        .speed(5.0)
                        .max_decimals(0)
                        .custom_parser(parser(&refused, number)),
                )
                .labelled_by(label.id)
                .on_hover_text(MAX_ITER_HELP);
            self.checked(&r, &refused, "max_iter", &mut max_iter, &(1.0..=1e9), p.max_iter);
            p.max_iter = max_iter.round() as usize;
            ui.end_row();

            let label = ui.label("tol").on_hover_text(TOL_HELP);
            let r = ui
                .add(
                    egui::DragValue::new(&mut p.tol)
                        .speed(1e-6)
                        .custom_formatter(|v, _| if v == 0.0 { "0 (off)".into() } else { format!("{v:.0e}") })
                        .custom_parser(parser(&refused, |s| number(s.trim().trim_end_matches("(off)")))),
                )
                .labelled_by(label.id)
                .on_hover_text(TOL_HELP);
            let before = model.settings.params.tol;
            self.checked(&r, &refused, "tol", &mut p.tol, &(0.0..=0.1), before);
            ui.end_row();

            let label = ui.label("seed").on_hover_text(SEED_HELP);
            ui.add(egui::DragValue::new(&mut p.seed).speed(1.0)).labelled_by(label.id).on_hover_text(SEED_HELP);
            ui.end_row();

            let limits = alpha_limits_text(model);
            for (name, help, value, limit) in [
                ("alpha_W", ALPHA_W_HELP, &mut p.alpha_w, limits.map(|(w, _)| w)),
                ("alpha_H", ALPHA_H_HELP, &mut p.alpha_h, limits.map(|(_, h)| h)),
            ] {
                let help = match limit {
                    Some(at) => format!(
                        "{help}\nOn these faces and this fit, {name} × l1_ratio ≥ {} zeroes every part at the next \
                         update; parts begin to vanish far below that. Useful values lie between 0 and about a \
                         tenth of it ({}).",
                        short(at),
                        short(at / 10.0)
                    ),
                    None => format!("{help}\nStop or finish a fit to see the range that suits these faces."),
                };
                let help = help.as_str();
                let label = ui.label(name).on_hover_text(help);
                let kept = *value;
                let r = ui
                    .add(
                        egui::DragValue::new(value)
                            .speed(0.001)
                            .max_decimals(4)
                            .custom_parser(parser(&refused, number)),
                    )
                    .labelled_by(label.id)
                    .on_hover_text(help);
                self.checked(&r, &refused, name, value, &(0.0..=10.0), kept);
                ui.end_row();
            }

            let label = ui.label("l1_ratio").on_hover_text(L1_HELP);
            ui.add(egui::Slider::new(&mut p.l1_ratio, 0.0..=1.0).show_value(true))
                .labelled_by(label.id)
                .on_hover_text(L1_HELP);
            ui.end_row();
        });
        for name in ["max_iter", "tol", "alpha_W", "alpha_H"] {
            self.notes.note_ui(ui, name);
        }
        if p != model.settings.params {
            out.push(Action::SetParams(p));
        }
        ui.add_space(6.0);
        let mut auto_run = model.settings.auto_run;
        if ui
            .checkbox(&mut auto_run, "Fit as soon as faces open")
            .on_hover_text("When on, opening faces (and starting the app) starts a fit at once.")
            .changed()
        {
            out.push(Action::SetAutoRun(auto_run));
        }
        ui.add_space(8.0);
        super::hint_ui(
            ui,
            "Solver, init, tol and penalties apply on the next Run; k and the sparseness apply at once (warm start). \
             Click a part to see the faces that use it; click a face to inspect it.",
        );
    }

    /// k: a logarithmic slider (as fine at 2 to 10 as at 100 to 400), its
    /// number field and −/+ steps of one. A drag applies once, on release
    /// (each k is a warm start); the field, the steps and the arrow keys
    /// apply at once.
    fn k_ui(&mut self, ui: &mut egui::Ui, model: &Model, out: &mut Vec<Action>) {
        let max_k = model.max_k();
        let current = model.settings.params.k;
        let mut apply = None;
        ui.horizontal(|ui| {
            ui.label("Parts (k)").on_hover_text(K_HELP);
            let has_data = model.faces.is_some();
            if ui
                .add_enabled(has_data && current > 1, egui::Button::new("−1").small())
                .on_hover_text("k − 1 (one part fewer)")
                .clicked()
            {
                apply = Some(current - 1);
            }
            if ui
                .add_enabled(has_data && current < max_k, egui::Button::new("+1").small())
                .on_hover_text("k + 1 (one part more)")
                .clicked()
            {
                apply = Some(current + 1);
            }
        });
        let mut k = self.k_dragged.unwrap_or(current);
        let response = ui
            .scope(|ui| {
                ui.spacing_mut().slider_width = 150.0;
                let slider = egui::Slider::new(&mut k, 1..=max_k)
                    .logarithmic(true)
                    .text("k")
                    .clamping(egui::SliderClamping::Never);
                ui.add(slider)
            })
            .inner
            .on_hover_text(format!(
                "{K_HELP}\nDrag and release: the fit goes on at the k you release at. Type a number, use the arrow \
                 keys or −1/+1 for exact steps."
            ));
        match SliderEdit::of(&response, self.k_dragged.is_some()) {
            SliderEdit::Hold => self.k_dragged = Some(k),
            SliderEdit::Apply => {
                self.k_dragged = None;
                apply = Some(k);
            }
            SliderEdit::None => {}
        }
        if let Some(mut k) = apply {
            self.notes.check_range("k", &mut k, &(1..=max_k));
            if k != current {
                out.push(Action::SetK(k));
            }
        }
        if let Some(k) = self.k_dragged.filter(|&k| k != current) {
            super::hint_ui(ui, &format!("k = {k} on release (now {current})"));
        }
        self.notes.note_ui(ui, "k");
    }

    /// After a number field: text it refused and values out of range are
    /// noted beside it (out-of-range values brought into range).
    fn checked<T: PartialOrd + Copy + std::fmt::Display>(
        &mut self,
        response: &egui::Response,
        refused: &RefCell<Option<String>>,
        name: &'static str,
        value: &mut T,
        range: &std::ops::RangeInclusive<T>,
        kept: impl std::fmt::Display,
    ) {
        if let Some(text) = refused.borrow_mut().take() {
            self.notes.refused(name, &text, kept);
        } else if response.changed() {
            self.notes.check_range(name, value, range);
        }
    }
}

/// Run (or Continue), Stop, Step, Reset; the pace; Pin.
fn fit_buttons_ui(ui: &mut egui::Ui, model: &Model, fitting: bool, has_data: bool, out: &mut Vec<Action>) {
    let live = model.live.fit.as_ref();
    ui.horizontal(|ui| {
        let (label, help) = match live {
            Some(f) => (
                "Continue",
                format!(
                    "Go on from iteration {} (stopping again after at most max_iter more iterations, or by tol). \
                     Changed stopping rules apply from here; another solver or penalties continue from the current \
                     parts; another init or seed starts a new fit. Space in presentation mode.",
                    f.progress.snapshot.iteration
                ),
            ),
            None => ("Run", "Start fitting from the initialisation. Space in presentation mode.".to_owned()),
        };
        if ui.add_enabled(!fitting && has_data, egui::Button::new(label)).on_hover_text(help).clicked() {
            out.push(Action::Run);
        }
        if ui
            .add_enabled(fitting, egui::Button::new("Stop"))
            .on_hover_text("Stop after the current iteration; Continue goes on from there.")
            .clicked()
        {
            out.push(Action::Stop);
        }
        if ui
            .add_enabled(has_data, egui::Button::new("Step"))
            .on_hover_text(
                "Exactly one iteration (all parts, then all weights), then stop: every view shows it. \
                 The right arrow key in presentation mode.",
            )
            .clicked()
        {
            out.push(Action::Step);
        }
        if ui
            .add_enabled(live.is_some() || fitting, egui::Button::new("Reset"))
            .on_hover_text(
                "Start over: forget the fit. A running fit starts again from the initialisation; a stopped one \
                 waits for Run.",
            )
            .clicked()
        {
            out.push(Action::Reset);
        }
    });
    ui.horizontal(|ui| {
        ui.label("pace").on_hover_text("How many iterations a second the fit runs at.");
        let mut pace = model.settings.pace;
        for choice in crate::model::Pace::ALL {
            ui.selectable_value(&mut pace, choice, choice.name()).on_hover_text(choice.help());
        }
        if pace != model.settings.pace {
            out.push(Action::SetPace(pace));
        }
    });
    match model.pinned() {
        Some(pinned) => {
            ui.add(egui::Label::new(egui::RichText::new(format!("pinned: {}", pinned.label)).small()).wrap())
                .on_hover_text(
                    "The pinned fit is shown beside the live one in the basis images, the faces, the inspector \
                     and the loss curve.",
                );
            if ui.button("Unpin").on_hover_text("Stop comparing with the pinned fit.").clicked() {
                out.push(Action::Unpin);
            }
        }
        None => {
            if ui
                .add_enabled(model.fit().is_some(), egui::Button::new("Pin to compare"))
                .on_hover_text(
                    "Keep this fit (its parts, reconstructions and loss curve) beside the next ones: then change k, \
                     the solver or the sparseness and Run, or Reset, to see both side by side.",
                )
                .on_disabled_hover_text("Run a fit first.")
                .clicked()
            {
                out.push(Action::Pin);
            }
        }
    }
}

/// The alpha_W and alpha_H × l1_ratio that zero every part of the fit
/// shown, once it has stopped.
fn alpha_limits_text(model: &Model) -> Option<(f32, f32)> {
    let limits = model.fit()?.progress.alpha_limits?;
    Some((limits.alpha_w, limits.alpha_h))
}

/// A penalty strength in three significant digits.
fn short(v: f32) -> String {
    if v == 0.0 {
        "0".into()
    } else if (1e-3..1e4).contains(&v.abs()) {
        let decimals = (2 - v.abs().log10().floor() as i32).max(0) as usize;
        format!("{v:.decimals$}")
    } else {
        format!("{v:.2e}")
    }
}

/// The sparseness of parts slider (0 = plain NMF) and the presets; both
/// apply at once from a warm start.
/// A drag applies once, on release (each value is a warm start).
fn sparseness_ui(ui: &mut egui::Ui, model: &Model, dragged: &mut Option<f32>, out: &mut Vec<Action>) {
    let params = &model.settings.params;
    let hals = params.solver == Solver::Hals;
    let before = params.sparseness_w.unwrap_or(0.0);
    let mut s = dragged.unwrap_or(before);
    let label = ui.label("Sparseness of parts").on_hover_text(SPARSENESS_HELP);
    let slider = egui::Slider::new(&mut s, 0.0..=0.9)
        .step_by(0.01)
        .fixed_decimals(2)
        .custom_formatter(|v, _| if v == 0.0 { "0 (plain)".into() } else { format!("{v:.2}") })
        .custom_parser(|t| t.trim().trim_end_matches("(plain)").trim().parse().ok());
    let response =
        ui.add_enabled(hals, slider).labelled_by(label.id).on_hover_text(SPARSENESS_HELP).on_disabled_hover_text(
            format!("{SPARSENESS_HELP}\nThe solver is {}: choose hals to use it.", params.solver),
        );
    match SliderEdit::of(&response, dragged.is_some()) {
        SliderEdit::Hold => *dragged = Some(s),
        SliderEdit::Apply => {
            *dragged = None;
            if s != before {
                out.push(Action::SetSparseness((s > 0.0).then_some(s)));
            }
        }
        SliderEdit::None => {}
    }
    if let Some(s) = dragged.filter(|&s| s != before) {
        super::hint_ui(ui, &format!("sparseness {s:.2} on release"));
    }
    if let Some(fit) = model.fit().filter(|f| f.k() > 0) {
        let mean = fit.sparseness.iter().sum::<f32>() / fit.k() as f32;
        let (lo, hi) = fit.sparseness.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        let text = if hi - lo < 0.005 {
            format!("parts now: sparseness {mean:.2}")
        } else {
            format!("parts now: sparseness {mean:.2} on average ({lo:.2} to {hi:.2})")
        };
        ui.small(text).on_hover_text("The Hoyer sparseness of the basis images shown");
    }
    for preset in crate::model::Preset::ALL {
        let enabled = model.faces.is_some();
        if ui
            .add_enabled(enabled, egui::Button::new(preset.name()))
            .on_hover_text(preset.description())
            .on_disabled_hover_text("Open some faces first.")
            .clicked()
        {
            out.push(Action::ApplyPreset(preset));
        }
    }
}

/// A labelled combo box over `all`; `text` gives each choice's name and
/// description (shown as tooltips). Applies on the next Run.
fn choice_ui<T: Copy + PartialEq>(
    ui: &mut egui::Ui,
    name: &str,
    value: &mut T,
    all: &[T],
    text: impl Fn(T) -> (&'static str, &'static str),
) {
    labelled_choice_ui(ui, name, value, all, text, "\n(applies on the next Run)");
}

/// A combo box over `all` labelled `name`; `text` gives each choice's name
/// and description (shown as tooltips); `note` follows the description.
pub(super) fn labelled_choice_ui<T: Copy + PartialEq>(
    ui: &mut egui::Ui,
    name: &str,
    value: &mut T,
    all: &[T],
    text: impl Fn(T) -> (&'static str, &'static str),
    note: &str,
) {
    let (current, help) = text(*value);
    let label = ui.label(name).on_hover_text(help);
    egui::ComboBox::from_id_salt(name)
        .selected_text(current)
        .show_ui(ui, |ui| {
            for &choice in all {
                let (n, d) = text(choice);
                ui.selectable_value(value, choice, n).on_hover_text(d);
            }
        })
        .response
        .labelled_by(label.id)
        .on_hover_text(format!("{help}{note}"));
}

const PREPROCESS_HELP: &str = "How each face is adjusted when it is loaded (the same as the command line's --preprocess). \
none: as the files are. lee-seung: every face brought to mean 0.25 and spread 0.25, as Lee & Seung did in 1999, \
so lighting differences matter less. equalize: each face's histogram equalised, stretching its contrast.";

/// The preprocessing choice; changing it loads the faces again.
fn preprocess_ui(ui: &mut egui::Ui, model: &Model, out: &mut Vec<Action>) {
    use crate::dataset::Preprocess;
    let before = model.settings.preprocess;
    let mut chosen = before;
    ui.horizontal(|ui| {
        let label = ui.label("preprocessing").on_hover_text(PREPROCESS_HELP);
        egui::ComboBox::from_id_salt("preprocessing")
            .selected_text(chosen.to_string())
            .show_ui(ui, |ui| {
                for p in [Preprocess::None, Preprocess::LeeSeung, Preprocess::Equalize] {
                    ui.selectable_value(&mut chosen, p, p.to_string());
                }
            })
            .response
            .labelled_by(label.id)
            .on_hover_text(PREPROCESS_HELP);
    });
    if chosen != before {
        out.push(Action::SetPreprocess(chosen));
    }
}

#[cfg(test)]
mod tests {
    use super::SliderEdit;

    #[test]
    fn a_slider_value_applies_once_the_pointer_lets_go() {
        // Pressed or dragging: held, whatever it passes.
        assert_eq!(SliderEdit::from_flags(true, true, false), SliderEdit::Hold);
        assert_eq!(SliderEdit::from_flags(true, false, true), SliderEdit::Hold);
        // Released (a value held): applied.
        assert_eq!(SliderEdit::from_flags(false, false, true), SliderEdit::Apply);
        // Typed, a key, a screen reader: applied at once.
        assert_eq!(SliderEdit::from_flags(false, true, false), SliderEdit::Apply);
        assert_eq!(SliderEdit::from_flags(false, false, false), SliderEdit::None);
    }
}
