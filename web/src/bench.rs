//! The page's benchmark route (`/bench`): simulates the shared benchmark cases (the lock lab's and the pipeline
//! lab's) for about a second each and shows the events per second, which `cargo xtask bench` compares with the
//! native figures of the same cases; then redraws the pipeline view with 500 items in flight, moving the
//! playhead a little at each step, and shows the time each redraw took (Yew's diff and the DOM update).

use crate::dom;
use crate::lab::pipeline::PipelineView;
use shared::lab::pipeline::{benchmark_params, frame_case, frame_case_moment};
use shared::{LabId, Nanos, ParamSet, Trace};
use std::rc::Rc;
use yew::prelude::*;

/// How many redraws the frame measurement takes.
const FRAMES: usize = 240;

#[function_component(Bench)]
pub fn bench() -> Html {
    let rates = use_state(|| None::<Result<(f64, f64), String>>);
    {
        let rates = rates.clone();
        use_effect_with((), move |_| {
            // Let the page paint first, then measure.
            let timeout = gloo::timers::callback::Timeout::new(200, move || {
                let lock = measure(LabId::Lock, &shared::lab::lock::benchmark_params());
                let pipeline = measure(LabId::Pipeline, &benchmark_params());
                rates.set(Some(lock.and_then(|l| Ok((l, pipeline?)))));
            });
            move || drop(timeout)
        });
    }
    html! {
        <main class="bench">
            <h1>{"Simulation speed in this browser"}</h1>
            { match &*rates {
                None => html! { <p>{"Measuring…"}</p> },
                Some(Ok((lock, pipeline))) => html! {
                    <>
                        <p><output id="bench-result" data-events-per-sec={format!("{lock:.0}")}>{format!("lock lab: {:.2} M events/s", lock / 1e6)}</output></p>
                        <p><output id="bench-pipeline" data-events-per-sec={format!("{pipeline:.0}")}>{format!("pipeline lab: {:.2} M events/s", pipeline / 1e6)}</output></p>
                        <FrameBench />
                    </>
                },
                Some(Err(e)) => html! { <p class="field-error">{e}</p> },
            } }
        </main>
    }
}

fn measure(lab: LabId, params: &ParamSet) -> Result<f64, String> {
    let start = dom::now_ms();
    let (mut runs, mut events) = (0u32, 0usize);
    while dom::now_ms() - start < 1_000.0 || runs < 3 {
        events += shared::lab::simulate(lab, params, u64::from(runs)).map_err(|e| e.to_string())?.events.len();
        runs += 1;
    }
    Ok(events as f64 / ((dom::now_ms() - start) / 1e3))
}

/// Redraws the pipeline view `FRAMES` times, 50 µs of run time apart, from the moment 500 items are in flight;
/// each redraw is timed from the state change to the effect that runs after the DOM was updated.
#[function_component(FrameBench)]
fn frame_bench() -> Html {
    let trace = use_memo((), |_| {
        let params = LabId::Pipeline.validate(&frame_case()).unwrap_or_default();
        let trace = shared::lab::simulate(LabId::Pipeline, &params, 1).ok();
        trace.map(|t: Trace| {
            let start = frame_case_moment(&t);
            (Rc::new(t), start)
        })
    });
    let step = use_state(|| 0usize);
    let asked_at = use_mut_ref(|| 0.0f64);
    let times = use_mut_ref(Vec::<f64>::new);
    {
        let (step, asked_at, times) = (step.clone(), asked_at.clone(), times.clone());
        use_effect_with(*step, move |&n| {
            if n > 0 {
                let took = dom::now_ms() - *asked_at.borrow();
                times.borrow_mut().push(took);
            }
            let timeout = (n < FRAMES).then(|| {
                gloo::timers::callback::Timeout::new(0, move || {
                    *asked_at.borrow_mut() = dom::now_ms();
                    step.set(n + 1);
                })
            });
            move || drop(timeout)
        });
    }
    let Some((trace, start)) = trace.as_ref().clone() else {
        return html! { <p class="field-error">{"The frame case did not simulate."}</p> };
    };
    let t = start + Nanos(*step as u64 * 50_000);
    let result = (*step >= FRAMES).then(|| {
        let mut sorted = times.borrow().clone();
        sorted.sort_by(f64::total_cmp);
        let pct =
            |p: f64| sorted.get(((sorted.len() as f64 * p).ceil() as usize).saturating_sub(1)).copied().unwrap_or(0.0);
        (pct(0.5), pct(0.99))
    });
    html! {
        <>
            if let Some((p50, p99)) = result {
                <p><output id="bench-frames" data-p50-ms={format!("{p50:.3}")} data-p99-ms={format!("{p99:.3}")}>
                    {format!("pipeline view with 500 items in flight: redraw p50 {p50:.2} ms, p99 {p99:.2} ms (budget 16.7 ms)")}
                </output></p>
            }
            <PipelineView trace={trace} t={t} />
        </>
    }
}

/// The page's wasm memory in bytes (it only grows), read by the in-browser benchmark through
/// `window.wasmBindings` to say what a live run costs the page per event.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn wasm_memory_bytes() -> f64 {
    use wasm_bindgen::JsCast;
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .map(|memory| f64::from(js_sys::ArrayBuffer::from(memory.buffer()).byte_length()))
        .unwrap_or(0.0)
}
