//! Who may open a websocket to the companion, decided before the upgrade: the Host must be a loopback name with
//! the companion's port (against DNS rebinding), the Origin must be exactly the page's, and the per-start token
//! must match (compared in constant time). Pure, so every case is a table row in the tests and the fuzzer can
//! run it; the companion (`native::server`) applies it to every upgrade request.

use subtle::ConstantTimeEq;

/// What admission checks against.
#[derive(Debug, Clone)]
pub struct Admission {
    pub port: u16,
    /// Exact origins (`http://127.0.0.1:8080`) whose pages may connect.
    pub origins: Vec<String>,
    pub token: String,
    /// The address the companion was told to listen on when that is not loopback (`--bind` with
    /// `--allow-non-loopback`), as a Host name (`192.168.1.5`, `[fe80::1]`): accepted beside the loopback names.
    pub exposed_host: Option<String>,
}

/// Why a request was refused (answered with 403; the reason goes to the log, not to the client).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The Host header is missing, not loopback, or has another port.
    #[error("Host `{0}` is not this companion's loopback address")]
    Host(String),
    /// The Origin header is missing or not the page's.
    #[error("Origin `{0}` is not the lab page's")]
    Origin(String),
    /// The token is missing or wrong.
    #[error("missing or wrong token")]
    Token,
}

const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

impl Admission {
    pub fn check(&self, host: Option<&str>, origin: Option<&str>, token: Option<&str>) -> Result<(), Refusal> {
        let host = host.unwrap_or("");
        let host_ok = host.rsplit_once(':').is_some_and(|(name, port)| {
            // Digits only: Rust's parse would take "+7878", which no browser sends.
            (LOOPBACK_NAMES.contains(&name) || self.exposed_host.as_deref() == Some(name))
                && port.bytes().all(|b| b.is_ascii_digit())
                && !port.starts_with('0')
                && port.parse::<u16>().ok() == Some(self.port)
        });
        if !host_ok {
            return Err(Refusal::Host(host.to_owned()));
        }
        let origin = origin.unwrap_or("");
        if !self.origins.iter().any(|o| o == origin) {
            return Err(Refusal::Origin(origin.to_owned()));
        }
        let given = token.unwrap_or("").as_bytes();
        if !bool::from(given.ct_eq(self.token.as_bytes())) {
            return Err(Refusal::Token);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    fn admission() -> Admission {
        Admission { port: 7878, origins: vec!["http://127.0.0.1:8080".into()], token: TOKEN.into(), exposed_host: None }
    }

    fn check(host: Option<&str>, origin: Option<&str>, token: Option<&str>, ok: bool) {
        let got = admission().check(host, origin, token);
        assert_eq!(got.is_ok(), ok, "host {host:?} origin {origin:?} token {token:?}: {got:?}");
        CASES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// How many rows the table checked.
    static CASES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    #[test]
    fn admission_table() {
        let page = Some("http://127.0.0.1:8080");
        let t = Some(TOKEN);
        // Good.
        check(Some("127.0.0.1:7878"), page, t, true);
        check(Some("localhost:7878"), page, t, true);
        check(Some("[::1]:7878"), page, t, true);
        // Host: missing, foreign, rebinding tricks, wrong port.
        for host in [
            None,
            Some(""),
            Some("127.0.0.1"),
            Some("127.0.0.1:7879"),
            Some("127.0.0.1:07878"),
            Some("evil.example:7878"),
            Some("127.0.0.1.evil.example:7878"),
            Some("localhost.evil.example:7878"),
            Some("localhost.:7878"),
            Some("LOCALHOST.evil:7878"),
            Some("10.0.0.1:7878"),
            Some("0.0.0.0:7878"),
            Some("127.0.0.2:7878"),
            Some("127.1:7878"),
            Some("2130706433:7878"),
            Some("[::ffff:127.0.0.1]:7878"),
            Some("[::1]"),
            Some("LOCALHOST:7878"),
            Some("localhost:7878 "),
            Some(" localhost:7878"),
            Some("localhost:"),
            Some(":7878"),
            Some("127.0.0.1:7878:7878"),
            Some("localhost:7878@evil.example"),
            Some("localhost:65536"),
            Some("localhost:+7878"),
        ] {
            check(host, page, t, false);
        }
        // Origin: missing, null, other ports and schemes, prefix and suffix tricks.
        for origin in [
            None,
            Some(""),
            Some("null"),
            Some("http://127.0.0.1:8081"),
            Some("http://localhost:8080"),
            Some("https://127.0.0.1:8080"),
            Some("http://127.0.0.1:8080.evil.example"),
            Some("http://127.0.0.1:8080/"),
            Some("http://evil.example"),
            Some("HTTP://127.0.0.1:8080"),
            Some("http://127.0.0.1"),
            Some("http://127.0.0.1:80"),
            Some("http://[::1]:8080"),
            Some("ws://127.0.0.1:8080"),
            Some("http://127.0.0.1:8080 "),
            Some("http://user@127.0.0.1:8080"),
            Some("file://"),
            Some("chrome-extension://abcdefghijklmnop"),
            Some("http://127.0.0.1:7878"),
        ] {
            check(Some("127.0.0.1:7878"), origin, t, false);
        }
        // Token: missing, empty, short, same length but wrong, longer.
        for token in [
            None,
            Some(""),
            Some("0123"),
            Some("0123456789abcdef0123456789abcdee"),
            Some("0123456789abcdef0123456789abcdef0"),
            Some("0123456789ABCDEF0123456789ABCDEF"),
            Some(" 0123456789abcdef0123456789abcdef"),
            Some("fedcba9876543210fedcba9876543210"),
            Some("0123456789abcdef"),
        ] {
            check(Some("127.0.0.1:7878"), page, token, false);
        }
        // Two wrong at once is still refused, and a right request again accepted (no state between checks).
        check(Some("evil.example:7878"), Some("null"), None, false);
        check(Some("localhost:7878"), page, t, true);
        assert!(CASES.load(std::sync::atomic::Ordering::SeqCst) >= 50, "the table has at least 50 rows");
    }

    #[test]
    fn an_exposed_address_is_let_in_beside_loopback_and_nothing_else_is() {
        let exposed = Admission { exposed_host: Some("192.168.1.5".into()), ..admission() };
        let (page, t) = (Some("http://127.0.0.1:8080"), Some(TOKEN));
        for (host, ok) in [
            ("192.168.1.5:7878", true),
            ("127.0.0.1:7878", true),
            ("192.168.1.5:7879", false),
            ("192.168.1.6:7878", false),
            ("192.168.1.5.evil.example:7878", false),
        ] {
            assert_eq!(exposed.check(Some(host), page, t).is_ok(), ok, "{host}");
        }
        assert!(admission().check(Some("192.168.1.5:7878"), page, t).is_err(), "not exposed: refused");
    }
}
