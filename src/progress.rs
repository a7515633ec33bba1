//! Apply progress: a bar and one line per resource in flight on a terminal,
//! plain line-per-event output otherwise (CI logs, --no-progress).

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use landform_engine::apply::{Event, Progress};
use landform_engine::Action;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

pub struct Plain;

fn done_line(addr: &str, action: Action, elapsed: Duration, id: &Option<String>) -> String {
    let id = id.as_ref().map(|i| format!(" [id={i}]")).unwrap_or_default();
    format!("{addr}: {} after {:.1}s{id}", action.progress_verb().1, elapsed.as_secs_f64())
}

impl Progress for Plain {
    fn event(&self, e: Event) {
        match e {
            Event::Total(_) => {}
            Event::Started { addr, action } => crate::outln!("{addr}: {}", action.progress_verb().0),
            Event::Finished { addr, action, elapsed, id } => {
                crate::outln!("{}", done_line(&addr, action, elapsed, &id))
            }
            Event::Failed { addr, action, error } => {
                crate::outln!("{addr}: {} failed: {error}", action.progress_verb().0.trim_end_matches("..."))
            }
            Event::Skipped { addr, because } => crate::outln!("{addr}: skipped, because {because} failed"),
            Event::Message(m) | Event::Live { line: m, .. } => crate::outln!("{m}"),
            Event::Rollout { .. } => {}
        }
    }
}

pub struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    lines: Mutex<HashMap<String, ProgressBar>>,
    /// Rollouts whose last step is being analysed: it counts once it passes
    /// (the next step, completion) or ends (a rollback, a gate).
    steps: Mutex<std::collections::HashSet<String>>,
}

impl Bars {
    pub fn new() -> Bars {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let overall = multi.add(ProgressBar::new(0));
        overall.set_style(
            ProgressStyle::with_template("{bar:40.green/dim} {pos}/{len} operations  {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Bars { multi, overall, lines: Mutex::new(HashMap::new()), steps: Mutex::new(Default::default()) }
    }
}

impl Progress for Bars {
    fn event(&self, e: Event) {
        match e {
            Event::Message(m) => {
                let _ = self.multi.println(landform_lang::secrets::redact(&m));
            }
            Event::Total(n) => self.overall.set_length(n as u64),
            Event::Started { addr, action } => {
                let bar = self.multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("  {spinner} {msg} {elapsed}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_message(format!("{addr}: {}", action.progress_verb().0));
                bar.enable_steady_tick(Duration::from_millis(120));
                if let Ok(mut l) = self.lines.lock() {
                    l.insert(addr, bar);
                }
            }
            Event::Finished { addr, action, elapsed, id } => {
                if let Some(bar) = self.lines.lock().ok().and_then(|mut l| l.remove(&addr)) {
                    bar.finish_and_clear();
                    self.multi.remove(&bar);
                }
                let _ = self.multi.println(landform_lang::secrets::redact(&done_line(&addr, action, elapsed, &id)));
                self.overall.inc(1);
            }
            Event::Failed { addr, action, error } => {
                if let Some(bar) = self.lines.lock().ok().and_then(|mut l| l.remove(&addr)) {
                    bar.finish_and_clear();
                    self.multi.remove(&bar);
                }
                let _ = self.multi.println(landform_lang::secrets::redact(&format!(
                    "{addr}: {} failed: {error}",
                    action.progress_verb().0.trim_end_matches("...")
                )));
                self.overall.inc(1);
            }
            Event::Skipped { addr, because } => {
                let _ = self.multi.println(format!("{addr}: skipped, because {because} failed"));
            }
            Event::Live { key, line } => {
                let Ok(mut l) = self.lines.lock() else { return };
                let bar = l.entry(key).or_insert_with(|| {
                    let bar = self.multi.add(ProgressBar::new_spinner());
                    bar.set_style(
                        ProgressStyle::with_template("  {spinner} {msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    bar.enable_steady_tick(Duration::from_millis(120));
                    bar
                });
                bar.set_message(landform_lang::secrets::redact(&line).to_string());
            }
            Event::Rollout { name, event, .. } => {
                let Ok(mut steps) = self.steps.lock() else { return };
                let settled = match event.as_str() {
                    "started" | "resumed" => false,
                    "step" => !steps.insert(name),
                    _ => steps.remove(&name),
                };
                if settled {
                    self.overall.inc(1);
                }
            }
        }
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        self.overall.finish_and_clear();
    }
}

/// Refresh progress: a bar on a terminal, else a line per object read, on
/// standard error so that machine output on standard output stays clean.
pub enum Refresh {
    Bar(ProgressBar),
    Lines,
    Quiet,
}

impl Refresh {
    /// A bar when standard error is a terminal and `--no-progress` was not
    /// given; else a line per object, as Terraform prints them.
    pub fn new(no_progress: bool) -> Refresh {
        Refresh::bar_or(no_progress, Refresh::Lines)
    }

    /// A bar on a terminal, else `otherwise`.
    pub fn bar_or(no_progress: bool, otherwise: Refresh) -> Refresh {
        if !no_progress && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("Refreshing state {bar:40.cyan/dim} {pos}/{len}  {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            Refresh::Bar(bar)
        } else {
            otherwise
        }
    }
}

impl landform_engine::refresh::RefreshProgress for Refresh {
    fn total(&self, n: usize) {
        if let Refresh::Bar(b) = self {
            b.set_length(n as u64);
        }
    }

    fn read(&self, addr: &str) {
        match self {
            Refresh::Bar(b) => b.inc(1),
            Refresh::Lines => crate::errln!("{addr}: Refreshing state..."),
            Refresh::Quiet => {}
        }
    }
}

impl Drop for Refresh {
    fn drop(&mut self) {
        if let Refresh::Bar(b) = self {
            b.finish_and_clear();
        }
    }
}
