//! The page's benchmark route (`/bench`): simulates the shared benchmark case for about a second and shows the
//! events per second, which `cargo xtask bench` reads and compares with the native figure of the same case.

use crate::dom;
use shared::LabId;
use yew::prelude::*;

#[function_component(Bench)]
pub fn bench() -> Html {
    let rate = use_state(|| None::<Result<f64, String>>);
    {
        let rate = rate.clone();
        use_effect_with((), move |_| {
            // Let the page paint first, then measure.
            let timeout = gloo::timers::callback::Timeout::new(200, move || rate.set(Some(measure())));
            move || drop(timeout)
        });
    }
    html! {
        <main class="bench">
            <h1>{"Simulation speed in this browser"}</h1>
            { match &*rate {
                None => html! { <p>{"Measuring…"}</p> },
                Some(Ok(r)) => html! {
                    <p><output id="bench-result" data-events-per-sec={format!("{r:.0}")}>{format!("{:.2} M events/s", r / 1e6)}</output></p>
                },
                Some(Err(e)) => html! { <p class="field-error">{e}</p> },
            } }
        </main>
    }
}

fn measure() -> Result<f64, String> {
    let params = shared::lab::lock::benchmark_params();
    let start = dom::now_ms();
    let (mut runs, mut events) = (0u32, 0usize);
    while dom::now_ms() - start < 1_000.0 || runs < 3 {
        events += shared::lab::simulate(LabId::Lock, &params, u64::from(runs)).map_err(|e| e.to_string())?.events.len();
        runs += 1;
    }
    Ok(events as f64 / ((dom::now_ms() - start) / 1e3))
}
