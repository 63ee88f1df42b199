//! The Amdahl lab's drawing: the speed-up curve of the law (and its ceiling 1/(1−p)), the same law on the run's
//! cores, the runs' measured points appearing as the timeline reaches them, and the run under the playhead as
//! thread bars (serial part on one thread, then the parallel part on all of them).

use crate::lab::{MomentProps, fmt};
use shared::i18n::Lang;
use shared::lab::amdahl::{AmdahlEvent, AmdahlParams, cores_of, limit, medians, speedup};
use shared::{EventKind, Nanos, Trace};
use yew::prelude::*;

const W: f64 = 720.0;
const H: f64 = 300.0;
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 28.0;

view_entry!(AmdahlLabView, Amdahl, AmdahlView);

#[function_component(AmdahlView)]
pub fn amdahl_view(props: &MomentProps) -> Html {
    let lang = use_context::<Lang>().unwrap_or_default();
    let trace = &props.trace;
    let p = match AmdahlParams::parse(&trace.run.params) {
        Ok(p) => p,
        Err(err) => return super::unreadable(&err, lang),
    };
    let cores = cores_of(trace);
    let shown = Trace { events: trace.events[..trace.count_until(props.t)].to_vec(), ..(**trace).clone() };
    let points = medians(&shown);
    let one = points.iter().find(|(n, _)| *n == 1).map(|(_, t)| *t as f64);
    let measured: Vec<(u32, f64)> =
        one.map(|one| points.iter().map(|(n, t)| (*n, one / (*t).max(1) as f64)).collect()).unwrap_or_default();

    let max_n = f64::from(p.max_threads.max(2));
    let top = measured.iter().map(|(_, s)| *s).fold(speedup(p.parallel, max_n), f64::max).max(2.0) * 1.1;
    let (plot_w, plot_h) = (W - LEFT - 16.0, H - BOTTOM - 12.0);
    let x = |n: f64| LEFT + plot_w * (n - 1.0) / (max_n - 1.0);
    let y = |s: f64| 12.0 + plot_h * (1.0 - s / top);
    let curve = |f: &dyn Fn(f64) -> f64| {
        (0..=100)
            .map(|i| {
                let n = 1.0 + (max_n - 1.0) * f64::from(i) / 100.0;
                format!("{},{}", fmt(x(n)), fmt(y(f(n))))
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let law = curve(&|n| speedup(p.parallel, n));
    let on_cores = curve(&|n| speedup(p.parallel, n.min(f64::from(cores))));
    let ceiling = limit(p.parallel).filter(|l| *l < top);
    let ticks: Vec<u32> = (1..=p.max_threads).filter(|n| p.max_threads <= 12 || n % 4 == 0 || *n == 1).collect();
    let current = trace.events[..trace.count_until(props.t)].iter().rev().find_map(|e| match e.kind {
        EventKind::Amdahl(AmdahlEvent::Run { threads, serial_ns, parallel_ns }) => {
            Some((threads, serial_ns, parallel_ns))
        }
        _ => None,
    });

    html! {
        <figure class="amdahl-view">
            <svg viewBox={format!("0 0 {W} {H}")} role="img"
                aria-label={lang.fill("ui.amdahl.label", &[("p", &p.parallel), ("n", &measured.len())])}>
                <line class="axis" x1={fmt(LEFT)} y1={fmt(y(0.0))} x2={fmt(W - 16.0)} y2={fmt(y(0.0))} />
                <line class="axis" x1={fmt(LEFT)} y1="12" x2={fmt(LEFT)} y2={fmt(y(0.0))} />
                { for ticks.iter().map(|n| html! {
                    <text class="tick" x={fmt(x(f64::from(*n)))} y={fmt(H - 12.0)}>{n.to_string()}</text>
                }) }
                { for (0..=(top as u32)).filter(|s| top < 12.0 || s % 2 == 0).map(|s| html! {
                    <text class="ytick" x={fmt(LEFT - 8.0)} y={fmt(y(f64::from(s)) + 4.0)}>{format!("{s}×")}</text>
                }) }
                <text class="axis-label" x={fmt(LEFT + plot_w / 2.0)} y={fmt(H - 1.0)}>{lang.ui("ui.amdahl.threads")}</text>
                if let Some(l) = ceiling {
                    <line class="ceiling" x1={fmt(LEFT)} x2={fmt(W - 16.0)} y1={fmt(y(l))} y2={fmt(y(l))} />
                    <text class="ceiling-label" x={fmt(W - 20.0)} y={fmt(y(l) - 5.0)} text-anchor="end">{lang.fill("ui.amdahl.limit", &[("x", &format!("{l:.2}"))])}</text>
                }
                <line class="cores" x1={fmt(x(f64::from(cores)))} x2={fmt(x(f64::from(cores)))} y1="12" y2={fmt(y(0.0))} />
                <text class="cores-label" x={fmt(x(f64::from(cores)) + 4.0)} y="24">{lang.fill("ui.amdahl.cores", &[("n", &cores)])}</text>
                <polyline class="law" points={law} />
                <polyline class="law-on-cores" points={on_cores} />
                { for measured.iter().map(|(n, s)| html! {
                    <g class="point" data-threads={n.to_string()} data-speedup={format!("{s:.3}")}>
                        <rect x={fmt(x(f64::from(*n)) - 5.0)} y={fmt(y(*s) - 5.0)} width="10" height="10" />
                        <title>{lang.fill("ui.amdahl.point", &[("n", n), ("x", &format!("{s:.2}"))])}</title>
                    </g>
                }) }
            </svg>
            { current.map(|run| threads_bars(run, lang)).unwrap_or_default() }
            <figcaption>
                <ul class="legend">
                    <li><span class="swatch law"></span>{lang.ui("ui.amdahl.legend_law")}</li>
                    <li><span class="swatch law-on-cores"></span>{lang.fill("ui.amdahl.legend_on_cores", &[("n", &cores)])}</li>
                    <li><span class="swatch point"></span>{lang.ui("ui.amdahl.legend_points")}</li>
                    <li><span class="swatch ceiling"></span>{lang.ui("ui.amdahl.legend_limit")}</li>
                </ul>
            </figcaption>
        </figure>
    }
}

/// The latest run as bars: the serial part on thread 0, then the parallel part on every thread.
fn threads_bars((threads, serial_ns, parallel_ns): (u32, u64, u64), lang: Lang) -> Html {
    let total = (serial_ns + parallel_ns).max(1) as f64;
    let row = (90.0 / f64::from(threads)).clamp(3.0, 14.0);
    let height = row * f64::from(threads) + 22.0;
    let width = W - LEFT - 16.0;
    let serial_w = width * serial_ns as f64 / total;
    html! {
        <svg class="amdahl-threads" viewBox={format!("0 0 {W} {height:.1}")} role="img"
            aria-label={lang.fill("ui.amdahl.bars_label", &[("n", &threads)])}>
            <text class="bars-label" x={fmt(LEFT)} y="12">
                {lang.fill("ui.amdahl.bars", &[("n", &threads), ("serial", &Nanos(serial_ns)), ("parallel", &Nanos(parallel_ns))])}
            </text>
            { for (0..threads).map(|i| {
                let top = 18.0 + row * f64::from(i);
                html! {
                    <g>
                        if i == 0 {
                            <rect class="serial" x={fmt(LEFT)} y={fmt(top)} width={fmt(serial_w.max(0.5))} height={fmt(row - 1.0)} />
                        }
                        <rect class="parallel" x={fmt(LEFT + serial_w)} y={fmt(top)} width={fmt((width - serial_w).max(0.5))} height={fmt(row - 1.0)} />
                    </g>
                }
            }) }
        </svg>
    }
}
