//! Every catalogue key the code asks for exists. The catalogue test (`shared::i18n`) checks that English and
//! Japanese hold the same keys; this one checks that the keys the code uses are among them: the literal keys
//! written in the sources of every crate, and the keys the runs carry (metric labels, actor names, the
//! narrated sentences), for every lab under every choice of its parameters.

#![cfg(not(target_arch = "wasm32"))]
// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use shared::i18n::{Lang, has_key};
use shared::params::{ParamKind, ParamValue};
use shared::{LabId, ParamSet, Trace};
use std::collections::BTreeSet;
use std::path::Path;

/// Every parameter set worth a look: the defaults, then each choice of each choice parameter alone.
fn param_sets(lab: LabId) -> Vec<ParamSet> {
    let mut sets = vec![ParamSet::new()];
    for spec in lab.info().params {
        if let ParamKind::Choice { choices, .. } = spec.kind {
            for choice in choices {
                let mut set = ParamSet::new();
                set.insert(spec.key.to_owned(), ParamValue::Text(choice.value.to_owned()));
                sets.push(set);
            }
        }
    }
    sets
}

/// The keys a run asks for: its metrics' labels, its actors' names, and the sentence at the last event of
/// each kind's first moment (every kind of event is said at least once).
fn keys_of_run(trace: &Trace) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for metric in shared::lab::metrics(trace) {
        keys.extend(metric.label.keys().into_iter().map(str::to_owned));
    }
    for actor in &trace.actors {
        keys.extend(actor.label.keys().into_iter().map(str::to_owned));
    }
    let mut kinds_said = BTreeSet::new();
    for (i, event) in trace.events.iter().enumerate() {
        let last_of_moment = trace.events.get(i + 1).is_none_or(|next| next.t > event.t);
        let kind = serde_json::to_string(&event.kind).unwrap_or_default();
        let kind = kind.split(",").next().unwrap_or_default().to_owned();
        if last_of_moment && kinds_said.insert(kind) {
            let sentence = shared::narrate::at(trace, event.t).unwrap();
            keys.extend(sentence.keys().into_iter().map(str::to_owned));
        }
    }
    keys
}

#[test]
fn every_key_a_run_carries_is_in_the_catalogues() {
    let mut missing = BTreeSet::new();
    for lab in LabId::ALL {
        for params in param_sets(lab) {
            let trace = shared::lab::simulate(lab, &params, 1).unwrap_or_else(|e| panic!("{lab:?} {params:?}: {e}"));
            missing.extend(keys_of_run(&trace).into_iter().filter(|k| !has_key(k)).map(|k| format!("{lab:?}: {k}")));
        }
    }
    assert!(missing.is_empty(), "keys no catalogue has: {missing:#?}");
}

/// The literal keys in a source text: quoted strings that start with a catalogue prefix and hold no spaces.
fn literal_keys(source: &str) -> Vec<String> {
    const PREFIXES: [&str; 6] = ["ui.", "metric.", "term.", "narrate.", "note.", "error."];
    source
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| PREFIXES.iter().any(|p| s.starts_with(p)))
        .filter(|s| s.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_') && !s.ends_with('.'))
        .map(str::to_owned)
        .collect()
}

fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
        }
    }
}

#[test]
fn every_key_written_in_the_sources_is_in_the_catalogues() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for krate in ["shared/src", "web/src", "web/tests", "native/src", "e2e"] {
        sources(&root.join(krate), &mut files);
    }
    let mut seen = 0;
    let mut missing = Vec::new();
    for (path, text) in &files {
        for key in literal_keys(text) {
            seen += 1;
            if !has_key(&key) {
                missing.push(format!("{path}: {key}"));
            }
        }
    }
    assert!(seen > 100, "the scan found only {seen} keys: is it looking in the right place?");
    assert!(missing.is_empty(), "keys no catalogue has: {missing:#?}");
}

#[test]
fn the_scan_finds_keys_and_only_keys() {
    let text = r#"lang.ui("ui.lab.seed"); Text::new("metric.lock.throughput"); format!("term.io.{}", k); "ui. prose""#;
    assert_eq!(literal_keys(text), ["ui.lab.seed", "metric.lock.throughput"]);
    // A key English has is said in Japanese too (the catalogue test holds both to the same keys).
    assert_ne!(Lang::Ja.ui("ui.lab.seed"), Lang::En.ui("ui.lab.seed"));
}
