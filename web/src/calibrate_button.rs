//! "Calibrate to this machine": asks the companion to measure this host's primitives, which it does as a run
//! queued behind any experiment (so nothing else runs beside the measurement) and cancellable like one. What
//! it stores reaches every open page as a `calibration` message, and each model parameter nobody chose takes
//! its value there (`LabPage`); this control only asks and says how the request stands.

use crate::companion::CompanionCtx;
use shared::live::LiveStatus;
use shared::protocol::ClientMsg;
use yew::prelude::*;

#[function_component(CalibrateButton)]
pub fn calibrate_button() -> Html {
    let request = use_state(|| None::<u32>);
    let Some(ctx) = use_context::<CompanionCtx>() else { return Html::default() };
    let lang = use_context::<shared::i18n::Lang>().unwrap_or_default();
    let connected = ctx.state.is_connected();
    let run = request.and_then(|r| ctx.state.run_of(r));
    let refused = request.and_then(|r| ctx.state.errors.get(&r));
    // Asked and not yet answered counts as waiting: the button must not send a second request meanwhile.
    let waiting = request.is_some() && refused.is_none() && run.is_none_or(|r| !r.over);
    let say = match (refused, run.map(|r| &r.status)) {
        (Some(error), _) => Some(lang.fill("ui.calibrate.failed", &[("error", &error.say(lang))])),
        (None, Some(LiveStatus::Queued { position })) if *position > 0 => {
            Some(lang.fill("ui.calibrate.queued", &[("position", position)]))
        }
        (None, Some(LiveStatus::Finished)) => Some(lang.ui("ui.calibrate.done").to_owned()),
        (None, Some(LiveStatus::Cancelled)) => Some(lang.ui("ui.calibrate.cancelled").to_owned()),
        (None, Some(LiveStatus::Failed(why))) => Some(lang.fill("ui.calibrate.failed", &[("error", &why.say(lang))])),
        _ if waiting => Some(lang.ui("ui.calibrate.measuring").to_owned()),
        _ => None,
    };
    let calibrate = {
        let (ctx, request) = (ctx.clone(), request.clone());
        Callback::from(move |_: MouseEvent| {
            let asked = ctx.conn.next_request();
            if ctx.conn.send(&ClientMsg::Calibrate { request: asked }) {
                request.set(Some(asked));
            }
        })
    };
    let cancel = {
        let (ctx, run) = (ctx.clone(), run.map(|r| r.run));
        Callback::from(move |_: MouseEvent| {
            if let Some(run) = run {
                ctx.conn.send(&ClientMsg::Cancel { run });
            }
        })
    };
    let state = if waiting { "measuring" } else { "idle" };
    html! {
        <div class="calibrate" data-state={state}>
            <button class="secondary calibrate-button" disabled={!connected || waiting} onclick={calibrate}
                title={lang.ui(if connected { "ui.calibrate.title" } else { "ui.lab.start_companion_first" })}>
                {lang.ui("ui.calibrate.button")}
            </button>
            if waiting && run.is_some() {
                <button class="secondary cancel-calibration" onclick={cancel}>{lang.ui("ui.lab.cancel")}</button>
            }
            if let Some(say) = say { <p class="calibrate-status" role="status">{say}</p> }
        </div>
    }
}
