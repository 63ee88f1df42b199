//! The timeline player shared by every lab view: play, pause, step, speed and a scrubbable timeline, with
//! keyboard shortcuts. Its state is a pure reducer (tested natively); the component only renders it and drives
//! the clock. With reduced motion, playback moves in discrete steps from event to event. While the companion
//! measures, the page holds the player: no clock runs and nothing is redrawn, so the page takes no CPU time
//! from the run (each tick of the clock is counted in `window.syslabFrames`, for the end-to-end test).

use crate::dom;
use gloo::events::EventListener;
use gloo::timers::callback::Interval;
use shared::Nanos;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use yew::prelude::*;

/// The speeds offered; 1× plays a whole run in [`BASE_PLAY_MS`].
pub const SPEEDS: [f64; 9] = [0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 100.0];
pub const BASE_PLAY_MS: f64 = 20_000.0;

#[derive(Debug, Clone, PartialEq)]
pub struct PlayerState {
    pub t: Nanos,
    pub end: Nanos,
    pub playing: bool,
    pub speed: f64,
    /// The moments something happens, ascending: where steps stop.
    pub marks: Rc<Vec<Nanos>>,
    /// Reduced motion: play jumps from mark to mark instead of moving smoothly.
    pub discrete: bool,
    /// Held while the companion measures: paused, and play does nothing until released.
    pub held: bool,
}

impl Default for PlayerState {
    fn default() -> Self {
        PlayerState {
            t: Nanos::ZERO,
            end: Nanos::ZERO,
            playing: false,
            speed: 1.0,
            marks: Rc::default(),
            discrete: false,
            held: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum PlayerAction {
    /// A new run to play, from its start.
    Load {
        end: Nanos,
        marks: Rc<Vec<Nanos>>,
        autoplay: bool,
    },
    Play,
    Pause,
    Toggle,
    StepForward,
    StepBack,
    ToStart,
    ToEnd,
    Seek(Nanos),
    Faster,
    Slower,
    SetSpeed(f64),
    SetDiscrete(bool),
    /// Holds the player (pausing it) or releases it.
    Hold(bool),
    /// The clock moved by this many milliseconds of wall time.
    Tick {
        wall_ms: f64,
    },
}

impl PlayerState {
    fn next_mark(&self) -> Nanos {
        let idx = self.marks.partition_point(|m| *m <= self.t);
        self.marks.get(idx).copied().unwrap_or(self.end)
    }

    fn prev_mark(&self) -> Nanos {
        let idx = self.marks.partition_point(|m| *m < self.t);
        idx.checked_sub(1).and_then(|i| self.marks.get(i).copied()).unwrap_or(Nanos::ZERO)
    }

    fn speed_step(&self, up: bool) -> f64 {
        let idx = SPEEDS.iter().position(|s| *s >= self.speed).unwrap_or(SPEEDS.len() - 1);
        let idx = if up { (idx + 1).min(SPEEDS.len() - 1) } else { idx.saturating_sub(1) };
        SPEEDS[idx]
    }

    /// Where the playhead is, as a fraction of the run.
    pub fn fraction(&self) -> f64 {
        if self.end.0 == 0 { 0.0 } else { self.t.0 as f64 / self.end.0 as f64 }
    }
}

impl Reducible for PlayerState {
    type Action = PlayerAction;

    fn reduce(self: Rc<Self>, action: PlayerAction) -> Rc<Self> {
        let mut s = (*self).clone();
        match action {
            PlayerAction::Load { end, marks, autoplay } => {
                s.end = end;
                s.marks = marks;
                s.t = Nanos::ZERO;
                s.playing = autoplay && !s.held;
            }
            PlayerAction::Play if s.held => return self,
            PlayerAction::Play => {
                if s.t >= s.end {
                    s.t = Nanos::ZERO;
                }
                s.playing = s.end.0 > 0;
            }
            PlayerAction::Pause => s.playing = false,
            PlayerAction::Toggle => {
                return self.reduce(if s.playing { PlayerAction::Pause } else { PlayerAction::Play });
            }
            PlayerAction::StepForward => {
                s.playing = false;
                s.t = s.next_mark();
            }
            PlayerAction::StepBack => {
                s.playing = false;
                s.t = s.prev_mark();
            }
            PlayerAction::ToStart => s.t = Nanos::ZERO,
            PlayerAction::ToEnd => {
                s.t = s.end;
                s.playing = false;
            }
            PlayerAction::Seek(t) => s.t = t.min(s.end),
            PlayerAction::Faster => s.speed = s.speed_step(true),
            PlayerAction::Slower => s.speed = s.speed_step(false),
            PlayerAction::SetSpeed(speed) => s.speed = speed.clamp(SPEEDS[0], SPEEDS[SPEEDS.len() - 1]),
            PlayerAction::SetDiscrete(discrete) => s.discrete = discrete,
            PlayerAction::Hold(held) => {
                s.held = held;
                s.playing &= !held;
            }
            PlayerAction::Tick { wall_ms } => {
                if !s.playing {
                    return self;
                }
                s.t = if s.discrete {
                    s.next_mark()
                } else {
                    let advance = s.end.0 as f64 * wall_ms * s.speed / BASE_PLAY_MS;
                    Nanos((s.t.0 as f64 + advance) as u64).min(s.end)
                };
                if s.t >= s.end {
                    s.playing = false;
                }
            }
        }
        Rc::new(s)
    }
}

/// The player's keyboard shortcuts as the list that `?` opens shows them: the key, and what it does (a key of
/// the language catalogues).
pub const SHORTCUTS: [(&str, &str); 8] = [
    ("Space", "ui.shortcut.space"),
    ("→", "ui.shortcut.right"),
    ("←", "ui.shortcut.left"),
    ("+", "ui.shortcut.faster"),
    ("−", "ui.shortcut.slower"),
    ("Home", "ui.shortcut.home"),
    ("End", "ui.shortcut.end"),
    ("?", "ui.shortcut.help"),
];

/// Whether the shortcuts list is open; a reducer, so the document's key listener can toggle it.
#[derive(Debug, Default, PartialEq)]
struct ShortcutsOpen(bool);

#[derive(Debug, Clone, Copy)]
enum ShortcutsAction {
    Toggle,
    Close,
}

impl Reducible for ShortcutsOpen {
    type Action = ShortcutsAction;

    fn reduce(self: Rc<Self>, action: ShortcutsAction) -> Rc<Self> {
        Rc::new(ShortcutsOpen(matches!(action, ShortcutsAction::Toggle) && !self.0))
    }
}

#[derive(Debug, Properties, PartialEq)]
pub struct PlayerControlsProps {
    pub player: UseReducerHandle<PlayerState>,
}

/// The controls, the clock and the keyboard shortcuts (space, ←/→, +/−, Home/End; `?` lists them).
#[function_component(PlayerControls)]
pub fn player_controls(props: &PlayerControlsProps) -> Html {
    let player = props.player.clone();
    let shortcuts = use_reducer(ShortcutsOpen::default);
    let lang = use_context::<shared::i18n::Lang>().unwrap_or_default();
    let zoom = use_context::<crate::timeline::Zoom>();

    {
        let dispatcher = player.dispatcher();
        use_effect_with((), move |_| {
            dispatcher.dispatch(PlayerAction::SetDiscrete(dom::prefers_reduced_motion()));
        });
    }
    {
        // The clock runs only while playing; a discrete step every 400 ms under reduced motion.
        let dispatcher = player.dispatcher();
        use_effect_with((player.playing, player.discrete), move |(playing, discrete)| {
            let interval = playing.then(|| {
                let mut last = dom::now_ms();
                Interval::new(if *discrete { 400 } else { 33 }, move || {
                    dom::count_frame();
                    let now = dom::now_ms();
                    dispatcher.dispatch(PlayerAction::Tick { wall_ms: (now - last).clamp(0.0, 250.0) });
                    last = now;
                })
            });
            move || drop(interval)
        });
    }
    {
        let (dispatcher, shortcuts) = (player.dispatcher(), shortcuts.dispatcher());
        use_effect_with((), move |_| {
            let listener = dom::window().and_then(|w| w.document()).map(|doc| {
                EventListener::new(&doc, "keydown", move |event| {
                    let Some(event) = event.dyn_ref::<web_sys::KeyboardEvent>() else { return };
                    if dom::typed_into_field(event) || event.ctrl_key() || event.meta_key() || event.alt_key() {
                        return;
                    }
                    let action = match event.key().as_str() {
                        "?" => return shortcuts.dispatch(ShortcutsAction::Toggle),
                        "Escape" => return shortcuts.dispatch(ShortcutsAction::Close),
                        " " => PlayerAction::Toggle,
                        "ArrowRight" => PlayerAction::StepForward,
                        "ArrowLeft" => PlayerAction::StepBack,
                        "+" | "=" => PlayerAction::Faster,
                        "-" | "_" => PlayerAction::Slower,
                        "Home" => PlayerAction::ToStart,
                        "End" => PlayerAction::ToEnd,
                        _ => return,
                    };
                    event.prevent_default();
                    dispatcher.dispatch(action);
                })
            });
            move || drop(listener)
        });
    }

    let send = |action: PlayerAction| {
        let dispatcher = player.dispatcher();
        Callback::from(move |_: MouseEvent| dispatcher.dispatch(action.clone()))
    };
    let on_scrub = {
        let dispatcher = player.dispatcher();
        let end = player.end;
        Callback::from(move |e: InputEvent| {
            let Some(input) = e.target_dyn_into::<web_sys::HtmlInputElement>() else { return };
            let fraction = input.value().parse::<f64>().unwrap_or(0.0) / 10_000.0;
            dispatcher.dispatch(PlayerAction::Seek(Nanos((end.0 as f64 * fraction) as u64)));
        })
    };
    let on_speed = {
        let dispatcher = player.dispatcher();
        Callback::from(move |e: Event| {
            let Some(select) = e.target_dyn_into::<web_sys::HtmlSelectElement>() else { return };
            if let Ok(speed) = select.value().parse::<f64>() {
                dispatcher.dispatch(PlayerAction::SetSpeed(speed));
            }
        })
    };
    let toggle_shortcuts = {
        let shortcuts = shortcuts.dispatcher();
        Callback::from(move |_: MouseEvent| shortcuts.dispatch(ShortcutsAction::Toggle))
    };
    let empty = player.end.0 == 0;
    let play_label = lang.ui(if player.playing { "ui.player.pause" } else { "ui.player.play" });
    let play_icon = if player.playing { icon("M5 3h4v14H5zM11 3h4v14h-4z") } else { icon("M5 3l12 7-12 7z") };

    html! {
        <div class="player" role="group" aria-label={lang.ui("ui.player.timeline")}>
            <div class="player-buttons">
                <button class="icon" onclick={send(PlayerAction::ToStart)} disabled={empty}
                    aria-label={lang.ui("ui.player.to_start")} title={format!("{} (Home)", lang.ui("ui.player.to_start"))}>{icon("M3 3h2v14H3zM17 3v14L7 10z")}</button>
                <button class="icon step-back" onclick={send(PlayerAction::StepBack)} disabled={empty}
                    aria-label={lang.ui("ui.player.step_back")} title={format!("{} (←)", lang.ui("ui.player.step_back"))}>{icon("M15 3v14L5 10zM3 3h2v14H3z")}</button>
                <button class="icon play" onclick={send(PlayerAction::Toggle)} disabled={empty || player.held}
                    data-playing={player.playing.to_string()} aria-label={play_label} title={format!("{play_label} (space)")}>{play_icon}</button>
                <button class="icon step-forward" onclick={send(PlayerAction::StepForward)} disabled={empty}
                    aria-label={lang.ui("ui.player.step_forward")} title={format!("{} (→)", lang.ui("ui.player.step_forward"))}>{icon("M5 3v14l10-7zM15 3h2v14h-2z")}</button>
                <label class="speed" title={format!("{} (+/−)", lang.ui("ui.player.speed"))}>
                    <span>{lang.ui("ui.player.speed")}</span>
                    <select onchange={on_speed} aria-label={lang.ui("ui.player.speed")}>
                        { for SPEEDS.iter().map(|s| html! {
                            <option value={s.to_string()} selected={(*s - player.speed).abs() < 1e-9}>{format!("{s}×")}</option>
                        }) }
                    </select>
                </label>
                <span class="time" aria-live="off">
                    <span class="time-now">{player.t.to_string()}</span>{" / "}{player.end.to_string()}
                </span>
            </div>
            <div class="scrubber">
                { crate::timeline::scrubber_band(zoom.as_ref(), player.t, player.end) }
                <input class="timeline" type="range" min="0" max="10000" step="1" aria-label={lang.ui("ui.player.timeline")}
                    value={((player.fraction() * 10_000.0).round() as u32).to_string()}
                    oninput={on_scrub} disabled={empty} />
            </div>
            <button class="link show-shortcuts" aria-expanded={shortcuts.0.to_string()} aria-controls="shortcuts"
                onclick={toggle_shortcuts.clone()}>{lang.ui("ui.player.shortcuts_button")}</button>
            if shortcuts.0 {
                <div id="shortcuts" class="shortcuts" role="dialog" aria-labelledby="shortcuts-title">
                    <h3 id="shortcuts-title">{lang.ui("ui.player.shortcuts")}</h3>
                    <dl>
                        { for SHORTCUTS.iter().chain(&crate::timeline::ZOOM_SHORTCUTS).map(|(key, what)| html! { <><dt><kbd>{*key}</kbd></dt><dd>{lang.ui(what)}</dd></> }) }
                    </dl>
                    <button class="secondary" onclick={toggle_shortcuts}>{lang.ui("ui.player.close")}</button>
                </div>
            }
        </div>
    }
}

/// A 20×20 icon drawn from one path, so the buttons never depend on the fonts a machine has.
fn icon(path: &'static str) -> Html {
    html! { <svg class="icon-svg" viewBox="0 0 20 20" aria-hidden="true"><path d={path} /></svg> }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded() -> Rc<PlayerState> {
        let marks = Rc::new(vec![Nanos(10), Nanos(20), Nanos(30)]);
        Rc::new(PlayerState::default()).reduce(PlayerAction::Load { end: Nanos(40), marks, autoplay: false })
    }

    #[test]
    fn steps_stop_at_marks_and_pause() {
        let s = loaded().reduce(PlayerAction::Play).reduce(PlayerAction::StepForward);
        assert_eq!((s.t, s.playing), (Nanos(10), false));
        let s = s.reduce(PlayerAction::StepForward).reduce(PlayerAction::StepForward).reduce(PlayerAction::StepForward);
        assert_eq!(s.t, Nanos(40));
        let s = s.reduce(PlayerAction::StepBack);
        assert_eq!(s.t, Nanos(30));
        let s = s.reduce(PlayerAction::Seek(Nanos(15))).reduce(PlayerAction::StepBack);
        assert_eq!(s.t, Nanos(10));
    }

    #[test]
    fn ticks_advance_by_speed_and_stop_at_the_end() {
        let s = loaded().reduce(PlayerAction::Play).reduce(PlayerAction::Tick { wall_ms: BASE_PLAY_MS / 4.0 });
        assert_eq!(s.t, Nanos(10));
        let s = s.reduce(PlayerAction::SetSpeed(2.0)).reduce(PlayerAction::Tick { wall_ms: BASE_PLAY_MS });
        assert_eq!((s.t, s.playing), (Nanos(40), false));
        // Playing at the end starts over.
        assert_eq!(s.reduce(PlayerAction::Play).t, Nanos::ZERO);
    }

    #[test]
    fn reduced_motion_plays_in_discrete_steps() {
        let s = loaded().reduce(PlayerAction::SetDiscrete(true)).reduce(PlayerAction::Play);
        let s = s.reduce(PlayerAction::Tick { wall_ms: 400.0 });
        assert_eq!(s.t, Nanos(10));
    }

    #[test]
    fn a_held_player_pauses_and_neither_plays_nor_ticks_until_released() {
        let s = loaded().reduce(PlayerAction::Play).reduce(PlayerAction::Hold(true));
        assert!(!s.playing);
        let s = s.reduce(PlayerAction::Play).reduce(PlayerAction::Toggle).reduce(PlayerAction::Tick { wall_ms: 1e4 });
        assert_eq!((s.playing, s.t), (false, Nanos::ZERO));
        let marks = s.marks.clone();
        let s = s.reduce(PlayerAction::Load { end: Nanos(40), marks, autoplay: true });
        assert!(!s.playing, "a run loaded while held waits");
        let s = s.reduce(PlayerAction::Hold(false)).reduce(PlayerAction::Play);
        assert!(s.playing);
    }

    #[test]
    fn speed_moves_through_the_offered_steps_within_bounds() {
        let mut s = loaded();
        for _ in 0..20 {
            s = s.reduce(PlayerAction::Faster);
        }
        assert_eq!(s.speed, 100.0);
        for _ in 0..20 {
            s = s.reduce(PlayerAction::Slower);
        }
        assert_eq!(s.speed, 0.1);
    }
}
