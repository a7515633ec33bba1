//! `landform comment`: one comment per pull request (GitHub) or merge request
//! (GitLab), directory and workspace, found again by its hidden marker and
//! updated in place; nothing is sent when the body is unchanged; optionally a
//! commit status on the head commit. reqwest with rustls; 5xx and rate limits
//! are retried with backoff (honouring Retry-After and x-ratelimit-reset); the
//! token is remembered as a secret, so no output can show it.

use crate::http::{self, Request};
use crate::{run, ui, CommonArgs};
use clap::Args;
use landform_engine::render::markdown::{self, GITHUB_LIMIT, GITLAB_LIMIT};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args)]
#[command(group(clap::ArgGroup::new("body").required(true).args(["plan", "drift_report", "body_file"])))]
pub struct CommentArgs {
    /// The repository: OWNER/NAME on GitHub, the project path (GROUP/NAME) on GitLab.
    #[arg(long, value_name = "OWNER/NAME")]
    pub repo: String,
    /// The pull request's number (the merge request's IID on GitLab).
    #[arg(long, value_name = "N")]
    pub pr: u64,
    /// A plan saved by `plan --out`: its markdown is the comment.
    #[arg(long, value_name = "PLANFILE")]
    pub plan: Option<PathBuf>,
    /// A drift report written by `landform drift --format markdown`.
    #[arg(long, value_name = "FILE")]
    pub drift_report: Option<PathBuf>,
    /// Any markdown file.
    #[arg(long, value_name = "FILE")]
    pub body_file: Option<PathBuf>,
    /// Set a commit status (context landform/plan[/WORKSPACE]) on this commit: the PR's head.
    #[arg(long, value_name = "SHA")]
    pub sha: Option<String>,
    /// With --sha: the status to set (a failed plan posts its error with --body-file and --status failure).
    #[arg(long, value_enum, default_value_t = StatusState::Success, requires = "sha")]
    pub status: StatusState,
    /// Post to GitLab (also chosen when GITLAB_TOKEN or CI_SERVER_URL is set).
    #[arg(long)]
    pub gitlab: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusState {
    Success,
    Failure,
}

/// Which forge, where, and with what token.
struct Forge {
    gitlab: bool,
    api: String,
    token: String,
    client: http::Client,
}

/// The most one API answer may hold: a page of 100 comments of 64 KiB each
/// is 6.5 MiB.
const MAX_ANSWER: u64 = 32 << 20;
/// Pages of comments read at most (100 each) while looking for ours.
const MAX_PAGES: u64 = 100;

pub fn run(common: &CommonArgs, args: CommentArgs, color: bool) -> u8 {
    match comment(common, &args) {
        Ok(msg) => {
            crate::outln!("{msg}");
            0
        }
        Err(e) => {
            crate::errln!("{}", ui::error_line(&e, color));
            1
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn forge(args: &CommentArgs) -> Result<Forge, String> {
    let gitlab = args.gitlab || env("GITLAB_TOKEN").is_some() || env("CI_SERVER_URL").is_some();
    let (api, token) = if gitlab {
        let api = env("GITLAB_API_URL")
            .or_else(|| env("CI_API_V4_URL"))
            .or_else(|| env("CI_SERVER_URL").map(|s| format!("{}/api/v4", s.trim_end_matches('/'))))
            .unwrap_or_else(|| "https://gitlab.com/api/v4".into());
        let token = env("GITLAB_TOKEN").ok_or("no GitLab token: set GITLAB_TOKEN to a token with the api scope")?;
        (api, token)
    } else {
        let api = env("GITHUB_API_URL").unwrap_or_else(|| "https://api.github.com".into());
        let token = env("GITHUB_TOKEN").ok_or(
            "no GitHub token: set GITHUB_TOKEN (in GitHub Actions: env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}, with permissions pull-requests: write)",
        )?;
        (api, token)
    };
    // Never printed, whatever an error says.
    landform_lang::secrets::remember_texts([token.clone()]);
    let client = http::Client::new("comment", Duration::from_secs(60), MAX_ANSWER)?;
    Ok(Forge { gitlab, api: api.trim_end_matches('/').to_string(), token, client })
}

/// The body and its marker.
fn body(common: &CommonArgs, args: &CommentArgs, limit: usize) -> Result<(String, String), String> {
    let dir = run::comment_dir();
    let ws = &common.workspace;
    let read = |p: &PathBuf| {
        std::fs::read(p).map_err(|e| format!("cannot read {}: {}", p.display(), landform_state::files::io_words(&e)))
    };
    if let Some(p) = &args.plan {
        let bytes = read(p)?;
        let plan: landform_engine::Plan =
            serde_json::from_slice(&bytes).map_err(|e| format!("{} is not a saved plan: {e}", p.display()))?;
        let hash = landform_engine::plan::file_hash(&bytes);
        let marker = markdown::marker("plan", &plan.workspace, &dir);
        return Ok((run::plan_markdown(&plan, &hash, limit), marker));
    }
    let (kind, p) = match (&args.drift_report, &args.body_file) {
        (Some(p), _) => ("drift", p),
        (_, Some(p)) => ("comment", p),
        _ => return Err("say what to post: --plan PLANFILE, --drift-report FILE or --body-file FILE".into()),
    };
    let text = String::from_utf8_lossy(&read(p)?).into_owned();
    let marker = markdown::marker(kind, ws, &dir);
    let mut out = format!("{marker}\n{text}");
    if out.chars().count() > limit {
        let note = "\n\n**Shortened** (the comment would be too long); see the CI log for all of it.\n";
        let keep = limit.saturating_sub(note.chars().count() + 10);
        // Whole lines only, never inside a multi-byte character; an open code fence is closed.
        let mut cut = String::new();
        for line in out.lines() {
            if cut.chars().count() + line.chars().count() + 1 > keep {
                break;
            }
            cut.push_str(line);
            cut.push('\n');
        }
        if cut.matches("```").count() % 2 == 1 {
            cut.push_str("```\n");
        }
        cut.push_str(note);
        out = cut;
    }
    Ok((out, marker))
}

/// What a failed request means, in words that say what to check.
fn explain(status: StatusCode, what: &str, text: &str, f: &Forge) -> String {
    // Redacted whole before it is cut: a token across the cut would show in part.
    let message = serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v.get("message").map(|m| m.to_string().trim_matches('"').to_string()))
        .unwrap_or_else(|| text.to_string());
    let message: String = landform_lang::secrets::redact(&message).chars().take(300).collect();
    let who = if f.gitlab { "GitLab" } else { "GitHub" };
    let hint = match status.as_u16() {
        401 => format!(
            "the token was refused: check that {} is set to a valid token",
            if f.gitlab { "GITLAB_TOKEN" } else { "GITHUB_TOKEN" }
        ),
        403 => {
            if f.gitlab {
                "the token may not do this: it needs the api scope and Developer access to the project".to_string()
            } else {
                "the token may not do this: it needs pull-requests: write (and statuses: write for --sha); a token from a fork's pull request is read-only".to_string()
            }
        }
        404 => "not found: check --repo (OWNER/NAME), --pr, and that the token can see the repository".to_string(),
        422 => format!("{who} refused the request as invalid"),
        _ => format!("{who} answered {status}"),
    };
    format!("{what} failed ({status}): {hint}. {who} said: {message}")
}

/// One request, retried on 5xx and rate limits with backoff. A success must
/// answer JSON (or nothing): anything else, or an answer cut short, is an error.
fn send(
    f: &Forge,
    method: Method,
    url: &str,
    body: Option<&Value>,
    what: &str,
) -> Result<(Value, reqwest::header::HeaderMap), String> {
    let mut delay = Duration::from_millis(500);
    for attempt in 1..=5 {
        let mut req = Request::new(method.clone(), url);
        req = if f.gitlab {
            req.credential("private-token", &f.token)
        } else {
            req.bearer(&f.token)
                .header("accept", "application/vnd.github+json")
                .header("x-github-api-version", "2022-11-28")
        };
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = match f.client.send(req) {
            Ok(r) => r,
            Err(e) if attempt < 5 => {
                crate::errln!("{what}: {e}; retrying in {} ms", delay.as_millis());
                std::thread::sleep(delay);
                delay *= 2;
                continue;
            }
            Err(e) => return Err(format!("{what} failed: {e}")),
        };
        let status = resp.status();
        let headers = resp.headers().clone();
        let limited = status == StatusCode::TOO_MANY_REQUESTS
            || (status == StatusCode::FORBIDDEN
                && headers.get("x-ratelimit-remaining").and_then(|v| v.to_str().ok()) == Some("0"));
        if (status.is_server_error() || limited) && attempt < 5 {
            let wait = retry_after(&headers).unwrap_or(delay).min(Duration::from_secs(60));
            crate::errln!("{what}: {status}; retrying in {} ms", wait.as_millis());
            std::thread::sleep(wait);
            delay *= 2;
            continue;
        }
        if !status.is_success() {
            let text = resp.text().unwrap_or_default();
            return Err(explain(status, what, &text, f));
        }
        let text = resp.text().map_err(|e| format!("{what} failed: {e}"))?;
        let v = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).map_err(|_| {
                format!(
                    "{what} failed: the answer is not JSON (is GITHUB_API_URL or GITLAB_API_URL the API's address?)"
                )
            })?
        };
        return Ok((v, headers));
    }
    Err(format!("{what} failed after 5 attempts"))
}

/// How long the server asks to wait: Retry-After (seconds), or until x-ratelimit-reset.
fn retry_after(h: &reqwest::header::HeaderMap) -> Option<Duration> {
    let get = |k: &str| h.get(k).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(s) = get("retry-after") {
        return Some(Duration::from_secs(s));
    }
    let reset = get("x-ratelimit-reset")?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(reset.saturating_sub(now) + 1))
}

/// Who the token is: only a comment this user wrote is ours to update; a
/// marker copied into another user's comment is not.
enum Author {
    Id(u64),
    /// GitHub Actions' GITHUB_TOKEN may not read `/user`; what it writes is
    /// written by this bot.
    Login(&'static str),
}

impl Author {
    fn wrote(&self, comment: &Value, gitlab: bool) -> bool {
        let user = if gitlab { &comment["author"] } else { &comment["user"] };
        match self {
            Author::Id(id) => user["id"].as_u64() == Some(*id),
            Author::Login(login) => user["login"].as_str() == Some(login),
        }
    }
}

fn author(f: &Forge) -> Result<Author, String> {
    let url = format!("{}/user", f.api);
    match send(f, Method::GET, &url, None, "asking who the token belongs to") {
        Ok((v, _)) => v["id"]
            .as_u64()
            .map(Author::Id)
            .ok_or_else(|| "asking who the token belongs to failed: the answer names no user id".to_string()),
        Err(e) if !f.gitlab && e.contains("(403 Forbidden)") => Ok(Author::Login("github-actions[bot]")),
        Err(e) => Err(e),
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn comment(common: &CommonArgs, args: &CommentArgs) -> Result<String, String> {
    let f = forge(args)?;
    if !f.gitlab && args.repo.split('/').count() != 2 {
        return Err(format!("--repo {} is not OWNER/NAME", args.repo));
    }
    let (text, marker) = body(common, args, if f.gitlab { GITLAB_LIMIT } else { GITHUB_LIMIT })?;
    let (list, one, create) = if f.gitlab {
        let base = format!("{}/projects/{}/merge_requests/{}/notes", f.api, encode(&args.repo), args.pr);
        (base.clone(), format!("{base}/"), base)
    } else {
        (
            format!("{}/repos/{}/issues/{}/comments", f.api, args.repo, args.pr),
            format!("{}/repos/{}/issues/comments/", f.api, args.repo),
            format!("{}/repos/{}/issues/{}/comments", f.api, args.repo, args.pr),
        )
    };
    let me = author(&f)?;
    // Our earlier comment, through every page: a list that is not a list, a
    // server that ignores `page` or a list without end is an error, never
    // "no comment yet" (which would post a second one).
    let mut found: Option<(u64, String)> = None;
    let mut previous: Option<Vec<Value>> = None;
    for page in 1..=MAX_PAGES + 1 {
        if page > MAX_PAGES {
            return Err(format!(
                "listing the comments failed: more than {} comments; the API may be ignoring `page`",
                MAX_PAGES * 100
            ));
        }
        let url = format!("{list}?per_page=100&page={page}");
        let (v, _) = send(&f, Method::GET, &url, None, "listing the comments")?;
        let Some(items) = v.as_array() else {
            return Err("listing the comments failed: the answer is not a list of comments".into());
        };
        let ids: Vec<Value> = items.iter().map(|c| c["id"].clone()).collect();
        if !items.is_empty() && previous.as_ref() == Some(&ids) {
            return Err(format!(
                "listing the comments failed: page {page} is page {} again: the API ignores `page`",
                page - 1
            ));
        }
        for c in items {
            let b = c["body"].as_str().unwrap_or_default();
            if b.starts_with(&marker) && me.wrote(c, f.gitlab) {
                found = c["id"].as_u64().map(|id| (id, b.to_string()));
            }
        }
        if found.is_some() || items.len() < 100 {
            break;
        }
        previous = Some(ids);
    }
    let what = match &found {
        Some((_, old)) if *old == text => "unchanged: nothing sent".to_string(),
        Some((id, _)) => {
            let m = if f.gitlab { Method::PUT } else { Method::PATCH };
            send(&f, m, &format!("{one}{id}"), Some(&json!({ "body": text })), "updating the comment")?;
            format!("updated comment {id}")
        }
        None => {
            let (v, _) = send(&f, Method::POST, &create, Some(&json!({ "body": text })), "posting the comment")?;
            format!("posted comment {}", v["id"].as_u64().map(|i| i.to_string()).unwrap_or_default())
        }
    };
    let mut msg = format!("{} #{}: {what}", args.repo, args.pr);
    if let Some(sha) = &args.sha {
        let summary =
            text.lines().find(|l| l.starts_with("Plan: ") || l.starts_with("No changes.")).unwrap_or("Landform");
        let context = if common.workspace == "default" {
            "landform/plan".to_string()
        } else {
            format!("landform/plan/{}", common.workspace)
        };
        let description: String = summary.chars().take(140).collect();
        let failed = args.status == StatusState::Failure;
        if f.gitlab {
            let url = format!("{}/projects/{}/statuses/{sha}", f.api, encode(&args.repo));
            let state = if failed { "failed" } else { "success" };
            let body = json!({ "state": state, "name": context, "description": description });
            send(&f, Method::POST, &url, Some(&body), "setting the commit status")?;
        } else {
            let url = format!("{}/repos/{}/statuses/{sha}", f.api, args.repo);
            let state = if failed { "failure" } else { "success" };
            let body = json!({ "state": state, "context": context, "description": description });
            send(&f, Method::POST, &url, Some(&body), "setting the commit status")?;
        }
        msg.push_str(&format!("; status {context} set on {sha}"));
    }
    Ok(msg)
}
