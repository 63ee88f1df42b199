//! Component tests in a real browser (headless Chromium through wasm-bindgen-test): the simulation is the same
//! as native, the lab page simulates and its player steps, shortcuts work, and bad parameters are shown and
//! block the run buttons.

#![cfg(target_arch = "wasm32")]
// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use shared::LabId;
use std::time::Duration;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web::lab_page::{LabPage, LabPageProps};
use web_sys::{Element, HtmlElement, HtmlInputElement};

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

async fn settle() {
    yew::platform::time::sleep(Duration::from_millis(80)).await;
}

/// Waits (up to 10 s, a debug build in a busy browser can be slow) until `selector` matches in `root`.
async fn wait_for(root: &Element, selector: &str) {
    for _ in 0..200 {
        if root.query_selector(selector).ok().flatten().is_some() {
            return;
        }
        yew::platform::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{selector} never appeared");
}

/// A mounted page: its element, and the app, which `remove` stops (a page left running would go on animating
/// beside the next tests and slow them down).
struct Mounted {
    root: Element,
    app: yew::AppHandle<LabPage>,
}

impl std::ops::Deref for Mounted {
    type Target = Element;

    fn deref(&self) -> &Element {
        &self.root
    }
}

impl Mounted {
    fn remove(self) {
        self.app.destroy();
        self.root.remove();
    }
}

/// Mounts a lab's page in a fresh element and waits until `ready` shows.
async fn mount_lab(lab: LabId, ready: &str) -> Mounted {
    mount_lab_asking(lab, "", ready).await
}

/// The same, with parameters in the address (`?key=value&…`), as a shared link gives them.
async fn mount_lab_asking(lab: LabId, query: &str, ready: &str) -> Mounted {
    // A fresh address: the page reads its parameters from it, and the previous test's page wrote its own there.
    let url = format!("/lab/{lab}{query}");
    web_sys::window()
        .unwrap()
        .history()
        .unwrap()
        .replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url))
        .unwrap();
    let root = document().create_element("div").unwrap();
    document().body().unwrap().append_child(&root).unwrap();
    let app = yew::Renderer::<LabPage>::with_root_and_props(root.clone(), LabPageProps { lab }).render();
    wait_for(&root, ready).await;
    Mounted { root, app }
}

/// Mounts the lock lab page and waits for its first simulated run.
async fn mount_lock_lab() -> Mounted {
    let root = mount_lab(LabId::Lock, ".lock-view svg").await;
    wait_for(&root, "tr[data-metric=acquisitions] td.sim").await;
    root
}

/// Mounts a lab's page, pauses its autoplay and jumps to the end of the run.
async fn mount_at_end(lab: LabId, ready: &str) -> Mounted {
    let root = mount_lab(lab, ready).await;
    find(&root, "button.play").click();
    settle().await;
    press("End");
    settle().await;
    root
}

fn find(root: &Element, selector: &str) -> HtmlElement {
    root.query_selector(selector).unwrap().unwrap_or_else(|| panic!("no {selector}")).dyn_into().unwrap()
}

fn text(root: &Element, selector: &str) -> String {
    find(root, selector).text_content().unwrap_or_default()
}

fn press(key: &str) {
    let init = web_sys::KeyboardEventInit::new();
    init.set_key(key);
    init.set_bubbles(true);
    let event = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    document().dispatch_event(&event).unwrap();
}

#[wasm_bindgen_test]
fn every_simulation_in_wasm_matches_its_native_golden_digest() {
    let golden = shared::golden::parse(include_str!("../../shared/tests/golden/simulations.json")).unwrap();
    let moved = shared::golden::differences(&golden, &shared::golden::digests());
    assert!(moved.is_empty(), "wasm32 simulates differently from the golden (native) digests:\n{}", moved.join("\n"));
}

#[wasm_bindgen_test]
async fn the_lab_page_simulates_on_open_and_the_player_steps() {
    let root = mount_lock_lab().await;
    assert!(root.query_selector(".lock-view svg").unwrap().is_some(), "no drawing");
    let held_spans = root.query_selector_all(".lock-lanes path.span.holding").unwrap().length();
    assert!(held_spans > 0, "the lane chart shows no holding span");
    let acquisitions = text(&root, "tr[data-metric=acquisitions] td.sim");
    assert!(acquisitions.parse::<u32>().unwrap() > 0, "acquisitions: {acquisitions}");
    assert_eq!(text(&root, "tr[data-metric=acquisitions] td.real"), "—");

    // It plays on open: pause it, then step.
    find(&root, "button.play").click();
    settle().await;
    assert_eq!(find(&root, "button.play").get_attribute("aria-label").as_deref(), Some("Play"));
    let before = text(&root, ".time-now");
    find(&root, "button.step-forward").click();
    settle().await;
    let after = text(&root, ".time-now");
    assert_ne!(before, after, "step forward did not move the playhead");
    find(&root, "button.step-back").click();
    settle().await;
    assert_ne!(text(&root, ".time-now"), after, "step back did not move the playhead");
    root.remove();
}

#[wasm_bindgen_test]
async fn keyboard_shortcuts_drive_the_player() {
    let root = mount_lock_lab().await;
    find(&root, "button.play").click(); // pause the autoplay
    settle().await;
    press("End");
    settle().await;
    let end = text(&root, ".player .time");
    assert!(end.starts_with(&text(&root, ".time-now")), "End did not reach the end: {end}");
    press("Home");
    settle().await;
    assert_eq!(text(&root, ".time-now"), "0 ns");
    press(" ");
    settle().await;
    assert_eq!(find(&root, "button.play").get_attribute("aria-label").as_deref(), Some("Pause"));
    root.remove();
}

#[wasm_bindgen_test]
async fn an_out_of_range_parameter_is_shown_beside_its_field_and_blocks_the_run() {
    let root = mount_lock_lab().await;
    let input: HtmlInputElement = find(&root, "#param-procs").dyn_into().unwrap();
    input.set_value("99");
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    input.dispatch_event(&web_sys::Event::new_with_event_init_dict("input", &init).unwrap()).unwrap();
    settle().await;
    let error = text(&root, "#param-procs-error");
    assert!(error.contains("between 1 and 64"), "error shown: {error:?}");
    assert!(find(&root, "button.simulate").has_attribute("disabled"));
    assert!(find(&root, "button.run-live").has_attribute("disabled"));
    root.remove();
}

#[wasm_bindgen_test]
async fn without_a_companion_the_page_says_how_to_start_one() {
    let window = web_sys::window().unwrap();
    window.history().unwrap().push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some("/lab/lock")).unwrap();
    let root = document().create_element("div").unwrap();
    document().body().unwrap().append_child(&root).unwrap();
    yew::Renderer::<web::app::App>::with_root(root.clone()).render();
    wait_for(&root, ".connection h2").await;
    assert!(text(&root, ".connection h2").contains("not set up"));
    assert!(text(&root, ".connection .hint").contains(web::companion::START_COMMAND));
    assert_eq!(text(&root, ".status-pill"), "simulation only");
    // The run button waits for the companion; simulating works.
    assert!(find(&root, "button.run-live").has_attribute("disabled"));
    assert!(!find(&root, "button.simulate").has_attribute("disabled"));
    root.remove();
}

#[wasm_bindgen_test]
async fn the_amdahl_page_plots_a_point_per_thread_count() {
    let root = mount_lab(LabId::Amdahl, ".amdahl-view svg").await;
    find(&root, "button.play").click(); // pause the autoplay
    settle().await;
    find(&root, "button[aria-label='To start']").click();
    settle().await;
    assert_eq!(root.query_selector_all(".amdahl-view g.point").unwrap().length(), 0, "points before any run");
    press("End");
    settle().await;
    assert_eq!(root.query_selector_all(".amdahl-view g.point").unwrap().length(), 8, "one point per thread count");
    assert!(text(&root, "tr[data-metric=fitted_parallel] td.sim").starts_with("0.9"));
    root.remove();
}

#[wasm_bindgen_test]
async fn the_methods_page_draws_the_four_ways_and_the_modelled_costs() {
    let root = mount_at_end(LabId::Methods, ".methods-lanes").await;
    assert_eq!(root.query_selector_all(".methods-lanes g.way").unwrap().length(), 4, "four ways");
    assert!(root.query_selector_all(".methods-lanes path.span.compute").unwrap().length() > 0);
    assert!(text(&root, "tr[data-metric=makespan_event_loop] td.sim").ends_with("ms"));
    assert!(root.query_selector(".methods-costs g.cost[data-cost=process_start] rect.bar").unwrap().is_some());
    root.remove();
}

#[wasm_bindgen_test]
async fn the_mmap_page_draws_the_page_strip_and_a_bar_per_method() {
    let root = mount_at_end(LabId::Mmap, ".mmap-view").await;
    assert_eq!(root.query_selector_all(".mmap-strip rect.cell").unwrap().length(), 128);
    assert_eq!(root.query_selector_all(".mmap-bars rect.bar").unwrap().length(), 10, "one bar per method");
    assert_eq!(text(&root, "tr[data-metric=mmap_seq_syscalls] td.sim"), "2");
    root.remove();
}

#[wasm_bindgen_test]
async fn a_measured_mmap_run_counts_pages_of_its_hosts_size() {
    let root = mount_at_end(LabId::Mmap, ".mmap-view").await;
    // The title is SVG text, not an HTML element.
    let title = |root: &Element| {
        root.query_selector(".strip-title").unwrap().and_then(|t| t.text_content()).unwrap_or_default()
    };
    let size = shared::lab::mmap::MmapParams::parse(&shared::LabId::Mmap.validate(&shared::ParamSet::new()).unwrap())
        .unwrap()
        .size;
    let simulated = format!("{} pages", size / 4096);
    assert!(title(&root).ends_with(&simulated), "{}", title(&root));
    // A run measured on a host of 16 KiB pages read a quarter as many.
    drop_exported_run_from(&root, LabId::Mmap, 1, 16_384);
    wait_for(&root, ".provenance dd[data-key=page_size]").await;
    find(&root, "button.play").click();
    settle().await;
    press("End");
    settle().await;
    let measured = format!("{} pages", size / 16_384);
    assert!(title(&root).ends_with(&measured), "{}", title(&root));
    root.remove();
}

#[wasm_bindgen_test]
async fn the_watch_page_draws_the_file_grid_both_histograms_and_the_cost_points() {
    let root = mount_at_end(LabId::Watch, ".watch-view").await;
    assert_eq!(root.query_selector_all(".watch-grid rect").unwrap().length(), 400, "1 000 files drawn as 400 cells");
    let title = root.query_selector(".watch-grid .grid-title").unwrap().and_then(|t| t.text_content()).unwrap();
    assert!(title.contains("each cell is 3 files"), "{title}");
    for watcher in ["inotify", "poll"] {
        let bars = root.query_selector_all(&format!(".watch-hist.{watcher} rect.hbar")).unwrap().length();
        assert!(bars > 0, "{watcher}: no latency bars");
    }
    assert_eq!(root.query_selector_all(".watch-cost circle.point").unwrap().length(), 2, "one point per watcher");
    assert_eq!(text(&root, "tr[data-metric=poll_missed] td.sim"), "0");
    assert!(text(&root, ".watch-round").contains("inotify noticed 100"));
    root.remove();
}

#[wasm_bindgen_test]
async fn the_io_page_places_the_servers_on_the_grid_and_draws_their_lanes() {
    let root = mount_at_end(LabId::Io, ".io-view").await;
    assert_eq!(root.query_selector_all(".io-quadrants a.quadrant-link").unwrap().length(), 5);
    assert_eq!(root.query_selector_all("svg.io-lanes").unwrap().length(), 5, "a lane group per server");
    // 16 sources: the thread-per-source server draws 8 lanes and counts the rest.
    assert_eq!(root.query_selector_all("svg.io-lanes.threads g.lane").unwrap().length(), 8);
    assert!(root.query_selector_all("svg.io-lanes.polling path.span.polling").unwrap().length() > 0);
    assert_eq!(text(&root, "tr[data-metric=epoll_threads] td.sim"), "1");
    assert_eq!(text(&root, "tr[data-metric=uring_served] td.sim"), "200");
    root.remove();
}

#[wasm_bindgen_test]
async fn the_pipeline_page_draws_stages_channels_and_the_queue_chart() {
    let root = mount_at_end(LabId::Pipeline, ".pipeline-view").await;
    assert_eq!(root.query_selector_all(".pipeline-stages g.stage").unwrap().length(), 2, "producers and consumers");
    assert_eq!(root.query_selector_all(".pipeline-stages g.pipe rect.slot").unwrap().length(), 4, "K = 4 slots");
    assert_eq!(root.query_selector_all(".pipeline-queues polyline.queue-line").unwrap().length(), 1);
    assert_eq!(text(&root, "tr[data-metric=delivered] td.sim"), "200");
    root.remove();
}

#[wasm_bindgen_test]
async fn across_processes_the_pipeline_page_says_what_the_kill_lost_and_what_the_queue_kept() {
    let root = mount_lab_asking(LabId::Pipeline, "?pattern=processes", ".pipeline-view").await;
    assert!(text(&root, ".kill-summary").contains("once 100 items are delivered"), "{}", text(&root, ".kill-summary"));
    let workers = root.query_selector(".stage-threads").unwrap().unwrap().text_content().unwrap_or_default();
    assert!(workers.contains("process"), "a stage's workers are processes: {workers}");
    find(&root, "button.play").click();
    settle().await;
    press("End");
    settle().await;
    // The consumers are the bottleneck: consumer 0 holds an item when it is killed, and that item is lost.
    assert_eq!(text(&root, "tr[data-metric=lost] td.sim"), "1");
    assert_eq!(text(&root, "tr[data-metric=delivered] td.sim"), "199");
    let summary = text(&root, ".kill-summary");
    assert!(summary.contains("1 item(s) inside it were lost") && summary.contains("was ready"), "{summary}");
    assert_eq!(root.query_selector_all("circle.thread.killed").unwrap().length(), 0, "its successor took its place");
    assert!(text(&root, ".pipeline-counts").contains("0 in flight"), "the lost item is not in flight");
    root.remove();
}

/// Alt with `key` (at `code`), as the page's zoom keys are pressed.
fn press_alt(key: &str, code: &str) {
    let init = web_sys::KeyboardEventInit::new();
    init.set_key(key);
    init.set_code(code);
    init.set_alt_key(true);
    init.set_bubbles(true);
    document()
        .dispatch_event(&web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap())
        .unwrap();
}

#[wasm_bindgen_test]
async fn a_long_lock_run_draws_its_lanes_by_level_of_detail_and_alt_keys_zoom_them() {
    let root = mount_lab_asking(LabId::Lock, "?think_us=0&hold_us=10&duration_ms=300", ".lock-lanes g.lane").await;
    wait_for(&root, "tr[data-metric=acquisitions] td.sim").await;
    let acquisitions: u32 = text(&root, "tr[data-metric=acquisitions] td.sim").parse().unwrap();
    assert!(acquisitions > 5_000, "a long run: {acquisitions} acquisitions");
    let lanes = root.query_selector_all(".lock-lanes g.lane").unwrap();
    let marks = |root: &Element| -> Vec<u32> {
        let lanes = root.query_selector_all(".lock-lanes g.lane").unwrap();
        (0..lanes.length())
            .map(|i| lanes.get(i).unwrap().dyn_into::<Element>().unwrap().get_attribute("data-marks").unwrap())
            .map(|n| n.parse().unwrap())
            .collect()
    };
    // Thousands of spans a lane, drawn as at most a mark per pixel column.
    assert_eq!(lanes.length(), 4);
    assert!(marks(&root).iter().all(|n| *n > 0 && *n <= 640), "{:?}", marks(&root));
    let range = |root: &Element| {
        let svg = root.query_selector("svg.lock-lanes").unwrap().unwrap();
        let at = |name: &str| svg.get_attribute(name).unwrap().parse::<u64>().unwrap();
        (at("data-from"), at("data-to"))
    };
    let whole = range(&root);
    assert!(root.query_selector(".narration-range").unwrap().is_none(), "the whole run says no range");
    for _ in 0..6 {
        press_alt("+", "Equal");
    }
    settle().await;
    let (from, to) = range(&root);
    assert!(to - from < (whole.1 - whole.0) / 50, "zoomed 64×: {from}..{to} of {whole:?}");
    assert!(text(&root, ".narration-range").contains("the timelines show"), "{}", text(&root, ".narration-range"));
    assert!(root.query_selector(".scrubber .zoom-band").unwrap().is_some(), "the scrubber marks the window");
    press_alt("0", "Digit0");
    settle().await;
    assert_eq!(range(&root), whole);
    root.remove();
}

#[wasm_bindgen_test]
async fn a_page_without_timelines_is_not_zoomed_by_the_keys() {
    let root = mount_lab(LabId::Amdahl, ".amdahl-view").await;
    press_alt("+", "Equal");
    settle().await;
    assert!(root.query_selector(".narration-range").unwrap().is_none(), "nothing there to zoom, nothing said");
    assert!(root.query_selector(".scrubber .zoom-band").unwrap().is_none());
    root.remove();
}

/// A measured-looking run of `lab` as `syslab run LAB --export` writes it, and the drop of that file on the page.
fn drop_exported_run(page: &Element, lab: LabId, seed: u64) -> shared::Trace {
    drop_exported_run_from(page, lab, seed, 4096)
}

/// The same, from a host whose pages are `page_size` bytes.
fn drop_exported_run_from(page: &Element, lab: LabId, seed: u64, page_size: u64) -> shared::Trace {
    let mut trace = shared::lab::simulate(lab, &shared::ParamSet::new(), seed).unwrap();
    let host = shared::trace::HostInfo {
        kernel: "Linux 6.18.0".into(),
        n_cpus: 2,
        scratch_fs: "ext4 (/tmp/syslab)".into(),
        companion_version: "0.1.0".into(),
        cpu_model: "Test CPU 3000".into(),
        page_size,
        inotify_max_user_watches: Some(65_536),
        open_files_limit: Some(1_024),
        debug_build: false,
    };
    trace.run.source = shared::Source::Measured { host, started_unix_ms: 1_795_470_874_612 };
    let text = shared::export::chrome_trace(&trace).to_string();
    let file = web_sys::File::new_with_str_sequence(&js_sys::Array::of1(&text.into()), "run.json").unwrap();
    let transfer = web_sys::DataTransfer::new().unwrap();
    transfer.items().add_with_file(&file).unwrap();
    let init = web_sys::DragEventInit::new();
    init.set_bubbles(true);
    init.set_cancelable(true);
    init.set_data_transfer(Some(&transfer));
    let drop = web_sys::DragEvent::new_with_event_init_dict("drop", &init).unwrap();
    find(page, "main.lab-page").dispatch_event(&drop).unwrap();
    trace
}

#[wasm_bindgen_test]
async fn an_exported_run_dropped_on_the_page_replays_with_its_provenance_and_figures() {
    let page = mount_lock_lab().await;
    let trace = drop_exported_run(&page, LabId::Lock, 11);
    wait_for(&page, ".provenance dd[data-key=cpu_model]").await;
    assert_eq!(text(&page, ".provenance dd[data-key=cpu_model]"), "Test CPU 3000");
    assert_eq!(text(&page, ".provenance dd[data-key=started]"), "2026-11-23T21:54:34Z");
    assert_eq!(text(&page, ".provenance dd[data-key=page_size]"), "4096 bytes");
    assert!(text(&page, ".tabs").contains("opened from a file"), "{}", text(&page, ".tabs"));
    // The measured column holds the file's figures, and the drawing replays it.
    let acquisitions = shared::lab::metrics(&trace).into_iter().find(|m| m.key == "acquisitions").unwrap();
    let cell = find(&page, "tr[data-metric=acquisitions] td.real").get_attribute("data-value").unwrap();
    assert_eq!(cell.parse::<f64>().unwrap(), acquisitions.value.unwrap());
    assert!(page.query_selector(".lock-view svg").unwrap().is_some());
    // A run of another lab is refused with a reason, and the imported run stays.
    drop_exported_run(&page, LabId::Mmap, 1);
    wait_for(&page, ".import-error").await;
    assert!(text(&page, ".import-error").contains("lab's page"), "{}", text(&page, ".import-error"));
    assert_eq!(text(&page, ".provenance dd[data-key=cpu_model]"), "Test CPU 3000");
    page.remove();
}

#[wasm_bindgen_test]
async fn question_mark_lists_the_shortcuts_and_the_narration_says_what_happens() {
    let page = mount_at_end(LabId::Lock, ".lock-view svg").await;
    assert!(page.query_selector("#shortcuts").unwrap().is_none());
    press("?");
    wait_for(&page, "#shortcuts[role=dialog]").await;
    let listed = text(&page, "#shortcuts");
    for (key, what) in web::player::SHORTCUTS {
        let what = shared::i18n::Lang::En.ui(what);
        assert!(listed.contains(key) && listed.contains(what), "{key} missing from {listed}");
    }
    press("Escape");
    settle().await;
    assert!(page.query_selector("#shortcuts").unwrap().is_none(), "Esc closes the list");
    // Paused at the end: the live region says the run's last event; a step back says the one before, and the
    // line on the page says what the live region says.
    let region = find(&page, ".narration-live[aria-live=polite]");
    let at_end = region.text_content().unwrap_or_default();
    assert!(at_end.contains("At "), "{at_end}");
    press("ArrowLeft");
    settle().await;
    let before = find(&page, ".narration-live").text_content().unwrap_or_default();
    assert!(before.contains("At ") && before != at_end, "{before}");
    let line = find(&page, ".narration").text_content().unwrap_or_default();
    assert!(line.ends_with(&before), "the page's line {line:?} and the live region {before:?} differ");
    page.remove();
}

#[wasm_bindgen_test]
async fn a_prediction_is_recorded_and_set_beside_the_measured_run() {
    let page = mount_lab(LabId::Amdahl, ".amdahl-view").await;
    wait_for(&page, "fieldset.question input[type=radio]").await;
    let question = &shared::predict::questions(LabId::Amdahl)[0];
    find(&page, "fieldset.question input[type=radio]").click(); // the first answer
    settle().await;
    let key = format!("syslab.predict.amdahl.{}", question.id);
    let stored = web_sys::window().unwrap().local_storage().unwrap().unwrap().get_item(&key).unwrap();
    assert_eq!(stored.as_deref(), Some("0"), "the choice is recorded");
    assert!(text(&page, ".question").contains("Recorded"));
    let trace = drop_exported_run(&page, LabId::Amdahl, 5);
    wait_for(&page, ".verdict .measured-answer").await;
    let value = question.value(&shared::lab::metrics(&trace)).unwrap();
    let expected = question.answer_for(value);
    let shown = find(&page, ".verdict .measured-answer").get_attribute("data-answer").unwrap();
    assert_eq!(shown, expected.to_string());
    let verdict = text(&page, ".verdict");
    assert!(verdict.contains(question.answers[expected].label) && verdict.contains(question.why), "{verdict}");
    assert!(verdict.contains(if expected == 0 { "As you predicted" } else { "You predicted" }), "{verdict}");
    web_sys::window().unwrap().local_storage().unwrap().unwrap().remove_item(&key).unwrap();
    page.remove();
}
