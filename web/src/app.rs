//! The app shell: the header with the lab list and the companion's status, the router, and the pages that are
//! not labs (coming labs, not found); the front page is `home`.

use crate::companion::{CompanionConfig, CompanionCtx, CompanionState, ConnStatus, Connection};
use crate::home::Home;
use crate::lab_page::LabPage;
use shared::LabId;
use shared::catalogue::{LabStatus, catalogue};
use shared::i18n::Lang;
use yew::prelude::*;
use yew_router::prelude::*;

#[derive(Debug, Clone, PartialEq, Routable)]
pub enum Route {
    #[at("/")]
    Home,
    #[at("/lab/:id")]
    Lab { id: String },
    /// Every run this browser kept.
    #[at("/history")]
    History,
    /// Two simulated configurations side by side (`?lab=LAB&a=QUERY&b=QUERY&seed=N`).
    #[at("/compare")]
    Compare,
    /// The simulation's speed in this browser, for `cargo xtask bench`.
    #[at("/bench")]
    Bench,
    #[not_found]
    #[at("/404")]
    NotFound,
}

#[function_component(App)]
pub fn app() -> Html {
    let state = use_reducer(CompanionState::default);
    let conn = {
        let dispatcher = state.dispatcher();
        use_memo((), move |_| {
            Connection::new(CompanionConfig::discover(), Callback::from(move |a| dispatcher.dispatch(a)))
        })
    };
    {
        let conn = (*conn).clone();
        use_effect_with((), move |_| conn.start());
    }
    let ctx = CompanionCtx { state, conn: (*conn).clone() };
    let history = crate::history::HistoryCtx { state: use_reducer(crate::history::HistoryState::default) };
    // The address's language, else the browser's first preference the lab speaks.
    let lang = use_state(|| crate::permalink::lang().unwrap_or_else(browser_lang));
    {
        use_effect_with(*lang, |lang| {
            if let Some(root) = crate::dom::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
                let _ = root.set_attribute("lang", lang.code());
            }
        });
    }
    let on_lang = {
        let lang = lang.clone();
        Callback::from(move |chosen: Lang| {
            crate::permalink::write_lang(chosen);
            lang.set(chosen);
        })
    };
    html! {
        <ContextProvider<CompanionCtx> context={ctx}>
        <ContextProvider<crate::history::HistoryCtx> context={history}>
        <ContextProvider<Lang> context={*lang}>
            <BrowserRouter>
                <crate::patterns::Patterns />
                <Header on_lang={on_lang} />
                <Switch<Route> render={switch} />
                <footer class="site-footer">
                    {lang.ui("ui.footer.lead")}
                    <kbd>{"space"}</kbd>{lang.ui("ui.footer.play")}<kbd>{"←"}</kbd>{" "}<kbd>{"→"}</kbd>{lang.ui("ui.footer.step")}
                    <kbd>{"+"}</kbd>{" "}<kbd>{"−"}</kbd>{lang.ui("ui.footer.speed")}
                </footer>
            </BrowserRouter>
        </ContextProvider<Lang>>
        </ContextProvider<crate::history::HistoryCtx>>
        </ContextProvider<CompanionCtx>>
    }
}

/// The browser's preferred languages (navigator.languages), as the lab understands them.
fn browser_lang() -> Lang {
    let languages = crate::dom::window()
        .map(|w| w.navigator().languages())
        .map(|list| list.iter().filter_map(|l| l.as_string()).collect::<Vec<String>>());
    Lang::from_preferences(languages.unwrap_or_default().iter().map(String::as_str))
}

fn switch(route: Route) -> Html {
    match route {
        Route::Home => html! { <Home /> },
        Route::Lab { id } => match LabId::parse(&id) {
            Ok(lab) if lab.info().status == LabStatus::Available => html! { <LabPage lab={lab} /> },
            Ok(lab) => html! { <Coming lab={lab} /> },
            Err(err) => html! { <NotFound detail={err.to_string()} /> },
        },
        Route::History => html! { <crate::history_page::HistoryPage /> },
        Route::Compare => html! { <crate::compare_view::ComparePage /> },
        Route::Bench => html! { <crate::bench::Bench /> },
        Route::NotFound => html! { <NotFound detail={AttrValue::from("")} /> },
    }
}

#[derive(Debug, Properties, PartialEq)]
struct HeaderProps {
    on_lang: Callback<Lang>,
}

#[function_component(Header)]
fn header(props: &HeaderProps) -> Html {
    let lang = use_context::<Lang>().unwrap_or_default();
    let route = use_route::<Route>();
    let status = use_context::<CompanionCtx>().map(|c| c.state.status.clone());
    let (pill_class, pill_text) = match status {
        Some(ConnStatus::Connected) => ("on", lang.ui("ui.status.connected")),
        Some(ConnStatus::Connecting { .. }) => ("pending", lang.ui("ui.status.connecting")),
        _ => ("off", lang.ui("ui.status.offline")),
    };
    html! {
        <header class="site-header">
            <Link<Route> to={Route::Home} classes="brand">{"syslab"}</Link<Route>>
            <nav aria-label={lang.ui("ui.nav.labs")}>
                { for catalogue().filter(|info| info.status == LabStatus::Available).map(|info| {
                    let active = route == Some(Route::Lab { id: info.id.as_str().to_owned() });
                    html! {
                        <Link<Route> to={Route::Lab { id: info.id.as_str().to_owned() }}
                            classes={classes!("nav-link", active.then_some("active"))}>
                            {lang.lab_title(info.id)}
                        </Link<Route>>
                    }
                }) }
                <Link<Route> to={Route::Home} classes={classes!("nav-link", (route == Some(Route::Home)).then_some("active"))}>
                    {lang.ui("ui.nav.all_labs")}
                </Link<Route>>
                <Link<Route> to={Route::History} classes={classes!("nav-link", "nav-history", (route == Some(Route::History)).then_some("active"))}>
                    {lang.ui("ui.nav.history")}
                </Link<Route>>
            </nav>
            <div class="lang-switch" role="group" aria-label={lang.ui("ui.lang.label")}>
                { for Lang::ALL.into_iter().map(|l| {
                    let on_lang = props.on_lang.clone();
                    html! {
                        <button class={classes!("lang", (l == lang).then_some("active"))} lang={l.code()}
                            aria-pressed={(l == lang).to_string()} onclick={Callback::from(move |_: MouseEvent| on_lang.emit(l))}>
                            {l.name()}
                        </button>
                    }
                }) }
            </div>
            <span class={classes!("status-pill", pill_class)} role="status"><span class="dot" aria-hidden="true"></span>{pill_text}</span>
        </header>
    }
}

#[derive(Debug, Properties, PartialEq)]
struct ComingProps {
    lab: LabId,
}

#[function_component(Coming)]
fn coming(props: &ComingProps) -> Html {
    let lang = use_context::<Lang>().unwrap_or_default();
    html! {
        <main class="coming-page">
            <h1>{lang.lab_title(props.lab)}<span class="soon">{lang.ui("ui.coming.badge")}</span></h1>
            <p>{lang.lab_summary(props.lab)}</p>
            <p>{lang.ui("ui.coming.text")}
                <Link<Route> to={Route::Lab { id: "lock".into() }}>{lang.lab_title(LabId::Lock)}</Link<Route>>{"."}</p>
        </main>
    }
}

#[derive(Debug, Properties, PartialEq)]
struct NotFoundProps {
    detail: AttrValue,
}

#[function_component(NotFound)]
fn not_found(props: &NotFoundProps) -> Html {
    let lang = use_context::<Lang>().unwrap_or_default();
    html! {
        <main class="not-found">
            <h1>{lang.ui("ui.not_found.title")}</h1>
            if !props.detail.is_empty() { <p class="field-error">{&props.detail}</p> }
            <p>{lang.ui("ui.not_found.labs")}</p>
            <ul>
                { for catalogue().map(|info| html! {
                    <li><Link<Route> to={Route::Lab { id: info.id.as_str().to_owned() }}>{lang.lab_title(info.id)}</Link<Route>></li>
                }) }
            </ul>
        </main>
    }
}
