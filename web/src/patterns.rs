//! The page's hatch patterns, defined once (the app renders them at the top of every page) and used by every
//! drawing by id, so that no state is told by colour alone: a stale lock file and a shared hold in the lock
//! lab, who noticed a change in the watch lab (inotify `/`, the poller `\`, both crossed), a polling thread in
//! the I/O lab and a thread blocked on a full channel in the pipeline lab. The legends' swatches draw the same
//! hatches in CSS (`style/main.css`).

use yew::prelude::*;

/// Which way the lines run.
#[derive(Clone, Copy, PartialEq)]
enum Lines {
    /// `/`
    Forward,
    /// `\`
    Back,
    /// Both.
    Cross,
}

/// A pattern of lines over a background: `id` for `fill="url(#id)"`, its colours from the CSS classes.
fn hatch(id: &'static str, size: u32, bg_class: &'static str, line_class: &'static str, lines: Lines) -> Html {
    let size = size.to_string();
    let turn = if lines == Lines::Back { "rotate(-45)" } else { "rotate(45)" };
    html! {
        <pattern id={id} width={size.clone()} height={size.clone()} patternUnits="userSpaceOnUse" patternTransform={turn}>
            <rect width={size.clone()} height={size.clone()} class={bg_class} />
            <line x1="0" y1="0" x2="0" y2={size.clone()} class={line_class} />
            if lines == Lines::Cross { <line x1="0" y1="0" x2={size} y2="0" class={line_class} /> }
        </pattern>
    }
}

/// The definitions, in an SVG of no size (not `display: none`, which would stop the patterns from painting).
#[function_component(Patterns)]
pub fn patterns() -> Html {
    html! {
        <svg class="patterns" width="0" height="0" aria-hidden="true" focusable="false">
            <defs>
                {hatch("stale-hatch", 8, "stale-bg", "stale-line", Lines::Forward)}
                {hatch("lane-shared", 6, "lane-shared-bg", "lane-shared-line", Lines::Forward)}
                {hatch("hatch-notified", 5, "hatch-bg notified", "hatch-line", Lines::Forward)}
                {hatch("hatch-polled", 5, "hatch-bg polled", "hatch-line", Lines::Back)}
                {hatch("hatch-both", 5, "hatch-bg both", "hatch-line", Lines::Cross)}
                {hatch("hatch-polling", 5, "hatch-bg polling", "hatch-line", Lines::Forward)}
                {hatch("hatch-send-wait", 4, "hatch-bg send-wait", "hatch-line", Lines::Forward)}
            </defs>
        </svg>
    }
}
