//! The `landform` command: parse flags, call the libraries, render, exit.

mod inputs;
mod ui;

use clap::{Args, Parser, Subcommand};
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
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check that the configuration is valid, without touching any state.
    Validate(ValidateArgs),
    /// Rewrite configuration files in the canonical layout.
    Fmt(FmtArgs),
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
    let cli = Cli::parse();
    let color = ui::use_color(cli.no_color);
    if let Some(dir) = &cli.chdir {
        if let Err(e) = std::env::set_current_dir(dir) {
            eprintln!("Error: cannot change to directory {}: {e}", dir.display());
            return ExitCode::from(1);
        }
    }
    let result = match cli.command {
        Command::Validate(a) => validate(a, color),
        Command::Fmt(a) => fmt(a, color),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("{}", ui::error_line(&message, color));
            ExitCode::from(1)
        }
    }
}

fn validate(args: ValidateArgs, color: bool) -> Result<u8, String> {
    let dir = args.dir.unwrap_or_else(|| PathBuf::from("."));
    let mut sources = SourceMap::new();
    let (tree, mut diags) = landform_lang::module::load_tree(&inputs::DiskFs, &dir.to_string_lossy(), &mut sources);
    let (inputs, mut d) = inputs::collect(&args.vars, &dir, &mut sources);
    diags.append(&mut d);
    if tree.syntax_errors == 0 {
        diags.extend(landform_lang::check::check_tree(&tree, &inputs, &inputs::DiskHost).1);
    }
    dedup(&mut diags);
    let valid = !diag::has_errors(&diags);
    if args.json {
        let j = diag::to_json(&diags, &sources);
        println!("{}", serde_json::to_string_pretty(&j).unwrap_or_default());
    } else {
        print_diagnostics(&diags, &sources, color);
        if valid {
            println!("{}", ui::success("Success! The configuration is valid.", color));
        }
    }
    Ok(if valid { 0 } else { 1 })
}

/// The same diagnostic can come from a module checked twice (e.g. both branches
/// of an unknown conditional); show it once.
fn dedup(diags: &mut Vec<Diagnostic>) {
    let mut seen = Vec::new();
    diags.retain(|d| {
        let key = (d.summary.clone(), d.detail.clone(), d.span);
        if seen.contains(&key) {
            false
        } else {
            seen.push(key);
            true
        }
    });
}

pub fn print_diagnostics(diags: &[Diagnostic], sources: &SourceMap, color: bool) {
    if diags.is_empty() {
        return;
    }
    let style = if color { diag::Style::COLOR } else { diag::Style::PLAIN };
    eprintln!("{}", diag::render_all(diags, sources, style));
}

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
        let text = std::fs::read_to_string(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
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
                println!("{shown}");
                if args.diff {
                    let diff = similar::TextDiff::from_lines(&text, &formatted);
                    print!("{}", diff.unified_diff().header(&format!("old/{shown}"), &format!("new/{shown}")));
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
