//! Lab parameters: declared once with type, default, range and unit, validated by one function that the web
//! form, the command line and the companion all call, so a bad value gets the same typed error everywhere.

use crate::i18n::Text;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// One parameter value as it travels on the wire, in a URL or on the command line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    Int(i64),
    Float(f64),
    Text(String),
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Int(v) => write!(f, "{v}"),
            ParamValue::Float(v) => write!(f, "{v}"),
            ParamValue::Text(v) => write!(f, "{v}"),
        }
    }
}

/// Parameters by key. A `BTreeMap` so that serialisation (and so a trace's digest) has one order.
pub type ParamSet = BTreeMap<String, ParamValue>;

/// One choice of a [`ParamKind::Choice`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
}

/// The type, range and default of a parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamKind {
    Int { min: i64, max: i64, default: i64 },
    Float { min: f64, max: f64, default: f64 },
    Choice { choices: &'static [Choice], default: &'static str },
}

/// A declared parameter of a lab.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamSpec {
    /// The key in URLs, on the wire and on the command line (`--procs 4`).
    pub key: &'static str,
    pub label: &'static str,
    /// Unit shown beside the field ("µs", "%"); empty for none.
    pub unit: &'static str,
    pub help: &'static str,
    pub kind: ParamKind,
    /// Only the simulation reads it (a modelling assumption); the real run measures it instead.
    pub simulation_only: bool,
}

impl ParamSpec {
    pub fn default_value(&self) -> ParamValue {
        match self.kind {
            ParamKind::Int { default, .. } => ParamValue::Int(default),
            ParamKind::Float { default, .. } => ParamValue::Float(default),
            ParamKind::Choice { default, .. } => ParamValue::Text(default.to_owned()),
        }
    }

    /// Reads a value typed as text (a form field, a URL query, a command-line word) and validates it.
    pub fn parse_text(&self, text: &str) -> Result<ParamValue, ParamError> {
        let text = text.trim();
        let value = match self.kind {
            ParamKind::Int { .. } => match text.parse::<i64>() {
                Ok(v) => ParamValue::Int(v),
                Err(_) => return Err(self.wrong_type(text)),
            },
            ParamKind::Float { .. } => match text.parse::<f64>() {
                Ok(v) => ParamValue::Float(v),
                Err(_) => return Err(self.wrong_type(text)),
            },
            ParamKind::Choice { .. } => ParamValue::Text(text.to_owned()),
        };
        self.check(&value)
    }

    /// Checks one value against the declaration and returns it normalised (an integral float for an int field
    /// becomes an int; an int for a float field becomes a float).
    pub fn check(&self, value: &ParamValue) -> Result<ParamValue, ParamError> {
        match (self.kind, value) {
            (ParamKind::Int { min, max, .. }, ParamValue::Int(v)) => {
                self.in_range(*v as f64, min as f64, max as f64).map(|_| ParamValue::Int(*v))
            }
            (ParamKind::Int { min, max, .. }, ParamValue::Float(v)) => {
                if !v.is_finite() || v.fract() != 0.0 {
                    return Err(self.wrong_type(&v.to_string()));
                }
                self.in_range(*v, min as f64, max as f64).map(|_| ParamValue::Int(*v as i64))
            }
            (ParamKind::Float { min, max, .. }, ParamValue::Int(v)) => {
                self.in_range(*v as f64, min, max).map(|_| ParamValue::Float(*v as f64))
            }
            (ParamKind::Float { min, max, .. }, ParamValue::Float(v)) => {
                if !v.is_finite() {
                    return Err(self.wrong_type(&v.to_string()));
                }
                self.in_range(*v, min, max).map(|_| ParamValue::Float(*v))
            }
            (ParamKind::Choice { choices, .. }, ParamValue::Text(text)) => {
                if choices.iter().any(|c| c.value == text) {
                    Ok(ParamValue::Text(text.clone()))
                } else {
                    Err(ParamError::UnknownChoice {
                        key: self.key.to_owned(),
                        value: text.clone(),
                        choices: choices.iter().map(|c| c.value.to_owned()).collect(),
                    })
                }
            }
            (_, other) => Err(self.wrong_type(&other.to_string())),
        }
    }

    fn in_range(&self, value: f64, min: f64, max: f64) -> Result<(), ParamError> {
        if value < min || value > max {
            Err(ParamError::OutOfRange { key: self.key.to_owned(), min, max, value })
        } else {
            Ok(())
        }
    }

    fn wrong_type(&self, found: &str) -> ParamError {
        let expected = match self.kind {
            ParamKind::Int { .. } => "error.param.expected_int",
            ParamKind::Float { .. } => "error.param.expected_float",
            ParamKind::Choice { .. } => "error.param.expected_choice",
        };
        ParamError::WrongType { key: self.key.to_owned(), expected: Text::new(expected), found: found.to_owned() }
    }
}

/// Why a set of parameters was refused. Every variant names the field, and the limit where there is one.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ParamError {
    /// No lab has this id.
    #[error("{}", self.text())]
    UnknownLab { lab: String, known: String },
    /// The lab exists in the catalogue but is not built yet.
    #[error("{}", self.text())]
    LabNotAvailable { lab: String },
    /// The lab declares no such parameter.
    #[error("{}", self.text())]
    UnknownParam { lab: String, key: String, known: String },
    /// The value is of the wrong type: `expected` says what it should be ("a whole number").
    #[error("{}", self.text())]
    WrongType { key: String, expected: Text, found: String },
    /// The value is outside the declared range.
    #[error("{}", self.text())]
    OutOfRange { key: String, min: f64, max: f64, value: f64 },
    /// The value is not one of the declared choices.
    #[error("{}", self.text())]
    UnknownChoice { key: String, value: String, choices: Vec<String> },
}

impl ParamError {
    /// The message in words any language can say (its `Display` is the English).
    pub fn text(&self) -> Text {
        match self {
            ParamError::UnknownLab { lab, known } => {
                Text::new("error.param.unknown_lab").with("lab", lab).with("known", known)
            }
            ParamError::LabNotAvailable { lab } => Text::new("error.param.lab_not_available").with("lab", lab),
            ParamError::UnknownParam { lab, key, known } => {
                Text::new("error.param.unknown_param").with("lab", lab).with("key", key).with("known", known)
            }
            ParamError::WrongType { key, expected, found } => Text::new("error.param.wrong_type")
                .with("key", key)
                .with_text("expected", expected.clone())
                .with("found", found),
            ParamError::OutOfRange { key, min, max, value } => Text::new("error.param.out_of_range")
                .with("key", key)
                .with("min", min)
                .with("max", max)
                .with("value", value),
            ParamError::UnknownChoice { key, value, choices } => Text::new("error.param.unknown_choice")
                .with("key", key)
                .with("choices", format!("{choices:?}"))
                .with("value", value),
        }
    }

    /// The field the error is about, if it is about one (the web form shows the error beside it).
    pub fn key(&self) -> Option<&str> {
        match self {
            ParamError::WrongType { key, .. }
            | ParamError::OutOfRange { key, .. }
            | ParamError::UnknownChoice { key, .. }
            | ParamError::UnknownParam { key, .. } => Some(key),
            ParamError::UnknownLab { .. } | ParamError::LabNotAvailable { .. } => None,
        }
    }
}

/// Validates `given` against `specs`: unknown keys and bad values are errors; missing keys take their defaults.
/// The result holds every declared key, normalised, so readers of it cannot miss a value.
pub fn validate(lab: &str, specs: &[ParamSpec], given: &ParamSet) -> Result<ParamSet, ParamError> {
    if let Some(key) = given.keys().find(|key| !specs.iter().any(|spec| spec.key == key.as_str())) {
        return Err(ParamError::UnknownParam {
            lab: lab.to_owned(),
            key: key.clone(),
            known: specs.iter().map(|s| s.key).collect::<Vec<_>>().join(", "),
        });
    }
    specs
        .iter()
        .map(|spec| {
            let value = match given.get(spec.key) {
                Some(value) => spec.check(value)?,
                None => spec.default_value(),
            };
            Ok((spec.key.to_owned(), value))
        })
        .collect()
}

/// A choice parameter's values as an enum, each with its text on the wire: written once here, and read back
/// typed with [`Reader::pick`]. A test of each lab holds its spec's choices to the same texts, so renaming one
/// fails there rather than falling back to a default.
pub trait ChoiceEnum: Sized + Copy + 'static {
    const VALUES: &'static [(&'static str, Self)];

    /// The value of a choice's text, if it is one.
    fn from_text(text: &str) -> Option<Self> {
        Self::VALUES.iter().find(|(t, _)| *t == text).map(|(_, v)| *v)
    }

    /// The texts, in the enum's order.
    fn texts() -> Vec<&'static str> {
        Self::VALUES.iter().map(|(t, _)| *t).collect()
    }
}

/// The one way a lab's typed parameters are made: validate `given` against `specs` (so ranges hold and
/// defaults are filled, whether the set came from the form, the wire or an imported file), then read it.
pub fn read<T>(
    lab: &str,
    specs: &'static [ParamSpec],
    given: &ParamSet,
    read: impl FnOnce(&Reader<'_>) -> Result<T, ParamError>,
) -> Result<T, ParamError> {
    let set = validate(lab, specs, given)?;
    read(&Reader { specs, set: &set })
}

/// Typed reads from a set that [`validate`] produced, so every key is there with a value in range; numbers are
/// read as they are, without clamping again.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    pub specs: &'static [ParamSpec],
    pub set: &'a ParamSet,
}

impl Reader<'_> {
    fn spec(&self, key: &str) -> Option<&'static ParamSpec> {
        self.specs.iter().find(|s| s.key == key)
    }

    pub fn int(&self, key: &str) -> i64 {
        match (self.set.get(key), self.spec(key).map(|s| s.kind)) {
            (Some(ParamValue::Int(v)), _) => *v,
            (_, Some(ParamKind::Int { default, .. })) => default,
            _ => 0,
        }
    }

    /// A count or time that validation kept at zero or above.
    pub fn uint(&self, key: &str) -> u64 {
        u64::try_from(self.int(key)).unwrap_or(0)
    }

    pub fn float(&self, key: &str) -> f64 {
        match (self.set.get(key), self.spec(key).map(|s| s.kind)) {
            (Some(ParamValue::Float(v)), _) => *v,
            (Some(ParamValue::Int(v)), _) => *v as f64,
            (_, Some(ParamKind::Float { default, .. })) => default,
            _ => 0.0,
        }
    }

    fn text(&self, key: &str) -> &str {
        match (self.set.get(key), self.spec(key).map(|s| s.kind)) {
            (Some(ParamValue::Text(v)), _) => v,
            (_, Some(ParamKind::Choice { default, .. })) => default,
            _ => "",
        }
    }

    /// A choice as its enum; a text the enum does not know is a typed error naming the key.
    pub fn pick<T: ChoiceEnum>(&self, key: &str) -> Result<T, ParamError> {
        let text = self.text(key);
        T::from_text(text).ok_or_else(|| ParamError::UnknownChoice {
            key: key.to_owned(),
            value: text.to_owned(),
            choices: T::texts().into_iter().map(str::to_owned).collect(),
        })
    }

    /// A choice of two, as whether it is `yes`; any text but `yes` and `no` is a typed error naming the key.
    pub fn either(&self, key: &str, yes: &str, no: &str) -> Result<bool, ParamError> {
        match self.text(key) {
            text if text == yes => Ok(true),
            text if text == no => Ok(false),
            text => Err(ParamError::UnknownChoice {
                key: key.to_owned(),
                value: text.to_owned(),
                choices: vec![yes.to_owned(), no.to_owned()],
            }),
        }
    }
}

/// The texts of a spec's choices, for tests that hold an enum to them.
pub fn choice_texts(specs: &[ParamSpec], key: &str) -> Vec<&'static str> {
    match specs.iter().find(|s| s.key == key).map(|s| s.kind) {
        Some(ParamKind::Choice { choices, .. }) => choices.iter().map(|c| c.value).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[ParamSpec] = &[
        ParamSpec {
            key: "n",
            label: "N",
            unit: "",
            help: "",
            kind: ParamKind::Int { min: 1, max: 64, default: 4 },
            simulation_only: false,
        },
        ParamSpec {
            key: "p",
            label: "P",
            unit: "",
            help: "",
            kind: ParamKind::Float { min: 0.0, max: 1.0, default: 0.5 },
            simulation_only: false,
        },
        ParamSpec {
            key: "mode",
            label: "Mode",
            unit: "",
            help: "",
            kind: ParamKind::Choice {
                choices: &[Choice { value: "a", label: "A" }, Choice { value: "b", label: "B" }],
                default: "a",
            },
            simulation_only: false,
        },
    ];

    fn set(pairs: &[(&str, ParamValue)]) -> ParamSet {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
    }

    /// One row of the table: the given values, then the expected outcome (the normalised value of `key`, or the
    /// error).
    fn check(given: &[(&str, ParamValue)], key: &str, want: Result<ParamValue, ParamError>) {
        let got = validate("t", SPECS, &set(given)).map(|s| s[key].clone());
        assert_eq!(got, want, "given {given:?}");
    }

    #[test]
    fn validation_table() {
        use ParamValue::*;
        check(&[], "n", Ok(Int(4)));
        check(&[], "mode", Ok(Text("a".into())));
        check(&[("n", Int(64))], "n", Ok(Int(64)));
        check(&[("n", Float(8.0))], "n", Ok(Int(8)));
        check(&[("p", Int(1))], "p", Ok(Float(1.0)));
        check(
            &[("n", Int(65))],
            "n",
            Err(ParamError::OutOfRange { key: "n".into(), min: 1.0, max: 64.0, value: 65.0 }),
        );
        check(&[("n", Int(0))], "n", Err(ParamError::OutOfRange { key: "n".into(), min: 1.0, max: 64.0, value: 0.0 }));
        check(
            &[("n", Int(-3))],
            "n",
            Err(ParamError::OutOfRange { key: "n".into(), min: 1.0, max: 64.0, value: -3.0 }),
        );
        check(
            &[("n", Float(2.5))],
            "n",
            Err(ParamError::WrongType {
                key: "n".into(),
                expected: crate::i18n::Text::new("error.param.expected_int"),
                found: "2.5".into(),
            }),
        );
        check(
            &[("n", Text("x".into()))],
            "n",
            Err(ParamError::WrongType {
                key: "n".into(),
                expected: crate::i18n::Text::new("error.param.expected_int"),
                found: "x".into(),
            }),
        );
        check(
            &[("p", Float(f64::NAN))],
            "p",
            Err(ParamError::WrongType {
                key: "p".into(),
                expected: crate::i18n::Text::new("error.param.expected_float"),
                found: "NaN".into(),
            }),
        );
        check(
            &[("mode", Text("c".into()))],
            "mode",
            Err(ParamError::UnknownChoice {
                key: "mode".into(),
                value: "c".into(),
                choices: vec!["a".into(), "b".into()],
            }),
        );
        check(
            &[("zz", Int(1))],
            "n",
            Err(ParamError::UnknownParam { lab: "t".into(), key: "zz".into(), known: "n, p, mode".into() }),
        );
    }

    #[test]
    fn text_is_parsed_by_the_declared_type() {
        assert_eq!(SPECS[0].parse_text(" 12 "), Ok(ParamValue::Int(12)));
        assert!(matches!(SPECS[0].parse_text("1e3"), Err(ParamError::WrongType { .. })));
        assert_eq!(SPECS[1].parse_text("0.25"), Ok(ParamValue::Float(0.25)));
        assert_eq!(SPECS[2].parse_text("b"), Ok(ParamValue::Text("b".into())));
    }

    #[test]
    fn errors_name_the_field_and_the_limit() {
        let err = validate("t", SPECS, &set(&[("n", ParamValue::Int(100))])).unwrap_err();
        assert_eq!(err.to_string(), "`n` must be between 1 and 64, not 100");
        assert_eq!(err.key(), Some("n"));
    }
}
