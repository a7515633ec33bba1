//! The one HTTP policy (src/http.rs) on the real binary, for each kind of
//! request: webhooks, init's registry and downloads. Local servers on
//! loopback play the receivers, registries and proxies; nothing leaves the
//! machine (a host that is not loopback is only ever reached through a local
//! proxy, which sees what would have been sent).

mod common;

use common::{text, Fixture};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A request as a server saw it: the request line and the headers.
#[derive(Clone, Debug)]
struct Seen {
    line: String,
    headers: Vec<(String, String)>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A server on 127.0.0.1 that records each request and answers it with
/// `reply`, which writes the whole raw answer.
fn server(reply: impl Fn(&Seen, &mut TcpStream) + Send + 'static) -> (u16, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() || line.is_empty() {
                continue;
            }
            let mut headers = Vec::new();
            let mut len = 0;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() || h.trim_end().is_empty() {
                    break;
                }
                if let Some((k, v)) = h.trim_end().split_once(':') {
                    if k.eq_ignore_ascii_case("content-length") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                    headers.push((k.trim().to_string(), v.trim().to_string()));
                }
            }
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            let s = Seen { line: line.trim_end().to_string(), headers };
            log.lock().unwrap().push(s.clone());
            reply(&s, &mut stream);
        }
    });
    (port, seen)
}

fn answer(stream: &mut TcpStream, status: &str, extra: &str, body: &str) {
    let _ =
        write!(stream, "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
}

fn wait_until(limit: Duration, done: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}

#[test]
fn a_webhook_redirected_to_another_host_gets_neither_the_secret_url_as_referer_nor_credentials() {
    let f = Fixture::new(
        "net-webhook-redirect",
        "resource \"local_file\" \"a\" {\n  path    = \"${path.module}/out/a.txt\"\n  content = \"a\"\n}\n",
    );
    f.ok(&["apply", "--auto-approve"]);
    std::fs::write(f.path("out/a.txt"), "edited by hand").unwrap();
    // The receiver the redirect points at: another host (localhost, not 127.0.0.1).
    let (elsewhere, landed) = server(|_, s| answer(s, "200 OK", "", "ok"));
    let token = "hook-SECRET-7d41c0";
    let (hook, _) = server(move |_, s| {
        let to = format!("Location: http://localhost:{elsewhere}/landing\r\n");
        answer(s, "307 Temporary Redirect", &to, "")
    });
    let mut checker = f
        .cmd(&["drift", "--every", "1h", "--notify", &format!("http://user:pw-{token}@127.0.0.1:{hook}/hook/{token}")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let arrived = wait_until(Duration::from_secs(30), || !landed.lock().unwrap().is_empty());
    let _ = checker.kill();
    let mut err = String::new();
    checker.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let _ = checker.wait();
    assert!(arrived, "the redirect was followed to the other host\n{err}");
    let got = landed.lock().unwrap()[0].clone();
    assert_eq!(got.header("referer"), None, "the secret URL went out as Referer: {got:?}");
    assert_eq!(got.header("authorization"), None, "the URL's credentials followed the redirect: {got:?}");
    assert!(!format!("{got:?}").contains(token), "{got:?}");
    assert!(!err.contains(token), "{err}");
}

#[test]
fn a_webhook_to_a_host_that_is_not_loopback_needs_https() {
    let f = Fixture::new("net-webhook-tls", "");
    for url in ["http://localhost.attacker.example/hook", "http://127.0.0.1.attacker.example/hook", "http://10.0.0.1/h"]
    {
        let mut checker = f
            .cmd(&["drift", "--every", "1h", "--notify", url])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let status = loop {
            match checker.try_wait().unwrap() {
                Some(s) => break s.code(),
                None if started.elapsed() > Duration::from_secs(20) => {
                    let _ = checker.kill();
                    let _ = checker.wait();
                    break None;
                }
                None => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        let mut err = String::new();
        checker.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        assert_eq!(status, Some(1), "{url}: refused at once\n{err}");
        assert!(err.contains("needs https://"), "{url}: {err}");
    }
    // apply's rollout notifications: refused before anything is applied.
    f.write("resource \"landform_data\" \"a\" {\n  input = 1\n}\n");
    let out = f.run(&["apply", "--auto-approve", "--notify", "http://localhost.attacker.example/hook"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("needs https://"), "{}", text(&out.stderr));
    assert_eq!(f.ok(&["state", "list"]).trim(), "", "nothing was applied");
}

/// A proxy that records the first line of each request and closes: how a
/// test sees whether a request for a remote host would have used TLS
/// (`CONNECT host:443`) or plain HTTP (`GET http://host/...`).
fn proxy() -> (u16, Arc<Mutex<Vec<Seen>>>) {
    server(|_, s| answer(s, "502 Bad Gateway", "", ""))
}

#[test]
fn a_registry_host_that_merely_starts_with_localhost_is_spoken_to_over_tls() {
    for host in ["localhost.attacker.example", "127.0.0.1.attacker.example"] {
        let f = Fixture::new(
            "net-registry-tls",
            &format!("module \"net\" {{\n  source  = \"{host}/acme/net/local\"\n  version = \"1.0.0\"\n}}\n"),
        );
        let (port, seen) = proxy();
        let out = f
            .cmd(&["init"])
            .env("HTTP_PROXY", format!("http://127.0.0.1:{port}"))
            .env("HTTPS_PROXY", format!("http://127.0.0.1:{port}"))
            .env("http_proxy", format!("http://127.0.0.1:{port}"))
            .env("https_proxy", format!("http://127.0.0.1:{port}"))
            .env("NO_PROXY", "")
            .env("no_proxy", "")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        let lines: Vec<String> = seen.lock().unwrap().iter().map(|s| s.line.clone()).collect();
        assert!(!lines.is_empty(), "the proxy saw the request\n{}", text(&out.stderr));
        for l in &lines {
            assert!(l.starts_with(&format!("CONNECT {host}:443 ")), "{host} was spoken to without TLS: {l}");
        }
    }
}

#[test]
fn an_oversized_download_is_refused_while_streaming_never_read_whole() {
    let f = Fixture::new("net-big-download", "");
    // 600 MiB of answer without a Content-Length: the limit is 256 MiB.
    let sent = Arc::new(Mutex::new(0u64));
    let count = sent.clone();
    let (port, _) = server(move |_, s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..600 {
            if s.write_all(&chunk).is_err() {
                return;
            }
            *count.lock().unwrap() += chunk.len() as u64;
        }
    });
    f.write(&format!("module \"big\" {{\n  source = \"http://127.0.0.1:{port}/big.tar.gz\"\n}}\n"));
    let out = f.run(&["init"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("larger than 256 MiB"), "{}", text(&out.stderr));
    // The server may fill the socket buffers past the limit, never reach the end.
    let sent = *sent.lock().unwrap();
    assert!(sent < 400 << 20, "{} MiB were read before the refusal", sent >> 20);
    let leftovers: Vec<_> = std::fs::read_dir(f.path(".landform/modules"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(leftovers.iter().all(|n| !n.to_string_lossy().ends_with(".download")), "{leftovers:?}");
}
