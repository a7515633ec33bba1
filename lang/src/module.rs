//! Loading a module tree: a root directory and the local-path modules it calls,
//! read through [`ModuleFs`] so that this crate does no I/O of its own.

use crate::config::Module;
use crate::diag::Diagnostic;
use crate::parse::parse_file;
use crate::source::SourceMap;
use std::collections::BTreeMap;
use std::path::Path;

/// What the loader needs from a file system.
pub trait ModuleFs {
    /// The `*.lf` files of a directory as (path to show, text), in name order.
    fn read_module(&self, dir: &str) -> Result<Vec<(String, String)>, String>;

    /// The directory's canonical identity (symbolic links resolved), so that a
    /// link back to a module already being loaded is seen as the cycle it is.
    fn canonical(&self, dir: &str) -> Option<String> {
        let _ = dir;
        None
    }

    /// Where the module `call` at `key` (`net`, `net.subnets`) of the
    /// configuration rooted at `root`, from a source that is not a local
    /// path, is on this machine: where `landform init` put it (or, for init
    /// itself, puts it now), if anywhere.
    fn installed(&self, root: &str, key: &str, call: &crate::config::ModuleCall) -> Option<String> {
        let _ = (root, key, call);
        None
    }
}

/// A module source on this machine: a path starting with `./` or `../`.
/// Anything else (registry, git, HTTP) is downloaded by `landform init`.
pub fn is_local_source(source: &str) -> bool {
    source.starts_with("./") || source.starts_with("../")
}

/// One module directory, lowered, with the modules it calls.
#[derive(Debug, Clone)]
pub struct LoadedModule {
    pub dir: String,
    /// Syntax errors in this module and the modules below it. With any, the
    /// tree is partial and deeper checks would only report noise.
    pub syntax_errors: usize,
    pub module: Module,
    pub children: BTreeMap<String, LoadedModule>,
}

const MAX_DEPTH: usize = 32;

/// How many module instances one configuration may load: a guard against a
/// tree that fans out exponentially.
const MAX_MODULES: usize = 1000;

/// Load, parse and lower a module and, recursively, the modules it calls.
pub fn load_tree(fs: &dyn ModuleFs, dir: &str, sources: &mut SourceMap) -> (LoadedModule, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let mut stack = Vec::new();
    let mut loaded = 0;
    let at = At { root: dir, key: String::new() };
    let m = load(fs, dir, &at, sources, &mut diags, &mut stack, &mut loaded);
    (m, diags)
}

/// Where in the tree a module is being loaded: the root directory and its
/// key (`net.subnets`; empty for the root).
struct At<'a> {
    root: &'a str,
    key: String,
}

fn load(
    fs: &dyn ModuleFs,
    dir: &str,
    at: &At,
    sources: &mut SourceMap,
    diags: &mut Vec<Diagnostic>,
    stack: &mut Vec<String>,
    loaded: &mut usize,
) -> LoadedModule {
    *loaded += 1;
    let mut bodies = Vec::new();
    let mut syntax_errors = 0;
    match fs.read_module(dir) {
        Ok(files) => {
            if files.is_empty() && stack.is_empty() {
                diags.push(Diagnostic::global(
                    "No configuration files",
                    format!("The directory {dir} contains no .lf files. Run landform in a directory with configuration, or name one with -C DIR."),
                ));
            }
            for (name, text) in files {
                let id = sources.add(name, text);
                let (file, mut d) = match sources.get(id) {
                    Some(f) => parse_file(id, &f.text),
                    None => continue,
                };
                syntax_errors += d.iter().filter(|d| crate::parse::is_syntax_error(d)).count();
                diags.append(&mut d);
                unknown_functions(&file.body, diags);
                bodies.push(file.body);
            }
        }
        Err(e) => diags.push(Diagnostic::global("Failed to read module directory", format!("Cannot read {dir}: {e}"))),
    }
    let (module, mut d) = Module::from_bodies(bodies, sources);
    diags.append(&mut d);
    if let (Some(b), false) = (&module.backend, stack.is_empty()) {
        diags.push(Diagnostic::error(
            "Backend in a child module",
            "A backend block says where the whole configuration's state is kept: it belongs in the root module. Remove it from this module.",
            b.span,
        ));
    }
    let mut children = BTreeMap::new();
    stack.push(fs.canonical(dir).unwrap_or_else(|| normalize(dir)));
    for call in &module.module_calls {
        if call.source.is_empty() {
            continue;
        }
        let key = if at.key.is_empty() { call.name.clone() } else { format!("{}.{}", at.key, call.name) };
        remember_credentials(&call.source);
        let child_dir = if is_local_source(&call.source) {
            let joined = Path::new(dir).join(&call.source).to_string_lossy().into_owned();
            let norm = normalize(&joined);
            if norm.is_empty() {
                ".".to_string()
            } else {
                norm
            }
        } else {
            match fs.installed(at.root, &key, call) {
                Some(d) => d,
                None => {
                    diags.push(Diagnostic::error(
                        "Module not installed",
                        format!(
                            "The module \"{}\" comes from \"{}\", which is downloaded by `landform init`. Run `landform init` in the root module's directory.",
                            call.name,
                            redact_url(&call.source)
                        ),
                        call.source_span,
                    ));
                    continue;
                }
            }
        };
        let norm = child_dir.clone();
        let identity = fs.canonical(&child_dir).unwrap_or_else(|| norm.clone());
        if *loaded >= MAX_MODULES {
            diags.push(Diagnostic::error(
                "Too many modules",
                format!("Loading the module \"{}\" would take the configuration past {MAX_MODULES} module instances. Module calls must form a reasonably small tree.", call.name),
                call.source_span,
            ));
            continue;
        }
        if !stack.contains(&identity) && stack.len() >= MAX_DEPTH {
            diags.push(Diagnostic::error(
                "Modules nested too deeply",
                format!("The module \"{}\" would be nested {} levels deep; Landform loads at most {MAX_DEPTH} levels of module calls. Flatten the module tree.", call.name, stack.len() + 1),
                call.source_span,
            ));
            continue;
        }
        if stack.contains(&identity) {
            diags.push(Diagnostic::error(
                "Module cycle",
                format!("The module \"{}\" at {} calls itself, directly or through other modules. Module calls must form a tree.", call.name, call.source),
                call.source_span,
            ));
            continue;
        }
        let before = diags.len();
        let child_at = At { root: at.root, key };
        let child = load(fs, &child_dir, &child_at, sources, diags, stack, loaded);
        if fs.read_module(&child_dir).is_err() {
            diags.truncate(before);
            diags.push(Diagnostic::error(
                "Module not found",
                format!(
                    "The module directory {} does not exist or cannot be read. Check the module's source path.",
                    call.source
                ),
                call.source_span,
            ));
            continue;
        }
        syntax_errors += child.syntax_errors;
        children.insert(call.name.clone(), child);
    }
    stack.pop();
    LoadedModule { dir: dir.to_string(), syntax_errors, module, children }
}

/// A call to a function that does not exist is an error wherever it is —
/// inside `try()`, in a branch not taken, in a resource with no instances —
/// as Terraform finds it before evaluating anything.
fn unknown_functions(body: &crate::syntax::Body, diags: &mut Vec<Diagnostic>) {
    use crate::syntax::{ExprKind, Item};
    let mut check = |e: &crate::syntax::Expr| {
        if let ExprKind::Call(name, ..) = &e.kind {
            if crate::functions::arity(&name.name).is_none() {
                diags.push(crate::functions::unknown_function(name));
            }
        }
    };
    // A variable's `type` is a type (`list(string)`), not calls: walked
    // without it, everything else in one pass.
    let mut rest = Vec::with_capacity(body.items.len());
    for item in &body.items {
        match item {
            Item::Block(b) if b.kind.name == "variable" => {
                for i in &b.body.items {
                    match i {
                        Item::Attribute(a) if a.name.name == "type" => {}
                        Item::Attribute(a) => crate::syntax::walk_expr(&a.value, &mut check),
                        Item::Block(inner) => crate::syntax::walk_body(&inner.body, &mut check),
                    }
                }
            }
            other => rest.push(other),
        }
    }
    crate::syntax::walk_items(rest, &mut check);
}

/// Where the credentials of a URL are (`https://USER:TOKEN@host/…`): the
/// range of `USER:TOKEN`.
fn userinfo(url: &str) -> Option<std::ops::Range<usize>> {
    let start = url.find("://")? + 3;
    let host_end = url[start..].find('/').map_or(url.len(), |i| start + i);
    url[start..host_end].rfind('@').map(|at| start..start + at)
}

/// A password or token written into a source's URL is a secret: every line
/// Landform prints (the source line of a diagnostic too) hides it.
pub fn remember_credentials(source: &str) {
    if let Some(r) = userinfo(source) {
        let info = &source[r];
        let secret = info.split_once(':').map_or(info, |(_, p)| p);
        crate::secrets::remember_texts([secret.to_string()]);
    }
}

/// A module source with any credentials in it hidden, for every message and
/// the lock file.
pub fn redact_url(url: &str) -> String {
    match userinfo(url) {
        Some(r) => format!("{}***{}", &url[..r.start], &url[r.end..]),
        None => url.to_string(),
    }
}

/// Collapse `.` and `..` without touching the file system.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." if parts.last().is_some_and(|l| *l != "..") => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}
