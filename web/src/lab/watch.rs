//! The watch lab's drawing: the tree's files as a grid (one cell per file, or per group of files when N is
//! large) that lights up at a write and changes colour as each watcher notices it, with the poller's pass
//! sweeping over it; the two watchers' latency histograms side by side; and the cost of each against N (the
//! model's curves, the rounds' points).

use crate::lab::{MomentProps, TraceRef, fmt};
use shared::i18n::Lang;
use shared::lab::watch::{RoundSummary, WatchParams, Watcher, model_cpu_per_second, rounds};
use shared::{Nanos, Source, Trace};
use yew::prelude::*;

const W: f64 = 720.0;
/// The most cells the grid draws; beyond it a cell stands for several files.
const MAX_CELLS: u32 = 400;
/// Histogram bins: three per decade from 1 µs to 10 s.
const BINS: usize = 22;

view_entry!(WatchLabView, Watch, WatchView);

#[function_component(WatchView)]
pub fn watch_view(props: &MomentProps) -> Html {
    let lang = use_context::<Lang>().unwrap_or_default();
    let all = use_memo(TraceRef(props.trace.clone()), |t| rounds(&t.0));
    let t = props.t;
    let trace = &props.trace;
    let p = match WatchParams::parse(&trace.run.params) {
        Ok(p) => p,
        Err(err) => return super::unreadable(&err, lang),
    };
    // The round under the playhead: the last one that started by then.
    let current = all.iter().rposition(|(r, _)| r.start <= t).unwrap_or(0);
    let Some((round, files_of)) = all.get(current) else {
        return html! { <p class="empty">{lang.ui("ui.draw.nothing_yet")}</p> };
    };
    html! {
        <figure class="watch-view">
            { header(trace, round, t, lang) }
            { grid(&p, round, files_of, t, lang) }
            <div class="watch-charts">
                { histogram(round, Watcher::Inotify, t, lang) }
                { histogram(round, Watcher::Poll, t, lang) }
            </div>
            { cost_chart(&p, &all, t, lang) }
            <figcaption>
                <ul class="legend">
                    <li><span class="swatch pending"></span>{lang.ui("ui.watch.pending")}</li>
                    <li><span class="swatch notified"></span>{lang.ui("ui.watch.notified")}</li>
                    <li><span class="swatch polled"></span>{lang.ui("ui.watch.polled")}</li>
                    <li><span class="swatch both"></span>{lang.ui("ui.watch.both")}</li>
                    <li><span class="swatch sweep"></span>{lang.ui("ui.watch.sweep")}</li>
                </ul>
            </figcaption>
        </figure>
    }
}

fn header(trace: &Trace, r: &RoundSummary, t: Nanos, lang: Lang) -> Html {
    let written = r.writes.iter().flatten().filter(|w| **w <= t).count();
    let noticed = |w: Watcher| r.detected[w as usize].iter().flatten().filter(|d| **d <= t).count();
    let backend = match &trace.run.source {
        Source::Measured { host, .. } => lang.fill("ui.watch.measured", &[("fs", &host.scratch_fs)]),
        Source::Simulated => lang.ui("ui.watch.simulated").to_owned(),
    };
    html! {
        <div class="watch-header">
            <p class="watch-round">
                {lang.fill("ui.watch.round", &[
                    ("round", &(r.round + 1)),
                    ("files", &r.files),
                    ("dirs", &r.dirs),
                    ("watches", &(r.dirs + 1)),
                    ("written", &written),
                    ("inotify", &noticed(Watcher::Inotify)),
                    ("poller", &noticed(Watcher::Poll)),
                ])}
            </p>
            <p class="watch-backend">{backend}</p>
            if let Some((needed, limit)) = r.limit {
                <p class="watch-warning" role="status">
                    {lang.fill("ui.watch.limit", &[("needed", &needed), ("limit", &limit)])}
                </p>
            }
            if r.unavailable {
                <p class="watch-warning" role="status">
                    {lang.ui("ui.watch.unavailable")}
                </p>
            }
            if r.overflows > 0 {
                <p class="watch-warning" role="status">{lang.fill("ui.watch.overflowed", &[("n", &r.overflows)])}</p>
            }
        </div>
    }
}

fn grid(p: &WatchParams, r: &RoundSummary, files_of: &[u32], t: Nanos, lang: Lang) -> Html {
    let cells = r.files.min(MAX_CELLS);
    let cols = if cells >= 100 { 25 } else { cells.min(10) };
    let rows = cells.div_ceil(cols);
    let cell_of = |file: u32| (u64::from(file) * u64::from(cells) / u64::from(r.files.max(1))) as u32;
    // The latest change of each cell up to now decides its colour.
    let mut state = vec![""; cells as usize];
    for (change, (written, file)) in r.writes.iter().zip(files_of).enumerate() {
        let Some(written) = written.filter(|w| *w <= t) else { continue };
        let seen = |w: Watcher| r.detected[w as usize].get(change).copied().flatten().is_some_and(|d| d <= t);
        let class = match (seen(Watcher::Inotify), seen(Watcher::Poll)) {
            (false, false) => "cell pending",
            (true, false) => "cell notified",
            (false, true) => "cell polled",
            // Settled changes fade back after a while, so new ones stand out.
            (true, true) if t.saturating_sub(written) > p.interval + p.interval => "cell",
            (true, true) => "cell both",
        };
        if let Some(slot) = state.get_mut(cell_of(*file) as usize) {
            *slot = class;
        }
    }
    // The poller's pass in progress, if any: how far through the files it is.
    let sweep = r.scans.iter().find_map(|&(end, ns)| {
        let start = end.saturating_sub(Nanos(ns));
        (start <= t && t <= end && ns > 0).then(|| (t.0 - start.0) as f64 / ns as f64)
    });
    let swept = sweep.map_or(0, |f| (f * f64::from(cells)) as u32);
    let size = ((W - 20.0) / f64::from(cols)).min(26.0);
    let height = f64::from(rows) * size + 34.0;
    let per_cell = r.files.div_ceil(cells);
    html! {
        <svg class="watch-grid" viewBox={format!("0 0 {W} {height:.1}")} role="img"
            aria-label={lang.fill("ui.watch.grid_label", &[("files", &r.files), ("n", &per_cell)])}>
            <text class="grid-title" x="10" y="14">
                {match sweep {
                    Some(f) => lang.fill("ui.watch.sweeping", &[("percent", &format!("{:.0}", f * 100.0))]),
                    None => lang.fill("ui.watch.sleeping", &[("ms", &(p.interval.0 / 1_000_000))]),
                }}
                {if per_cell > 1 { lang.fill("ui.watch.per_cell", &[("n", &per_cell)]) } else { String::new() }}
            </text>
            { for (0..cells).map(|c| {
                let (x, y) = (10.0 + f64::from(c % cols) * size, 22.0 + f64::from(c / cols) * size);
                let class = if state[c as usize].is_empty() { "cell" } else { state[c as usize] };
                html! {
                    <rect class={classes!(class, (sweep.is_some() && c < swept).then_some("swept"))}
                        x={fmt(x)} y={fmt(y)} width={fmt(size - 2.0)} height={fmt(size - 2.0)} rx="2" />
                }
            }) }
        </svg>
    }
}

/// A watcher's name where space is short.
fn short_name(watcher: Watcher, lang: Lang) -> &'static str {
    match watcher {
        Watcher::Inotify => "inotify",
        Watcher::Poll => lang.ui("ui.watch.poller"),
    }
}

/// The bin of a latency: three per decade from 1 µs.
fn bin(ns: u64) -> usize {
    let decades = (ns.max(1) as f64 / 1_000.0).log10().max(0.0);
    ((decades * 3.0) as usize).min(BINS - 1)
}

fn histogram(r: &RoundSummary, watcher: Watcher, t: Nanos, lang: Lang) -> Html {
    let mut counts = [0u32; BINS];
    let mut lat: Vec<u64> = Vec::new();
    for (d, w) in r.detected[watcher as usize].iter().zip(&r.writes) {
        if let (Some(d), Some(w)) = (d, w)
            && *d <= t
        {
            let ns = d.saturating_sub(*w).0;
            counts[bin(ns)] += 1;
            lat.push(ns);
        }
    }
    lat.sort_unstable();
    let (w, h) = (350.0, 150.0);
    let top = f64::from(counts.iter().copied().max().unwrap_or(0).max(1));
    let bar_w = (w - 20.0) / BINS as f64;
    let pct = |p: f64| shared::stats::percentile(&lat, p).map_or_else(|| "—".to_owned(), |v| Nanos(v).to_string());
    html! {
        <svg class={classes!("watch-hist", watcher.key())} viewBox={format!("0 0 {w} {h}")} role="img"
            aria-label={lang.fill("ui.watch.hist_label", &[("watcher", &watcher.name().say(lang))])}>
            <text class="chart-title" x="10" y="12">{lang.fill("ui.watch.hist_title", &[("watcher", &short_name(watcher, lang)), ("p50", &pct(50.0)), ("p99", &pct(99.0))])}</text>
            { for counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(i, c)| {
                let bh = (h - 50.0) * f64::from(*c) / top;
                html! { <rect class="hbar" x={fmt(10.0 + i as f64 * bar_w)} y={fmt(h - 28.0 - bh)} width={fmt(bar_w - 1.0)} height={fmt(bh)} /> }
            }) }
            <line class="axis" x1="10" x2={fmt(w - 10.0)} y1={fmt(h - 28.0)} y2={fmt(h - 28.0)} />
            { for [("1 µs", 0), ("1 ms", 9), ("1 s", 18)].into_iter().map(|(label, i)| html! {
                <text class="tick" x={fmt(10.0 + i as f64 * bar_w)} y={fmt(h - 14.0)}>{label}</text>
            }) }
        </svg>
    }
}

/// CPU time per second of watching against N, log–log: the model's line per watcher and each finished round's
/// point.
fn cost_chart(p: &WatchParams, all: &[(RoundSummary, Vec<u32>)], t: Nanos, lang: Lang) -> Html {
    let (w, h) = (W, 190.0);
    let x = |n: f64| 60.0 + (w - 80.0) * (n.log10() - 1.0) / 4.0;
    // 1 µs/s to 1 s/s.
    let y = |ns_per_s: f64| 24.0 + (h - 56.0) * (1.0 - ((ns_per_s.max(1e3)).log10() - 3.0) / 6.0);
    let ns: Vec<u32> = (0..=40).map(|i| 10f64.powf(1.0 + f64::from(i) / 10.0).round() as u32).collect();
    let line = |watcher: Watcher| {
        ns.iter()
            .map(|&n| format!("{},{}", fmt(x(f64::from(n))), fmt(y(model_cpu_per_second(p, n, watcher)))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let points = all.iter().flat_map(|(r, _)| {
        Watcher::ALL.into_iter().filter_map(move |watcher| {
            let done = r.writes.iter().flatten().last().is_some_and(|w| *w <= t);
            let cpu = r.cpu_per_second(watcher).filter(|_| done)?;
            Some(html! {
                <circle class={classes!("point", watcher.key())} cx={fmt(x(f64::from(r.files)))} cy={fmt(y(cpu))} r="5">
                    <title>{lang.fill("ui.watch.point", &[("watcher", &watcher.name().say(lang)), ("n", &r.files), ("cpu", &Nanos(cpu as u64))])}</title>
                </circle>
            })
        })
    });
    html! {
        <svg class="watch-cost" viewBox={format!("0 0 {w} {h}")} role="img" aria-label={lang.ui("ui.watch.cost_label")}>
            <text class="chart-title" x="60" y="14">{lang.ui("ui.watch.cost_title")}</text>
            <line class="axis" x1="60" x2={fmt(w - 20.0)} y1={fmt(h - 32.0)} y2={fmt(h - 32.0)} />
            { for [(1e3, "1 µs"), (1e6, "1 ms"), (1e9, "1 s")].into_iter().map(|(v, label)| html! {
                <text class="ytick" x="54" y={fmt(y(v) + 4.0)}>{label}</text>
            }) }
            { for [10.0, 100.0, 1e3, 1e4, 1e5].into_iter().map(|n| html! {
                <text class="tick" x={fmt(x(n))} y={fmt(h - 16.0)}>{format!("{}", n as u32)}</text>
            }) }
            <polyline class="model inotify" points={line(Watcher::Inotify)} />
            <polyline class="model poll" points={line(Watcher::Poll)} />
            { for Watcher::ALL.into_iter().map(|watcher| html! {
                <text class={classes!("series", watcher.key())} x={fmt(w - 24.0)} y={fmt(y(model_cpu_per_second(p, 100_000, watcher)) - 6.0)}>{short_name(watcher, lang)}</text>
            }) }
            { for points }
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_fall_in_decade_thirds() {
        assert_eq!(bin(500), 0);
        assert_eq!(bin(1_000), 0);
        assert_eq!(bin(1_000_000), 9);
        assert_eq!(bin(u64::MAX), BINS - 1);
    }
}
