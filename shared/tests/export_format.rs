//! Every lab's run exported as Chrome Trace Event JSON follows the format (metadata and instant phases,
//! timestamps in microseconds, a named pid/tid track per actor, parameters and provenance in `otherData`), comes
//! back unchanged when imported, and its metrics CSV has one well-formed row per figure.

// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use serde_json::Value;
use shared::export::{chrome_trace, import, metrics_csv};
use shared::trace::Source;
use shared::{LabId, ParamSet, Trace};
use std::collections::BTreeSet;

fn measured(mut trace: Trace) -> Trace {
    let host = common::host();
    trace.run.source = Source::Measured { host, started_unix_ms: 1_795_470_874_612 };
    for (i, actor) in trace.actors.iter_mut().enumerate() {
        actor.pid = Some(4_000 + (i as u32 % 3));
    }
    trace
}

fn check_format(trace: &Trace) {
    let lab = trace.run.lab;
    let file = chrome_trace(trace);
    let events = file["traceEvents"].as_array().expect("traceEvents is an array");
    let mut tracks = BTreeSet::new();
    for event in events.iter().filter(|e| e["ph"] == "M" && e["name"] == "thread_name") {
        let track = (event["pid"].as_u64().unwrap(), event["tid"].as_u64().unwrap());
        assert!(tracks.insert(track), "{lab:?}: two actors share the track {track:?}");
        assert!(event["args"]["name"].is_string());
    }
    assert_eq!(tracks.len(), trace.actors.len(), "{lab:?}: one track per actor");
    let instants: Vec<&Value> = events.iter().filter(|e| e["ph"] == "i").collect();
    assert_eq!(instants.len(), trace.events.len(), "{lab:?}: every event is in the file");
    for (event, original) in instants.iter().zip(&trace.events) {
        assert!(["M", "i"].contains(&event["ph"].as_str().unwrap()));
        assert_eq!(event["s"], "t", "thread-scoped instants");
        let ts = event["ts"].as_f64().expect("ts is a number");
        assert!((ts - original.t.0 as f64 / 1_000.0).abs() < 1e-6, "{lab:?}: ts is in microseconds");
        let track = (event["pid"].as_u64().unwrap(), event["tid"].as_u64().unwrap());
        assert!(tracks.contains(&track), "{lab:?}: an event on an unnamed track {track:?}");
        let name = event["name"].as_str().unwrap();
        assert!(name.starts_with(lab.as_str()) && name.len() > lab.as_str().len(), "{lab:?}: event name {name}");
        assert!(event["args"].is_object());
    }
    let other = &file["otherData"];
    assert_eq!(other["lab"], lab.as_str());
    for key in trace.run.params.keys() {
        assert!(other[format!("param.{key}")].is_string(), "{lab:?}: parameter {key} in the metadata");
    }
    if let Source::Measured { .. } = trace.run.source {
        for key in ["started", "kernel", "cpu_model", "cpus", "page_size", "scratch_fs", "companion_version"] {
            assert!(other[format!("provenance.{key}")].is_string(), "{lab:?}: provenance {key}");
        }
        assert_eq!(other["provenance.started"], "2026-11-23T21:54:34Z");
    }
    // The file is what was written: the import gives the run back.
    let text = serde_json::to_string(&file).unwrap();
    assert_eq!(&import(&text).expect("imports"), trace, "{lab:?}: the round trip changed the run");
}

#[test]
fn every_lab_exports_to_the_trace_event_format_and_imports_back() {
    for lab in LabId::ALL {
        let simulated = shared::lab::simulate(lab, &ParamSet::new(), 3).unwrap();
        check_format(&simulated);
        check_format(&measured(simulated));
    }
}

#[test]
fn a_bare_trace_imports_too() {
    let trace = shared::lab::simulate(LabId::Lock, &ParamSet::new(), 1).unwrap();
    assert_eq!(import(&serde_json::to_string(&trace).unwrap()).unwrap(), trace);
}

#[test]
fn the_metrics_csv_has_a_row_per_figure() {
    for lab in LabId::ALL {
        let trace = shared::lab::simulate(lab, &ParamSet::new(), 3).unwrap();
        let csv = metrics_csv(&trace, None);
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some("lab,source,seed,key,label,unit,value,spread,simulated,model_error"));
        let metrics = shared::lab::metrics(&trace);
        let rows: Vec<&str> = lines.collect();
        assert_eq!(rows.len(), metrics.len(), "{lab:?}");
        for (row, metric) in rows.iter().zip(&metrics) {
            assert!(row.starts_with(&format!("{},simulated,3,{},", lab.as_str(), metric.key)), "{row}");
            assert!(row.ends_with(",,,"), "a simulated run alone has no spread, pair or error: {row}");
            if let Some(value) = metric.value {
                let column: f64 = row.rsplit(',').nth(3).unwrap().parse().unwrap();
                assert_eq!(column, value, "{row}");
            }
        }
    }
}

#[test]
fn the_metrics_csv_sets_the_model_beside_the_run() {
    let run = |seed| shared::lab::simulate(LabId::Lock, &ParamSet::new(), seed).unwrap();
    let (this, model) = (run(3), run(4));
    let csv = metrics_csv(&this, Some(&model));
    let row = csv.lines().find(|l| l.contains(",throughput,")).unwrap();
    let fields: Vec<&str> = row.rsplit(',').take(4).collect();
    let (error, simulated, value): (f64, f64, f64) =
        (fields[0].parse().unwrap(), fields[1].parse().unwrap(), fields[3].parse().unwrap());
    assert!((error - (simulated - value) / value).abs() < 1e-12, "{row}");
}
