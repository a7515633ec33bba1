//! Which state a command uses and how it is opened: the PostgreSQL backend
//! (`--backend-url`, `LANDFORM_BACKEND_URL`, or the configuration's backend
//! block) or sled under `.landform/state`, sealed with the state key if one is
//! set, locked for writing or read without a lock.

use crate::inputs::{DiskFs, DiskHost};
use crate::{ui, CommonArgs};
use landform_engine::Plan;
use landform_lang::SourceMap;
use landform_state::{Locker, SledStore, Snapshot, Storage};
use std::path::PathBuf;
use std::sync::Arc;

pub struct OpenState {
    pub storage: Arc<dyn Storage>,
    /// The lock, released on drop: a lock file (sled) or a PostgreSQL session.
    pub _lock: Box<dyn std::any::Any + Send>,
    pub workspace: String,
    /// How the state is sealed; recovery files are sealed the same way.
    pub crypt: landform_state::Crypt,
}

/// The PostgreSQL state in use, if any: the one `--backend-url` (or
/// `LANDFORM_BACKEND_URL`) names, else the configuration's `backend
/// "postgres"` block. The URL is remembered as a secret.
pub fn pg_target(common: &CommonArgs) -> Option<Result<landform_state::PgTarget, String>> {
    if let Some(url) = common.backend_url.as_ref().filter(|u| !u.is_empty()) {
        landform_lang::secrets::remember_texts([url.clone()]);
        return Some(landform_state::PgTarget::parse(url).map_err(|e| e.to_string()));
    }
    let (url, schema) = match config_backend()? {
        Ok(x) => x,
        Err(e) => return Some(Err(e.clone())),
    };
    landform_lang::secrets::remember_texts([url.clone()]);
    Some(landform_state::PgTarget::parse(url).map_err(|e| format!("the backend block's url: {e}")).and_then(|t| {
        match schema {
            Some(s) => t.with_schema(s).map_err(|e| format!("the backend block's schema: {e}")),
            None => Ok(t),
        }
    }))
}

/// A backend block's URL and schema.
type BackendSettings = (String, Option<String>);

/// The root module's `backend` block, evaluated (once): `None` without one.
/// A configuration that does not parse is an error only when it mentions a
/// backend: which state to use must never be guessed.
fn config_backend() -> Option<&'static Result<BackendSettings, String>> {
    static BACKEND: std::sync::OnceLock<Option<Result<BackendSettings, String>>> = std::sync::OnceLock::new();
    BACKEND
        .get_or_init(|| {
            use landform_lang::module::ModuleFs;
            let files = DiskFs.read_module(".").ok()?;
            if !files.iter().any(|(_, text)| text.lines().any(|l| l.trim_start().starts_with("backend"))) {
                return None;
            }
            let mut sources = SourceMap::new();
            let mut bodies = Vec::new();
            let mut diags = Vec::new();
            for (name, text) in files {
                let id = sources.add(name, text);
                if let Some(f) = sources.get(id) {
                    let (file, d) = landform_lang::parse::parse_file(id, &f.text);
                    diags.extend(d.into_iter().filter(|d| d.is_error()));
                    bodies.push(file.body);
                }
            }
            let (module, d) = landform_lang::config::Module::from_bodies(bodies, &sources);
            let where_ = |d: &landform_lang::diag::Diagnostic| {
                let at = d
                    .span
                    .and_then(|s| sources.get(s.file).map(|f| (f.name.clone(), f.line_col(s.start))))
                    .map(|(n, (l, c))| format!("{n}:{l}:{c}: "))
                    .unwrap_or_default();
                format!("{at}{}: {}", d.summary, d.detail)
            };
            if let Some(d) = diags.first() {
                return Some(Err(format!(
                    "cannot tell where the state is kept, the configuration does not parse: {}. Fix it, or name the state with --backend-url.",
                    where_(d)
                )));
            }
            let about_backend = |d: &&landform_lang::diag::Diagnostic| {
                d.is_error() && format!("{} {}", d.summary, d.detail).to_lowercase().contains("backend")
            };
            if let Some(d) = d.iter().find(about_backend) {
                return Some(Err(where_(d)));
            }
            let backend = module.backend?;
            Some(backend.settings(&DiskHost::plan()).map_err(|d| where_(&d)))
        })
        .as_ref()
}

/// How the state is sealed: with the key in `LANDFORM_STATE_KEY`, or in the
/// file `--state-key-file` / `LANDFORM_STATE_KEY_FILE` names; else not at all.
/// The key is remembered as a secret, so that no output ever shows it.
pub fn crypt(common: &CommonArgs) -> Result<landform_state::Crypt, String> {
    let text = match (std::env::var("LANDFORM_STATE_KEY").ok().filter(|k| !k.is_empty()), &common.state_key_file) {
        (Some(k), _) => k,
        (None, Some(path)) => std::fs::read_to_string(path).map_err(|e| {
            format!("cannot read the state key file {}: {}", path.display(), landform_state::files::io_words(&e))
        })?,
        (None, None) => return Ok(landform_state::Crypt::none()),
    };
    landform_lang::secrets::remember_texts([text.trim().to_string()]);
    let key = landform_state::StateKey::parse(&text)?;
    Ok(landform_state::Crypt::with_key(key))
}

/// Read a saved plan (decrypting it with the state key when it was saved
/// encrypted): the plan and the SHA-256 of its plain bytes, the hash shown
/// when it was made.
pub fn read_plan_file(common: &CommonArgs, path: &std::path::Path) -> Result<(Plan, String), String> {
    let stored = std::fs::read(path).map_err(|e| landform_state::files::io_words(&e))?;
    let bytes = if landform_state::Crypt::is_sealed(&stored) {
        crypt(common)?.open_file("plan", &stored, "the plan")?
    } else {
        stored
    };
    let plan = serde_json::from_slice(&bytes).map_err(|e| format!("it is not a saved plan: {e}"))?;
    landform_engine::sensitivity::remember_plan(&plan);
    Ok((plan, landform_engine::plan::file_hash(&bytes)))
}

pub fn state_dir(common: &CommonArgs) -> PathBuf {
    common.state.clone().unwrap_or_else(|| PathBuf::from(".landform/state"))
}

/// Take the workspace lock for `operation`, open the state for writing and
/// read it. A damaged state is refused; errors are printed.
pub fn open_and_load(common: &CommonArgs, operation: &str, color: bool) -> Result<(OpenState, Snapshot), u8> {
    let fail = |msg: &str| {
        crate::errln!("{}", ui::error_line(msg, color));
        1
    };
    let crypt = crypt(common).map_err(|e| fail(&e))?;
    let (st, snap) = open_with(common, operation, &crypt, color)?;
    Ok((st, snap))
}

/// `open_and_load` with the given encryption, as it is: what `state rekey` uses.
pub fn open_with(
    common: &CommonArgs,
    operation: &str,
    crypt: &landform_state::Crypt,
    color: bool,
) -> Result<(OpenState, Snapshot), u8> {
    let fail = |msg: &str| {
        crate::errln!("{}", ui::error_line(msg, color));
        1
    };
    let dir = state_dir(common);
    let workspace = common.workspace.clone();
    let (st, snap) = if let Some(target) = pg_target(common) {
        let target = target.map_err(|e| fail(&e))?;
        let lock = landform_state::PgLock::take(&target, &workspace, operation, common.lock_timeout)
            .map_err(|e| fail(&e.to_string()))?;
        let (storage, snap) = landform_state::PgStore::open_locked(&target, &workspace, crypt, &lock)
            .map_err(|e| fail(&e.to_string()))?;
        (OpenState { storage: Arc::new(storage), _lock: Box::new(lock), workspace, crypt: crypt.clone() }, snap)
    } else {
        let locker = landform_state::FileLocker { dir: dir.clone(), workspace: workspace.clone() };
        let lock = locker.lock(operation, common.lock_timeout).map_err(|e| fail(&e.to_string()))?;
        let (storage, snap) = SledStore::open(&dir, &workspace, crypt).map_err(|e| fail(&e.to_string()))?;
        (OpenState { storage: Arc::new(storage), _lock: Box::new(lock), workspace, crypt: crypt.clone() }, snap)
    };
    landform_engine::sensitivity::remember_state(&snap);
    Ok((st, snap))
}

/// Read the state without the lock or the database's writer handle, so that
/// it works while another operation runs; errors are printed.
pub fn read_state(common: &CommonArgs, color: bool) -> Result<Snapshot, u8> {
    read_state_quiet(common).map_err(|e| {
        crate::errln!("{}", ui::error_line(&e, color));
        1
    })
}

/// `read_state` with the error returned, not printed.
pub fn read_state_quiet(common: &CommonArgs) -> Result<Snapshot, String> {
    let crypt = crypt(common)?;
    let snap = if let Some(target) = pg_target(common) {
        target.and_then(|t| {
            landform_state::PgStore::open(&t, &common.workspace, &crypt).map(|(_, s)| s).map_err(|e| e.to_string())
        })?
    } else {
        landform_state::read_snapshot(&state_dir(common), &common.workspace, &crypt).map_err(|e| e.to_string())?
    };
    landform_engine::sensitivity::remember_state(&snap);
    Ok(snap)
}
