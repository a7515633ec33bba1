//! `landform init`: download the modules that are not local paths — from a
//! module registry (`NAMESPACE/NAME/PROVIDER` with `version`), from git
//! (`git::URL//SUBDIR?ref=REF`, `github.com/ORG/REPO`) or as a `.tar.gz` over
//! HTTP — into `.landform/modules/KEY`, with a manifest the loader reads and a
//! lock file (`.landform.lock.json`) recording what each resolved to, so that
//! the next `init` (here or on another machine) takes exactly that again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use landform_lang::diag::Diagnostic;
use landform_lang::module::ModuleFs;
use landform_lang::source::{SourceMap, Span};
use landform_lang::version::{Constraint, Version};
use landform_state::files::io_words;
use serde_json::{json, Value as Json};

use crate::http;
use crate::inputs::DiskFs;

pub const MODULES_DIR: &str = ".landform/modules";
pub const MANIFEST: &str = ".landform/modules/modules.json";
pub const LOCK_FILE: &str = ".landform.lock.json";

/// One module `init` resolved.
#[derive(Clone, Debug, PartialEq)]
struct Resolved {
    source: String,
    /// The constraint written, if any.
    constraint: Option<String>,
    /// The registry version taken.
    version: Option<String>,
    /// What was downloaded: a git URL and commit, or an archive URL.
    fetched: String,
    /// SHA-256 over the module's files (names and contents).
    hash: String,
    /// The module's directory inside what was downloaded, if not its top.
    subdir: Option<String>,
    /// The module's directory, under `.landform/modules`.
    dir: String,
}

pub struct InitArgs {
    /// Take the newest versions the constraints allow, not the locked ones.
    pub upgrade: bool,
}

pub fn run(args: &InitArgs, color: bool) -> Result<u8, String> {
    // A lock file that cannot be read is not the same as none: taking the
    // newest versions instead would change what every machine gets.
    let lock = match crate::inputs::read_regular(Path::new(LOCK_FILE), 64 << 20) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
        Err(e) => return Err(format!("cannot read {LOCK_FILE}: {}", io_words(&e))),
        Ok(bytes) => match serde_json::from_slice::<Json>(&bytes) {
            Ok(j) if j["modules"].is_object() => lock_entries(&j),
            _ => {
                return Err(format!(
                    "{LOCK_FILE} is damaged (not the JSON init writes). Restore it from version control, or remove it to resolve every module again."
                ))
            }
        },
    };
    let init = std::cell::RefCell::new(Init {
        lock,
        upgrade: args.upgrade,
        found: BTreeMap::new(),
        diags: Vec::new(),
        changed: 0,
    });
    // The loader walks the tree (keys, local paths, depth and cycle limits);
    // each module it needs from elsewhere is downloaded as it asks for it.
    let mut sources = SourceMap::new();
    let (tree, loaded) = landform_lang::module::load_tree(&Installer(&init), ".", &mut sources);
    let mut init = init.into_inner();
    let mut diags: Vec<Diagnostic> = loaded.into_iter().filter(landform_lang::parse::is_syntax_error).collect();
    diags.append(&mut init.diags);
    // Providers, once the root module reads (its required_providers).
    if !landform_lang::diag::has_errors(&diags) {
        match crate::provider_install::install(&tree, args.upgrade) {
            Ok(mut d) => diags.append(&mut d),
            Err((d, lock_sources)) => {
                crate::print_diagnostics(&d, &lock_sources, color);
                return Ok(1);
            }
        }
    }
    if landform_lang::diag::has_errors(&diags) {
        crate::print_diagnostics(&diags, &sources, color);
        return Ok(1);
    }
    let lock_json = json!({
        "modules": init.found.iter().map(|(k, r)| (k.clone(), json!({
            "source": r.source, "constraint": r.constraint, "version": r.version, "fetched": r.fetched,
            "subdir": r.subdir, "hash": r.hash,
        }))).collect::<serde_json::Map<_, _>>()
    });
    let manifest = json!({
        "modules": init.found.iter().map(|(k, r)| json!({"key": k, "source": r.source, "dir": r.dir})).collect::<Vec<_>>()
    });
    let wrote_lock = write_if_changed(Path::new(LOCK_FILE), &lock_json)?;
    let wrote_manifest = write_if_changed(Path::new(MANIFEST), &manifest)?;
    if init.found.is_empty() {
        crate::outln!("No modules to download: every module source is a local path.");
    } else if init.changed == 0 && !wrote_lock && !wrote_manifest {
        crate::outln!("Modules are up to date: {} module(s) as {LOCK_FILE} records them.", init.found.len());
    } else {
        crate::outln!(
            "{}",
            crate::ui::success(
                &format!(
                    "Landform has been initialized: {} module(s) in {MODULES_DIR}, recorded in {LOCK_FILE}.",
                    init.found.len()
                ),
                color
            )
        );
    }
    Ok(0)
}

struct Init {
    lock: BTreeMap<String, Resolved>,
    upgrade: bool,
    found: BTreeMap<String, Resolved>,
    diags: Vec<Diagnostic>,
    changed: usize,
}

/// The disk, for the loader, with modules from elsewhere downloaded when it
/// asks where they are.
struct Installer<'a>(&'a std::cell::RefCell<Init>);

impl ModuleFs for Installer<'_> {
    fn read_module(&self, dir: &str) -> Result<Vec<(String, String)>, String> {
        DiskFs.read_module(dir)
    }

    fn canonical(&self, dir: &str) -> Option<String> {
        DiskFs.canonical(dir)
    }

    fn installed(&self, _root: &str, key: &str, call: &landform_lang::config::ModuleCall) -> Option<String> {
        let mut init = self.0.borrow_mut();
        let constraint = match &call.version {
            Some((text, span)) => match Constraint::parse(text) {
                Ok(c) => Some((text.clone(), c)),
                Err(e) => {
                    init.diags.push(Diagnostic::error("Invalid version constraint", e, *span));
                    return None;
                }
            },
            None => None,
        };
        match init.install(key, &call.source, constraint.as_ref(), call.source_span) {
            Ok(r) => {
                let dir = r.dir.clone();
                init.found.insert(key.to_string(), r);
                Some(dir)
            }
            Err(e) => {
                init.diags.push(e);
                None
            }
        }
    }
}

impl Init {
    /// The module at `key`: as locked and installed already, or downloaded.
    fn install(
        &mut self,
        key: &str,
        source: &str,
        constraint: Option<&(String, Constraint)>,
        span: Span,
    ) -> Result<Resolved, Diagnostic> {
        landform_lang::module::remember_credentials(source);
        let shown = redact(source);
        let fail = |why: String| {
            Diagnostic::error(
                "Failed to download module",
                format!("The module \"{key}\" from \"{shown}\": {why}"),
                span,
            )
        };
        let parsed = parse_source(source).map_err(|e| {
            Diagnostic::error(
                "Invalid module source",
                format!("The module \"{key}\" has source \"{shown}\": {e}"),
                span,
            )
        })?;
        if constraint.is_some() && !matches!(parsed.kind, Kind::Registry { .. }) {
            return Err(Diagnostic::error(
                "Version constraint on a module that is not from a registry",
                format!("\"{source}\" is not a registry address; a git source takes its version as ?ref=TAG, an archive has none. Remove the version argument."),
                span,
            ));
        }
        let written = constraint.map(|(t, _)| t.clone());
        let locked = self.lock.get(key).filter(|l| !self.upgrade && l.source == shown && l.constraint == written);
        let dir = inside(Path::new(MODULES_DIR), key).map_err(|e| fail(format!("its key {e}")))?;
        // Installed as locked: nothing to do. The lock file is data anyone
        // can edit: its subdirectory must stay inside the module too.
        if let Some(l) = locked {
            let module_dir = with_subdir(&dir, &l.subdir)
                .map_err(|e| fail(format!("the subdirectory {LOCK_FILE} records for it {e}")))?;
            if tree_hash(Path::new(&dir)).ok().as_deref() == Some(l.hash.as_str()) {
                return Ok(Resolved { dir: module_dir, ..l.clone() });
            }
        }
        // What to fetch: the registry says for a registry address.
        let (fetch, version, subdir) = match &parsed.kind {
            Kind::Registry { host, path } => {
                let want_version = locked.and_then(|l| l.version.clone());
                let (v, getter) =
                    registry_resolve(host, path, constraint.map(|(_, c)| c), want_version.as_deref()).map_err(&fail)?;
                let got = parse_source(&getter).map_err(|e| fail(format!("the registry gave \"{getter}\": {e}")))?;
                let sub = join_subdirs(&got.subdir, &parsed.subdir);
                (got.kind, Some(v), sub)
            }
            other => (other.clone(), None, parsed.subdir.clone()),
        };
        // A locked git source is fetched at the commit the lock names.
        let fetch = match (&fetch, locked) {
            (Kind::Git { url, .. }, Some(l)) if l.fetched.starts_with(&format!("{}@", redact(url))) => {
                Kind::Git { url: url.clone(), rev: l.fetched.rsplit_once('@').map(|(_, c)| c.to_string()) }
            }
            _ => fetch,
        };
        let tmp = format!("{dir}.tmp");
        let _ = std::fs::remove_dir_all(&tmp);
        let fetched = fetch_into(&fetch, Path::new(&tmp)).map_err(|e| {
            let _ = std::fs::remove_dir_all(&tmp);
            fail(e)
        })?;
        remove_links_out(Path::new(&tmp)).map_err(&fail)?;
        let hash = tree_hash(Path::new(&tmp)).map_err(&fail)?;
        if let Some(l) = locked {
            if l.fetched == fetched && l.hash != hash {
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(fail(format!(
                    "its files are not what {LOCK_FILE} recorded (hash {} now, {} then): the source changed under the same version. Run `landform init -upgrade` to accept it.",
                    short(&hash),
                    short(&l.hash)
                )));
            }
        }
        let why = match with_subdir(&tmp, &subdir) {
            Ok(d) if Path::new(&d).is_dir() => None,
            Ok(_) => Some(format!("it has no directory \"{}\"", subdir.clone().unwrap_or_default())),
            Err(e) => Some(format!("its subdirectory {e}")),
        };
        if let Some(why) = why {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(fail(why));
        }
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(&tmp, &dir).map_err(|e| fail(format!("cannot move it into {dir}: {}", io_words(&e))))?;
        let module_dir = with_subdir(&dir, &subdir).map_err(|e| fail(format!("its subdirectory {e}")))?;
        self.changed += 1;
        crate::outln!("- {key}: {shown}{}", version.as_ref().map(|v| format!(" {v}")).unwrap_or_default());
        Ok(Resolved { source: shown.clone(), constraint: written, version, fetched, hash, subdir, dir: module_dir })
    }
}

#[derive(Clone, Debug)]
enum Kind {
    Registry { host: String, path: String },
    Git { url: String, rev: Option<String> },
    Archive { url: String },
}

struct Source {
    kind: Kind,
    subdir: Option<String>,
}

/// Read a module source as Terraform reads one.
fn parse_source(source: &str) -> Result<Source, String> {
    let (body, query) = source.split_once('?').map_or((source, None), |(b, q)| (b, Some(q)));
    let rev = query.and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("ref=")).map(str::to_string));
    let (body, forced_git) = match body.strip_prefix("git::") {
        Some(rest) => (rest, true),
        None => (body, false),
    };
    // `//` after the scheme's `://` starts the subdirectory.
    let after_scheme = body.find("://").map_or(0, |i| i + 3);
    let (base, subdir) = match body[after_scheme..].find("//") {
        Some(i) => (&body[..after_scheme + i], Some(body[after_scheme + i + 2..].trim_matches('/').to_string())),
        None => (body, None),
    };
    let subdir = subdir.filter(|s| !s.is_empty());
    if subdir.as_deref().is_some_and(|s| s.split('/').any(|p| p == "..")) {
        return Err("a module's subdirectory may not leave it (\"..\")".into());
    }
    if forced_git {
        return Ok(Source { kind: Kind::Git { url: base.to_string(), rev }, subdir });
    }
    if let Some(rest) = base.strip_prefix("github.com/") {
        let url = format!("https://github.com/{}", rest.trim_end_matches(".git"));
        return Ok(Source { kind: Kind::Git { url: format!("{url}.git"), rev }, subdir });
    }
    if base.starts_with("http://") || base.starts_with("https://") {
        let is_archive = base.ends_with(".tar.gz")
            || base.ends_with(".tgz")
            || query.is_some_and(|q| q.split('&').any(|kv| kv == "archive=tar.gz" || kv == "archive=tgz"));
        if !is_archive {
            return Err("Landform downloads modules over HTTP as .tar.gz archives (or ?archive=tar.gz); for a git repository write git::URL".into());
        }
        let url = match query {
            Some(q) => format!("{base}?{q}"),
            None => base.to_string(),
        };
        return Ok(Source { kind: Kind::Archive { url }, subdir });
    }
    let parts: Vec<&str> = base.split('/').collect();
    let ok = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    match parts.as_slice() {
        [ns, name, provider] if ok(ns) && ok(name) && ok(provider) => Ok(Source {
            kind: Kind::Registry { host: "registry.terraform.io".into(), path: base.to_string() },
            subdir,
        }),
        [host, ns, name, provider] if host.contains(['.', ':']) && ok(ns) && ok(name) && ok(provider) => Ok(Source {
            kind: Kind::Registry { host: host.to_string(), path: [*ns, *name, *provider].join("/") },
            subdir,
        }),
        _ => Err("not a local path (./ or ../), a registry address (NAMESPACE/NAME/PROVIDER), git::URL or an https:// .tar.gz".into()),
    }
}

/// `base/name` for a name read from data (a module key, a subdirectory from
/// a source or the lock file), proven to stay inside `base`.
fn inside(base: &Path, name: &str) -> Result<String, String> {
    landform_state::files::join_inside(base, name).map(|p| p.to_string_lossy().into_owned())
}

fn with_subdir(dir: &str, sub: &Option<String>) -> Result<String, String> {
    match sub {
        Some(s) => inside(Path::new(dir), s),
        None => Ok(dir.to_string()),
    }
}

fn join_subdirs(a: &Option<String>, b: &Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(format!("{a}/{b}")),
        (a, b) => a.clone().or_else(|| b.clone()),
    }
}

/// A registry's answers are small JSON documents.
fn client() -> Result<http::Client, String> {
    http::Client::new("init", Duration::from_secs(60), 4 << 20)
}

/// A module is source text: 256 MiB is far past any real one.
const MAX_ARCHIVE: u64 = 256 << 20;

/// A registry's module API: its address through service discovery
/// (`/.well-known/terraform.json`). A registry on this machine (a host that
/// is loopback, parsed) is spoken to over plain HTTP; any other over HTTPS only.
fn registry_base(c: &http::Client, host: &str) -> Result<String, String> {
    let local = http::is_loopback_authority(host);
    let origin = format!("{}://{host}", if local { "http" } else { "https" });
    let url = format!("{origin}/.well-known/terraform.json");
    let j: Json = get_json(c, &url)?;
    let base =
        j["modules.v1"].as_str().ok_or_else(|| format!("{host} is not a module registry (no modules.v1 in {url})"))?;
    let base = if base.starts_with("http") { base.to_string() } else { format!("{origin}{base}") };
    Ok(if base.ends_with('/') { base } else { format!("{base}/") })
}

fn get_json(c: &http::Client, url: &str) -> Result<Json, String> {
    let r = c.send(http::Request::get(url)).map_err(|e| format!("cannot reach {}: {e}", redact(url)))?;
    if !r.status().is_success() {
        return Err(format!("{} answered {}", redact(url), r.status()));
    }
    r.json().map_err(|e| format!("{}: {e}", redact(url)))
}

/// The version to take (the locked one, or the newest the constraint
/// allows) and where to get it (`X-Terraform-Get`).
fn registry_resolve(
    host: &str,
    path: &str,
    constraint: Option<&Constraint>,
    locked: Option<&str>,
) -> Result<(String, String), String> {
    let c = client()?;
    let base = registry_base(&c, host)?;
    let list = get_json(&c, &format!("{base}{path}/versions"))?;
    let mut versions: Vec<(Version, String)> = list["modules"][0]["versions"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v["version"].as_str()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|s| Version::parse(s).ok().map(|v| (v, s.to_string())))
        .collect();
    versions.sort_by(|a, b| a.0.cmp(&b.0));
    let pick = match locked {
        Some(l) => versions.iter().find(|(_, s)| s == l),
        None => versions.iter().rev().find(|(v, _)| constraint.is_none_or(|c| c.allows(v))),
    };
    let Some((_, version)) = pick else {
        let have: Vec<&str> = versions.iter().map(|(_, s)| s.as_str()).collect();
        return Err(match locked {
            Some(l) => format!("the locked version {l} is no longer offered (the registry has {})", have.join(", ")),
            None => format!("no version matches the constraint (the registry has {})", have.join(", ")),
        });
    };
    let url = format!("{base}{path}/{version}/download");
    let r = c.send(http::Request::get(&url)).map_err(|e| format!("cannot reach {}: {e}", redact(&url)))?;
    if !r.status().is_success() {
        return Err(format!("{} answered {}", redact(&url), r.status()));
    }
    let getter = r
        .headers()
        .get("x-terraform-get")
        .and_then(|h| h.to_str().ok())
        .ok_or_else(|| format!("{url} gave no X-Terraform-Get header"))?
        .to_string();
    // A relative location is relative to the download URL.
    let getter = if getter.starts_with("./") || getter.starts_with('/') {
        reqwest::Url::parse(&url).and_then(|u| u.join(&getter)).map(|u| u.to_string()).map_err(|e| e.to_string())?
    } else {
        getter
    };
    Ok((version.clone(), getter))
}

/// Fetch into `dest` (which must not exist); what was fetched, for the lock.
fn fetch_into(kind: &Kind, dest: &Path) -> Result<String, String> {
    match kind {
        Kind::Git { url, rev } => {
            let git = |args: &[&str], dir: Option<&Path>| -> Result<String, String> {
                let mut cmd = std::process::Command::new("git");
                cmd.args(args).env("GIT_TERMINAL_PROMPT", "0");
                if let Some(d) = dir {
                    cmd.current_dir(d);
                }
                let out = cmd.output().map_err(|e| format!("cannot run git: {}", io_words(&e)))?;
                if !out.status.success() {
                    let err = String::from_utf8_lossy(&out.stderr);
                    return Err(format!("git {} failed: {}", args[0], err.trim()));
                }
                Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
            };
            // `--`: a URL that begins with `-` is a URL, never an option.
            git(&["clone", "--quiet", "--no-checkout", "--", url, &dest.to_string_lossy()], None)
                .map_err(|e| e.replace(url.as_str(), &redact(url)))?;
            let target = rev.clone().unwrap_or_else(|| "HEAD".to_string());
            // A ref (from the source or the lock file) is a name, never an option.
            if target.starts_with('-') {
                return Err(format!("\"{target}\" is not a ref: a ref does not begin with \"-\""));
            }
            git(&["checkout", "--quiet", "--detach", &target], Some(dest)).map_err(|e| match rev {
                Some(r) => format!("there is no ref \"{r}\" ({e})"),
                None => e,
            })?;
            let commit = git(&["rev-parse", "HEAD"], Some(dest))?;
            std::fs::remove_dir_all(dest.join(".git")).map_err(|e| e.to_string())?;
            Ok(format!("{}@{commit}", redact(url)))
        }
        Kind::Archive { url } => {
            // Streamed to a file beside dest, never held in memory, and
            // refused past its size limit.
            let c = http::Client::new("init", Duration::from_secs(600), MAX_ARCHIVE)?;
            let r = c.send(http::Request::get(url)).map_err(|e| format!("cannot reach {}: {e}", redact(url)))?;
            if !r.status().is_success() {
                return Err(format!("{} answered {}", redact(url), r.status()));
            }
            let mut download = dest.as_os_str().to_owned();
            download.push(".download");
            let download = PathBuf::from(download);
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent).map_err(|e| io_words(&e))?;
            }
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&download)
                .map_err(|e| io_words(&e))?;
            let _remove = RemoveOnDrop(download.clone());
            let mut w = std::io::BufWriter::new(&file);
            r.copy_to(&mut w).map_err(|e| format!("downloading {}: {e}", redact(url)))?;
            std::io::Write::flush(&mut w).map_err(|e| io_words(&e))?;
            drop(w);
            let mut file = file;
            std::io::Seek::rewind(&mut file).map_err(|e| io_words(&e))?;
            std::fs::create_dir_all(dest).map_err(|e| e.to_string())?;
            let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)));
            let mut unpacked: u64 = 0;
            for entry in archive.entries().map_err(|e| format!("{} is not a .tar.gz: {e}", redact(url)))? {
                let mut entry = entry.map_err(|e| format!("{} is not a .tar.gz: {e}", redact(url)))?;
                // Files and directories only: a link could point anywhere.
                if !matches!(entry.header().entry_type(), tar::EntryType::Regular | tar::EntryType::Directory) {
                    continue;
                }
                // The size tar will write: a PAX `size` record overrides the header's.
                unpacked += entry.size();
                if unpacked > 1 << 30 {
                    return Err(format!("{} unpacks to more than 1 GiB", redact(url)));
                }
                // An entry is written only where it stays inside dest (unpack_in
                // refuses the others too).
                let name = entry.path().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
                let name = name.trim_start_matches("./").trim_end_matches('/');
                if name.is_empty() || landform_state::files::join_inside(dest, name).is_err() {
                    continue;
                }
                entry.unpack_in(dest).map_err(|e| format!("unpacking {}: {}", redact(url), io_words(&e)))?;
            }
            Ok(redact(url))
        }
        Kind::Registry { .. } => Err("a registry gave another registry address".into()),
    }
}

use landform_lang::module::redact_url as redact;

/// A file removed when this goes out of scope (a download once unpacked, or
/// one that failed).
struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Every entry under `dir`, without following links: a link is listed, never
/// entered, so that a link to `.` cannot make a walk endless.
fn walk(dir: &Path) -> Result<Vec<(PathBuf, std::fs::FileType)>, String> {
    let mut found = Vec::new();
    let mut stack = vec![PathBuf::from(dir)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).map_err(|e| format!("cannot read {}: {}", d.display(), io_words(&e)))?.flatten()
        {
            let Ok(t) = e.file_type() else { continue };
            if t.is_dir() {
                stack.push(e.path());
            }
            found.push((e.path(), t));
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found)
}

/// A download is data: a symbolic link in it that leads out of it (to
/// `/etc/passwd`, `~/.ssh`, a file of the project's) is removed, so that
/// nothing outside a module is ever read as part of it.
fn remove_links_out(dir: &Path) -> Result<(), String> {
    for (p, t) in walk(dir)? {
        let rel = p.strip_prefix(dir).unwrap_or(&p).to_string_lossy().into_owned();
        if t.is_symlink() && landform_state::files::join_inside(dir, &rel).is_err() {
            std::fs::remove_file(&p).map_err(|e| format!("cannot remove the link {rel}: {}", io_words(&e)))?;
        }
    }
    Ok(())
}

/// SHA-256 over every file's path and contents (a link's target), in path order.
fn tree_hash(dir: &Path) -> Result<String, String> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (f, t) in walk(dir)? {
        let rel = f.strip_prefix(dir).unwrap_or(&f).to_string_lossy().into_owned();
        let body = if t.is_file() {
            std::fs::read(&f).map_err(|e| format!("cannot read {}: {}", f.display(), io_words(&e)))?
        } else if t.is_symlink() {
            let to = std::fs::read_link(&f).map_err(|e| format!("cannot read {}: {}", f.display(), io_words(&e)))?;
            format!("-> {}", to.to_string_lossy()).into_bytes()
        } else {
            continue;
        };
        h.update(rel.as_bytes());
        h.update([0]);
        h.update(body);
        h.update([0]);
    }
    Ok(format!("sha256:{:x}", h.finalize()))
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(19)]
}

fn read_json(p: &Path) -> Option<Json> {
    serde_json::from_slice(&crate::inputs::read_regular(p, 64 << 20).ok()?).ok()
}

fn lock_entries(j: &Json) -> BTreeMap<String, Resolved> {
    let s = |v: &Json| v.as_str().map(str::to_string);
    j["modules"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    Some((
                        k.clone(),
                        Resolved {
                            source: s(&v["source"])?,
                            constraint: s(&v["constraint"]),
                            version: s(&v["version"]),
                            fetched: s(&v["fetched"])?,
                            hash: s(&v["hash"])?,
                            subdir: s(&v["subdir"]),
                            dir: String::new(),
                        },
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Write `j` unless the file already holds exactly it; whether it wrote.
fn write_if_changed(p: &Path, j: &Json) -> Result<bool, String> {
    let text = format!("{}\n", serde_json::to_string_pretty(j).unwrap_or_default());
    if std::fs::read_to_string(p).ok().as_deref() == Some(text.as_str()) {
        return Ok(false);
    }
    if let Some(parent) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {}", parent.display(), io_words(&e)))?;
    }
    landform_state::files::write_atomic(p, text.as_bytes())
        .map_err(|e| format!("cannot write {}: {}", p.display(), io_words(&e)))?;
    Ok(true)
}

/// Where `init` put the module at `key` under `root`, from its manifest: a
/// directory inside `.landform/modules`, or none.
pub fn installed(root: &str, key: &str) -> Option<String> {
    let manifest = read_json(&Path::new(root).join(MANIFEST))?;
    let dir = manifest["modules"].as_array()?.iter().find(|m| m["key"] == key)?["dir"].as_str()?.to_string();
    let under = dir.strip_prefix(MODULES_DIR)?.strip_prefix('/')?;
    inside(&Path::new(root).join(MODULES_DIR), under).ok()?;
    let full = Path::new(root).join(&dir);
    full.is_dir().then(|| if root == "." { dir } else { full.to_string_lossy().into_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_read_as_terraform_reads_them() {
        let s = parse_source("git::https://example.com/vpc.git//modules/vpc?ref=v1.2.0").unwrap();
        assert!(
            matches!(&s.kind, Kind::Git { url, rev: Some(r) } if url == "https://example.com/vpc.git" && r == "v1.2.0")
        );
        assert_eq!(s.subdir.as_deref(), Some("modules/vpc"));
        let s = parse_source("git::file:///tmp/repo?ref=main").unwrap();
        assert!(matches!(&s.kind, Kind::Git { url, .. } if url == "file:///tmp/repo"));
        assert!(s.subdir.is_none());
        let s = parse_source("terraform-aws-modules/vpc/aws//modules/vpc-endpoints").unwrap();
        assert!(
            matches!(&s.kind, Kind::Registry { host, path } if host == "registry.terraform.io" && path == "terraform-aws-modules/vpc/aws")
        );
        assert_eq!(s.subdir.as_deref(), Some("modules/vpc-endpoints"));
        let s = parse_source("localhost:8080/acme/net/aws").unwrap();
        assert!(matches!(&s.kind, Kind::Registry { host, .. } if host == "localhost:8080"));
        assert!(matches!(parse_source("https://x.test/m.tar.gz").unwrap().kind, Kind::Archive { .. }));
        assert!(parse_source("https://x.test/m.zip").is_err());
        assert!(parse_source("git::https://x.test/r.git//../up").is_err());
        assert!(parse_source("nonsense").is_err());
        assert_eq!(
            redact("git::https://bob:s3cret@example.com/r.git?ref=v1"),
            "git::https://***@example.com/r.git?ref=v1"
        );
        assert_eq!(redact("https://example.com/a@b.tar.gz"), "https://example.com/a@b.tar.gz");
    }
}
