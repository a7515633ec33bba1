//! A plan as markdown for a pull request comment: a hidden marker (so one
//! comment per directory and workspace is found and updated), the summary
//! line, a warning for what is destroyed or replaced, a table by action, one
//! collapsible diff per resource and the drift the plan found — shortened
//! resource by resource to stay under the forge's comment limit, never cut
//! inside a block.

use crate::plan::{Action, Plan, ResourceChange};
use crate::render::{drift::render_resource_drift, render_change, Colors};
use std::fmt::Write;

/// GitHub's limit on a comment's body, in characters.
pub const GITHUB_LIMIT: usize = 65_536;
/// GitLab's limit on a note's body, in characters.
pub const GITLAB_LIMIT: usize = 1_000_000;

/// What the markdown says about where the plan comes from.
pub struct Context<'a> {
    pub workspace: &'a str,
    /// The configuration directory, as the repository knows it (`.` for the root).
    pub dir: &'a str,
    /// SHA-256 of the saved plan, for `apply --expect-hash`.
    pub hash: Option<&'a str>,
    /// At most this many characters.
    pub limit: usize,
}

/// The hidden marker a comment is found by: one per kind, directory and workspace.
pub fn marker(kind: &str, workspace: &str, dir: &str) -> String {
    format!("<!-- landform:{kind} workspace={} dir={} -->", clean(workspace), clean(dir))
}

/// Text safe inside an HTML comment and a code span.
fn clean(s: &str) -> String {
    s.replace("--", "- -").replace(['`', '\n', '\r', '>'], "_")
}

/// The summary line, byte for byte as the text plan prints it.
pub fn summary_line(plan: &Plan) -> String {
    if !plan.has_changes() {
        return "No changes. Your infrastructure matches the configuration.".to_string();
    }
    format!("Plan: {}", crate::render::plan_counts(plan))
}

fn verb(a: Action) -> &'static str {
    match a {
        Action::Create => "create",
        Action::Update => "update",
        Action::DeleteThenCreate | Action::CreateThenDelete => "replace",
        Action::Delete => "destroy",
        Action::Read => "read",
        Action::Forget => "forget",
        Action::NoOp => "import",
    }
}

/// A rendered change as the lines of a `diff` block: each line's symbol
/// repeated in the first column so GitHub colours it (`!` for an in-place
/// change), a fence inside a value defused.
fn diff_lines(text: &str) -> String {
    let mut body = String::new();
    for line in text.lines() {
        let t = line.trim_start();
        let indent = line.len() - t.len();
        let sym = ["-/+ ", "+/- ", "<= ", "+ ", "- ", "~ "].into_iter().find(|s| t.starts_with(s));
        let d = match sym {
            Some("+ ") | Some("<= ") => '+',
            Some("- ") => '-',
            Some(_) => '!',
            None => ' ',
        };
        let _ = writeln!(body, "{d}{}{t}", " ".repeat(indent.saturating_sub(1).max(usize::from(indent == 0))));
    }
    body.replace("```", "'''")
}

/// One resource's diff in a collapsible block.
fn details(c: &ResourceChange) -> String {
    let body = diff_lines(&render_change(c, &Colors::NONE));
    let forces = if c.replace_paths.is_empty() {
        String::new()
    } else {
        format!(
            " — replaced because of {}",
            c.replace_paths.iter().map(|p| format!("<code>{}</code>", html(p))).collect::<Vec<_>>().join(", ")
        )
    };
    format!(
        "<details><summary>{} <code>{}</code>{forces}</summary>\n\n```diff\n{body}```\n\n</details>\n",
        verb(c.action),
        html(&c.label())
    )
}

fn html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Characters, as the forges count them.
fn len(s: &str) -> usize {
    s.chars().count()
}

/// The plan as a pull request comment, at most `ctx.limit` characters.
pub fn plan_markdown(plan: &Plan, ctx: &Context) -> String {
    let shown: Vec<&ResourceChange> =
        plan.resource_changes.iter().filter(|c| c.action != Action::NoOp || c.importing.is_some()).collect();
    let head = heading(plan, ctx, &shown);
    let tail = rollouts_and_drift(plan);
    let mut foot = String::new();
    if let Some(h) = ctx.hash {
        let _ = writeln!(foot, "<sub>Plan file SHA-256 `{h}`: `landform apply --expect-hash {h} PLANFILE` applies exactly this plan.</sub>");
    }
    // Resource by resource, while the whole still fits with room for the note.
    const NOTE_ROOM: usize = 200;
    let mut budget = ctx.limit.saturating_sub(len(&head) + len(&foot) + NOTE_ROOM);
    let drift_fits = len(&tail) <= budget;
    if drift_fits {
        budget -= len(&tail);
    }
    let mut body = String::new();
    let mut left_out = 0;
    for c in &shown {
        let d = details(c);
        let n = len(&d);
        if left_out == 0 && n <= budget {
            budget -= n;
            body.push_str(&d);
        } else {
            left_out += 1;
        }
    }
    let mut out = head;
    out.push_str(&body);
    if left_out > 0 {
        let _ = writeln!(
            out,
            "\n**{left_out} resource{} not shown** (the comment would be too long); see the CI log for the full plan.\n",
            if left_out == 1 { "" } else { "s" }
        );
    } else if !body.is_empty() {
        out.push('\n');
    }
    if drift_fits {
        out.push_str(&tail);
    } else {
        let _ = writeln!(
            out,
            "Drift found during the plan is not shown (the comment would be too long); see the CI log.\n"
        );
    }
    out.push_str(&foot);
    out
}

/// The comment's head: its marker, title and summary, a warning naming what
/// it destroys or replaces, and a table of the `shown` changes by action.
fn heading(plan: &Plan, ctx: &Context, shown: &[&ResourceChange]) -> String {
    let mut head = marker("plan", ctx.workspace, ctx.dir);
    let dir = if ctx.dir.is_empty() { "." } else { ctx.dir };
    let _ = write!(head, "\n### Landform plan: `{}` in workspace `{}`\n\n", clean(dir), clean(ctx.workspace));
    let _ = writeln!(head, "{}\n", summary_line(plan));
    let dangerous: Vec<&&ResourceChange> =
        shown.iter().filter(|c| c.action == Action::Delete || c.action.is_replace()).collect();
    if !dangerous.is_empty() {
        let _ = writeln!(
            head,
            "> [!WARNING]\n> This plan destroys or replaces {} resource{}:",
            dangerous.len(),
            if dangerous.len() == 1 { "" } else { "s" }
        );
        // The list itself could be long: it is kept short, the details below have the rest.
        for c in dangerous.iter().take(20) {
            let _ = writeln!(head, "> - `{}` ({})", clean(&c.label()), verb(c.action));
        }
        if dangerous.len() > 20 {
            let _ = writeln!(head, "> - … and {} more", dangerous.len() - 20);
        }
        head.push('\n');
    }
    if !shown.is_empty() {
        head.push_str("| Action | Resources |\n|---|---|\n");
        for a in ["import", "create", "update", "replace", "destroy", "read"] {
            let n = shown.iter().filter(|c| verb(c.action) == a || (a == "import" && c.importing.is_some())).count();
            if n > 0 {
                let _ = writeln!(head, "| {a} | {n} |");
            }
        }
        head.push('\n');
    }
    head
}

/// The plan's rollouts and the drift it shows (`relevant::shown_drift`), each folded.
fn rollouts_and_drift(plan: &Plan) -> String {
    let mut tail = String::new();
    if !plan.rollouts.is_empty() {
        tail.push_str("#### Rollouts\n\n");
        for r in &plan.rollouts {
            let _ = write!(
                tail,
                "<details><summary>rollout <code>{}</code>: {} → {} on <code>{}</code></summary>\n\n```diff\n{}```\n\n</details>\n\n",
                html(&r.name),
                html(crate::rollout::pool(&r.stable)),
                html(crate::rollout::pool(&r.canary)),
                html(&r.switch),
                diff_lines(&crate::rollout::render(r, "", ""))
            );
        }
    }
    let drift = crate::relevant::shown_drift(plan);
    if !drift.is_empty() {
        let _ = writeln!(
            tail,
            "#### Objects changed outside Landform\n\n<details><summary>{} resource{} drifted</summary>\n\n```diff",
            drift.len(),
            if drift.len() == 1 { "" } else { "s" }
        );
        for d in &drift {
            tail.push_str(&diff_lines(&render_resource_drift(d, &Colors::NONE)));
        }
        tail.push_str("```\n\n</details>\n\n");
    }
    tail
}
