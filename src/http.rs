//! One policy for every request Landform sends: `comment`'s API calls, the
//! webhooks of `apply --notify` and the drift checker, init's registry and
//! downloads, and rollout probes. Every request here
//!
//! - speaks TLS unless its host *is* loopback (`localhost`, 127.0.0.0/8, ::1:
//!   the host is parsed, never compared as a prefix, so
//!   `localhost.attacker.example` needs `https://` like any other);
//! - has one deadline for the whole exchange: connecting, every redirect and
//!   reading the body;
//! - reads its answer in pieces up to a size limit and refuses it past that
//!   (a `Content-Length` over the limit is refused before reading at all);
//! - follows at most 10 redirects itself, each checked as above: credentials
//!   (`Authorization`, `PRIVATE-TOKEN`, any header the caller marks as one)
//!   are sent only to the origin (scheme, host, port) the request was made
//!   to, never again once a redirect leaves it, and no `Referer` is ever sent.
//!
//! reqwest's own redirects are turned off, because its policy cannot drop a
//! header it does not know (GitLab's `PRIVATE-TOKEN`), and it sends `Referer`.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// How many redirects one request follows.
const MAX_REDIRECTS: usize = 10;

/// A client with its limits. The blocking client runs a runtime of its own:
/// make and drop it outside async code.
pub struct Client {
    inner: reqwest::blocking::Client,
    deadline: Duration,
    max_body: u64,
}

/// One request: headers sent to every host, credentials only to the origin.
pub struct Request {
    method: Method,
    url: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    credentials: Vec<(HeaderName, HeaderValue)>,
    body: Option<Vec<u8>>,
}

impl Request {
    pub fn new(method: Method, url: &str) -> Request {
        Request { method, url: url.to_string(), headers: Vec::new(), credentials: Vec::new(), body: None }
    }

    pub fn get(url: &str) -> Request {
        Request::new(Method::GET, url)
    }

    /// A header any host may see. A malformed one is left out.
    pub fn header(mut self, name: &'static str, value: &str) -> Request {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.push((HeaderName::from_static(name), v));
        }
        self
    }

    /// A header that carries a credential: sent only to the request's origin.
    pub fn credential(mut self, name: &'static str, value: &str) -> Request {
        if let Ok(mut v) = HeaderValue::from_str(value) {
            v.set_sensitive(true);
            self.credentials.push((HeaderName::from_static(name), v));
        }
        self
    }

    /// `Authorization: Bearer TOKEN`, a credential.
    pub fn bearer(self, token: &str) -> Request {
        self.credential("authorization", &format!("Bearer {token}"))
    }

    pub fn json(mut self, body: &serde_json::Value) -> Request {
        self.body = Some(body.to_string().into_bytes());
        self.header("content-type", "application/json")
    }
}

/// An answer whose body has not been read yet.
pub struct Response {
    inner: reqwest::blocking::Response,
    deadline: Instant,
    max_body: u64,
}

/// Is `url` one Landform may speak to: http or https, and plain http only
/// to a loopback host?
pub fn check_url(url: &Url) -> Result<(), String> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if url.host_str().is_some_and(is_loopback) => Ok(()),
        "http" => Err(format!(
            "plain http:// is only for this machine (localhost, 127.0.0.0/8, ::1); {} needs https://",
            url.host_str().unwrap_or("this host")
        )),
        other => Err(format!("{other}: is not http:// or https://")),
    }
}

/// Is this host this machine? Parsed: `localhost`, an address in
/// 127.0.0.0/8, `::1` or `::ffff:127.x.y.z`; a name that merely starts with
/// one (`localhost.example`, `127.0.0.1.example`) is not.
pub fn is_loopback(host: &str) -> bool {
    match host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(a)) => a.is_loopback(),
        Ok(std::net::IpAddr::V6(a)) => a.is_loopback() || a.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        Err(_) => host.eq_ignore_ascii_case("localhost") || host.eq_ignore_ascii_case("localhost."),
    }
}

/// A host string as found in a registry address (`host[:port]`, `[::1]:8080`).
pub fn is_loopback_authority(authority: &str) -> bool {
    Url::parse(&format!("http://{authority}/")).ok().is_some_and(|u| u.host_str().is_some_and(is_loopback))
}

fn origin(u: &Url) -> (String, Option<String>, Option<u16>) {
    (u.scheme().to_string(), u.host_str().map(str::to_ascii_lowercase), u.port_or_known_default())
}

impl Client {
    /// A client for `purpose` (said in the User-Agent) whose requests end
    /// after `deadline` and whose answers may hold at most `max_body` bytes.
    pub fn new(purpose: &str, deadline: Duration, max_body: u64) -> Result<Client, String> {
        let inner = reqwest::blocking::Client::builder()
            .timeout(deadline)
            .connect_timeout(deadline.min(Duration::from_secs(30)))
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .user_agent(format!("landform/{} ({purpose})", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Client { inner, deadline, max_body })
    }

    /// Send `req`, following redirects by the policy above. Errors never
    /// name the URL (it may hold a token): the caller says what was asked.
    pub fn send(&self, req: Request) -> Result<Response, String> {
        let deadline = Instant::now() + self.deadline;
        let mut url = Url::parse(&req.url).map_err(|e| format!("not a URL: {e}"))?;
        check_url(&url)?;
        let first = origin(&url);
        let mut method = req.method;
        let mut body = req.body;
        let mut credentials = true;
        for _ in 0..=MAX_REDIRECTS {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("no answer within {}s", self.deadline.as_secs()));
            }
            let mut b = self.inner.request(method.clone(), url.clone()).timeout(left);
            for (k, v) in &req.headers {
                b = b.header(k, v);
            }
            if credentials {
                for (k, v) in &req.credentials {
                    b = b.header(k, v);
                }
            }
            if let Some(body) = &body {
                b = b.body(body.clone());
            }
            let resp = b.send().map_err(|e| crate::checker::error_chain(&e.without_url()))?;
            let status = resp.status();
            if !status.is_redirection() || status == StatusCode::NOT_MODIFIED {
                return Ok(Response { inner: resp, deadline, max_body: self.max_body });
            }
            let Some(location) = resp.headers().get("location").and_then(|l| l.to_str().ok()) else {
                return Ok(Response { inner: resp, deadline, max_body: self.max_body });
            };
            let next = url.join(location).map_err(|e| format!("a redirect to a malformed location: {e}"))?;
            check_url(&next).map_err(|e| format!("refused a redirect: {e}"))?;
            if origin(&next) != first {
                credentials = false;
            }
            // As browsers do: 303, and 301/302 after a POST, go on as GET without the body.
            if status == StatusCode::SEE_OTHER
                || (matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND) && method == Method::POST)
            {
                method = Method::GET;
                body = None;
            }
            url = next;
        }
        Err(format!("more than {MAX_REDIRECTS} redirects"))
    }
}

impl Response {
    pub fn status(&self) -> StatusCode {
        self.inner.status()
    }

    pub fn headers(&self) -> &HeaderMap {
        self.inner.headers()
    }

    /// The body, copied to `out` in pieces: an error past the size limit or
    /// the deadline, or when the connection ends before the body does.
    pub fn copy_to(mut self, out: &mut dyn Write) -> Result<u64, String> {
        let limit = self.max_body;
        if self.inner.content_length().is_some_and(|n| n > limit) {
            return Err(format!("the answer is larger than {}", size(limit)));
        }
        let mut buf = vec![0u8; 64 << 10];
        let mut total: u64 = 0;
        loop {
            if Instant::now() > self.deadline {
                return Err("the answer did not end in time".into());
            }
            let n = self.inner.read(&mut buf).map_err(|e| format!("the answer was cut short: {e}"))?;
            if n == 0 {
                return Ok(total);
            }
            total += n as u64;
            if total > limit {
                return Err(format!("the answer is larger than {}", size(limit)));
            }
            out.write_all(&buf[..n]).map_err(|e| landform_state::files::io_words(&e))?;
        }
    }

    pub fn bytes(self) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        self.copy_to(&mut out)?;
        Ok(out)
    }

    pub fn text(self) -> Result<String, String> {
        Ok(String::from_utf8_lossy(&self.bytes()?).into_owned())
    }

    pub fn json(self) -> Result<serde_json::Value, String> {
        serde_json::from_slice(&self.bytes()?).map_err(|e| format!("the answer is not JSON: {e}"))
    }
}

fn size(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{} MiB", n >> 20)
    } else {
        format!("{} KiB", n >> 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_host_that_is_loopback_may_be_spoken_to_in_plain_http() {
        for ok in [
            "http://localhost/",
            "http://LOCALHOST:8080/x",
            "http://127.0.0.1/",
            "http://127.9.8.7:1/",
            "http://[::1]:80/",
            "http://[::ffff:127.0.0.1]/",
            "https://example.com/",
        ] {
            assert!(check_url(&Url::parse(ok).unwrap()).is_ok(), "{ok}");
        }
        for bad in [
            "http://localhost.attacker.example/",
            "http://127.0.0.1.attacker.example/",
            "http://localhostx/",
            "http://128.0.0.1/",
            "http://[::2]/",
            "http://example.com/",
            "ftp://localhost/",
            "file:///etc/passwd",
        ] {
            assert!(check_url(&Url::parse(bad).unwrap()).is_err(), "{bad}");
        }
        assert!(is_loopback_authority("localhost:5000"));
        assert!(is_loopback_authority("[::1]:5000"));
        assert!(!is_loopback_authority("localhost.attacker.example"));
        assert!(!is_loopback_authority("127.0.0.1.nip.io"));
    }

    /// A server on loopback that sends its headers, then one byte every
    /// 100 ms for up to a minute.
    fn trickling_server() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
                for _ in 0..600 {
                    if s.write_all(b"x").is_err() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        });
        url
    }

    #[test]
    fn an_answer_that_never_ends_is_cut_at_the_deadline() {
        let url = trickling_server();
        let c = Client::new("test", Duration::from_secs(1), 1 << 20).unwrap();
        let started = Instant::now();
        let e = c.send(Request::get(&url)).and_then(Response::bytes).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5), "took {:?}: {e}", started.elapsed());
    }
}
