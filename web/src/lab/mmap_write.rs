//! The mmap lab's write passes as the page shows them below the strip: per pass the bytes written, the file's
//! dirty pages before and after its sync, the sync's time and whether the file re-read from the disk held what
//! it should; and the two lessons the kernel teaches on the way, in this run's page size: a window at an offset
//! between pages is refused and mapped from the page below, and a write to a PROT_READ mapping is a SIGSEGV
//! until mprotect grants the write.

use shared::i18n::Lang;
use shared::lab::mmap::{Method, MmapEvent, MmapParams};
use shared::{EventKind, Nanos, Trace};
use yew::prelude::*;

/// What the trace so far says of one write pass.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct PassState {
    bytes: u64,
    sync: Option<(u64, Option<u64>, Option<u64>)>,
    file_ok: Option<bool>,
    refused: Option<i32>,
    signal: Option<i32>,
}

fn states(shown: &Trace) -> Vec<(Method, PassState)> {
    let mut out: Vec<(Method, PassState)> = Method::writes().into_iter().map(|m| (m, PassState::default())).collect();
    for e in &shown.events {
        let EventKind::Mmap(ev) = e.kind else { continue };
        let method = match ev {
            MmapEvent::Chunk { method, .. }
            | MmapEvent::Done { method, .. }
            | MmapEvent::Synced { method, .. }
            | MmapEvent::Verified { method, .. }
            | MmapEvent::Refused { method, .. }
            | MmapEvent::Signalled { method, .. } => method,
        };
        let Some((_, state)) = out.iter_mut().find(|(m, _)| *m == method) else { continue };
        match ev {
            MmapEvent::Chunk { bytes, .. } => state.bytes += bytes,
            MmapEvent::Synced { ns, dirty_before, dirty_after, .. } => {
                state.sync = Some((ns, dirty_before, dirty_after))
            }
            MmapEvent::Verified { file_ok, .. } => state.file_ok = Some(file_ok),
            MmapEvent::Refused { errno, .. } => state.refused = Some(errno),
            MmapEvent::Signalled { signal, .. } => state.signal = Some(signal),
            MmapEvent::Done { .. } => {}
        }
    }
    out
}

/// Whether `method`'s sync has happened in the trace so far (the strip then draws its pages clean).
pub fn synced(shown: &Trace, method: Method) -> bool {
    states(shown).iter().any(|(m, s)| *m == method && s.sync.is_some())
}

pub fn panel(p: &MmapParams, shown: &Trace, lang: Lang) -> Html {
    let states = states(shown);
    let count = |n: Option<u64>| n.map_or_else(|| "?".to_owned(), |n| n.to_string());
    let dash = || "—".to_owned();
    let rows = states.iter().map(|(method, s)| {
        let (sync, before, after) = match s.sync {
            Some((ns, before, after)) => (Nanos(ns).to_string(), count(before), count(after)),
            None => (dash(), dash(), dash()),
        };
        let file = match s.file_ok {
            Some(true) => lang.ui("ui.mmap.file_ok").to_owned(),
            Some(false) => lang.ui("ui.mmap.file_wrong").to_owned(),
            // A simulated pass writes no file: there is nothing to re-read.
            None if shown.run.source.host().is_none() => lang.ui("ui.mmap.file_simulated").to_owned(),
            None => dash(),
        };
        html! {
            <tr data-method={method.key()}>
                <th scope="row">{method.name().say(lang)}</th>
                <td>{format!("{:.1} MiB", s.bytes as f64 / 1_048_576.0)}</td>
                <td class="dirty-before">{before}</td>
                <td>{sync}</td>
                <td class="dirty-after">{after}</td>
                <td class="file-check">{file}</td>
            </tr>
        }
    });
    let state_of = |m: Method| states.iter().find(|(x, _)| *x == m).map(|(_, s)| *s).unwrap_or_default();
    html! {
        <div class="mmap-writes">
            <table>
                <caption>{lang.ui("ui.mmap.writes_caption")}</caption>
                <thead><tr>
                    <th scope="col">{lang.ui("ui.mmap.w_method")}</th>
                    <th scope="col">{lang.ui("ui.mmap.w_written")}</th>
                    <th scope="col">{lang.ui("ui.mmap.w_dirty_before")}</th>
                    <th scope="col">{lang.ui("ui.mmap.w_sync")}</th>
                    <th scope="col">{lang.ui("ui.mmap.w_dirty_after")}</th>
                    <th scope="col">{lang.ui("ui.mmap.w_file")}</th>
                </tr></thead>
                <tbody>{ for rows }</tbody>
            </table>
            { window_lesson(p, state_of(Method::MmapWindow).refused, lang) }
            { protect_lesson(state_of(Method::MmapProtect).signal, lang) }
        </div>
    }
}

/// The window's arithmetic in this run's page size, and what the kernel said to the asked offset.
fn window_lesson(p: &MmapParams, refused: Option<i32>, lang: Lang) -> Html {
    let w = p.window_map();
    let arithmetic = lang.fill(
        "ui.mmap.window_lesson",
        &[
            ("asked", &w.asked),
            ("page", &(w.asked / p.page)),
            ("lead", &w.lead()),
            ("size", &p.page),
            ("mapped", &w.mapped),
            ("mib", &format!("{:.1}", w.len as f64 / 1_048_576.0)),
        ],
    );
    let verdict = match (w.aligned(), refused) {
        (true, _) => lang.ui("ui.mmap.window_aligned").to_owned(),
        (false, Some(errno)) => lang.fill("ui.mmap.window_refused", &[("errno", &errno)]),
        (false, None) => lang.ui("ui.mmap.window_pending").to_owned(),
    };
    html! { <p class="lesson window-lesson">{arithmetic}{" "}{verdict}</p> }
}

fn protect_lesson(signal: Option<i32>, lang: Lang) -> Html {
    let text = match signal {
        Some(signal) => lang.fill("ui.mmap.protect_lesson", &[("signal", &signal)]),
        None => lang.ui("ui.mmap.protect_pending").to_owned(),
    };
    html! { <p class="lesson protect-lesson" data-signal={signal.map(|s| s.to_string())}>{text}</p> }
}
