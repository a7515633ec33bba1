//! `landform drift`: compare the state with the real world, change nothing.
//! The state is held only while it is read (never during the provider reads),
//! so a check never blocks an apply. One check, or with `--every` a
//! long-lived checker (`checker.rs`).

use crate::{print_diagnostics, run, ui, CommonArgs};
use clap::{Args, ValueEnum};
use landform_engine::drift::{DriftRules, IgnoreRule};
use landform_engine::refresh::RefreshProgress;
use landform_engine::render::drift::DriftReport;
use landform_engine::Providers;
use landform_state::Locker;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args)]
pub struct DriftArgs {
    /// The configuration directory (default: the current directory).
    pub dir: Option<PathBuf>,
    /// Print the report as JSON (same as --format json).
    #[arg(long)]
    pub json: bool,
    /// How to print the report.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Do not report this resource, instance or module, or one attribute of
    /// it (e.g. local_file.page.content). Repeatable; see also .landformignore.
    #[arg(long = "ignore", value_name = "ADDR[.ATTR]")]
    pub ignore: Vec<String>,
    /// Keep running: check now, then every DURATION (e.g. 15m), with jitter.
    #[arg(long, value_name = "DURATION", value_parser = crate::parse_duration)]
    pub every: Option<Duration>,
    /// With --every: serve Prometheus metrics at http://ADDR/metrics.
    #[arg(long, value_name = "HOST:PORT", requires = "every")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// With --every: POST a JSON message (with a `text` field, for Slack-style
    /// webhooks) to URL whenever drift appears, changes or is resolved.
    #[arg(long, value_name = "URL", env = "LANDFORM_DRIFT_WEBHOOK", hide_env_values = true)]
    pub notify: Option<String>,
    /// No progress bar, even on a terminal.
    #[arg(long)]
    pub no_progress: bool,
    /// At most N objects read at once.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub parallelism: usize,
    /// Variables, as plan takes them (provider settings often come from them).
    #[command(flatten)]
    pub vars: crate::VarArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Markdown,
    Json,
}

/// Why a check produced no report.
pub enum CheckError {
    /// Another operation holds the state.
    Locked(String),
    Failed(String),
}

/// The rules for what counts as drift (the configuration's, `.landformignore`'s
/// and `--ignore`'s), and the providers as the configuration sets them up
/// (variables as plan takes them: defaults, the environment, `landform.lfvars`,
/// `--var-file` and `--var`).
pub fn rules(ignore: &[String], vars: &crate::VarArgs, color: bool) -> Result<(DriftRules, Providers), u8> {
    let mut sources = landform_lang::SourceMap::new();
    let (tree, mut diags) = landform_lang::module::load_tree(&crate::inputs::DiskFs, ".", &mut sources);
    let (inputs, mut d) = crate::inputs::collect(
        vars,
        std::path::Path::new("."),
        tree.module.variables.iter().any(|v| v.sensitive),
        &mut sources,
    );
    diags.append(&mut d);
    if diags.iter().any(|d| d.is_error()) {
        print_diagnostics(&diags, &sources, color);
        return Err(1);
    }
    // A variable without a value matters only where a provider setting uses
    // it (providers_for says so); the state has what the resources were made
    // with. A value given that its variable refuses is an error, as in plan.
    let (checked, d) = landform_lang::check::check_tree(&tree, &inputs, &crate::inputs::DiskHost::plan());
    let refused: Vec<_> =
        d.into_iter().filter(|d| d.is_error() && d.summary != "No value for required variable").collect();
    if !refused.is_empty() {
        print_diagnostics(&refused, &sources, color);
        return Err(1);
    }
    let providers = run::providers_for(&tree, &checked.vars).map_err(|d| {
        print_diagnostics(&d, &sources, color);
        1u8
    })?;
    let mut rules = DriftRules::from_config(&tree);
    let fail = |e: String| {
        crate::errln!("{}", ui::error_line(&e, color));
        1
    };
    for r in run::ignore_file().map_err(fail)? {
        rules.ignore(r);
    }
    for i in ignore {
        rules.ignore(IgnoreRule::parse(i).map_err(|e| fail(format!("invalid --ignore: {e}")))?);
    }
    Ok((rules, providers))
}

/// One check: hold the state while reading it, then read every object.
pub fn check(
    common: &CommonArgs,
    providers: &Providers,
    rules: &DriftRules,
    wait: Duration,
    parallelism: usize,
    progress: &dyn RefreshProgress,
) -> Result<DriftReport, CheckError> {
    let snapshot = read_state(common, wait)?;
    Ok(check_state(common, &snapshot, providers, rules, parallelism, progress))
}

/// The state a check compares, read while its lock is held (PostgreSQL:
/// reads need no lock, and run while an apply holds it).
fn read_state(common: &CommonArgs, wait: Duration) -> Result<landform_state::Snapshot, CheckError> {
    let dir = run::state_dir(common);
    let crypt = run::crypt(common).map_err(CheckError::Failed)?;
    let pg = run::pg_target(common)
        .map(|t| {
            t.and_then(|t| {
                landform_state::PgStore::open(&t, &common.workspace, &crypt).map(|(_, s)| s).map_err(|e| e.to_string())
            })
        })
        .transpose()
        .map_err(CheckError::Failed)?;
    if let Some(snapshot) = pg {
        return Ok(snapshot);
    }
    let locker = landform_state::FileLocker { dir: dir.clone(), workspace: common.workspace.clone() };
    let _lock = locker.lock("drift", wait).map_err(|e| match e {
        landform_state::LockError::Held(_) => CheckError::Locked(e.to_string()),
        other => CheckError::Failed(other.to_string()),
    })?;
    landform_state::read_snapshot(&dir, &common.workspace, &crypt).map_err(|e| CheckError::Failed(e.to_string()))
}

/// Read every object of a state read and tell how it drifted.
fn check_state(
    common: &CommonArgs,
    snapshot: &landform_state::Snapshot,
    providers: &Providers,
    rules: &DriftRules,
    parallelism: usize,
    progress: &dyn RefreshProgress,
) -> DriftReport {
    let refreshed = landform_engine::refresh::refresh(providers, snapshot, rules, true, parallelism, progress);
    // Each error by the address it is about (a provider's warnings are not errors).
    let errors = refreshed
        .diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            let s = &d.summary;
            let addr = s
                .strip_prefix("Error refreshing ")
                .or_else(|| s.strip_prefix("Error upgrading "))
                .or_else(|| s.rsplit_once(": ").map(|(_, a)| a))
                .unwrap_or(s);
            (addr.to_string(), d.detail.clone())
        })
        .collect();
    DriftReport {
        workspace: common.workspace.clone(),
        checked_at: landform_state::now_rfc3339(),
        checked: snapshot.resources.iter().filter(|r| r.mode == "managed").count(),
        resources: refreshed.drift,
        errors,
        rollouts: snapshot.rollouts.clone(),
    }
}

pub fn run(common: &CommonArgs, args: DriftArgs, color: bool) -> u8 {
    let format = if args.json { Format::Json } else { args.format };
    // A one-off check reads the state while the configuration loads: neither
    // needs the other, and each is a good part of the time a check takes.
    let (loaded, read) = std::thread::scope(|s| {
        // Only when taking the lock never waits: a configuration error is
        // told at once, not after a --lock-timeout spent behind an apply.
        let together = args.every.is_none() && common.lock_timeout.is_zero();
        let read = together.then(|| s.spawn(|| read_state(common, common.lock_timeout)));
        let loaded = rules(&args.ignore, &args.vars, color);
        let read =
            read.map(|h| h.join().unwrap_or_else(|_| Err(CheckError::Failed("the state could not be read".into()))));
        (loaded, read)
    });
    let (rules, providers) = match loaded {
        Ok(r) => r,
        Err(code) => return code,
    };
    if let Some(every) = args.every {
        if every < Duration::from_secs(1) {
            crate::errln!("{}", ui::error_line("--every must be at least 1s", color));
            return 1;
        }
        let opts = crate::checker::Options {
            every,
            metrics_addr: args.metrics_addr,
            notify: args.notify,
            format,
            color,
            parallelism: args.parallelism,
        };
        return crate::checker::serve(common, &providers, &rules, opts);
    }
    // A quiet command: a bar on a terminal, nothing per object otherwise.
    if args.notify.is_some() && std::env::var_os("LANDFORM_DRIFT_WEBHOOK").is_none() {
        crate::errln!(
            "{}",
            ui::error_line("--notify needs --every: a one-off check reports by its exit code and output", color)
        );
        return 1;
    }
    let progress =
        crate::progress::Refresh::bar_or(args.no_progress || format != Format::Text, crate::progress::Refresh::Quiet);
    let read = read.unwrap_or_else(|| read_state(common, common.lock_timeout));
    let report = match read.map(|snap| check_state(common, &snap, &providers, &rules, args.parallelism, &progress)) {
        Ok(r) => r,
        Err(CheckError::Locked(m) | CheckError::Failed(m)) => {
            drop(progress);
            crate::errln!("{}", ui::error_line(&m, color));
            return 1;
        }
    };
    drop(progress);
    print_report(&report, format, color);
    exit_code(&report)
}

pub fn print_report(report: &DriftReport, format: Format, color: bool) {
    match format {
        Format::Json => crate::outln!("{}", serde_json::to_string_pretty(&report.json()).unwrap_or_default()),
        Format::Markdown => crate::out!("{}", report.markdown()),
        Format::Text => {
            crate::out!("{}", report.text(&run::colors(color)));
            for (addr, e) in &report.errors {
                crate::errln!("{}", ui::error_line(&format!("{addr}: cannot be read: {e}"), color));
            }
        }
    }
}

/// 0 no drift, 2 drift, 1 when an object could not be read.
pub fn exit_code(report: &DriftReport) -> u8 {
    if !report.errors.is_empty() {
        1
    } else if report.resources.is_empty() {
        0
    } else {
        2
    }
}
