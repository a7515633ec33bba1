//! The `landform` command: parse flags, call the libraries, render, exit.

mod analysis;
mod checker;
mod cli_config;
mod comment;
mod console;
mod drift_cmd;
mod http;
mod init;
mod inputs;
mod notify;
mod plugins;
mod progress;
mod provider_install;
mod provider_lock;
mod provider_network_mirror;
mod provider_registry;
mod rollout_cmd;
mod run;
mod signals;
mod state_cmd;
mod state_open;
mod test_cmd;
mod ui;
mod workspace_cmd;

use clap::{Args, Parser, Subcommand};
use landform_lang::check::{Input, InputValue};
use landform_lang::diag::{self, Diagnostic};
use landform_lang::SourceMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

// Parsing and planning allocate many small values; mimalloc makes that about
// twice as cheap as the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "landform",
    version,
    about = "Infrastructure as code with zero-downtime rollouts built into the language"
)]
struct Cli {
    /// Switch to DIR before doing anything else.
    #[arg(short = 'C', long = "chdir", global = true, value_name = "DIR")]
    chdir: Option<PathBuf>,
    /// Never colour the output (also: the NO_COLOR environment variable).
    #[arg(long, global = true)]
    no_color: bool,
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    command: Command,
}

/// Where the state is and how to lock it; global, so they go before or after the command.
#[derive(Args, Clone)]
pub struct CommonArgs {
    /// The state directory (default: .landform/state beside the configuration).
    #[arg(long, global = true, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Keep the state in PostgreSQL instead (postgres://USER@HOST:PORT/DB,
    /// `?schema=NAME` for a schema other than `landform`): one state and one
    /// lock for a team. Never printed.
    #[arg(long, global = true, value_name = "URL", env = "LANDFORM_BACKEND_URL", hide_env_values = true)]
    pub backend_url: Option<String>,
    /// Encrypt the state at rest (AES-256-GCM) with the key in this file: 64
    /// hex digits or base64 of 32 bytes. `LANDFORM_STATE_KEY` may hold the key itself.
    #[arg(long, global = true, value_name = "FILE", env = "LANDFORM_STATE_KEY_FILE")]
    pub state_key_file: Option<PathBuf>,
    /// The workspace: a separate state for each environment (dev, staging, prod).
    /// Default: the one `landform workspace select` chose, else "default".
    #[arg(long = "workspace", global = true, env = "LANDFORM_WORKSPACE", value_name = "NAME")]
    workspace_arg: Option<String>,
    /// The workspace in use, resolved from the flag, the selection and the default.
    #[arg(skip)]
    pub workspace: String,
    /// How long to wait for a state lock held by another operation (e.g. 30s).
    #[arg(long, global = true, value_name = "DURATION", default_value = "0s", value_parser = parse_duration)]
    pub lock_timeout: std::time::Duration,
}

pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    landform_lang::parse::parse_duration(s)
        .map(std::time::Duration::from_millis)
        .map_err(|e| format!("\"{s}\" is not a duration ({e}); write e.g. 30s or 2m"))
}

#[derive(Subcommand)]
enum Command {
    /// Show what apply would change.
    Plan(PlanCmd),
    /// Make the changes: from a fresh plan (after confirmation) or a saved plan file.
    Apply(ApplyCmd),
    /// Destroy every resource this configuration manages.
    Destroy(DestroyCmd),
    /// Download the modules that are not local paths (registry, git, .tar.gz)
    /// into .landform/modules and record what they resolved to in
    /// .landform.lock.json; run again to check, with -upgrade to take newer versions.
    Init {
        /// Take the newest versions the constraints allow, not the locked ones.
        #[arg(long)]
        upgrade: bool,
    },
    /// Check that the configuration is valid, without touching any state.
    Validate(ValidateArgs),
    /// Rewrite configuration files in the canonical layout.
    Fmt(FmtArgs),
    /// Show the current state, or a saved plan.
    Show(ShowCmd),
    /// Show output values from the state.
    Output(OutputCmd),
    /// Compare the state with the real world: what changed outside Landform.
    /// Exit 0 no drift, 2 drift, 1 error.
    Drift(drift_cmd::DriftArgs),
    /// Post a plan (or a drift report, or any markdown) on a pull request:
    /// one comment per directory and workspace, updated in place; optionally
    /// a commit status. GitHub (GITHUB_TOKEN, GITHUB_API_URL) or GitLab (GITLAB_TOKEN).
    Comment(comment::CommentArgs),
    /// Bring an existing object under management: read it by its ID and save it
    /// in the state at ADDR, which the configuration must declare.
    Import {
        /// The resource instance address, e.g. aws_lb_target_group.blue or local_file.page["a"].
        addr: String,
        /// The provider's ID of the object: an ARN for AWS, a path for local_file.
        id: String,
        #[command(flatten)]
        vars: VarArgs,
    },
    /// Evaluate expressions against the configuration and the state: one per
    /// line from a terminal (an open bracket continues on the next), or every
    /// line of standard input for scripts. `exit` or Ctrl-D ends it.
    Console {
        #[command(flatten)]
        vars: VarArgs,
    },
    /// Run the tests in `*.lftest.lf` files (here and in tests/): each `run`
    /// block plans or applies against a throwaway state and checks its
    /// `assert`s; what the runs created is destroyed after. Exit 1 on a failure.
    Test {
        /// Only these test files.
        files: Vec<String>,
    },
    /// Print the dependency graph in Graphviz DOT.
    Graph {
        /// The configuration directory (default: the current directory).
        dir: Option<PathBuf>,
    },
    /// Inspect and edit the state.
    #[command(subcommand)]
    State(StateCmd),
    /// List, create, select, show and delete workspaces.
    #[command(subcommand)]
    Workspace(workspace_cmd::WorkspaceCmd),
    /// A rollout: where it stands (status), pass its gate (promote), all traffic back
    /// on its stable pool now (abort, rollback), run a stopped one again (retry).
    #[command(subcommand)]
    Rollout(rollout_cmd::RolloutCmd),
    /// Remove a state lock left behind by an operation that crashed.
    ForceUnlock {
        /// The lock ID, as the lock error shows it.
        id: String,
    },
    /// Print Landform's version (as --version does).
    Version,
}

#[derive(Args)]
struct TargetArgs {
    /// Only this resource (and what it depends on). Repeatable.
    #[arg(long = "target", value_name = "ADDR")]
    targets: Vec<String>,
    /// Replace this resource instance even if nothing forces it. Repeatable.
    #[arg(long = "replace", value_name = "ADDR")]
    replace: Vec<String>,
    /// Read the real state of each resource first (default true).
    #[arg(long, value_name = "BOOL", default_value = "true", num_args = 0..=1, default_missing_value = "true", require_equals = true, action = clap::ArgAction::Set)]
    refresh: bool,
    /// Only accept changes made outside Landform into the state; change nothing else.
    #[arg(long)]
    refresh_only: bool,
}

impl TargetArgs {
    fn into_plan(self, vars: VarArgs, destroy: bool, no_progress: bool, parallelism: usize) -> run::PlanArgs {
        run::PlanArgs {
            vars,
            targets: self.targets,
            replace: self.replace,
            refresh: self.refresh,
            destroy,
            refresh_only: self.refresh_only,
            no_progress,
            json: false,
            parallelism,
        }
    }
}

#[derive(Args)]
struct PlanCmd {
    #[command(flatten)]
    vars: VarArgs,
    #[command(flatten)]
    target: TargetArgs,
    /// Plan to destroy everything.
    #[arg(long)]
    destroy: bool,
    /// Save the plan to FILE, to apply exactly it later.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print the plan as JSON (same as --format json).
    #[arg(long)]
    json: bool,
    /// How to print the plan: text, json (terraform show -json's format) or markdown (for a pull request comment).
    #[arg(long, value_enum, default_value_t = run::PlanFormat::Text)]
    format: run::PlanFormat,
    /// Exit 0 for no changes, 2 for changes, 1 for an error.
    #[arg(long)]
    detailed_exitcode: bool,
    /// Plain line-per-object refresh output instead of a progress bar.
    #[arg(long)]
    no_progress: bool,
    /// At most N objects read at once while refreshing.
    #[arg(long, default_value_t = 10, value_name = "N", value_parser = at_least_one)]
    parallelism: usize,
}

#[derive(Args)]
struct ApplyCmd {
    /// A plan saved by `plan --out`.
    plan_file: Option<PathBuf>,
    /// Refuse the plan file unless its SHA-256 is this: the plan a review saw
    /// (the pull request comment and `plan --json` show it).
    #[arg(long, value_name = "SHA256", requires = "plan_file")]
    expect_hash: Option<String>,
    #[command(flatten)]
    vars: VarArgs,
    #[command(flatten)]
    target: TargetArgs,
    /// Destroy everything this configuration manages, as `landform destroy` does.
    #[arg(long, conflicts_with = "plan_file")]
    destroy: bool,
    #[command(flatten)]
    run: RunArgs,
}

/// How apply and destroy run.
#[derive(Args)]
struct RunArgs {
    /// Do not ask for confirmation.
    #[arg(long)]
    auto_approve: bool,
    /// At most N provider operations at once.
    #[arg(long, default_value_t = 10, value_name = "N", value_parser = at_least_one)]
    parallelism: usize,
    /// Plain line-per-event output instead of progress bars.
    #[arg(long)]
    no_progress: bool,
    /// POST a JSON message to this URL when a rollout starts, takes a step,
    /// pauses for a person, completes or rolls back (repeatable; also
    /// LANDFORM_NOTIFY). The URL is never printed.
    #[arg(long, value_name = "URL", env = "LANDFORM_NOTIFY", hide_env_values = true)]
    notify: Vec<String>,
}

#[derive(Args)]
struct DestroyCmd {
    #[command(flatten)]
    vars: VarArgs,
    /// Only this resource. Repeatable.
    #[arg(long = "target", value_name = "ADDR")]
    targets: Vec<String>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Args)]
struct ShowCmd {
    /// A saved plan file; without one, the current state.
    plan_file: Option<PathBuf>,
    /// Print it as JSON (same as --format json).
    #[arg(long)]
    json: bool,
    /// How to print it: text, json, or (a saved plan) markdown for a pull request comment.
    #[arg(long, value_enum, default_value_t = run::PlanFormat::Text)]
    format: run::PlanFormat,
}

#[derive(Args)]
struct OutputCmd {
    /// One output's name; without it, every output.
    name: Option<String>,
    /// Print as JSON (sensitive values as null).
    #[arg(long, conflicts_with = "raw")]
    json: bool,
    /// Print one string, number or bool output as it is, with no quotes or
    /// newline, for scripts (`-raw` as Terraform spells it works too).
    #[arg(long, requires = "name")]
    raw: bool,
}

#[derive(Subcommand)]
enum StateCmd {
    /// List the resource instances in the state, or those under the given addresses.
    List {
        /// Resource or module addresses to list (e.g. local_file.page, module.web).
        addrs: Vec<String>,
    },
    /// Show one resource instance's attributes.
    Show {
        /// The resource instance (e.g. local_file.page["a"]), or every instance of a resource.
        addr: String,
    },
    /// Forget resource instances without destroying them.
    Rm {
        /// Resource instances, or whole resources, to forget.
        #[arg(required = true)]
        addrs: Vec<String>,
    },
    /// Move a resource instance, or a whole resource with all its instances, to another address.
    Mv {
        /// The address it has now.
        from: String,
        /// The address it gets.
        to: String,
    },
    /// Print the state as JSON (sensitive values blanked unless --show-sensitive).
    Pull {
        #[arg(long)]
        show_sensitive: bool,
    },
    /// Replace the state with a JSON file in the format `state pull` prints.
    Push {
        file: PathBuf,
        #[arg(long)]
        force: bool,
    },
    /// Restore the last good state (kept in backup.json) over a damaged one.
    Recover,
    /// Copy every workspace, lineage and serial intact, from the state in
    /// use (sled, or --backend-url) to another backend: `--to
    /// postgres://…` or `--to sled` (the --state directory).
    Migrate {
        /// postgres://USER@HOST:PORT/DB (`?schema=NAME`), or `sled`.
        #[arg(long, value_name = "URL|sled")]
        to: String,
        /// Overwrite workspaces the target already holds.
        #[arg(long)]
        force: bool,
    },
    /// Encrypt every workspace with a new state key (read with the current one,
    /// LANDFORM_STATE_KEY or --state-key-file), or decrypt it with --decrypt.
    Rekey {
        /// The file holding the new key (64 hex digits or base64 of 32 bytes);
        /// or set LANDFORM_STATE_NEW_KEY to the key itself.
        #[arg(long, value_name = "FILE", conflicts_with = "decrypt")]
        new_key_file: Option<PathBuf>,
        /// Store the state unencrypted from now on.
        #[arg(long)]
        decrypt: bool,
    },
}

#[derive(Args, Clone, Default)]
pub struct VarArgs {
    /// Set a variable: --var 'name=value'. Repeatable; wins over everything else.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Read variables from a .lfvars file. Repeatable; later files win.
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
}

#[derive(Args)]
struct ValidateArgs {
    /// The configuration directory (default: the current directory).
    dir: Option<PathBuf>,
    /// Print the diagnostics as JSON on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    vars: VarArgs,
}

#[derive(Args)]
struct FmtArgs {
    /// A directory or file (default: the current directory).
    path: Option<PathBuf>,
    /// Change nothing; exit 1 when any file is not formatted.
    #[arg(long)]
    check: bool,
    /// Show the changes as a unified diff.
    #[arg(long)]
    diff: bool,
    /// Also format the files in subdirectories.
    #[arg(long)]
    recursive: bool,
}

fn main() -> ExitCode {
    // Input is bounded in depth (lang::parse::limits), and the walks over it
    // recurse: give them a stack with room to spare for the deepest allowed.
    let code = match std::thread::Builder::new().stack_size(256 << 20).spawn(run_main).map(|t| t.join()) {
        Ok(Ok(code)) => code,
        _ => ExitCode::from(1),
    };
    // Provider plugins live for the whole command; none outlives it.
    plugins::stop_all();
    code
}

/// The directory given with -C, for hints that must work from where the user is.
pub static CHDIR: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();

/// Terraform's single-dash long flags (`-auto-approve`, `-var`, `-chdir=DIR`)
/// as Landform's double-dash ones.
fn terraform_flags(args: impl Iterator<Item = std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    const LONG: &[&str] = &[
        "auto-approve",
        "var",
        "var-file",
        "target",
        "replace",
        "out",
        "chdir",
        "no-color",
        "json",
        "destroy",
        "refresh",
        "lock-timeout",
        "parallelism",
        "detailed-exitcode",
        "expect-hash",
        "format",
        "state",
        "workspace",
        "check",
        "diff",
        "recursive",
        "force",
        "show-sensitive",
        "no-progress",
        "raw",
        "refresh-only",
        "ignore",
        "every",
        "metrics-addr",
        "notify",
        "upgrade",
        "version",
    ];
    args.enumerate()
        .map(|(i, a)| {
            let Some(s) = a.to_str().filter(|_| i > 0) else { return a };
            let name = s.strip_prefix('-').filter(|r| !r.starts_with('-')).map(|r| r.split('=').next().unwrap_or(r));
            match name {
                Some(n) if LONG.contains(&n) => format!("-{s}").into(),
                _ => a,
            }
        })
        .collect()
}

/// A workspace name: letters, digits, `-` and `_`, as a directory name it is safe.
pub(crate) fn check_workspace_name(name: &str) -> Result<(), String> {
    if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        Ok(())
    } else {
        Err(format!("\"{name}\" is not a valid workspace name: use letters, digits, - and _"))
    }
}

/// A flag given twice is the last one given (`--no-color` from a wrapper
/// and again by hand), as Terraform's flags are, not a usage error; on every
/// subcommand.
fn overriding_self(cmd: clap::Command) -> clap::Command {
    cmd.args_override_self(true).mut_subcommands(overriding_self)
}

fn run_main() -> ExitCode {
    let parsed = {
        use clap::{CommandFactory, FromArgMatches};
        overriding_self(Cli::command())
            .try_get_matches_from(terraform_flags(std::env::args_os()))
            .and_then(|m| Cli::from_arg_matches(&m))
    };
    let cli = match parsed {
        Ok(cli) => cli,
        // A usage error exits 1, as Terraform's do: clap's 2 is what drift and
        // plan --detailed-exitcode say for "changes found". --help and
        // --version print on stdout and exit 0.
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(u8::from(e.use_stderr()));
        }
    };
    if let Command::Version = cli.command {
        use clap::CommandFactory;
        crate::outln!("{}", Cli::command().render_version().trim_end());
        return ExitCode::SUCCESS;
    }
    let _ = CHDIR.set(cli.chdir.clone());
    signals::install();
    let color = ui::use_color(cli.no_color);
    if let Some(dir) = &cli.chdir {
        if let Err(e) = std::env::set_current_dir(dir) {
            crate::errln!("Error: cannot change to directory {}: {e}", dir.display());
            return ExitCode::from(1);
        }
    }
    // `drift DIR` reads the configuration and state of DIR, as -C would.
    if let Command::Drift(drift_cmd::DriftArgs { dir: Some(dir), .. }) = &cli.command {
        if let Err(e) = std::env::set_current_dir(dir) {
            crate::errln!("Error: cannot change to directory {}: {e}", dir.display());
            return ExitCode::from(1);
        }
    }
    let mut common = cli.common;
    common.workspace = match common.workspace_arg.clone() {
        Some(w) => w,
        None => match workspace_cmd::selected(&run::state_dir(&common)) {
            Ok(w) => w,
            // Selecting another is how a selection that cannot be read is mended.
            Err(_) if matches!(cli.command, Command::Workspace(workspace_cmd::WorkspaceCmd::Select { .. })) => {
                "default".into()
            }
            Err(e) => {
                crate::errln!("{}", ui::error_line(&e, color));
                return ExitCode::from(1);
            }
        },
    };
    if let Err(e) = check_workspace_name(&common.workspace) {
        crate::errln!("{}", ui::error_line(&e, color));
        return ExitCode::from(1);
    }
    let _ = inputs::WORKSPACE.set(common.workspace.clone());
    // A workspace other than "default" must have been created: a typo in its
    // name must not plan everything anew in an empty state.
    let uses_state = !matches!(
        cli.command,
        Command::Validate(_)
            | Command::Version
            | Command::Init { .. }
            | Command::Fmt(_)
            | Command::Graph { .. }
            | Command::Test { .. }
            | Command::Workspace(_)
            | Command::ForceUnlock { .. }
    ) && !matches!(&cli.command, Command::Show(s) if s.plan_file.is_some());
    if uses_state {
        if let Err(e) = workspace_cmd::check_exists(&common, &common.workspace) {
            crate::errln!("{}", ui::error_line(&e, color));
            return ExitCode::from(1);
        }
    }
    let code = |c: u8| -> Result<u8, String> { Ok(c) };
    let result = match cli.command {
        Command::Version => code(0),
        Command::Validate(a) => validate(a, color),
        Command::Init { upgrade } => init::run(&init::InitArgs { upgrade }, color),
        Command::Fmt(a) => fmt(a, color),
        Command::Plan(p) => {
            let format = if p.json { run::PlanFormat::Json } else { p.format };
            let mut args = p.target.into_plan(p.vars, p.destroy, p.no_progress, p.parallelism);
            args.json = format != run::PlanFormat::Text;
            code(run::cmd_plan(&common, args, p.out, format, p.detailed_exitcode, color))
        }
        Command::Apply(a) => {
            let plan = a.target.into_plan(a.vars, a.destroy, a.run.no_progress, a.run.parallelism);
            let args = run::ApplyArgs {
                plan_file: a.plan_file,
                expect_hash: a.expect_hash,
                plan,
                auto_approve: a.run.auto_approve,
                parallelism: a.run.parallelism,
                no_progress: a.run.no_progress,
                notify: a.run.notify,
            };
            code(run::cmd_apply(&common, args, color))
        }
        Command::Destroy(d) => {
            let plan = run::PlanArgs {
                vars: d.vars,
                targets: d.targets,
                replace: Vec::new(),
                refresh: true,
                destroy: true,
                refresh_only: false,
                no_progress: d.run.no_progress,
                json: false,
                parallelism: d.run.parallelism,
            };
            let args = run::ApplyArgs {
                plan_file: None,
                expect_hash: None,
                plan,
                auto_approve: d.run.auto_approve,
                parallelism: d.run.parallelism,
                no_progress: d.run.no_progress,
                notify: d.run.notify,
            };
            code(run::cmd_apply(&common, args, color))
        }
        Command::Drift(d) => code(drift_cmd::run(&common, d, color)),
        Command::Comment(c) => code(comment::run(&common, c, color)),
        Command::Import { addr, id, vars } => code(run::cmd_import(&common, &addr, &id, &vars, color)),
        Command::Show(s) => {
            let format = if s.json { run::PlanFormat::Json } else { s.format };
            code(state_cmd::show_cmd(&common, s.plan_file.as_ref(), format, color))
        }
        Command::Output(o) if o.raw => {
            code(state_cmd::output_raw(&common, o.name.as_deref().unwrap_or_default(), color))
        }
        Command::Output(o) => code(state_cmd::output(&common, o.name.as_deref(), o.json, color)),
        Command::Console { vars } => code(console::run(&common, &vars, color)),
        Command::Test { files } => code(test_cmd::run(&common, &files, color)),
        Command::Graph { dir } => match dir.map(std::env::set_current_dir) {
            Some(Err(e)) => Err(format!("cannot change to the configuration directory: {e}")),
            _ => code(state_cmd::graph(color)),
        },
        Command::ForceUnlock { id } => code(state_cmd::force_unlock(&common, &id, color)),
        Command::Workspace(w) => code(workspace_cmd::run(&common, w, color)),
        Command::Rollout(r) => code(rollout_cmd::run(&common, r, color)),
        Command::State(s) => code(match s {
            StateCmd::List { addrs } => state_cmd::list(&common, &addrs, color),
            StateCmd::Show { addr } => state_cmd::show_addr(&common, &addr, color),
            StateCmd::Rm { addrs } => state_cmd::rm(&common, &addrs, color),
            StateCmd::Mv { from, to } => state_cmd::mv(&common, &from, &to, color),
            StateCmd::Pull { show_sensitive } => state_cmd::pull(&common, show_sensitive, color),
            StateCmd::Push { file, force } => state_cmd::push(&common, &file, force, color),
            StateCmd::Recover => state_cmd::recover(&common, color),
            StateCmd::Migrate { to, force } => state_cmd::migrate(&common, &to, force, color),
            StateCmd::Rekey { new_key_file, decrypt } => {
                state_cmd::rekey(&common, new_key_file.as_deref(), decrypt, color)
            }
        }),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            crate::errln!("{}", ui::error_line(&message, color));
            ExitCode::from(1)
        }
    }
}

fn validate(args: ValidateArgs, color: bool) -> Result<u8, String> {
    plugins::configure_when_used();
    let dir = args.dir.unwrap_or_else(|| PathBuf::from("."));
    let mut sources = SourceMap::new();
    let (tree, mut diags) = landform_lang::module::load_tree(&inputs::DiskFs, &dir.to_string_lossy(), &mut sources);
    let (mut inputs, mut d) =
        inputs::collect(&args.vars, &dir, tree.module.variables.iter().any(|v| v.sensitive), &mut sources);
    diags.append(&mut d);
    // As Terraform does, validate without values: every variable is unknown
    // (its default too), so a body is checked for what any value would break,
    // not evaluated with one choice (`count = var.on ? 1 : 0` off).
    for v in &tree.module.variables {
        if !inputs.contains_key(&v.name) {
            let value = InputValue::Value(landform_lang::Value::Unknown, v.span);
            inputs.insert(v.name.clone(), Input { value, origin: "validate".into() });
        }
    }
    if tree.syntax_errors == 0 {
        diags.extend(landform_lang::check::validate_tree(&tree, &inputs, &inputs::DiskHost::plan()).1);
        let (p, d) = run::providers_checked(&tree, &landform_lang::Value::Unknown);
        diags.extend(d);
        diags.extend(landform_engine::planner::validate_schemas(&tree, &p));
        // A cycle between resources, locals or outputs.
        if let Err(d) = landform_engine::build::build(&tree, &sources) {
            diags.extend(d);
        } else {
            diags.extend(landform_engine::rollout::validate_rollouts(&tree, &sources, &inputs::DiskHost::plan(), &p));
        }
    }
    dedup(&mut diags);
    let valid = !diag::has_errors(&diags);
    if args.json {
        let j = diag::to_json(&diags, &sources);
        crate::outln!("{}", serde_json::to_string_pretty(&j).unwrap_or_default());
    } else {
        print_diagnostics(&diags, &sources, color);
        if valid {
            crate::outln!("{}", ui::success("Success! The configuration is valid.", color));
        }
    }
    Ok(if valid { 0 } else { 1 })
}

pub use landform_lang::diag::dedup;

pub fn print_diagnostics(diags: &[Diagnostic], sources: &SourceMap, color: bool) {
    if diags.is_empty() {
        return;
    }
    // An error in a resource with count or for_each comes once per instance: say it once.
    let mut unique = diags.to_vec();
    dedup(&mut unique);
    let style = if color { diag::Style::COLOR } else { diag::Style::PLAIN };
    crate::errln!("{}", diag::render_all(&unique, sources, style));
}

/// `--parallelism`: 0 would start nothing and wait forever (Terraform refuses it too).
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// The largest source file `fmt` and `test` read (a configuration is text, not data).
const SOURCE_LIMIT: u64 = 256 << 20;

fn fmt(args: FmtArgs, color: bool) -> Result<u8, String> {
    let path = args.path.unwrap_or_else(|| PathBuf::from("."));
    let files = if path.is_dir() {
        let mut files = Vec::new();
        collect_lf_files(&path, args.recursive, &mut files)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        files
    } else if path.exists() {
        vec![path.clone()]
    } else {
        return Err(format!("No file or directory at {}", path.display()));
    };
    let mut sources = SourceMap::new();
    let mut all_diags = Vec::new();
    let mut unformatted = 0;
    for file in files {
        // Only regular files: a named pipe among the sources would block fmt forever.
        let bytes = inputs::read_regular_file(&file, SOURCE_LIMIT)?;
        let text = String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8 text", file.display()))?;
        let shown = file.strip_prefix("./").unwrap_or(&file).display().to_string();
        match landform_lang::fmt::format_source(&text) {
            Err(diags) => {
                let id = sources.add(shown, text);
                all_diags.extend(diags.into_iter().map(|mut d| {
                    if let Some(s) = &mut d.span {
                        s.file = id;
                    }
                    d
                }));
            }
            Ok(formatted) if formatted != text => {
                unformatted += 1;
                crate::outln!("{shown}");
                if args.diff {
                    let diff = similar::TextDiff::from_lines(&text, &formatted);
                    crate::out!("{}", diff.unified_diff().header(&format!("old/{shown}"), &format!("new/{shown}")));
                }
                if !args.check {
                    std::fs::write(&file, formatted).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
                }
            }
            Ok(_) => {}
        }
    }
    print_diagnostics(&all_diags, &sources, color);
    if !all_diags.is_empty() || (args.check && unformatted > 0) {
        return Ok(1);
    }
    Ok(0)
}

fn collect_lf_files(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if p.is_dir() {
            if recursive && !name.starts_with('.') {
                collect_lf_files(&p, recursive, out)?;
            }
        } else if name.ends_with(".lf") || name.ends_with(".lfvars") {
            out.push(p);
        }
    }
    Ok(())
}
