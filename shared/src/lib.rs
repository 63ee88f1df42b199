//! syslab's pure core: the lab catalogue, one trace model, the deterministic simulation and the wire protocol.
//!
//! Nothing here touches the operating system, reads a clock or draws unseeded randomness (`clippy.toml` forbids
//! it), so a run is a pure function of (lab, parameters, seed) and is identical on native and on wasm32. The
//! companion (`native`) and the page (`web`) both build on this crate; neither re-implements what it holds.

pub mod admission;
pub mod alone;
pub mod calibration;
pub mod catalogue;
pub mod compare;
pub mod digest;
pub mod export;
pub mod fidelity;
pub mod fidelity_grid;
pub mod figures;
pub mod golden;
pub mod history;
pub mod i18n;
pub mod lab;
pub mod live;
pub mod lod;
pub mod narrate;
pub mod params;
pub mod predict;
pub mod protocol;
pub mod repeats;
pub mod rng;
pub mod robustness;
pub mod sim;
pub mod stats;
pub mod sweep;
pub mod time;
pub mod trace;
pub mod waits;

pub use catalogue::LabId;
pub use params::{ParamError, ParamSet, ParamValue};
pub use time::Nanos;
pub use trace::{Actor, ActorId, ActorKind, Event, EventKind, Metric, RunInfo, Source, Trace};
