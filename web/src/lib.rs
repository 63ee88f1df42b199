//! syslab's page: a Yew app that animates each lab's simulation and replays real runs from the companion with
//! the same components. It renders and connects; every computation (validation, simulation, metrics, the state
//! drawn at a moment) comes from `shared`.

pub mod app;
pub mod bench;
pub mod calibrate_button;
pub mod companion;
pub mod compare_view;
pub mod dom;
pub mod history;
pub mod history_page;
pub mod history_store;
pub mod home;
pub mod lab;
pub mod lab_page;
pub mod lab_state;
pub mod live_view;
pub mod metrics_table;
pub mod narration;
pub mod param_form;
pub mod patterns;
pub mod permalink;
pub mod player;
pub mod predict;
pub mod run_files;
pub mod sweep_chart;
pub mod sweep_panel;
pub mod sweep_state;
pub mod timeline;
