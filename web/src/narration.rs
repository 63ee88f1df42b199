//! The narrated event log: what the drawing shows (`shared::narrate`), in words. The line on the page always says
//! the moment drawn; an ARIA live region beside it, seen by screen readers only, says it at most once every
//! 1.5 s while the run plays, so that a screen reader can keep up; when paused or stepping, every step is said.

use crate::dom;
use crate::lab::TraceRef;
use shared::Nanos;
use yew::prelude::*;

/// How long a sentence stays before the next one while playing.
const MIN_GAP_MS: f64 = 1_500.0;

#[derive(Debug, Properties, PartialEq)]
pub struct NarrationProps {
    pub trace: Option<TraceRef>,
    pub t: Nanos,
    pub playing: bool,
}

#[function_component(Narration)]
pub fn narration(props: &NarrationProps) -> Html {
    let lang = use_context::<shared::i18n::Lang>().unwrap_or_default();
    let said = use_state(String::new);
    let said_at = use_mut_ref(|| f64::NEG_INFINITY);
    // Kept until the run, the moment or the language changes: a zoom redraws this line, and narrating a moment
    // reads the run up to it.
    let sentence = use_memo((props.trace.clone(), props.t, lang), |(trace, t, lang)| {
        trace.as_ref().map(|trace| {
            shared::narrate::at(&trace.0, *t)
                .map_or_else(|| lang.ui("ui.narration.nothing_yet").to_owned(), |s| s.say(*lang))
        })
    });
    let sentence = (*sentence).clone();
    {
        let (said, said_at) = (said.clone(), said_at.clone());
        // On pause the sentence of the moment is said, even when playing had held it back.
        use_effect_with((sentence.clone(), props.playing), move |(sentence, playing)| {
            let now = dom::now_ms();
            if let Some(sentence) = sentence
                && *said != *sentence
                && (!*playing || now - *said_at.borrow() >= MIN_GAP_MS)
            {
                said.set(sentence.clone());
                *said_at.borrow_mut() = now;
            }
        });
    }
    // Zoomed, the line also says which part of the run the timelines show.
    let zoom = use_context::<crate::timeline::Zoom>();
    let range = props
        .trace
        .as_ref()
        .and_then(|trace| crate::timeline::visible_range(zoom.as_ref(), props.t, trace.0.end(), lang));
    html! {
        <>
            <p class="narration" aria-hidden="true">
                <span class="narration-label">{lang.ui("ui.narration.now")}</span>{sentence.clone().unwrap_or_default()}
                if let Some(range) = range {
                    <span class="narration-range">{range}</span>
                }
            </p>
            <p class="narration-live sr-only" aria-live="polite" aria-atomic="true">{(*said).clone()}</p>
        </>
    }
}
