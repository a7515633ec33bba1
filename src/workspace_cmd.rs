//! `landform workspace list|new|select|show|delete`: one state per
//! environment, as Terraform's workspaces. The selected one is remembered in
//! `STATE_DIR/selected-workspace`.

use crate::{run, ui, CommonArgs};
use clap::Subcommand;
use landform_state::{Locker, SledStore, Storage};
use std::path::Path;

#[derive(Subcommand)]
pub enum WorkspaceCmd {
    /// List the workspaces; the selected one is marked with *.
    List,
    /// Create a workspace and select it.
    New {
        /// The new workspace's name: letters, digits, - and _.
        name: String,
    },
    /// Select the workspace that commands use from now on.
    Select {
        /// An existing workspace.
        name: String,
    },
    /// Print the selected workspace.
    Show,
    /// Delete a workspace's state (refused while it manages resources, unless --force).
    Delete {
        /// The workspace to delete.
        name: String,
        /// Delete it even though it still manages resources (they are forgotten, not destroyed).
        #[arg(long)]
        force: bool,
    },
}

fn selection_file(state_dir: &Path) -> std::path::PathBuf {
    state_dir.join("selected-workspace")
}

/// The workspace `workspace select` chose, else "default" when none was.
/// A selection that cannot be read (not a regular file, not text, empty) is
/// an error, never "default": a plan against the wrong workspace's state
/// would plan everything anew.
pub fn selected(state_dir: &Path) -> Result<String, String> {
    let file = selection_file(state_dir);
    let bytes = match crate::inputs::read_regular(&file, 4096) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok("default".into()),
        Err(e) => {
            return Err(format!(
                "the selected workspace cannot be read from {}: {e}; choose one with `landform workspace select NAME`, or remove the file for \"default\"",
                file.display()
            ))
        }
    };
    let name = String::from_utf8(bytes).map(|s| s.trim().to_string()).unwrap_or_default();
    if name.is_empty() {
        return Err(format!(
            "{} names no workspace (it is empty or not text); choose one with `landform workspace select NAME`, or remove the file for \"default\"",
            file.display()
        ));
    }
    Ok(name)
}

/// The workspaces of the state in use: sled's directories, or PostgreSQL's rows.
fn all(common: &CommonArgs) -> Result<Vec<String>, String> {
    let mut names = match run::pg_target(common) {
        Some(t) => t.and_then(|t| landform_state::PgStore::workspaces(&t).map_err(|e| e.to_string()))?,
        None => landform_state::workspaces(&run::state_dir(common)),
    };
    if !names.iter().any(|n| n == "default") {
        names.insert(0, "default".into());
    }
    Ok(names)
}

/// An error, with "did you mean", for a workspace that was never created.
pub fn check_exists(common: &CommonArgs, name: &str) -> Result<(), String> {
    let names = all(common)?;
    if names.iter().any(|n| n == name) {
        return Ok(());
    }
    Err(format!(
        "the workspace \"{name}\" does not exist.{} Create it with: landform workspace new {name}",
        landform_lang::diag::suggestion(name, names.iter().map(String::as_str))
    ))
}

pub fn run(common: &CommonArgs, cmd: WorkspaceCmd, color: bool) -> u8 {
    let dir = run::state_dir(common);
    let fail = |msg: &str| {
        crate::errln!("{}", ui::error_line(msg, color));
        1
    };
    let crypt = match run::crypt(common) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let select = |name: &str| {
        std::fs::create_dir_all(&dir)
            .and_then(|_| landform_state::files::write_atomic(&selection_file(&dir), name.as_bytes()))
            .map_err(|e| format!("cannot remember the selected workspace: {}", landform_state::files::io_words(&e)))
    };
    match cmd {
        WorkspaceCmd::List => {
            let current = &common.workspace;
            let names = match all(common) {
                Ok(n) => n,
                Err(e) => return fail(&e),
            };
            for n in names {
                crate::outln!("{} {n}", if &n == current { "*" } else { " " });
            }
            0
        }
        WorkspaceCmd::Show => {
            crate::outln!("{}", common.workspace);
            0
        }
        WorkspaceCmd::New { name } => {
            if let Err(e) = crate::check_workspace_name(&name) {
                return fail(&e);
            }
            let names = match all(common) {
                Ok(n) => n,
                Err(e) => return fail(&e),
            };
            if names.contains(&name) {
                return fail(&format!(
                    "the workspace \"{name}\" already exists; select it with: landform workspace select {name}"
                ));
            }
            if let Some(t) = run::pg_target(common) {
                if let Err(e) =
                    t.and_then(|t| landform_state::PgStore::create_workspace(&t, &name).map_err(|e| e.to_string()))
                {
                    return fail(&e);
                }
            } else {
                let locker = landform_state::FileLocker { dir: dir.clone(), workspace: name.clone() };
                let _lock = match locker.lock("workspace new", common.lock_timeout) {
                    Ok(l) => l,
                    Err(e) => return fail(&e.to_string()),
                };
                if let Err(e) = SledStore::open(&dir, &name, &crypt) {
                    return fail(&e.to_string());
                }
            }
            if let Err(e) = select(&name) {
                return fail(&e);
            }
            crate::outln!("Created and switched to workspace \"{name}\".");
            0
        }
        WorkspaceCmd::Select { name } => {
            if let Err(e) = check_exists(common, &name) {
                return fail(&e);
            }
            if let Err(e) = select(&name) {
                return fail(&e);
            }
            crate::outln!("Switched to workspace \"{name}\".");
            0
        }
        WorkspaceCmd::Delete { name, force } => {
            if let Err(e) = check_exists(common, &name) {
                return fail(&e);
            }
            if name == "default" {
                return fail("the workspace \"default\" cannot be deleted");
            }
            if name == common.workspace {
                return fail(&format!("the workspace \"{name}\" is selected; select another one before deleting it"));
            }
            if run::pg_target(common).is_some() {
                let mut c = common.clone();
                c.workspace = name.clone();
                let (held, snap) = match run::open_and_load(&c, "workspace delete", color) {
                    Ok(x) => x,
                    Err(code) => return code,
                };
                if (!snap.resources.is_empty() || !snap.deposed.is_empty()) && !force {
                    return fail(&format!(
                        "the workspace \"{name}\" still manages {} resource instance(s). Destroy them first (landform destroy --workspace {name}), or delete it with --force to forget them.",
                        snap.resources.len() + snap.deposed.len()
                    ));
                }
                let t = run::pg_target(common).and_then(Result::ok);
                let deleted = t
                    .ok_or_else(|| "no PostgreSQL state".to_string())
                    .and_then(|t| landform_state::PgStore::open(&t, &name, &crypt).map_err(|e| e.to_string()))
                    .and_then(|(store, _)| store.delete_workspace().map_err(|e| e.to_string()));
                drop(held);
                if let Err(e) = deleted {
                    return fail(&e);
                }
                crate::outln!("Deleted workspace \"{name}\".");
                return 0;
            }
            let locker = landform_state::FileLocker { dir: dir.clone(), workspace: name.clone() };
            let _lock = match locker.lock("workspace delete", common.lock_timeout) {
                Ok(l) => l,
                Err(e) => return fail(&e.to_string()),
            };
            match SledStore::open(&dir, &name, &crypt).and_then(|(store, _)| store.load()) {
                Ok(snap) if (!snap.resources.is_empty() || !snap.deposed.is_empty()) && !force => {
                    return fail(&format!(
                        "the workspace \"{name}\" still manages {} resource instance(s). Destroy them first (landform destroy --workspace {name}), or delete it with --force to forget them.",
                        snap.resources.len() + snap.deposed.len()
                    ))
                }
                Err(e) if !force => return fail(&e.to_string()),
                _ => {}
            }
            let ws_dir = match landform_state::workspace_dir(&dir, &name) {
                Ok(d) => d,
                Err(e) => return fail(&e.to_string()),
            };
            if let Err(e) = std::fs::remove_dir_all(ws_dir) {
                return fail(&format!("cannot delete the workspace: {}", landform_state::files::io_words(&e)));
            }
            crate::outln!("Deleted workspace \"{name}\".");
            0
        }
    }
}
