//! The permalink: the URL's query holds a lab's parameters and seed, so a shared link reproduces the same run,
//! and the language (`lang=ja`), so it opens in the language it was shared in. It names the parameters that
//! differ from their reference defaults and those the reader chose, so a model parameter it does not name is
//! free to take this machine's calibration.

use crate::dom::window;
use shared::i18n::Lang;
use shared::params::ParamSpec;
use std::collections::{BTreeMap, BTreeSet};

/// The form's text per parameter key, as typed (it may not validate).
pub type RawParams = BTreeMap<String, String>;

/// The seed used when a link names none.
pub const DEFAULT_SEED: u64 = 42;

/// The parameter keys a query names.
pub type Named = BTreeSet<String>;

/// Reads the parameters and seed from a query string like `?procs=8&mode=nonblocking&seed=7`; missing keys take
/// their defaults; unknown keys are ignored. Also says which keys it named.
pub fn parse_query(query: &str, specs: &[ParamSpec]) -> (RawParams, u64, Named) {
    let pairs: Vec<(String, String)> = query
        .trim_start_matches('?')
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect();
    let get = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let raw =
        specs.iter().map(|s| (s.key.to_owned(), get(s.key).unwrap_or_else(|| s.default_value().to_string()))).collect();
    let seed = get("seed").and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_SEED);
    let named = specs.iter().filter(|s| get(s.key).is_some()).map(|s| s.key.to_owned()).collect();
    (raw, seed, named)
}

/// The query string for parameters and seed, in declaration order: each parameter that differs from its
/// default, and each in `kept` (named before, or chosen by the reader) whatever its value.
pub fn to_query(raw: &RawParams, seed: u64, specs: &[ParamSpec], kept: &Named) -> String {
    let mut parts: Vec<String> = specs
        .iter()
        .filter_map(|s| raw.get(s.key).map(|v| (s, v)))
        .filter(|(s, v)| **v != s.default_value().to_string() || kept.contains(s.key))
        .map(|(s, v)| format!("{}={}", s.key, encode(v)))
        .collect();
    parts.push(format!("seed={seed}"));
    format!("?{}", parts.join("&"))
}

/// Reads the current page's permalink.
pub fn read(specs: &[ParamSpec]) -> (RawParams, u64, Named) {
    let query = window().and_then(|w| w.location().search().ok()).unwrap_or_default();
    parse_query(&query, specs)
}

/// Replaces the address bar's query (no new history entry), keeping the language.
pub fn write(raw: &RawParams, seed: u64, specs: &[ParamSpec], kept: &Named, lang: Lang) {
    replace_query(&format!("{}&lang={}", to_query(raw, seed, specs, kept), lang.code()));
}

/// The history entry the address asks the page to open (`history=ID`), read with the browser's own query
/// parser.
pub fn history_id() -> Option<u64> {
    let query = window().and_then(|w| w.location().search().ok())?;
    web_sys::UrlSearchParams::new_with_str(&query).ok()?.get("history")?.parse().ok()
}

/// The language the address names, if it names one.
pub fn lang() -> Option<Lang> {
    let query = window().and_then(|w| w.location().search().ok()).unwrap_or_default();
    lang_in(&query)
}

fn lang_in(query: &str) -> Option<Lang> {
    query.trim_start_matches('?').split('&').find_map(|pair| pair.strip_prefix("lang=")).and_then(Lang::parse)
}

/// Sets the language in the address, keeping the rest of the query.
pub fn write_lang(lang: Lang) {
    let query = window().and_then(|w| w.location().search().ok()).unwrap_or_default();
    let mut parts: Vec<&str> =
        query.trim_start_matches('?').split('&').filter(|p| !p.is_empty() && !p.starts_with("lang=")).collect();
    let pair = format!("lang={}", lang.code());
    parts.push(&pair);
    replace_query(&format!("?{}", parts.join("&")));
}

fn replace_query(query: &str) {
    let Some(window) = window() else { return };
    let path = window.location().pathname().unwrap_or_default();
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&format!("{path}{query}")));
    }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 3 <= bytes.len() => {
                match u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_is_read_from_the_query() {
        assert_eq!(lang_in("?procs=4&lang=ja&seed=1"), Some(Lang::Ja));
        assert_eq!(lang_in("?lang=en"), Some(Lang::En));
        assert_eq!(lang_in("?lang=xx"), None);
        assert_eq!(lang_in(""), None);
    }

    #[test]
    fn a_query_round_trips_and_fills_defaults() {
        let specs = shared::lab::lock::INFO.params;
        let (raw, seed, named) = parse_query("?procs=8&mode=nonblocking&hold_us=1000&seed=7&junk=1", specs);
        assert_eq!(raw["procs"], "8");
        assert_eq!(raw["mode"], "nonblocking");
        assert_eq!(raw["hold_us"], "1000");
        assert_eq!(seed, 7);
        assert_eq!(named, Named::from(["procs".into(), "mode".into(), "hold_us".into()]));
        // A default named stays named; one not named is left out, free to be calibrated.
        let query = to_query(&raw, seed, specs, &named);
        assert!(query.contains("hold_us=1000") && !query.contains("wake_us"), "{query}");
        assert_eq!(parse_query(&query, specs), (raw.clone(), 7, named));
        assert!(!to_query(&raw, seed, specs, &Named::new()).contains("hold_us"));
    }

    #[test]
    fn odd_text_survives_encoding() {
        assert_eq!(decode(&encode("a b&c=d%")), "a b&c=d%");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(parse_query("", &[]).1, DEFAULT_SEED);
    }
}
