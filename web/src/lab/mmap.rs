//! The mmap lab's drawing: the file as a strip of pages (not in cache, in cache, touched) for the method under
//! the playhead with its running counts of calls and faults; throughput bars for every method against the memory
//! ceiling; and the model's curves of read throughput against buffer size and of random mapping against the share
//! touched, with the run's points on them.

use crate::lab::{MomentProps, fmt};
use shared::i18n::Lang;
use shared::lab::mmap::{Method, MmapEvent, MmapParams, READ_BUFFERS_KIB, model_gbps, totals};
use shared::{EventKind, Trace};
use yew::prelude::*;

const W: f64 = 720.0;
const CELLS: u32 = 128;

view_entry!(MmapLabView, Mmap, MmapView);

#[function_component(MmapView)]
pub fn mmap_view(props: &MomentProps) -> Html {
    let lang = use_context::<Lang>().unwrap_or_default();
    let trace = &props.trace;
    // A measured run read pages of its host's size; the strip counts those, as the run did.
    let host_page = trace.run.source.host().map_or(0, |h| h.page_size);
    let p = match MmapParams::parse(&trace.run.params) {
        Ok(p) => p.with_page(host_page),
        Err(err) => return super::unreadable(&err, lang),
    };
    let shown = Trace { events: trace.events[..trace.count_until(props.t)].to_vec(), ..(**trace).clone() };
    let current = shown.events.iter().rev().find_map(|e| match e.kind {
        EventKind::Mmap(MmapEvent::Chunk { method, index, .. }) => Some((method, index)),
        _ => None,
    });
    let sums = totals(&shown);
    let synced = current.is_some_and(|(method, _)| super::mmap_write::synced(&shown, method));
    html! {
        <figure class="mmap-view">
            { strip(&p, current, &sums, synced, lang) }
            { bars(&p, &sums, lang) }
            if p.write {
                { super::mmap_write::panel(&p, &shown, lang) }
            } else {
                <div class="mmap-charts">
                    { read_chart(&p, &sums, lang) }
                    { fraction_chart(&p, &sums, lang) }
                </div>
            }
            <figcaption>
                <ul class="legend">
                    <li><span class="swatch uncached"></span>{lang.ui("ui.mmap.uncached")}</li>
                    <li><span class="swatch cached"></span>{lang.ui("ui.mmap.cached")}</li>
                    if p.write {
                        <li><span class="swatch dirty"></span>{lang.ui("ui.mmap.dirty")}</li>
                        <li><span class="swatch copied"></span>{lang.ui("ui.mmap.copied")}</li>
                        <li><span class="swatch synced"></span>{lang.ui("ui.mmap.synced")}</li>
                    } else {
                        <li><span class="swatch touched"></span>{lang.ui("ui.mmap.touched")}</li>
                    }
                </ul>
            </figcaption>
        </figure>
    }
}

/// A stable pseudo-random order of the cells, for drawing which pages a random method touched.
fn scatter(cell: u32) -> f64 {
    let mut x = u64::from(cell).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    x ^= x >> 29;
    (x % 10_000) as f64 / 10_000.0
}

/// The file's cells under the playhead: which the current pass has read or written so far, and for a write
/// pass whether they are dirty, copied (MAP_PRIVATE) or written back by its sync.
fn strip(
    p: &MmapParams,
    current: Option<(Method, u32)>,
    sums: &[(Method, u64, u64, u64, u64, u64)],
    synced: bool,
    lang: Lang,
) -> Html {
    let Some((method, index)) = current else {
        return html! { <p class="empty">{lang.ui("ui.mmap.empty")}</p> };
    };
    let name = method.name().say(lang);
    let progress = f64::from(index + 1) / shared::lab::mmap::CHUNKS as f64;
    let cell_w = (W - 20.0) / f64::from(CELLS);
    let row = sums.iter().find(|r| r.0 == method).copied().unwrap_or((method, 0, 0, 0, 0, 0));
    let cells = (0..CELLS).map(|c| {
        let at = f64::from(c) / f64::from(CELLS);
        let window = p.window_map();
        let (from, to) = (window.asked as f64 / p.size as f64, (window.asked + window.len) as f64 / p.size as f64);
        let touched = match (method, method.is_partial(), p.strided) {
            (Method::MmapWindow, ..) => at >= from && at < from + (to - from) * progress,
            (_, false, _) => at < progress,
            // Strided pieces: evenly spaced cells, reached front to back.
            (_, true, true) => at < progress && c.is_multiple_of(((1.0 / p.fraction).round() as u32).clamp(1, CELLS)),
            (_, true, false) => scatter(c) < p.fraction * progress,
        };
        let class = match (touched, method, p.cold) {
            (true, Method::MmapPrivate, _) => "cell copied",
            (true, m, _) if m.is_write() && synced => "cell synced",
            (true, m, _) if m.is_write() => "cell dirty",
            (true, ..) => "cell touched",
            (false, _, true) => "cell uncached",
            (false, _, false) => "cell cached",
        };
        html! { <rect class={class} x={fmt(10.0 + f64::from(c) * cell_w)} y="22" width={fmt((cell_w - 1.0).max(0.5))} height="26" /> }
    });
    html! {
        <svg class="mmap-strip" viewBox={format!("0 0 {W} 126")} role="img"
            aria-label={lang.fill("ui.mmap.chunk", &[("method", &name), ("n", &(index + 1)), ("of", &shared::lab::mmap::CHUNKS)])}>
            <text class="strip-title" x="10" y="14">{lang.fill("ui.mmap.strip_title", &[("method", &name), ("mib", &(p.size >> 20)), ("pages", &p.pages())])}</text>
            { for cells }
            <text class="strip-counts" x="10" y="66">
                {lang.fill(if method.is_write() { "ui.mmap.write_counts" } else { "ui.mmap.counts" }, &[("mib", &format!("{:.1}", row.1 as f64 / 1_048_576.0)), ("calls", &row.3), ("minor", &row.4), ("major", &row.5)])}
            </text>
            { mechanism(method, index, lang) }
        </svg>
    }
}

/// How one step of the method works: a read(2) copies a buffer's worth out of the page cache; a first touch of
/// a mapped page faults and the kernel maps it (and its neighbours); the ceiling reads memory alone. The arrow
/// alternates with the chunks, so playing shows the steps repeat.
fn mechanism(method: Method, index: u32, lang: Lang) -> Html {
    let buffer = |kib: u32| lang.fill("ui.mmap.buffer", &[("n", &kib)]);
    let page_cache = || lang.ui("ui.mmap.page_cache").to_owned();
    let private = || lang.ui("ui.mmap.private_copy").to_owned();
    let (from, arrow, to, caption) = match method {
        Method::Read { buffer_kib } => {
            ("ui.mmap.page_cache", "ui.mmap.read_copy", buffer(buffer_kib), "ui.mmap.read_caption")
        }
        Method::PreadPieces => ("ui.mmap.page_cache", "ui.mmap.pread_copy", buffer(4), "ui.mmap.pread_caption"),
        Method::MmapSequential | Method::MmapPieces => {
            ("ui.mmap.page_cache", "ui.mmap.fault", lang.ui("ui.mmap.page_table").to_owned(), "ui.mmap.fault_caption")
        }
        Method::Memcpy => ("ui.mmap.memory", "ui.mmap.memcpy", buffer(64), "ui.mmap.memcpy_caption"),
        Method::Pwrite => ("ui.mmap.buffer_64", "ui.mmap.pwrite_copy", page_cache(), "ui.mmap.pwrite_caption"),
        Method::MmapShared => ("ui.mmap.mapping", "ui.mmap.write_fault", page_cache(), "ui.mmap.shared_caption"),
        Method::MmapPrivate => ("ui.mmap.mapping", "ui.mmap.cow_fault", private(), "ui.mmap.private_caption"),
        Method::MmapWindow => ("ui.mmap.window", "ui.mmap.write_fault", page_cache(), "ui.mmap.window_caption"),
        Method::MmapProtect => ("ui.mmap.read_only", "ui.mmap.mprotect", page_cache(), "ui.mmap.protect_caption"),
    };
    let (from, arrow, caption) = (lang.ui(from), lang.ui(arrow), lang.ui(caption));
    let pulse = if index.is_multiple_of(2) { "arrow" } else { "arrow pulse" };
    html! {
        <g class="mechanism">
            <rect class="box" x="10" y="78" width="120" height="26" rx="4" />
            <text class="box-label" x="70" y="95">{from}</text>
            <line class={pulse} x1="134" y1="91" x2="300" y2="91" />
            <text class="arrow-label" x="217" y="86">{arrow}</text>
            <rect class="box" x="304" y="78" width="140" height="26" rx="4" />
            <text class="box-label" x="374" y="95">{to}</text>
            <text class="strip-counts" x="10" y="120">{caption}</text>
        </g>
    }
}

fn bars(p: &MmapParams, sums: &[(Method, u64, u64, u64, u64, u64)], lang: Lang) -> Html {
    let gbps = |r: &(Method, u64, u64, u64, u64, u64)| r.1 as f64 / r.2.max(1) as f64;
    let ceiling = sums.iter().find(|r| r.0 == Method::Memcpy).map(gbps);
    let top = sums.iter().map(gbps).fold(1.0, f64::max) * 1.15;
    let row_h = 20.0;
    let methods = p.methods();
    let height = row_h * methods.len() as f64 + 8.0;
    // The write passes' names are longer: their labels take more of the width.
    let left = if p.write { 290.0 } else { 190.0 };
    let x = |v: f64| left + (W - left - 80.0) * v / top;
    html! {
        <svg class="mmap-bars" viewBox={format!("0 0 {W} {height:.1}")} role="img" aria-label={lang.ui("ui.mmap.bars_label")}>
            { for methods.into_iter().enumerate().map(|(i, m)| {
                let y = 4.0 + i as f64 * row_h;
                let row = sums.iter().find(|r| r.0 == m);
                html! {
                    <g class="bar-row" data-method={m.key()}>
                        <text class="bar-label" x={fmt(left - 6.0)} y={fmt(y + 13.0)}>{m.name().say(lang)}</text>
                        if let Some(r) = row {
                            <rect class={classes!("bar", (m == Method::Memcpy).then_some("ceiling-bar"))} x={fmt(left)} y={fmt(y + 2.0)} width={fmt(x(gbps(r)) - left)} height="14" />
                            <text class="bar-value" x={fmt(x(gbps(r)) + 5.0)} y={fmt(y + 13.0)}>
                                {format!("{:.2} GB/s{}", gbps(r), ceiling.filter(|_| m != Method::Memcpy).map(|c| format!(" ({:.0} %)", 100.0 * gbps(r) / c)).unwrap_or_default())}
                            </text>
                        }
                    </g>
                }
            }) }
            if let Some(c) = ceiling {
                <line class="ceiling" x1={fmt(x(c))} x2={fmt(x(c))} y1="0" y2={fmt(height)} />
            }
        </svg>
    }
}

/// A small chart: the model's curve through `xs`, the run's points, log-scaled x labels given by the caller.
fn chart(
    title: &str,
    curve: &[(f64, f64)],
    points: &[(f64, f64)],
    x_labels: &[(f64, String)],
    x_of: &dyn Fn(f64) -> f64,
) -> Html {
    let (w, h) = (350.0, 170.0);
    let top = curve.iter().chain(points).map(|(_, v)| *v).fold(1.0, f64::max) * 1.15;
    let x = |v: f64| 34.0 + (w - 44.0) * x_of(v);
    let y = |v: f64| 20.0 + (h - 46.0) * (1.0 - v / top);
    let line = curve.iter().map(|(a, b)| format!("{},{}", fmt(x(*a)), fmt(y(*b)))).collect::<Vec<_>>().join(" ");
    html! {
        <svg class="mmap-chart" viewBox={format!("0 0 {w} {h}")} role="img" aria-label={title.to_owned()}>
            <text class="chart-title" x="34" y="12">{title.to_owned()}</text>
            <line class="axis" x1="34" x2={fmt(w - 10.0)} y1={fmt(y(0.0))} y2={fmt(y(0.0))} />
            <text class="ytick" x="30" y={fmt(y(top / 1.15) + 4.0)}>{format!("{:.0}", top / 1.15)}</text>
            <text class="ytick" x="30" y={fmt(y(0.0) + 4.0)}>{"0"}</text>
            <polyline class="model" points={line} />
            { for points.iter().map(|(a, b)| html! { <rect class="point" x={fmt(x(*a) - 4.0)} y={fmt(y(*b) - 4.0)} width="8" height="8" /> }) }
            { for x_labels.iter().map(|(v, label)| html! { <text class="tick" x={fmt(x(*v))} y={fmt(h - 10.0)}>{label.clone()}</text> }) }
        </svg>
    }
}

fn read_chart(p: &MmapParams, sums: &[(Method, u64, u64, u64, u64, u64)], lang: Lang) -> Html {
    let log = |kib: f64| (kib.log2() - 2.0) / 10.0;
    let curve: Vec<(f64, f64)> = (0..=40)
        .map(|i| {
            let kib = 2f64.powf(2.0 + f64::from(i) * 0.25);
            (kib, model_gbps(p, Method::Read { buffer_kib: kib.round() as u32 }))
        })
        .collect();
    let points: Vec<(f64, f64)> = sums
        .iter()
        .filter_map(|r| match r.0 {
            Method::Read { buffer_kib } => Some((f64::from(buffer_kib), r.1 as f64 / r.2.max(1) as f64)),
            _ => None,
        })
        .collect();
    let labels: Vec<(f64, String)> = READ_BUFFERS_KIB
        .iter()
        .map(|k| (f64::from(*k), if *k >= 1_024 { format!("{}M", k / 1_024) } else { format!("{k}K") }))
        .collect();
    chart(lang.ui("ui.mmap.read_chart"), &curve, &points, &labels, &log)
}

fn fraction_chart(p: &MmapParams, sums: &[(Method, u64, u64, u64, u64, u64)], lang: Lang) -> Html {
    let curve: Vec<(f64, f64)> = (1..=100)
        .map(|pct| {
            (f64::from(pct), model_gbps(&MmapParams { fraction: f64::from(pct) / 100.0, ..*p }, Method::MmapPieces))
        })
        .collect();
    let points: Vec<(f64, f64)> = sums
        .iter()
        .filter(|r| r.0 == Method::MmapPieces)
        .map(|r| (p.fraction * 100.0, r.1 as f64 / r.2.max(1) as f64))
        .collect();
    let labels = vec![(1.0, "1 %".to_owned()), (50.0, "50 %".to_owned()), (100.0, "100 %".to_owned())];
    chart(lang.ui("ui.mmap.fraction_chart"), &curve, &points, &labels, &|v| (v - 1.0) / 99.0)
}
