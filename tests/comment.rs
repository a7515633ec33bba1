//! `landform comment` and the markdown plan, on the real binary. GitHub's and
//! GitLab's REST APIs cannot be reached from here, so a local HTTP server in
//! the test plays them: it keeps comments (notes) and statuses, pages its
//! lists, and can answer 502 or 403.

mod common;

use common::{text, Fixture};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

const TOKEN: &str = "ghp_T0KEN-never-printed-4821";

#[derive(Clone, Debug)]
struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    comments: Vec<(u64, String)>,
    next_id: u64,
    requests: Vec<Request>,
    statuses: Vec<Value>,
    /// Answer this many creates with 502 first.
    fail_creates: u32,
    /// Answer this many lists with 429 and Retry-After first.
    rate_limited: u32,
    /// Bytes of an endless list sent before the client hung up.
    body_sent: u64,
    forbid: bool,
    /// With `forbid`: the message of the 403.
    forbid_message: Option<String>,
    /// How the comment list is answered.
    list: ListMode,
}

/// Ways a comment list can go wrong.
#[derive(Default, Clone, Copy, PartialEq)]
enum ListMode {
    #[default]
    Normal,
    /// The connection ends half way through the list.
    CutShort,
    /// A 200 with a page that is not JSON.
    NotJson,
    /// A 200 with JSON that is not a list.
    NotAList,
    /// Every page is the first page.
    IgnoresPage,
    /// Every page is 100 new comments.
    Endless,
    /// A body that never ends.
    EndlessBody,
    /// A redirect to another host (localhost, this port).
    RedirectTo(u16),
}

struct Forge {
    url: String,
    state: Arc<Mutex<State>>,
}

impl Forge {
    /// GitHub's or GitLab's API, as far as `landform comment` uses it.
    fn start(gitlab: bool) -> Forge {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State { next_id: 1000, ..Default::default() }));
        let s = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() || line.is_empty() {
                    continue;
                }
                let mut parts = line.split_whitespace();
                let (method, path) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
                let mut headers = Vec::new();
                loop {
                    let mut h = String::new();
                    reader.read_line(&mut h).unwrap();
                    let h = h.trim_end();
                    if h.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        headers.push((k.trim().to_string(), v.trim().to_string()));
                    }
                }
                let len = headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0; len];
                reader.read_exact(&mut body).unwrap();
                let req = Request { method, path, headers, body: String::from_utf8_lossy(&body).into_owned() };
                if odd_list(&mut s.lock().unwrap(), &req, gitlab, &mut stream) {
                    continue;
                }
                let (status, reply) = answer(&mut s.lock().unwrap(), &req, gitlab);
                let reply = reply.to_string();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                    reply.len()
                );
            }
        });
        Forge { url, state }
    }

    fn comments(&self) -> Vec<(u64, String)> {
        self.state.lock().unwrap().comments.clone()
    }

    fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }
}

/// A comment list answered as `s.list` says; false when it is answered as usual.
fn odd_list(s: &mut State, req: &Request, gitlab: bool, stream: &mut std::net::TcpStream) -> bool {
    let list =
        if gitlab { "/projects/acme%2Finfra/merge_requests/7/notes" } else { "/repos/acme/infra/issues/7/comments" };
    if req.method != "GET" || req.path.split('?').next() != Some(list) || s.list == ListMode::Normal {
        return false;
    }
    s.requests.push(req.clone());
    let page: u64 =
        req.path.split(['?', '&']).find_map(|kv| kv.strip_prefix("page=")).and_then(|v| v.parse().ok()).unwrap_or(1);
    let hundred = |from: u64| -> String {
        let items: Vec<Value> = (from..from + 100)
            .map(|id| json!({ "id": id, "body": "a review comment", "user": { "id": 2 }, "author": { "id": 2 } }))
            .collect();
        json!(items).to_string()
    };
    let head = |len: usize| {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
        )
    };
    let _ = match s.list {
        ListMode::Normal => unreachable!(),
        ListMode::CutShort => {
            let body = hundred(1);
            write!(stream, "{}{}", head(body.len()), &body[..body.len() / 2])
        }
        ListMode::NotJson => {
            let body = "<html><body>Sign in</body></html>";
            write!(stream, "{}{body}", head(body.len()))
        }
        ListMode::NotAList => {
            let body = json!({ "comments": [] }).to_string();
            write!(stream, "{}{body}", head(body.len()))
        }
        ListMode::IgnoresPage => {
            let body = hundred(1);
            write!(stream, "{}{body}", head(body.len()))
        }
        ListMode::Endless => {
            let body = hundred(page * 100);
            write!(stream, "{}{body}", head(body.len()))
        }
        ListMode::EndlessBody => {
            let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n[");
            let chunk = format!("{},", json!({ "id": 1, "body": "x".repeat(4000) })).repeat(256);
            let mut sent = 0u64;
            // At most 1 GiB; the client should hang up long before.
            while sent < 1 << 30 && stream.write_all(chunk.as_bytes()).is_ok() {
                sent += chunk.len() as u64;
            }
            s.body_sent = sent;
            Ok(())
        }
        ListMode::RedirectTo(port) => write!(
            stream,
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://localhost:{port}{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            req.path
        ),
    };
    true
}

fn answer(s: &mut State, req: &Request, gitlab: bool) -> (&'static str, Value) {
    s.requests.push(req.clone());
    if s.forbid {
        // A message of its own comes as a bare string, as a proxy in front might answer.
        return match s.forbid_message.clone() {
            Some(m) => ("403 Forbidden", Value::String(m)),
            None => ("403 Forbidden", json!({ "message": "Resource not accessible by integration" })),
        };
    }
    let (path, query) = req.path.split_once('?').unwrap_or((&req.path, ""));
    let list =
        if gitlab { "/projects/acme%2Finfra/merge_requests/7/notes" } else { "/repos/acme/infra/issues/7/comments" };
    let one =
        if gitlab { "/projects/acme%2Finfra/merge_requests/7/notes/" } else { "/repos/acme/infra/issues/comments/" };
    let statuses = if gitlab { "/projects/acme%2Finfra/statuses/" } else { "/repos/acme/infra/statuses/" };
    let body: Value = serde_json::from_str(&req.body).unwrap_or(Value::Null);
    match (req.method.as_str(), path) {
        // The token's user: id 1. Comments made through the API are its.
        ("GET", "/user") => ("200 OK", json!({ "id": 1, "login": "landform-bot", "username": "landform-bot" })),
        ("GET", p) if p == list && s.rate_limited > 0 => {
            s.rate_limited -= 1;
            ("429 Too Many Requests\r\nRetry-After: 1", json!({ "message": "API rate limit exceeded" }))
        }
        ("GET", p) if p == list => {
            let page: usize =
                query.split('&').find_map(|kv| kv.strip_prefix("page=")).and_then(|v| v.parse().ok()).unwrap_or(1);
            let per: usize =
                query.split('&').find_map(|kv| kv.strip_prefix("per_page=")).and_then(|v| v.parse().ok()).unwrap_or(30);
            let items: Vec<Value> = s
                .comments
                .iter()
                .skip((page - 1) * per)
                .take(per)
                .map(|(id, b)| {
                    let author = json!({ "id": if *id >= 1000 { 1 } else { 2 } });
                    json!({ "id": id, "body": b, "user": author, "author": author })
                })
                .collect();
            ("200 OK", json!(items))
        }
        ("POST", p) if p == list => {
            if s.fail_creates > 0 {
                s.fail_creates -= 1;
                return ("502 Bad Gateway", json!({ "message": "Server Error" }));
            }
            s.next_id += 1;
            let id = s.next_id;
            s.comments.push((id, body["body"].as_str().unwrap_or_default().to_string()));
            ("201 Created", json!({ "id": id }))
        }
        (m, p) if (m == "PATCH" || m == "PUT") && p.starts_with(one) => {
            let id: u64 = p[one.len()..].parse().unwrap_or(0);
            match s.comments.iter_mut().find(|(i, _)| *i == id) {
                Some(c) => {
                    c.1 = body["body"].as_str().unwrap_or_default().to_string();
                    ("200 OK", json!({ "id": id }))
                }
                None => ("404 Not Found", json!({ "message": "Not Found" })),
            }
        }
        ("POST", p) if p.starts_with(statuses) => {
            s.statuses.push(json!({ "sha": &p[statuses.len()..], "body": body }));
            ("201 Created", json!({}))
        }
        _ => ("404 Not Found", json!({ "message": "Not Found" })),
    }
}

const CONFIG: &str = r#"
variable "pages" {
  default = ["home", "about"]
}
resource "local_file" "page" {
  for_each = toset(var.pages)
  path     = "out/${each.key}.html"
  content  = "<h1>${each.key}</h1>"
}
"#;

fn comment(f: &Fixture, forge: &Forge, gitlab: bool, args: &[&str]) -> std::process::Output {
    let mut c = f.cmd(&[&["comment", "--repo", "acme/infra", "--pr", "7"], args].concat());
    c.env_remove("GITHUB_TOKEN").env_remove("GITLAB_TOKEN").env_remove("CI_SERVER_URL").env_remove("CI_API_V4_URL");
    if gitlab {
        c.env("GITLAB_TOKEN", TOKEN).env("GITLAB_API_URL", &forge.url);
    } else {
        c.env("GITHUB_TOKEN", TOKEN).env("GITHUB_API_URL", &forge.url);
    }
    let out = c.output().unwrap();
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!all.contains(TOKEN), "the token was printed:\n{all}");
    out
}

fn writes(forge: &Forge) -> usize {
    forge.requests().iter().filter(|r| r.method != "GET").count()
}

#[test]
fn one_comment_per_pull_request_is_created_then_updated_and_never_repeated() {
    let f = Fixture::new("comment-github", CONFIG);
    f.ok(&["plan", "--out", "p.plan"]);
    let forge = Forge::start(false);
    {
        // Someone else's 150 comments: ours must be found on any page.
        let mut s = forge.state.lock().unwrap();
        for i in 0..150 {
            s.comments.push((i, format!("a review comment {i}")));
        }
        s.fail_creates = 1;
    }
    let out = comment(&f, &forge, false, &["--plan", "p.plan", "--sha", "abc123"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("posted comment"), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("502"), "the 502 was retried and said: {}", text(&out.stderr));
    let ours: Vec<(u64, String)> =
        forge.comments().into_iter().filter(|(_, b)| b.starts_with("<!-- landform:plan")).collect();
    assert_eq!(ours.len(), 1);
    let body = &ours[0].1;
    assert!(body.starts_with("<!-- landform:plan workspace=default dir=. -->"), "{body}");
    assert!(body.contains("\nPlan: 2 to add, 0 to change, 0 to destroy.\n"), "{body}");
    assert!(body.contains("<details><summary>create <code>local_file.page[\"about\"]</code></summary>"), "{body}");
    let hash = landform_hash(&f.path("p.plan"));
    assert!(body.contains(&format!("--expect-hash {hash}")), "{body}");
    // The headers GitHub asks for.
    let post = forge.requests().into_iter().find(|r| r.method == "POST" && r.path.ends_with("/comments")).unwrap();
    assert_eq!(post.header("authorization"), Some(format!("Bearer {TOKEN}").as_str()));
    assert_eq!(post.header("accept"), Some("application/vnd.github+json"));
    assert_eq!(post.header("x-github-api-version"), Some("2022-11-28"));
    assert!(post.header("user-agent").is_some_and(|u| u.starts_with("landform/")));
    let statuses = forge.state.lock().unwrap().statuses.clone();
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0]["sha"], "abc123");
    assert_eq!(statuses[0]["body"]["context"], "landform/plan");
    assert_eq!(statuses[0]["body"]["state"], "success");
    assert_eq!(statuses[0]["body"]["description"], "Plan: 2 to add, 0 to change, 0 to destroy.");

    // The same plan again: found (on the second page), unchanged, nothing sent.
    let before = writes(&forge);
    let out = comment(&f, &forge, false, &["--plan", "p.plan"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("unchanged: nothing sent"), "{}", text(&out.stdout));
    assert_eq!(writes(&forge), before, "an unchanged body sends nothing");
    assert!(forge.requests().iter().any(|r| r.path.contains("page=2")), "the second page was read");

    // A new plan: the same comment, updated in place.
    f.write(&CONFIG.replace("[\"home\", \"about\"]", "[\"home\"]"));
    f.ok(&["apply", "--auto-approve"]);
    f.write(CONFIG);
    f.ok(&["plan", "--out", "p.plan"]);
    let out = comment(&f, &forge, false, &["--plan", "p.plan"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains(&format!("updated comment {}", ours[0].0)), "{}", text(&out.stdout));
    let ours: Vec<(u64, String)> =
        forge.comments().into_iter().filter(|(_, b)| b.starts_with("<!-- landform:plan")).collect();
    assert_eq!(ours.len(), 1, "still one comment");
    assert!(ours[0].1.contains("Plan: 1 to add, 0 to change, 0 to destroy."), "{}", ours[0].1);

    // A token that may not write: a clear error, exit 1.
    forge.state.lock().unwrap().forbid = true;
    let out = comment(&f, &forge, false, &["--plan", "p.plan"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("403") && err.contains("pull-requests: write"), "{err}");
}

/// The plan file's SHA-256, as sha256sum computes it.
fn landform_hash(p: &std::path::Path) -> String {
    let out = std::process::Command::new("sha256sum").arg(p).output().unwrap();
    text(&out.stdout).split_whitespace().next().unwrap().to_string()
}

#[test]
fn the_same_flow_works_on_gitlab() {
    let f = Fixture::new("comment-gitlab", CONFIG);
    f.ok(&["plan", "--out", "p.plan"]);
    let forge = Forge::start(true);
    let out = comment(&f, &forge, true, &["--plan", "p.plan", "--sha", "def456"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let post = forge.requests().into_iter().find(|r| r.method == "POST" && r.path.ends_with("/notes")).unwrap();
    assert_eq!(post.header("private-token"), Some(TOKEN));
    assert_eq!(forge.comments().len(), 1);
    let out = comment(&f, &forge, true, &["--plan", "p.plan"]);
    assert!(text(&out.stdout).contains("unchanged: nothing sent"), "{}", text(&out.stdout));
    // A drift report is a comment of its own too; a rate limit is waited out as GitLab asks.
    forge.state.lock().unwrap().rate_limited = 1;
    let started = std::time::Instant::now();
    std::fs::write(f.path("drift.md"), "### Landform drift\n\nNo drift.\n").unwrap();
    let out = comment(&f, &forge, true, &["--drift-report", "drift.md"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(started.elapsed() >= std::time::Duration::from_secs(1), "Retry-After: 1 was honoured");
    assert!(text(&out.stderr).contains("429"), "{}", text(&out.stderr));
    assert!(forge.comments().iter().any(|(_, b)| b.starts_with("<!-- landform:drift workspace=default dir=. -->")));
    assert_eq!(forge.comments().len(), 2);
    std::fs::write(f.path("extra.md"), "hello").unwrap();
    // Another kind of comment is another comment.
    let out = comment(&f, &forge, true, &["--body-file", "extra.md"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(forge.comments().len(), 3);
    f.write(&CONFIG.replace("\"about\"", "\"contact\""));
    f.ok(&["plan", "--out", "p.plan"]);
    let out = comment(&f, &forge, true, &["--plan", "p.plan"]);
    assert!(text(&out.stdout).contains("updated comment"), "{}", text(&out.stdout));
    assert!(forge.requests().iter().any(|r| r.method == "PUT"), "GitLab notes are updated with PUT");
    let statuses = forge.state.lock().unwrap().statuses.clone();
    assert_eq!(statuses[0]["body"]["name"], "landform/plan");
    assert_eq!(statuses[0]["body"]["state"], "success");
}

#[test]
fn a_reviewed_plan_is_applied_only_with_its_hash() {
    let f = Fixture::new("expect-hash", CONFIG);
    f.ok(&["plan", "--out", "p.plan"]);
    let json: Value = serde_json::from_str(&f.ok(&["show", "p.plan", "--json"])).unwrap();
    let hash = json["plan_hash"].as_str().unwrap().to_string();
    assert_eq!(hash, landform_hash(&f.path("p.plan")));
    let md = f.ok(&["show", "p.plan", "--format", "markdown"]);
    assert!(md.contains(&hash), "{md}");
    let out = f.run(&["apply", "--expect-hash", &"0".repeat(64), "p.plan"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not the plan that was reviewed"), "{}", text(&out.stderr));
    assert!(!f.path("out/home.html").exists(), "nothing was applied");
    f.ok(&["apply", "--expect-hash", &hash, "p.plan"]);
    assert!(f.path("out/home.html").exists());
}

#[test]
fn a_huge_plan_stays_under_githubs_limit_and_says_what_it_left_out() {
    let f = Fixture::new(
        "markdown-huge",
        "resource \"landform_data\" \"n\" {\n  count = 3000\n  input = \"a value long enough to take some room in the comment ${count.index}\"\n}\n",
    );
    let md = f.ok(&["plan", "--format", "markdown"]);
    assert!(md.chars().count() <= 65_536, "{} characters", md.chars().count());
    assert!(md.contains("Plan: 3000 to add, 0 to change, 0 to destroy."));
    let note = md.lines().find(|l| l.contains("resources not shown")).expect("the not-shown note");
    let shown = md.matches("<details>").count();
    assert!(note.contains(&format!("**{} resources not shown**", 3000 - shown)), "{note}");
    assert_eq!(md.matches("<details>").count(), md.matches("</details>").count(), "every details closed");
    assert_eq!(md.matches("```").count() % 2, 0, "every code fence closed");
    // Drift and multi-byte text: shown in their own section, never cut.
    let g = Fixture::new(
        "markdown-drift",
        "resource \"local_file\" \"p\" {\n  path    = \"out/p.txt\"\n  content = \"héllo ✓\"\n}\n",
    );
    g.ok(&["apply", "--auto-approve"]);
    std::fs::write(g.path("out/p.txt"), "changed by hand ✗").unwrap();
    // Nothing depends on the file, so a plan just puts it back (Terraform's
    // rule); a refresh-only plan shows the drift in its own section.
    let md = g.ok(&["plan", "--format", "markdown"]);
    assert!(!md.contains("#### Objects changed outside Landform"), "{md}");
    let md = g.ok(&["plan", "--refresh-only", "--format", "markdown"]);
    assert!(md.contains("#### Objects changed outside Landform"), "{md}");
    assert!(md.contains("changed by hand ✗"), "{md}");
    golden("drift.md", &md);
}

/// Compare with tests/data/markdown/NAME, the plan hash (which covers the
/// state's lineage) normalised; `UPDATE_EXPECT=1` rewrites it.
fn golden(name: &str, md: &str) {
    let mut out = String::new();
    for word in md.split_inclusive([' ', '`', '\n']) {
        let w = word.trim_end_matches([' ', '`', '\n']);
        if w.len() == 64 && w.chars().all(|c| c.is_ascii_hexdigit()) {
            out.push_str(&word.replacen(w, "(hash)", 1));
        } else {
            out.push_str(word);
        }
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/markdown").join(name);
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&path, &out).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(expected == out, "{} differs (UPDATE_EXPECT=1 rewrites it):\n{out}", path.display());
}

#[test]
fn a_comment_list_that_is_cut_short_not_json_unpaged_or_endless_is_an_error_and_nothing_is_posted() {
    let f = Fixture::new("comment-bad-lists", CONFIG);
    f.ok(&["plan", "--out", "p.plan"]);
    for (gitlab, mode, says) in [
        (false, ListMode::CutShort, "cut short"),
        (true, ListMode::CutShort, "cut short"),
        (false, ListMode::NotJson, "not JSON"),
        (false, ListMode::NotAList, "not a list"),
        (false, ListMode::IgnoresPage, "ignores `page`"),
        (true, ListMode::Endless, "more than 10000 comments"),
        (false, ListMode::EndlessBody, "larger than"),
    ] {
        let forge = Forge::start(gitlab);
        forge.state.lock().unwrap().list = mode;
        let started = std::time::Instant::now();
        let out = comment(&f, &forge, gitlab, &["--plan", "p.plan"]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{says}: exit 1, not \"no comments yet\"\n{}{err}", text(&out.stdout));
        assert!(err.contains(says), "{says}: {err}");
        assert_eq!(writes(&forge), 0, "{says}: nothing was posted");
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "{says}: took {:?}", started.elapsed());
        if mode == ListMode::EndlessBody {
            let sent = forge.state.lock().unwrap().body_sent;
            assert!(sent < 256 << 20, "{} MiB of an endless answer were read", sent >> 20);
        }
    }
}

#[test]
fn a_marker_comment_written_by_another_user_is_not_ours_to_update() {
    let f = Fixture::new("comment-planted", CONFIG);
    f.ok(&["plan", "--out", "p.plan"]);
    for gitlab in [false, true] {
        let forge = Forge::start(gitlab);
        // Another user (id 2) copied our marker into a comment of theirs.
        let planted = "<!-- landform:plan workspace=default dir=. -->\nApproved, apply at will.".to_string();
        forge.state.lock().unwrap().comments.push((5, planted.clone()));
        let out = comment(&f, &forge, gitlab, &["--plan", "p.plan"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("posted comment"), "{}", text(&out.stdout));
        let comments = forge.comments();
        assert_eq!(comments[0], (5, planted), "the planted comment is untouched");
        assert_eq!(comments.len(), 2);
        assert!(forge.requests().iter().any(|r| r.method == "GET" && r.path == "/user"), "asked who the token is");
        // Ours is found again next time, and nothing is sent.
        let out = comment(&f, &forge, gitlab, &["--plan", "p.plan"]);
        assert!(text(&out.stdout).contains("unchanged: nothing sent"), "{}", text(&out.stdout));
    }
}

#[test]
fn an_error_body_is_redacted_whole_before_it_is_cut() {
    let f = Fixture::new("comment-redact-cut", CONFIG);
    f.ok(&["plan", "--out", "p.plan"]);
    // The token straddles character 300 of the message, where it is cut.
    for at in [280, 290, 299] {
        let forge = Forge::start(false);
        {
            let mut s = forge.state.lock().unwrap();
            s.forbid = true;
            s.forbid_message = Some(format!("{}{TOKEN} was refused", "x".repeat(at)));
        }
        let out = comment(&f, &forge, false, &["--plan", "p.plan"]);
        assert_eq!(out.status.code(), Some(1));
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(!all.contains(&TOKEN[..8]), "part of the token was printed:\n{all}");
    }
}

#[test]
fn credentials_do_not_follow_a_redirect_to_another_host() {
    let f = Fixture::new("comment-redirect", CONFIG);
    f.ok(&["plan", "--out", "p.plan"]);
    for gitlab in [false, true] {
        let elsewhere = Forge::start(gitlab);
        let port: u16 = elsewhere.url.rsplit(':').next().unwrap().parse().unwrap();
        let forge = Forge::start(gitlab);
        forge.state.lock().unwrap().list = ListMode::RedirectTo(port);
        let _ = comment(&f, &forge, gitlab, &["--plan", "p.plan"]);
        let there = elsewhere.requests();
        assert!(!there.is_empty(), "the redirect was followed");
        for r in &there {
            assert_eq!(r.header("private-token"), None, "{r:?}");
            assert_eq!(r.header("authorization"), None, "{r:?}");
            assert_eq!(r.header("referer"), None, "{r:?}");
        }
    }
}
