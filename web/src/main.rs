//! The page's entry point: mounts the app on `<body>`.

fn main() {
    yew::Renderer::<web::app::App>::new().render();
}
