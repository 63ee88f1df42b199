//! One module per lab view. Each lab's page composes the shared pieces: explanation, parameter form, player,
//! metrics table and the connection, around its own drawing.

pub mod amdahl;
pub mod io;
pub mod lock;
pub mod methods;
pub mod mmap;
pub mod pipeline;
pub mod watch;

use shared::{LabId, Nanos, Trace};
use std::rc::Rc;
use yew::prelude::*;

/// A trace shared by pointer: cheap to clone and to compare (by identity), so props and memos never walk it.
#[derive(Debug, Clone)]
pub struct TraceRef(pub Rc<Trace>);

impl PartialEq for TraceRef {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

/// An SVG coordinate, to one decimal: enough for the eye, and short in the DOM.
pub(crate) fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

/// What every lab drawing gets: a trace and the moment to draw.
#[derive(Debug, Properties)]
pub struct MomentProps {
    pub trace: Rc<Trace>,
    pub t: Nanos,
}

impl PartialEq for MomentProps {
    /// By identity: comparing whole traces on every frame would cost more than drawing them.
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.trace, &other.trace) && self.t == other.t
    }
}

/// The drawing of `lab`'s trace at moment `t`.
pub fn view(lab: LabId, trace: &TraceRef, t: Nanos) -> Html {
    match lab {
        LabId::Lock => html! { <lock::LockView trace={trace.0.clone()} t={t} /> },
        LabId::Amdahl => html! { <amdahl::AmdahlView trace={trace.0.clone()} t={t} /> },
        LabId::Methods => html! { <methods::MethodsView trace={trace.0.clone()} t={t} /> },
        LabId::Mmap => html! { <mmap::MmapView trace={trace.0.clone()} t={t} /> },
        LabId::Watch => html! { <watch::WatchView trace={trace.0.clone()} t={t} /> },
        LabId::Io => html! { <io::IoView trace={trace.0.clone()} t={t} /> },
        LabId::Pipeline => html! { <pipeline::PipelineView trace={trace.0.clone()} t={t} /> },
    }
}
