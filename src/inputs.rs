//! The outside world for the language: files on disk, the environment, and
//! variable values from flags, files and LANDFORM_VAR_ variables.

use crate::VarArgs;
use landform_lang::check::{Input, InputValue};
use landform_lang::diag::Diagnostic;
use landform_lang::syntax::Item;
use landform_lang::SourceMap;
use std::collections::BTreeMap;
use std::path::Path;

/// Module directories read from disk.
pub struct DiskFs;

impl landform_lang::module::ModuleFs for DiskFs {
    fn read_module(&self, dir: &str) -> Result<Vec<(String, String)>, String> {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| e.to_string())?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            // `*.lftest.lf` files are `landform test`'s, not configuration.
            .filter(|p| {
                p.is_file() && p.extension().is_some_and(|x| x == "lf") && !p.to_string_lossy().ends_with(".lftest.lf")
            })
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|p| {
                let shown = p.strip_prefix("./").unwrap_or(&p).display().to_string();
                std::fs::read_to_string(&p).map(|t| (shown, t)).map_err(|e| format!("{}: {e}", p.display()))
            })
            .collect()
    }

    fn canonical(&self, dir: &str) -> Option<String> {
        std::fs::canonicalize(dir).ok().map(|p| p.to_string_lossy().into_owned())
    }

    fn installed(&self, root: &str, key: &str, _: &landform_lang::config::ModuleCall) -> Option<String> {
        crate::init::installed(root, key)
    }
}

/// `file()` reads relative to the working directory; `env()` reads the process
/// environment; `timestamp()` and `uuid()` are known only while applying.
pub struct DiskHost {
    applying: Option<String>,
    /// A saved plan's time, for `plantimestamp()` when applying it.
    planned: Option<String>,
}

impl DiskHost {
    pub fn plan() -> DiskHost {
        DiskHost { applying: None, planned: None }
    }

    pub fn apply() -> DiskHost {
        DiskHost { applying: Some(landform_state::now_rfc3339()), planned: None }
    }

    /// Applying a plan made at `planned` (its `plantimestamp()`).
    pub fn apply_planned_at(planned: Option<String>) -> DiskHost {
        DiskHost { planned, ..DiskHost::apply() }
    }
}

/// The workspace in use, set once by `main`.
pub static WORKSPACE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

impl landform_lang::Host for DiskHost {
    fn workspace(&self) -> Option<String> {
        WORKSPACE.get().cloned()
    }
    fn read_file(&self, path: &str) -> Result<String, String> {
        String::from_utf8(self.read_file_bytes(path)?).map_err(|_| format!("\"{path}\" is not UTF-8 text"))
    }
    fn read_file_bytes(&self, path: &str) -> Result<Vec<u8>, String> {
        // At most the largest value an expression may hold; only regular files (a pipe or device would hang).
        read_regular_file(Path::new(path), landform_lang::value::MAX_VALUE_SIZE as u64)
    }
    fn plan_timestamp(&self) -> Option<String> {
        // One for the whole run, as Terraform has one per plan.
        static PLANNED: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        Some(self.planned.clone().unwrap_or_else(|| PLANNED.get_or_init(landform_state::now_rfc3339).clone()))
    }
    fn env(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
    fn timestamp(&self) -> Option<String> {
        self.applying.clone()
    }
    fn uuid(&self) -> Option<String> {
        self.applying.as_ref().map(|_| landform_state::random_id())
    }
    fn file_exists(&self, path: &str) -> Result<bool, String> {
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => Err(format!("\"{path}\" is a directory, not a file")),
            // A device or a pipe, as Terraform says of them.
            Ok(m) if !m.is_file() => Err(format!("\"{path}\" is not a regular file")),
            Ok(_) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(format!("cannot look at \"{path}\": {}", landform_state::files::io_words(&e))),
        }
    }
    fn list_files(&self, dir: &str) -> Result<Vec<String>, String> {
        /// At most this many files are listed: a fileset over `/` must end.
        const MAX_FILES: usize = 100_000;
        let mut out = Vec::new();
        let mut stack = vec![(std::path::PathBuf::from(if dir.is_empty() { "." } else { dir }), String::new())];
        while let Some((path, rel)) = stack.pop() {
            let entries = match std::fs::read_dir(&path) {
                Ok(entries) => entries,
                // A directory that is not there holds no files, as Terraform's fileset says.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && rel.is_empty() => return Ok(Vec::new()),
                Err(e) => {
                    return Err(format!("cannot list \"{}\": {}", path.display(), landform_state::files::io_words(&e)))
                }
            };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let child = if rel.is_empty() { name } else { format!("{rel}/{name}") };
                match e.file_type() {
                    Ok(t) if t.is_dir() => stack.push((e.path(), child)),
                    Ok(_) if e.path().is_file() => out.push(child),
                    _ => {}
                }
                if out.len() > MAX_FILES {
                    return Err(format!("\"{dir}\" holds more than {MAX_FILES} files"));
                }
            }
        }
        Ok(out)
    }
    fn abs_path(&self, path: &str) -> Result<String, String> {
        let p = std::path::Path::new(path);
        let joined = if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir().map_err(|e| landform_state::files::io_words(&e))?.join(p)
        };
        // Cleaned lexically, as Go's filepath.Abs does: `..` removes the element before it.
        let mut out = std::path::PathBuf::new();
        for c in joined.components() {
            match c {
                std::path::Component::ParentDir => {
                    out.pop();
                }
                std::path::Component::CurDir => {}
                other => out.push(other),
            }
        }
        Ok(out.to_string_lossy().into_owned())
    }
}

/// Read a regular file of at most `limit` bytes. Anything else is refused
/// before a byte is read: a named pipe would block (in `open` itself, until
/// a writer comes, which may be never), a device may never end.
pub fn read_regular_file(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    let shown = path.display();
    read_regular(path, limit).map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidInput | std::io::ErrorKind::FileTooLarge => format!("\"{shown}\" {e}"),
        _ => format!("cannot read \"{shown}\": {}", landform_state::files::io_words(&e)),
    })
}

/// `read_regular_file` with the I/O error kept (`NotFound` for a file that
/// is not there): for the files Landform finds by itself (the lock file,
/// `.landformignore`, the workspace selection).
pub use landform_provider::files::read_regular;

/// A file the user named, which may be a pipe: at most `limit` bytes.
fn read_named_file(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let shown = path.display();
    let f = std::fs::File::open(path)
        .map_err(|e| format!("cannot read \"{shown}\": {}", landform_state::files::io_words(&e)))?;
    let mut bytes = Vec::new();
    f.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read \"{shown}\": {}", landform_state::files::io_words(&e)))?;
    if bytes.len() as u64 > limit {
        return Err(format!("\"{shown}\" is larger than {} MiB", limit >> 20));
    }
    Ok(bytes)
}

/// Gather variable values, later sources winning: LANDFORM_VAR_ environment
/// variables, then `landform.lfvars` and `*.auto.lfvars` in the configuration
/// directory, then each --var-file, then each --var. When `secret` (the
/// configuration declares a sensitive variable), no diagnostic quotes a line
/// of a variables file: any line may hold the value.
pub fn collect(
    args: &VarArgs,
    dir: &Path,
    secret: bool,
    sources: &mut SourceMap,
) -> (BTreeMap<String, Input>, Vec<Diagnostic>) {
    let mut inputs = BTreeMap::new();
    let mut diags = Vec::new();
    let mut env: Vec<(String, String)> = std::env::vars().filter(|(k, _)| k.starts_with("LANDFORM_VAR_")).collect();
    env.sort();
    for (k, v) in env {
        let name = k.trim_start_matches("LANDFORM_VAR_").to_string();
        inputs.insert(name, Input { value: InputValue::Raw(v), origin: k });
    }
    let mut auto: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    let n = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                    n == "landform.lfvars" || n.ends_with(".auto.lfvars")
                })
                .collect()
        })
        .unwrap_or_default();
    auto.sort();
    // Files found here must be files; one named with --var-file may be a
    // pipe (`--var-file <(…)`), as the user chose.
    for file in &auto {
        read_var_file(file, true, secret, &mut inputs, &mut diags, sources);
    }
    for file in &args.var_files {
        read_var_file(file, false, secret, &mut inputs, &mut diags, sources);
    }
    for v in &args.vars {
        match v.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() => {
                inputs.insert(name.trim().to_string(), Input { value: InputValue::Raw(value.to_string()), origin: "--var".into() });
            }
            _ => diags.push(Diagnostic::global(
                "Invalid --var option",
                format!("The option --var '{v}' is not of the form NAME=VALUE. To set variable \"env\" to \"prod\", write --var 'env=prod'."),
            )),
        }
    }
    (inputs, diags)
}

fn read_var_file(
    file: &Path,
    found: bool,
    secret: bool,
    inputs: &mut BTreeMap<String, Input>,
    diags: &mut Vec<Diagnostic>,
    sources: &mut SourceMap,
) {
    let limit = landform_lang::value::MAX_VALUE_SIZE as u64;
    let read = if found { read_regular_file(file, limit) } else { read_named_file(file, limit) };
    let read = read.and_then(|b| String::from_utf8(b).map_err(|_| format!("\"{}\" is not UTF-8 text", file.display())));
    let text = match read {
        Ok(t) => t,
        Err(e) => {
            diags.push(Diagnostic::global("Failed to read variables file", format!("{e}.")));
            return;
        }
    };
    let shown = file.strip_prefix("./").unwrap_or(file).display().to_string();
    let id = sources.add(shown.clone(), text);
    if secret {
        sources.unquoted(id);
    }
    let text = sources.get(id).map(|f| f.text.clone()).unwrap_or_default();
    let (parsed, mut d) = landform_lang::parse::parse_file(id, &text);
    diags.append(&mut d);
    for item in parsed.body.items {
        match item {
            Item::Attribute(a) => {
                inputs.insert(a.name.name.clone(), Input { value: InputValue::Expr(a.value), origin: shown.clone() });
            }
            Item::Block(b) => diags.push(Diagnostic::error(
                "Unexpected block in variables file",
                format!(
                    "A variables file holds only name = value lines; the block \"{}\" is not expected here.",
                    b.kind.name
                ),
                b.kind.span,
            )),
        }
    }
}
