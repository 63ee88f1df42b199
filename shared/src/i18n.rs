//! English and Japanese. The page's own words live in one catalogue per language (`shared/i18n/en.json`,
//! `ja.json`); the labs' words (titles, summaries, explanations, parameter labels and help, chapters) are in
//! English in the lab catalogue itself (and `shared::predict`) and in Japanese in `ja.json` under derived keys
//! (`lab.ID.title`, `lab.ID.param.KEY.help`, `lab.ID.param.KEY.unit` for a unit that is a word,
//! `lab.ID.param.KEY.choice.VALUE`, `predict.ID.Q.why`, `chapter.N.title`, …). [`required_keys`] is every key
//! a language must have, so a test fails when either catalogue lacks one. Pure: the page picks the language.

use crate::LabId;
use crate::catalogue::CHAPTERS;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    #[default]
    En,
    Ja,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Ja];

    /// The code kept in the permalink (`?lang=ja`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ja => "ja",
        }
    }

    /// The language's own name, for the switch.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Ja => "日本語",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.code() == code)
    }

    /// The first of the browser's preferred languages that the lab speaks (`ja-JP` is Japanese), else English.
    pub fn from_preferences<'a>(preferred: impl IntoIterator<Item = &'a str>) -> Lang {
        preferred
            .into_iter()
            .find_map(|tag| Lang::parse(&tag.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase()))
            .unwrap_or_default()
    }

    fn catalogue(self) -> &'static BTreeMap<String, String> {
        static EN: OnceLock<BTreeMap<String, String>> = OnceLock::new();
        static JA: OnceLock<BTreeMap<String, String>> = OnceLock::new();
        let (cell, text) = match self {
            Lang::En => (&EN, include_str!("../i18n/en.json")),
            Lang::Ja => (&JA, include_str!("../i18n/ja.json")),
        };
        // The catalogues are compiled in and checked by the tests; a broken one shows keys, it does not panic.
        cell.get_or_init(|| serde_json::from_str(text).unwrap_or_default())
    }

    /// A word of the page (a `ui.` key): this language's, else English's, else the key itself.
    pub fn ui(self, key: &'static str) -> &'static str {
        self.template(key).unwrap_or(key)
    }

    /// A template of the page with its `{name}` placeholders filled: `fill("ui.io.more", &[("n", &3)])`.
    pub fn fill(self, key: &'static str, args: &[(&str, &dyn fmt::Display)]) -> String {
        substitute(self.ui(key), |name| args.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string()))
    }

    fn template(self, key: &str) -> Option<&'static str> {
        self.catalogue().get(key).or_else(|| Lang::En.catalogue().get(key)).map(String::as_str)
    }

    /// Lab content in this language: Japanese from the catalogue under `key`, English (and any gap) `english`.
    fn content(self, key: &str, english: &'static str) -> &'static str {
        match self {
            Lang::En => english,
            Lang::Ja => self.catalogue().get(key).map_or(english, String::as_str),
        }
    }

    pub fn lab_title(self, lab: LabId) -> &'static str {
        self.content(&format!("lab.{}.title", lab.as_str()), lab.info().title)
    }

    pub fn lab_summary(self, lab: LabId) -> &'static str {
        self.content(&format!("lab.{}.summary", lab.as_str()), lab.info().summary)
    }

    pub fn lab_explanation(self, lab: LabId) -> Vec<&'static str> {
        let info = lab.info();
        let key = |i: usize| format!("lab.{}.explanation.{i}", lab.as_str());
        info.explanation.iter().enumerate().map(|(i, p)| self.content(&key(i), p)).collect()
    }

    /// A parameter's label and help.
    pub fn param(self, lab: LabId, key: &str) -> Option<(&'static str, &'static str)> {
        let spec = lab.info().params.iter().find(|s| s.key == key)?;
        let prefix = format!("lab.{}.param.{key}", lab.as_str());
        Some((self.content(&format!("{prefix}.label"), spec.label), self.content(&format!("{prefix}.help"), spec.help)))
    }

    /// A parameter's unit: a symbol (`ms`, `%`) as it is, a word (`files`) in this language.
    pub fn unit(self, lab: LabId, spec: &crate::params::ParamSpec) -> &'static str {
        if is_symbol(spec.unit) {
            return spec.unit;
        }
        self.content(&format!("lab.{}.param.{}.unit", lab.as_str(), spec.key), spec.unit)
    }

    /// A choice's label.
    pub fn choice(self, lab: LabId, key: &str, choice: &crate::params::Choice) -> &'static str {
        self.content(&format!("lab.{}.param.{key}.choice.{}", lab.as_str(), choice.value), choice.label)
    }

    /// A prediction question's prompt, answers and explanation.
    pub fn question(self, lab: LabId, q: &crate::predict::Question) -> (&'static str, Vec<&'static str>, &'static str) {
        let prefix = format!("predict.{}.{}", lab.as_str(), q.id);
        let answers =
            q.answers.iter().enumerate().map(|(i, a)| self.content(&format!("{prefix}.answer.{i}"), a.label)).collect();
        (self.content(&format!("{prefix}.prompt"), q.prompt), answers, self.content(&format!("{prefix}.why"), q.why))
    }

    /// A chapter's title and summary.
    pub fn chapter(self, n: usize) -> Option<(&'static str, &'static str)> {
        let chapter = CHAPTERS.get(n)?;
        Some((
            self.content(&format!("chapter.{n}.title"), chapter.title),
            self.content(&format!("chapter.{n}.summary"), chapter.summary),
        ))
    }
}

/// Words said in no language yet: what runs carry (metric labels, notes) so that the page says them in its
/// reader's language while the command line and the exports say them in English (`Display`). A catalogue key
/// with named arguments, each itself a `Text` (a term such as a server's name, or a literal such as a number);
/// or a literal, for words that come from outside (an OS error) and for runs exported before texts had keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Text {
    Literal(String),
    Keyed {
        key: String,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        args: BTreeMap<String, Text>,
    },
}

impl Text {
    pub fn new(key: &str) -> Text {
        Text::Keyed { key: key.to_owned(), args: BTreeMap::new() }
    }

    /// Fills `{name}` with a literal (a number, a path, an error).
    pub fn with(self, name: &str, value: impl fmt::Display) -> Text {
        self.with_text(name, Text::Literal(value.to_string()))
    }

    /// Fills `{name}` with words that are themselves translated.
    pub fn with_text(self, name: &str, value: Text) -> Text {
        match self {
            Text::Keyed { key, mut args } => {
                args.insert(name.to_owned(), value);
                Text::Keyed { key, args }
            }
            literal => literal,
        }
    }

    /// The words in `lang`: its template (else English's, else the key) with every argument said in `lang` too.
    pub fn say(&self, lang: Lang) -> String {
        match self {
            Text::Literal(s) => s.clone(),
            Text::Keyed { key, args } => {
                let template = lang.template(key).unwrap_or(key);
                substitute(template, |name| args.get(name).map(|a| a.say(lang)))
            }
        }
    }

    /// Every catalogue key this text needs, its own and its arguments'.
    pub fn keys(&self) -> Vec<&str> {
        match self {
            Text::Literal(_) => Vec::new(),
            Text::Keyed { key, args } => {
                std::iter::once(key.as_str()).chain(args.values().flat_map(Text::keys)).collect()
            }
        }
    }
}

/// English: what the command line, the logs and the exports say.
impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.say(Lang::En))
    }
}

/// Whether the English catalogue has `key` (every other catalogue is tested to have the same keys).
pub fn has_key(key: &str) -> bool {
    Lang::En.catalogue().contains_key(key)
}

/// `template` with each `{name}` replaced by `arg(name)`; a placeholder without an argument stays as written.
fn substitute(template: &str, arg: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}').and_then(|close| Some((arg(&after[..close])?, close))) {
            Some((value, close)) => {
                out.push_str(&value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Units every language writes the same way; any other unit is a word and is translated.
const SYMBOL_UNITS: [&str; 9] = ["", "%", "/s", "GB/s", "MB/s", "MiB", "ms", "ns", "µs"];

fn is_symbol(unit: &str) -> bool {
    SYMBOL_UNITS.contains(&unit)
}

/// Every key a language's catalogue must hold: the page's words (the English catalogue's keys) and, for every
/// language but English, whose lab content is in the lab catalogue, every lab's and chapter's derived keys.
pub fn required_keys(lang: Lang) -> Vec<String> {
    let mut keys: Vec<String> = Lang::En.catalogue().keys().cloned().collect();
    if lang != Lang::En {
        for info in crate::catalogue::catalogue() {
            let id = info.id.as_str();
            keys.push(format!("lab.{id}.title"));
            keys.push(format!("lab.{id}.summary"));
            keys.extend((0..info.explanation.len()).map(|i| format!("lab.{id}.explanation.{i}")));
            for spec in info.params {
                keys.push(format!("lab.{id}.param.{}.label", spec.key));
                keys.push(format!("lab.{id}.param.{}.help", spec.key));
                if !is_symbol(spec.unit) {
                    keys.push(format!("lab.{id}.param.{}.unit", spec.key));
                }
                if let crate::params::ParamKind::Choice { choices, .. } = spec.kind {
                    keys.extend(choices.iter().map(|c| format!("lab.{id}.param.{}.choice.{}", spec.key, c.value)));
                }
            }
            for q in crate::predict::questions(info.id) {
                keys.push(format!("predict.{id}.{}.prompt", q.id));
                keys.push(format!("predict.{id}.{}.why", q.id));
                keys.extend((0..q.answers.len()).map(|i| format!("predict.{id}.{}.answer.{i}", q.id)));
            }
        }
        for n in 0..CHAPTERS.len() {
            keys.push(format!("chapter.{n}.title"));
            keys.push(format!("chapter.{n}.summary"));
        }
    }
    keys.sort();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_catalogue_has_exactly_the_keys_its_language_needs() {
        for lang in Lang::ALL {
            let have: Vec<String> = lang.catalogue().keys().cloned().collect();
            let need = required_keys(lang);
            let missing: Vec<&String> = need.iter().filter(|k| !have.contains(k)).collect();
            let unused: Vec<&String> = have.iter().filter(|k| !need.contains(k)).collect();
            assert!(missing.is_empty(), "{lang:?} lacks {missing:?}");
            assert!(unused.is_empty(), "{lang:?} has keys nothing asks for: {unused:?}");
            assert!(lang.catalogue().values().all(|v| !v.trim().is_empty()), "{lang:?} has an empty string");
        }
        assert!(!Lang::En.catalogue().is_empty(), "the English catalogue parses");
    }

    #[test]
    fn japanese_is_japanese_and_english_comes_from_the_lab_catalogue() {
        assert_eq!(Lang::En.lab_title(LabId::Lock), "File locks");
        assert_eq!(Lang::Ja.lab_title(LabId::Lock), "ファイルロック");
        assert_eq!(Lang::Ja.param(LabId::Lock, "procs").map(|p| p.0), Some("プロセス数"));
        assert_eq!(Lang::Ja.ui("ui.lab.simulate"), "シミュレーション");
        assert_eq!(Lang::En.lab_explanation(LabId::Watch).len(), LabId::Watch.info().explanation.len());
        // Placeholders survive translation.
        for lang in Lang::ALL {
            let chapter = lang.ui("ui.home.chapter");
            assert!(chapter.contains("{n}") && chapter.contains("{title}"), "{lang:?}: {chapter}");
        }
    }

    #[test]
    fn a_unit_that_is_a_word_is_translated_and_a_symbol_is_not() {
        let spec = |lab: LabId, key: &str| lab.info().params.iter().find(|s| s.key == key).expect("declared");
        let burst = spec(LabId::Watch, "burst");
        assert_eq!((Lang::En.unit(LabId::Watch, burst), Lang::Ja.unit(LabId::Watch, burst)), ("files", "ファイル"));
        let interval = spec(LabId::Watch, "interval_ms");
        assert_eq!(Lang::Ja.unit(LabId::Watch, interval), "ms");
    }

    #[test]
    fn a_text_fills_its_arguments_in_the_readers_language() {
        let text = Text::new("ui.home.chapter").with("n", 2).with_text("title", Text::new("ui.nav.all_labs"));
        assert_eq!(text.to_string(), "Chapter 2: All labs");
        // Tables line texts up: the English respects width and alignment.
        assert_eq!(format!("[{:<22}]", text), "[Chapter 2: All labs   ]");
        let ja = text.say(Lang::Ja);
        assert!(ja.contains('2') && ja.contains(Lang::Ja.ui("ui.nav.all_labs")) && !ja.contains('{'), "{ja}");
        assert_eq!(text.keys(), ["ui.home.chapter", "ui.nav.all_labs"]);
        // Unknown placeholders, stray braces and unknown keys show as written rather than vanish.
        assert_eq!(substitute("a {x} {y} {", |n| (n == "x").then(|| "1".to_owned())), "a 1 {y} {");
        assert_eq!(Text::new("no.such.key").say(Lang::Ja), "no.such.key");
        assert_eq!(Lang::En.fill("ui.home.chapter", &[("n", &1), ("title", &"Files")]), "Chapter 1: Files");
    }

    #[test]
    fn a_text_travels_as_json_and_a_plain_string_still_reads() {
        let text = Text::new("ui.home.chapter").with("n", 1).with_text("title", Text::new("ui.nav.all_labs"));
        let json = serde_json::to_string(&text).unwrap_or_default();
        assert_eq!(json, r#"{"key":"ui.home.chapter","args":{"n":"1","title":{"key":"ui.nav.all_labs"}}}"#);
        assert_eq!(serde_json::from_str::<Text>(&json).ok(), Some(text));
        assert_eq!(serde_json::from_str::<Text>(r#""Wait p50""#).ok(), Some(Text::Literal("Wait p50".into())));
    }

    #[test]
    fn the_browser_preference_picks_the_first_language_spoken_here() {
        assert_eq!(Lang::from_preferences(["ja-JP", "en-US"]), Lang::Ja);
        assert_eq!(Lang::from_preferences(["fr-FR", "en-GB", "ja"]), Lang::En);
        assert_eq!(Lang::from_preferences(["de"]), Lang::En);
        assert_eq!(Lang::from_preferences([]), Lang::En);
    }
}
