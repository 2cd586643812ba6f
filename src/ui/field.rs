//! Number fields that never change what was typed silently: a value out of
//! range is brought into it and the field says so beside itself; text that
//! is not a number is refused, and the field says that too.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Display;
use std::ops::RangeInclusive;

use eframe::egui;

/// The notes of a group of fields, by field name.
#[derive(Debug, Default)]
pub struct FieldNotes {
    notes: BTreeMap<&'static str, String>,
}

impl FieldNotes {
    /// The note of field `name`, if it has one.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.notes.get(name).map(String::as_str)
    }

    /// Brings `value` into `range` after an edit; a change is noted (and a
    /// valid edit clears the note). Returns true when the value was changed.
    pub fn check_range<T: PartialOrd + Copy + Display>(
        &mut self,
        name: &'static str,
        value: &mut T,
        range: &RangeInclusive<T>,
    ) -> bool {
        let (lo, hi) = (*range.start(), *range.end());
        let fixed = if *value < lo {
            Some((lo, "below"))
        } else if *value > hi {
            Some((hi, "above"))
        } else {
            None
        };
        match fixed {
            Some((to, side)) => {
                self.notes.insert(name, format!("{name}: {value} is {side} the range {lo} to {hi}; set to {to}"));
                *value = to;
                true
            }
            None => {
                self.notes.remove(name);
                false
            }
        }
    }

    /// Notes that `text` typed into `name` is not a number (the value kept).
    pub fn refused(&mut self, name: &'static str, text: &str, kept: impl Display) {
        self.notes.insert(name, format!("{name}: {text:?} is not a number; kept {kept}"));
    }

    /// Shows the note of `name` (if any) under the field, as a warning.
    pub fn note_ui(&self, ui: &mut egui::Ui, name: &str) {
        if let Some(note) = self.get(name) {
            ui.colored_label(ui.visuals().warn_fg_color, egui::RichText::new(note).small());
        }
    }
}

/// A parser for `DragValue::custom_parser` that remembers text it could not
/// read as a number (in `refused`), so the field can say so.
pub fn parser<'a>(
    refused: &'a RefCell<Option<String>>,
    parse: impl Fn(&str) -> Option<f64> + 'a,
) -> impl Fn(&str) -> Option<f64> + 'a {
    move |text| {
        let value = parse(text);
        if value.is_none() {
            *refused.borrow_mut() = Some(text.trim().to_string());
        }
        value
    }
}

/// Reads a plain number (with the `egui` default's leniency for spaces).
pub fn number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_values_are_noted_and_fixed() {
        let mut notes = FieldNotes::default();
        let mut k = 0usize;
        assert!(notes.check_range("k", &mut k, &(1..=400)));
        assert_eq!(k, 1);
        assert_eq!(notes.get("k"), Some("k: 0 is below the range 1 to 400; set to 1"));
        let mut k = 99_999usize;
        assert!(notes.check_range("k", &mut k, &(1..=400)));
        assert_eq!(k, 400);
        assert!(notes.get("k").is_some_and(|n| n.contains("99999 is above")));
        let mut k = 7usize;
        assert!(!notes.check_range("k", &mut k, &(1..=400)));
        assert_eq!(notes.get("k"), None);
        notes.refused("tol", " abc ", 0.0001);
        assert_eq!(notes.get("tol"), Some("tol: \" abc \" is not a number; kept 0.0001"));
        let refused = RefCell::new(None);
        let p = parser(&refused, number);
        assert_eq!(p("2.5"), Some(2.5));
        assert_eq!(p("abc"), None);
        assert_eq!(refused.borrow().as_deref(), Some("abc"));
    }
}
