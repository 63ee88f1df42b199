//! The patterns' invariants on the model.

use super::*;

fn set(pairs: &[(&str, &str)]) -> ParamSet {
    LabId::Pipeline.validate(&bench_set(pairs)).unwrap()
}

#[test]
fn the_frame_case_has_500_items_in_flight_at_its_moment() {
    let trace = simulate(&LabId::Pipeline.validate(&frame_case()).unwrap(), 1).unwrap();
    let t = frame_case_moment(&trace);
    let f = flow(&trace);
    let made = f.produced.iter().flatten().filter(|x| **x <= t).count();
    let out = f.delivered.iter().flatten().filter(|x| **x <= t).count();
    assert!(made - out >= 500, "{made} made, {out} delivered");
    assert!(LabId::Pipeline.validate(&benchmark_params()).is_ok());
}

fn metric(trace: &Trace, key: &str) -> Option<f64> {
    metrics(trace).into_iter().find(|m| m.key == key).and_then(|m| m.value)
}

#[test]
fn every_pattern_delivers_every_item_once_and_is_deterministic() {
    for choice in PATTERNS {
        let s = set(&[("pattern", choice.value), ("items", "60")]);
        let trace = simulate(&s, 2).unwrap();
        let f = flow(&trace);
        // Across processes the killed consumer's item is lost: it counts as out, once.
        let mut order: Vec<u32> = f.delivery_order.iter().chain(&f.kill.lost).copied().collect();
        order.sort_unstable();
        // 60 items; the dependency graph's 60 tasks are five copies of its 12-task build; parallel for runs
        // its 60 items three ways.
        let items = if choice.value == "parallel_for" { 180 } else { 60 };
        assert_eq!(order, (0..items).collect::<Vec<u32>>(), "{}", choice.value);
        assert_eq!(simulate(&s, 2).unwrap(), trace, "{}", choice.value);
    }
}

#[test]
fn start_order_delivers_in_order_and_completion_order_does_not() {
    let ordered = simulate(&set(&[("pattern", "start_order"), ("workers", "8")]), 1).unwrap();
    assert_eq!(metric(&ordered, "out_of_order"), Some(0.0));
    let completion =
        simulate(&set(&[("pattern", "start_order"), ("workers", "8"), ("order", "completion")]), 1).unwrap();
    assert!(metric(&completion, "out_of_order").unwrap() > 0.0);
}

#[test]
fn an_unbounded_queue_grows_where_a_bounded_one_pushes_back() {
    let base = [("pattern", "back_pressure"), ("produce_us", "100"), ("work_us", "400"), ("capacity", "4")];
    let bounded = simulate(&set(&base), 1).unwrap();
    assert!(metric(&bounded, "peak_0").unwrap() <= 4.0);
    assert!(metric(&bounded, "send_wait_0").unwrap() > 0.0, "the producer stalls");
    let mut unbounded_params = base.to_vec();
    unbounded_params.push(("bounded", "unbounded"));
    let unbounded = simulate(&set(&unbounded_params), 1).unwrap();
    assert!(metric(&unbounded, "peak_0").unwrap() > 50.0);
    assert_eq!(metric(&unbounded, "send_wait_0"), Some(0.0));
}

#[test]
fn the_slowest_stage_is_the_bottleneck_and_select_with_default_never_blocks() {
    let stages = simulate(&set(&[("pattern", "stages"), ("produce_us", "100")]), 1).unwrap();
    let bottleneck = metrics(&stages).into_iter().find(|m| m.key == "bottleneck").unwrap();
    assert!(bottleneck.label.to_string().contains("transform"), "{}", bottleneck.label);
    let blocking = simulate(&set(&[("pattern", "select")]), 1).unwrap();
    assert_eq!(metric(&blocking, "empty_selects"), Some(0.0));
    let polling = simulate(&set(&[("pattern", "select"), ("default_branch", "on")]), 1).unwrap();
    assert!(metric(&polling, "empty_selects").unwrap() > 0.0);
    assert_eq!(metric(&polling, "recv_wait_3"), Some(0.0), "a select with a default branch never waits");
}

#[test]
fn no_task_starts_before_its_inputs_and_the_makespan_is_at_least_the_critical_path() {
    let s = set(&[("pattern", "dependency_graph"), ("items", "24"), ("workers", "3")]);
    let trace = simulate(&s, 4).unwrap();
    let p = PipelineParams::parse(&s).unwrap();
    let tasks = graph::tasks(&p, 4);
    let (start, end) = graph::task_times(&trace);
    for (i, (deps, _)) in tasks.iter().enumerate() {
        for d in deps {
            assert!(end[d] <= start[&(i as u32)], "task {i} started before its input {d}");
        }
    }
    assert!(metric(&trace, "makespan_ratio").unwrap() >= 1.0);
}
