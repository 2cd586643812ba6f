//! Choosing k in the rank explorer, driven through the GUI (no display):
//! cross-validation and restarts fill the table, the suggested k is named,
//! a rerun reuses the ranks done, and the table is saved as CSV and JSON,
//! asking before it replaces a file.

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use facenmf::app::FaceNmfApp;
use facenmf::dataset::builtin;
use facenmf::nmf::Params;

fn has_label_containing(h: &Harness<'_, FaceNmfApp>, needle: &str) -> bool {
    h.query_all_by(|n| n.label().is_some_and(|l| l.contains(needle)) || n.value().is_some_and(|v| v.contains(needle)))
        .next()
        .is_some()
}

fn sweep_done(h: &mut Harness<'_, FaceNmfApp>, ranks: usize) {
    common::step_until(h, "the sweep to end", |a| !a.model.sweep.is_running() && a.model.sweep.points.len() == ranks);
}

#[test]
fn held_out_error_stability_suggestion_reuse_and_saving() {
    let _serial = common::serial();
    let mut h = common::harness(builtin::generate(40, 24, 7).dataset, Params::new(4).max_iter(60).seed(3));
    h.step();
    h.get_by_label("Rank explorer").click();
    h.run_ok();
    common::set_text(&mut h, "Ranks:", "2, 4, 6");
    h.get_by_label("Choose k: held-out error and stability").click();
    h.run_ok();
    h.get_by_label("folds").set_value_accesskit(3.0);
    h.get_by_label("restarts").set_value_accesskit(2.0);
    h.run_ok();
    assert!(has_label_containing(&h, "5 fits per k"));
    h.get_by_label("Start").click();
    h.run_ok();
    sweep_done(&mut h, 3);
    let points = h.state().model.sweep.points.clone();
    assert_eq!(points.iter().map(|p| p.k).collect::<Vec<_>>(), vec![2, 4, 6]);
    for p in &points {
        let cv = p.cv.as_ref().expect("held-out error");
        assert_eq!(cv.folds.len(), 3);
        assert!(cv.mean > 0.0 && cv.mean < 1.0, "{cv:?}");
        assert!((0.0..=1.0).contains(&p.stability.expect("stability")));
    }
    // The table shows them; the suggestion is named with its rule.
    let cv2 = points[0].cv.as_ref().unwrap();
    assert!(has_label_containing(&h, &format!("{:.4} ± {:.4}", cv2.mean, cv2.sd)));
    assert!(has_label_containing(&h, &format!("{:.3}", points[0].stability.unwrap())));
    let s = facenmf::nmf::sweep::suggest_k(&points).expect("suggestion");
    assert!(has_label_containing(&h, &format!("Suggested k = {}", s.k)), "no suggestion shown");
    assert!(has_label_containing(&h, "one-standard-error rule"));

    // A rerun with the same settings reuses every rank: nothing is refitted.
    common::set_text(&mut h, "Ranks:", "2, 4, 6, 8");
    h.get_by_label("Start").click();
    h.run_ok();
    sweep_done(&mut h, 4);
    let again = &h.state().model.sweep.points;
    assert_eq!(h.state().model.sweep.progress.reused, 3);
    for (a, b) in points.iter().zip(again.iter()) {
        assert_eq!((a.k, a.rel_err, a.total_secs), (b.k, b.rel_err, b.total_secs), "k = {} was refitted", a.k);
    }
    assert!(has_label_containing(&h, "3 of them from the last sweep with the same settings"));

    // Saving: CSV, then JSON; an existing file is kept unless Replace.
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("ranks.csv");
    common::set_text(&mut h, "Save table as", csv.to_str().unwrap());
    h.get_by_label("Save table").click();
    h.run_ok();
    let text = std::fs::read_to_string(&csv).expect("csv written");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(lines[0].starts_with("k,rel_err,svd_rel_err") && lines[0].contains("cv_rel_err,cv_rel_err_sd,stability"));
    assert!(lines[1].starts_with("2,"));
    std::fs::write(&csv, "planted").unwrap();
    h.get_by_label("Save table").click();
    h.run_ok();
    assert!(has_label_containing(&h, "ranks.csv exists."));
    h.get_by_label("Keep it").click();
    h.run_ok();
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), "planted");
    h.get_by_label("Save table").click();
    h.run_ok();
    h.get_by_label("Replace").click();
    h.run_ok();
    assert!(std::fs::read_to_string(&csv).unwrap().starts_with("k,"));
    let json = dir.path().join("ranks.json");
    common::set_text(&mut h, "Save table as", json.to_str().unwrap());
    h.get_by_label("Save table").click();
    h.run_ok();
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).expect("json");
    assert_eq!(v["ranks"].as_array().unwrap().len(), 4);
    assert_eq!(v["rule"], "one-standard-error");
    assert!(v["suggested_k"].as_u64().is_some());
    // A name that is neither .csv nor .json is refused, naming it.
    common::set_text(&mut h, "Save table as", dir.path().join("ranks.txt").to_str().unwrap());
    h.get_by_label("Save table").click();
    h.run_ok();
    let err = h.state().error().map(ToString::to_string).unwrap_or_default();
    assert!(err.contains("ranks.txt") && err.contains(".csv or .json"), "{err}");
}

#[test]
fn the_method_is_chosen_in_the_explorer_and_methods_are_not_mixed() {
    let _serial = common::serial();
    let mut h = common::harness(builtin::generate(40, 24, 7).dataset, Params::new(4).max_iter(40).seed(3));
    h.step();
    h.get_by_label("Rank explorer").click();
    h.run_ok();
    common::set_text(&mut h, "Ranks:", "2, 4");
    h.get_by_label("Choose k: held-out error and stability").click();
    h.run_ok();
    h.get_by_label("folds").set_value_accesskit(2.0);
    h.get_by_label("restarts").set_value_accesskit(1.0);
    h.run_ok();
    h.get_by_label("Start").click();
    h.run_ok();
    sweep_done(&mut h, 2);
    // Bi-cross-validation by default; then the hold-out: the same ranks are
    // fitted again, not reused.
    let bicross = h.state().model.sweep.points.clone();
    assert!(has_label_containing(&h, "bicross"));
    h.get_by_label("by").click();
    h.run_ok();
    h.get_by_label("holdout").click();
    h.run_ok();
    h.get_by_label("Start").click();
    h.run_ok();
    sweep_done(&mut h, 2);
    assert_eq!(h.state().model.sweep.progress.reused, 0);
    let holdout = h.state().model.sweep.points.clone();
    for (a, b) in holdout.iter().zip(&bicross) {
        let (ca, cb) = (a.cv.as_ref().expect("holdout cv"), b.cv.as_ref().expect("bicross cv"));
        assert_eq!((ca.folds.len(), cb.folds.len()), (2, 2));
        assert!(cb.mean > 0.0 && cb.mean < 1.0, "{cb:?}");
        assert_ne!(ca.folds, cb.folds, "k = {}: the bicross figures are the holdout's", a.k);
    }
    let s = facenmf::nmf::sweep::suggest_k(&holdout).expect("suggestion");
    assert!(has_label_containing(&h, &format!("Suggested k = {}", s.k)), "no suggestion shown");
}
