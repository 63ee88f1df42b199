//! One module per lab view. Each lab's page composes the shared pieces: explanation, parameter form, player,
//! metrics table and the connection, around its own drawing.

/// A view module's registry entry: a unit type implementing [`LabView`] for `lab` by drawing `component`.
macro_rules! view_entry {
    ($name:ident, $lab:ident, $component:ident) => {
        /// This lab's drawing in [`crate::lab::VIEWS`].
        #[derive(Debug)]
        pub struct $name;

        impl crate::lab::LabView for $name {
            fn lab(&self) -> shared::LabId {
                shared::LabId::$lab
            }

            fn draw(&self, trace: std::rc::Rc<shared::Trace>, t: shared::Nanos) -> Html {
                html! { <$component {trace} {t} /> }
            }
        }
    };
}

pub mod amdahl;
pub mod io;
pub mod lock;
pub mod methods;
pub mod mmap;
mod mmap_write;
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

/// What a drawing shows instead when its trace's parameters do not read (a trace is validated when it is made or
/// imported, so this is a defect, said rather than drawn wrong).
pub(crate) fn unreadable(err: &shared::ParamError, lang: shared::i18n::Lang) -> Html {
    html! { <p class="error" role="alert">{ err.text().say(lang) }</p> }
}

/// A lab's drawing on the page: every lab has one, listed once in [`VIEWS`]; the lab page and the front page's
/// thumbnails draw through it.
pub trait LabView: Sync {
    fn lab(&self) -> LabId;
    /// The drawing of a trace of this lab at moment `t`.
    fn draw(&self, trace: Rc<Trace>, t: Nanos) -> Html;
}

/// Every lab's view, in [`LabId::ALL`]'s order (a test holds them to it and to the shared registry).
pub static VIEWS: [&dyn LabView; 7] = [
    &lock::LockLabView,
    &mmap::MmapLabView,
    &watch::WatchLabView,
    &io::IoLabView,
    &pipeline::PipelineLabView,
    &methods::MethodsLabView,
    &amdahl::AmdahlLabView,
];

/// The drawing of `lab`'s trace at moment `t`.
pub fn view(lab: LabId, trace: &TraceRef, t: Nanos) -> Html {
    VIEWS[lab as usize].draw(trace.0.clone(), t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lab_has_its_view_once_in_the_ids_order() {
        let labs: Vec<LabId> = VIEWS.iter().map(|v| v.lab()).collect();
        assert_eq!(labs, LabId::ALL.to_vec());
        let shared: Vec<LabId> = shared::lab::LABS.iter().map(|lab| lab.info().id).collect();
        assert_eq!(labs, shared, "the views and the shared registry list the same labs");
    }
}
