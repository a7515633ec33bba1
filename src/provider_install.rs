//! Terraform's providers for `landform init`, and for the commands after it:
//! each provider the root module requires by source address is chosen from
//! the filesystem mirrors (the version `.terraform.lock.hcl` records, or the
//! newest the `version` constraints allow), its package checked against the
//! lock's hashes, linked into `.landform/providers/HOST/NS/TYPE/VERSION/OS_ARCH`
//! (as Terraform links a mirror's unpacked package into `.terraform/providers`),
//! and recorded in the lock file as Terraform records it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use landform_lang::diag::Diagnostic;
use landform_lang::module::LoadedModule;
use landform_lang::version::{Constraint, Version};
use landform_provider_plugin::mirror::{self, Found, SourceAddr};

use crate::provider_lock::{self, Locked, LOCK_FILE};

pub const PROVIDERS_DIR: &str = ".landform/providers";

/// Landform's own providers, never plugins.
fn is_builtin_name(name: &str) -> bool {
    matches!(name, "local" | "haproxy")
}

/// The root module's plugin providers: local name, source address.
fn plugin_sources(tree: &LoadedModule) -> Vec<(String, SourceAddr)> {
    tree.module
        .required_providers
        .iter()
        .filter(|(name, _)| !is_builtin_name(name))
        .filter_map(|(name, source)| Some((name.clone(), SourceAddr::parse(source)?)))
        .collect()
}

/// The `version` constraints written for `addr` in `tree` and the modules below it.
fn constraints_in(tree: &LoadedModule, addr: &SourceAddr, out: &mut Vec<(String, landform_lang::source::Span)>) {
    for (name, source) in &tree.module.required_providers {
        if SourceAddr::parse(source).as_ref() == Some(addr) {
            if let Some(v) = tree.module.required_provider_versions.get(name) {
                out.push(v.clone());
            }
        }
    }
    for child in tree.children.values() {
        constraints_in(child, addr, out);
    }
}

/// `init`'s provider step. Diagnostics say what is wrong; the lock file is
/// written only when what it records changed.
pub fn install(
    tree: &LoadedModule,
    upgrade: bool,
) -> Result<Vec<Diagnostic>, (Vec<Diagnostic>, landform_lang::source::SourceMap)> {
    let old = provider_lock::read(Path::new(LOCK_FILE))?;
    let cli = crate::cli_config::read()?;
    let mut diags = Vec::new();
    let mut new = BTreeMap::new();
    // A provider Landform serves itself (`local`, `haproxy`) keeps the entry
    // Terraform wrote for it: the file is the team's, shared with Terraform.
    for (name, source) in &tree.module.required_providers {
        if let Some(addr) = SourceAddr::parse(source).filter(|_| is_builtin_name(name)) {
            if let Some(l) = old.get(&addr.to_string()) {
                new.insert(addr.to_string(), l.clone());
            }
        }
    }
    let ctx = Ctx { tree, old: &old, cli: &cli, upgrade };
    for (name, addr) in plugin_sources(tree) {
        ctx.provider(&name, addr, &mut new, &mut diags);
    }
    if !landform_lang::diag::has_errors(&diags) && new != old {
        if new.is_empty() {
            let _ = std::fs::remove_file(LOCK_FILE);
        } else {
            landform_state::files::write_atomic(Path::new(LOCK_FILE), provider_lock::render(&new).as_bytes()).map_err(
                |e| {
                    let d = Diagnostic::global(
                        "Failed to write the dependency lock file",
                        format!("{LOCK_FILE}: {}", landform_state::files::io_words(&e)),
                    );
                    (vec![d], landform_lang::source::SourceMap::new())
                },
            )?;
            crate::outln!("Landform recorded the providers it chose in {LOCK_FILE}.");
        }
    }
    Ok(diags)
}

/// A provider's constraint (parsed, and in Terraform's normal form) and the
/// place to report about it.
type Constrained = (Option<(Constraint, String)>, Option<landform_lang::source::Span>);

/// What `init` decides each provider by.
struct Ctx<'a> {
    tree: &'a LoadedModule,
    old: &'a BTreeMap<String, Locked>,
    cli: &'a crate::cli_config::Installation,
    upgrade: bool,
}

impl Ctx<'_> {
    /// The constraints of every module that requires `addr` (all must hold;
    /// Terraform records them together) and where to report about it;
    /// `Err` when one is not a constraint (said in `diags`).
    fn constraint(&self, name: &str, addr: &SourceAddr, diags: &mut Vec<Diagnostic>) -> Result<Constrained, ()> {
        let mut written = Vec::new();
        constraints_in(self.tree, addr, &mut written);
        let mut bad = false;
        for (text, span) in &written {
            if let Err(e) = Constraint::parse(text).and_then(|_| provider_lock::normal_constraints(text)) {
                diags.push(Diagnostic::error("Invalid version constraint", e, *span));
                bad = true;
            }
        }
        if bad {
            return Err(());
        }
        let all = written.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>().join(",");
        let constraint = match written.is_empty() {
            true => None,
            false => Constraint::parse(&all).ok().zip(provider_lock::normal_constraints(&all).ok()),
        };
        let span = self.tree.module.required_provider_versions.get(name).map(|(_, s)| *s);
        Ok((constraint, span.or(written.first().map(|(_, s)| *s))))
    }

    /// Choose, check and install one provider, recording it in `new`.
    fn provider(&self, name: &str, addr: SourceAddr, new: &mut BTreeMap<String, Locked>, diags: &mut Vec<Diagnostic>) {
        let (old, cli, upgrade) = (self.old, self.cli, self.upgrade);
        let key = addr.to_string();
        // Run from its own directory by plan and apply: nothing to install (as Terraform's init).
        if let Some(dir) = cli.dev_overrides.get(&key) {
            crate::outln!(
                "- {key}: a development override is in effect (dev_overrides: {}); not installed",
                dir.display()
            );
            if let Some(l) = old.get(&key) {
                new.insert(key, l.clone());
            }
            return;
        }
        let Ok((constraint, span)) = self.constraint(name, &addr, diags) else { return };
        let fail = |summary: &str, detail: String| match span {
            Some(s) => Diagnostic::error(summary, detail, s),
            None => Diagnostic::global(summary, detail),
        };
        // The methods that serve this provider: its mirrors, and whether the
        // registry. With Terraform's implied methods a provider in a local
        // mirror comes from there only; with a provider_installation block
        // the versions of every method serving it are offered together.
        let (dirs, direct) = cli.for_provider(&addr);
        let mirrored = in_mirrors(&addr, &dirs);
        let mut networked: Vec<(String, Vec<String>)> = Vec::new();
        for url in cli.network_for(&addr) {
            match crate::provider_network_mirror::versions(&url, &addr) {
                Ok(v) => networked.push((url, v)),
                Err(e) => {
                    let why = format!("{key}: the network mirror {url}: {e}");
                    diags.push(fail("Failed to query available provider packages", why));
                    return;
                }
            }
        }
        let mut offered: Vec<String> = if direct && (mirrored.is_empty() || cli.explicit) {
            let auth = crate::provider_registry::Auth::new(&addr, cli.token_for(&addr.host));
            match crate::provider_registry::versions(&addr, auth.as_ref()) {
                Ok(mut v) => {
                    for f in &mirrored {
                        if !v.contains(&f.version) {
                            v.push(f.version.clone());
                        }
                    }
                    v.sort_by_key(|v| std::cmp::Reverse(mirror::version_key(v)));
                    v
                }
                Err(e) if name == "aws" => {
                    // Landform's built-in aws provider serves `aws_*` then.
                    crate::outln!(
                        "- {key}: not in a filesystem mirror, and {e}; Landform's built-in aws provider is used"
                    );
                    if let Some(l) = old.get(&key) {
                        new.insert(key, l.clone());
                    }
                    return;
                }
                Err(e) => {
                    diags.push(fail("Failed to query available provider packages", format!("{key}: {e}")));
                    return;
                }
            }
        } else {
            mirrored.iter().map(|f| f.version.clone()).collect()
        };
        for v in networked.iter().flat_map(|(_, v)| v) {
            if !offered.contains(v) {
                offered.push(v.clone());
            }
        }
        offered.sort_by_key(|v| std::cmp::Reverse(mirror::version_key(v)));
        let allows = |v: &str| constraint.as_ref().is_none_or(|(c, _)| Version::parse(v).is_ok_and(|v| c.allows(&v)));
        let locked = old.get(&key).filter(|_| !upgrade);
        let chosen = match locked {
            Some(l) if !allows(&l.version) => {
                diags.push(fail(
                    "Failed to query available provider packages",
                    format!(
                        "locked provider {key} {} does not match configured version constraint {}; run `landform init -upgrade` to allow selection of new versions",
                        l.version,
                        constraint.as_ref().map(|(_, n)| n.as_str()).unwrap_or("")
                    ),
                ));
                return;
            }
            Some(l) => offered.iter().find(|v| **v == l.version),
            None => offered.iter().find(|v| allows(v)),
        };
        let Some(version) = chosen.cloned() else {
            let have = if offered.is_empty() { "none".to_string() } else { offered.join(", ") };
            let why = match locked {
                Some(l) => format!("the version {} that {LOCK_FILE} records is not offered", l.version),
                None => "no version offered matches the constraints".to_string(),
            };
            let place = if mirrored.is_empty() {
                format!("from its registry {}", addr.host)
            } else {
                format!(
                    "in the filesystem mirrors ({})",
                    dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")
                )
            };
            diags.push(fail(
                "Failed to install provider",
                format!("{key} for {} {place}: {why} (versions: {have}).", mirror::platform()),
            ));
            return;
        };
        // Installed already as locked: the entry stays as it is (Terraform
        // records new constraints only when it installs a package).
        if let Some(l) = old.get(&key).filter(|l| l.version == version && installed_as_locked(&addr, l)) {
            crate::outln!("- Using previously-installed {key} v{}", l.version);
            new.insert(key, l.clone());
            return;
        }
        let installed = match mirrored.iter().find(|f| f.version == version) {
            Some(found) if found.path.extension().is_some_and(|e| e == "zip") => install_zip(&addr, found, locked),
            Some(found) => install_one(&addr, found, locked),
            None => match networked.iter().find(|(_, v)| v.contains(&version)) {
                Some((url, _)) => install_from_network(&addr, &version, url, locked),
                None => install_from_registry(&addr, &version, locked, cli),
            },
        };
        match installed {
            Ok(hashes) => {
                crate::outln!("- Installed {key} v{version}");
                new.insert(key, Locked { version, constraints: constraint.map(|(_, n)| n), hashes });
            }
            Err(e) => diags.push(fail("Failed to install provider", e)),
        }
    }
}

/// A provider's releases in `dirs`, unpacked or packed, newest first.
fn in_mirrors(addr: &SourceAddr, dirs: &[std::path::PathBuf]) -> Vec<Found> {
    let mut found = mirror::versions(addr, dirs);
    for packed in mirror::packed_versions(addr, dirs) {
        if !found.iter().any(|f| f.version == packed.version) {
            found.push(packed);
        }
    }
    found.sort_by_key(|f| std::cmp::Reverse(mirror::version_key(&f.version)));
    found
}

/// Check a package against the lock and link it into `.landform/providers`;
/// the hashes to record.
fn install_one(addr: &SourceAddr, found: &Found, locked: Option<&Locked>) -> Result<Vec<String>, String> {
    let package = found.path.parent().ok_or("a provider without a directory")?;
    let h1 = provider_lock::h1_dir(package)?;
    let mut hashes = match locked {
        Some(l) if l.version == found.version => {
            if !l.hashes.is_empty() && !l.hashes.contains(&h1) {
                return Err(format!(
                    "the local package for {addr} {} ({}) does not match any of the checksums previously recorded in {LOCK_FILE} (it is {h1}). If the package was changed on purpose, run `landform init -upgrade`; otherwise restore the package.",
                    found.version,
                    package.display()
                ));
            }
            l.hashes.clone()
        }
        _ => Vec::new(),
    };
    if !hashes.contains(&h1) {
        hashes.push(h1);
    }
    hashes.sort();
    let link = installed_dir(addr, &found.version);
    let target = std::fs::canonicalize(package).map_err(|e| format!("cannot read {}: {e}", package.display()))?;
    if std::fs::read_link(&link).ok().as_deref() != Some(target.as_path()) {
        if let Some(parent) = link.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        let _ = std::fs::remove_file(&link);
        let _ = std::fs::remove_dir_all(&link);
        std::os::unix::fs::symlink(&target, &link).map_err(|e| format!("cannot link {}: {e}", link.display()))?;
    }
    remember(&link, &hashes);
    Ok(hashes)
}

/// Download, check and unpack a package from the registry into
/// `.landform/providers`; the hashes to record: the lock's (for the same
/// version), the unpacked package's `h1:`, and the `zh:` of every platform's
/// zip the signed SHA256SUMS lists.
fn install_from_registry(
    addr: &SourceAddr,
    version: &str,
    locked: Option<&Locked>,
    cli: &crate::cli_config::Installation,
) -> Result<Vec<String>, String> {
    let cache = cli.plugin_cache_dir.as_deref();
    // The plugin cache's copy, when the lock vouches for it (without the
    // lock's hashes Terraform does not trust a cached package either).
    let cached = cache.map(|c| crate::cli_config::cache_dir_for(c, addr, version));
    if let (Some(c), Some(l)) = (&cached, locked.filter(|l| l.version == version && !l.hashes.is_empty())) {
        if let Some(path) = mirror::binary_in(c, &addr.type_name) {
            if provider_lock::h1_dir(c).is_ok_and(|h| l.hashes.contains(&h)) {
                return install_one(addr, &Found { version: version.to_string(), path }, locked);
            }
        }
    }
    let auth = crate::provider_registry::Auth::new(addr, cli.token_for(&addr.host));
    let hashes = download_from_registry(addr, version, locked, auth.as_ref())?;
    // Kept in the plugin cache for the next project, linked from here.
    if let Some(c) = cached {
        let dir = installed_dir(addr, version);
        let _ = std::fs::remove_dir_all(&c);
        let moved = c.parent().is_some_and(|p| std::fs::create_dir_all(p).is_ok()) && std::fs::rename(&dir, &c).is_ok();
        if moved {
            std::os::unix::fs::symlink(&c, &dir).map_err(|e| format!("cannot link {}: {e}", dir.display()))?;
            remember(&dir, &hashes);
        }
    }
    Ok(hashes)
}

fn download_from_registry(
    addr: &SourceAddr,
    version: &str,
    locked: Option<&Locked>,
    auth: Option<&crate::provider_registry::Auth>,
) -> Result<Vec<String>, String> {
    let dir = installed_dir(addr, version);
    let tmp = dir.with_extension("tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    let got = crate::provider_registry::download(addr, version, &tmp, auth).and_then(|d| {
        let h1 = provider_lock::h1_dir(&tmp)?;
        mirror::binary_in(&tmp, &addr.type_name)
            .ok_or_else(|| format!("the package holds no terraform-provider-{} executable", addr.type_name))?;
        Ok((d, h1))
    });
    let (d, h1) = match got {
        Ok(x) => x,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    place(addr, version, &tmp, locked, h1, Some(d.this_zh), d.zh)
}

/// Download, check and unpack a package from a network mirror into
/// `.landform/providers`: it must match one of the checksums the mirror
/// gives for it (and the lock's, for the same version); the hashes to record
/// are its `h1:` and the mirror's.
fn install_from_network(
    addr: &SourceAddr,
    version: &str,
    url: &str,
    locked: Option<&Locked>,
) -> Result<Vec<String>, String> {
    let dir = installed_dir(addr, version);
    let tmp = dir.with_extension("tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    let got = crate::provider_network_mirror::download(url, addr, version, &tmp).and_then(|m| {
        mirror::binary_in(&tmp, &addr.type_name)
            .ok_or_else(|| format!("the package holds no terraform-provider-{} executable", addr.type_name))?;
        let h1 = provider_lock::h1_dir(&tmp)?;
        if !m.hashes.is_empty() && !m.hashes.contains(&h1) && !m.hashes.contains(&m.this_zh) {
            return Err(format!(
                "the package for {addr} {version} from the network mirror {url} matches none of the checksums the mirror gives for it (it is {h1}): it was changed or damaged, and is not installed"
            ));
        }
        Ok((m, h1))
    });
    let (m, h1) = match got {
        Ok(x) => x,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    let more = m.hashes.into_iter().filter(|h| h.starts_with("h1:") || h.starts_with("zh:")).collect();
    place(addr, version, &tmp, locked, h1, Some(m.this_zh), more)
}

/// A zip of the packed mirror layout, unpacked into `.landform/providers`
/// (Terraform records only its `h1:` then).
fn install_zip(addr: &SourceAddr, found: &Found, locked: Option<&Locked>) -> Result<Vec<String>, String> {
    let dir = installed_dir(addr, &found.version);
    let tmp = dir.with_extension("tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    let zh = provider_lock::zh_file(&found.path)?;
    let unpacked = std::fs::File::open(&found.path)
        .map_err(|e| format!("cannot read {}: {e}", found.path.display()))
        .and_then(|f| crate::provider_registry::unzip(f, &tmp))
        .and_then(|()| {
            mirror::binary_in(&tmp, &addr.type_name)
                .ok_or_else(|| format!("the package holds no terraform-provider-{} executable", addr.type_name))?;
            provider_lock::h1_dir(&tmp)
        });
    let h1 = match unpacked {
        Ok(h) => h,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(format!("{}: {e}", found.path.display()));
        }
    };
    place(addr, &found.version, &tmp, locked, h1, Some(zh), Vec::new())
}

/// Move an unpacked package from `tmp` into place once it matches the lock
/// (its `h1:`, or its zip's `zh:`); the hashes to record.
fn place(
    addr: &SourceAddr,
    version: &str,
    tmp: &Path,
    locked: Option<&Locked>,
    h1: String,
    this_zh: Option<String>,
    more: Vec<String>,
) -> Result<Vec<String>, String> {
    let dir = installed_dir(addr, version);
    let mut hashes = match locked {
        Some(l) if l.version == version => {
            let zh_ok = this_zh.as_ref().is_some_and(|z| l.hashes.contains(z));
            if !l.hashes.is_empty() && !l.hashes.contains(&h1) && !zh_ok {
                let _ = std::fs::remove_dir_all(tmp);
                return Err(format!(
                    "the package for {addr} {version} does not match any of the checksums previously recorded in {LOCK_FILE} (it is {h1}): it is not installed. If the change is expected, run `landform init -upgrade`."
                ));
            }
            l.hashes.clone()
        }
        _ => Vec::new(),
    };
    for h in std::iter::once(h1).chain(more) {
        if !hashes.contains(&h) {
            hashes.push(h);
        }
    }
    hashes.sort();
    let _ = std::fs::remove_file(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(tmp, &dir).map_err(|e| format!("cannot move the package into {}: {e}", dir.display()))?;
    remember(&dir, &hashes);
    Ok(hashes)
}

/// The package in `.landform/providers` is there and matches the lock.
fn installed_as_locked(addr: &SourceAddr, l: &Locked) -> bool {
    let dir = installed_dir(addr, &l.version);
    mirror::binary_in(&dir, &addr.type_name).is_some()
        && (verified(&dir, &l.hashes) || provider_lock::h1_dir(&dir).is_ok_and(|h| l.hashes.contains(&h)))
}

fn installed_dir(addr: &SourceAddr, version: &str) -> PathBuf {
    Path::new(PROVIDERS_DIR)
        .join(&addr.host)
        .join(&addr.namespace)
        .join(&addr.type_name)
        .join(version)
        .join(mirror::platform())
}

/// What a package's files are (names, sizes, change times, inodes): a
/// package verified once is not hashed again (hashicorp/aws is 700 MB) until
/// one of them changes.
fn stamp(dir: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let m = std::fs::metadata(e.path()).ok()?;
        out.push(format!(
            "{}:{}:{}:{}:{}",
            e.file_name().to_string_lossy(),
            m.len(),
            m.ino(),
            m.mtime_nsec() + m.mtime() * 1_000_000_000,
            m.ctime_nsec() + m.ctime() * 1_000_000_000
        ));
    }
    out.sort();
    Some(out.join("\n"))
}

const VERIFIED: &str = ".landform/providers/verified.json";

fn remember(dir: &Path, hashes: &[String]) {
    let Some(st) = stamp(dir) else { return };
    let mut j: serde_json::Value = std::fs::read(VERIFIED)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .filter(serde_json::Value::is_object)
        .unwrap_or_else(|| serde_json::json!({}));
    j[dir.to_string_lossy().as_ref()] = serde_json::json!({"stamp": st, "hashes": hashes});
    let _ = landform_state::files::write_atomic(Path::new(VERIFIED), j.to_string().as_bytes());
}

fn verified(dir: &Path, hashes: &[String]) -> bool {
    let Some(st) = stamp(dir) else { return false };
    let j: serde_json::Value =
        std::fs::read(VERIFIED).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    let e = &j[dir.to_string_lossy().as_ref()];
    e["stamp"].as_str() == Some(st.as_str())
        && e["hashes"]
            .as_array()
            .is_some_and(|a| a.iter().any(|h| h.as_str().is_some_and(|h| hashes.iter().any(|l| l == h))))
}

/// Terraform's warning, once per command: what runs is not a release.
fn warn_overrides(cli: &crate::cli_config::Installation) {
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| {
        let list: String = cli.dev_overrides.iter().map(|(k, d)| format!("\n - {k} in {}", d.display())).collect();
        crate::errln!(
            "Warning: Provider development overrides are in effect\n\nThe following provider development overrides are set in the CLI configuration:{list}\n\nThe behavior may therefore not match any released version of the provider and applying changes may cause the state to become incompatible with published releases.\n"
        );
    });
}

/// For plan and apply: the root module's plugin providers. With a lock file,
/// each is the locked version `init` installed, whose package must still
/// match the lock's hashes; without one (no `init` yet), the newest in a
/// filesystem mirror. A provider required but not found is left out (the
/// plan names it).
pub fn resolve(tree: &LoadedModule) -> (BTreeMap<String, (SourceAddr, Found)>, Vec<Diagnostic>) {
    let mut out = BTreeMap::new();
    let lock = match provider_lock::read(Path::new(LOCK_FILE)) {
        Ok(l) => l,
        Err((diags, _)) => {
            let said: Vec<String> = diags.iter().map(|d| format!("{}: {}", d.summary, d.detail)).collect();
            let d = Diagnostic::global(
                "Invalid dependency lock file",
                format!(
                    "{LOCK_FILE} cannot be read ({}). Fix it, or remove it and run `landform init`.",
                    said.join("; ")
                ),
            );
            return (out, vec![d]);
        }
    };
    let mut diags = Vec::new();
    let cli = match crate::cli_config::read() {
        Ok(c) => c,
        Err((diags, _)) => {
            let said: Vec<String> = diags.iter().map(|d| format!("{}: {}", d.summary, d.detail)).collect();
            let d = Diagnostic::global("Invalid CLI configuration", said.join("; "));
            return (out, vec![d]);
        }
    };
    for (name, addr) in plugin_sources(tree) {
        let (dirs, _) = cli.for_provider(&addr);
        let key = addr.to_string();
        if let Some(dir) = cli.dev_overrides.get(&key) {
            match mirror::binary_in(dir, &addr.type_name) {
                Some(path) => {
                    warn_overrides(&cli);
                    out.insert(name, (addr, Found { version: "0.0.0-dev".into(), path }));
                }
                None => diags.push(Diagnostic::global(
                    "Invalid dev_overrides",
                    format!(
                        "the CLI configuration's dev_overrides runs {key} from {}, which holds no terraform-provider-{} executable",
                        dir.display(),
                        addr.type_name
                    ),
                )),
            }
            continue;
        }
        if lock.is_empty() {
            // No init yet: the newest the mirrors hold that every module's constraints allow.
            let mut written = Vec::new();
            constraints_in(tree, &addr, &mut written);
            let all = written.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>().join(",");
            let constraint = (!written.is_empty()).then(|| Constraint::parse(&all).ok()).flatten();
            let allows = |v: &str| constraint.as_ref().is_none_or(|c| Version::parse(v).is_ok_and(|v| c.allows(&v)));
            let held = mirror::versions(&addr, &dirs);
            match held.iter().find(|f| allows(&f.version)) {
                Some(found) => {
                    out.insert(name, (addr, found.clone()));
                }
                None if !held.is_empty() => diags.push(Diagnostic::global(
                    "Required provider not installed",
                    format!(
                        "{key}: no version in the filesystem mirrors matches the constraints {all} (versions: {}). Install one that does, then run `landform init`.",
                        held.iter().map(|f| f.version.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                )),
                None => {}
            }
            continue;
        }
        let Some(l) = lock.get(&key) else {
            if mirror::find(&addr, &dirs).is_some() {
                diags.push(Diagnostic::global(
                    "Inconsistent dependency lock file",
                    format!("{key} is required but {LOCK_FILE} has no entry for it: run `landform init`."),
                ));
            }
            continue;
        };
        let dir = installed_dir(&addr, &l.version);
        let Some(path) = mirror::binary_in(&dir, &addr.type_name) else {
            diags.push(Diagnostic::global(
                "Required provider not installed",
                format!(
                    "{key} {} (which {LOCK_FILE} records) is not installed in {}: run `landform init`.",
                    l.version,
                    dir.display()
                ),
            ));
            continue;
        };
        if !verified(&dir, &l.hashes) {
            let ok = provider_lock::h1_dir(&dir).is_ok_and(|h| l.hashes.contains(&h));
            if !ok {
                diags.push(Diagnostic::global(
                    "Provider package does not match the lock file",
                    format!("the installed package for {key} {} ({}) does not match any of the checksums recorded in {LOCK_FILE}: run `landform init` to install the package the lock records.", l.version, dir.display()),
                ));
                continue;
            }
            remember(&dir, &l.hashes);
        }
        out.insert(name, (addr, Found { version: l.version.clone(), path }));
    }
    (out, diags)
}
