//! The few browser facts the page needs, each behind a function that degrades quietly where the browser says no
//! (no window in a worker, storage disabled, no matchMedia).

use wasm_bindgen::JsCast;

pub fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

/// Milliseconds from `performance.now()`, for measuring frame intervals.
pub fn now_ms() -> f64 {
    window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}

/// Counts one frame the page drew on its own (a tick of the player's clock) in `window.syslabFrames`, so a test
/// can see whether the page kept quiet while the companion measured.
pub fn count_frame() {
    let Some(window) = window() else { return };
    let key = wasm_bindgen::JsValue::from_str("syslabFrames");
    let frames = js_sys::Reflect::get(&window, &key).ok().and_then(|v| v.as_f64()).unwrap_or(0.0);
    let _ = js_sys::Reflect::set(&window, &key, &wasm_bindgen::JsValue::from_f64(frames + 1.0));
}

/// Whether the person asked the system for less motion.
pub fn prefers_reduced_motion() -> bool {
    window().and_then(|w| w.match_media("(prefers-reduced-motion: reduce)").ok().flatten()).is_some_and(|m| m.matches())
}

pub fn local_storage() -> Option<web_sys::Storage> {
    window().and_then(|w| w.local_storage().ok().flatten())
}

/// Whether a keyboard event was typed into a form field (shortcuts must not steal those keys).
pub fn typed_into_field(event: &web_sys::KeyboardEvent) -> bool {
    event
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "SELECT" | "TEXTAREA" | "BUTTON"))
}
