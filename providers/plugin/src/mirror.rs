//! Finding a provider's binary in a Terraform filesystem mirror (the
//! unpacked layout `HOST/NAMESPACE/TYPE/VERSION/OS_ARCH/terraform-provider-TYPE…`).

use std::path::{Path, PathBuf};

/// A provider's source address, as `required_providers` gives it
/// (`hashicorp/aws`, `registry.terraform.io/hashicorp/aws`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceAddr {
    pub host: String,
    pub namespace: String,
    pub type_name: String,
}

impl SourceAddr {
    /// `NAMESPACE/TYPE` or `HOST/NAMESPACE/TYPE`; `None` for a bare name
    /// (Landform's own providers are named that way).
    pub fn parse(s: &str) -> Option<SourceAddr> {
        let parts: Vec<&str> = s.split('/').collect();
        let ok = |p: &str| !p.is_empty() && p != "." && p != ".." && !p.contains(['\\', '\0']);
        if !parts.iter().all(|p| ok(p)) {
            return None;
        }
        let (host, namespace, type_name) = match parts.as_slice() {
            [ns, ty] => ("registry.terraform.io", *ns, *ty),
            [host, ns, ty] => (*host, *ns, *ty),
            _ => return None,
        };
        Some(SourceAddr {
            host: host.to_ascii_lowercase(),
            namespace: namespace.to_ascii_lowercase(),
            type_name: type_name.to_ascii_lowercase(),
        })
    }
}

impl std::fmt::Display for SourceAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.host, self.namespace, self.type_name)
    }
}

/// Where Landform looks: `LANDFORM_PLUGIN_MIRROR` (directories separated by
/// `:`), then Terraform's own implied local mirror directories.
pub fn mirror_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("LANDFORM_PLUGIN_MIRROR")
        .map(|v| std::env::split_paths(&v).filter(|p| !p.as_os_str().is_empty()).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        let home = PathBuf::from(home);
        dirs.push(home.join(".terraform.d/plugins"));
        dirs.push(home.join(".local/share/terraform/plugins"));
    }
    dirs.push(PathBuf::from("/usr/local/share/terraform/plugins"));
    dirs.push(PathBuf::from("/usr/share/terraform/plugins"));
    dirs
}

/// The platform directory name of this machine (`linux_amd64`).
pub fn platform() -> String {
    let os = std::env::consts::OS;
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("{os}_{arch}")
}

/// A provider found in a mirror.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub version: String,
    pub path: PathBuf,
}

/// The newest version of `source` in the first of `dirs` that has it.
pub fn find(source: &SourceAddr, dirs: &[PathBuf]) -> Option<Found> {
    dirs.iter().find_map(|d| versions_in(source, d).into_iter().next())
}

/// Every release of `source` in `dirs` for this platform, newest first; a
/// version in more than one directory is taken from the first.
pub fn versions(source: &SourceAddr, dirs: &[PathBuf]) -> Vec<Found> {
    let mut all: Vec<(Vec<u64>, Found)> = Vec::new();
    for d in dirs {
        for f in versions_in(source, d) {
            if !all.iter().any(|(_, a)| a.version == f.version) {
                all.push((version_key(&f.version).unwrap_or_default(), f));
            }
        }
    }
    all.sort_by(|a, b| b.0.cmp(&a.0));
    all.into_iter().map(|(_, f)| f).collect()
}

fn versions_in(source: &SourceAddr, dir: &Path) -> Vec<Found> {
    let base = dir.join(&source.host).join(&source.namespace).join(&source.type_name);
    let Ok(entries) = std::fs::read_dir(&base) else { return Vec::new() };
    let mut versions: Vec<(Vec<u64>, String)> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|v| Some((version_key(&v)?, v)))
        .collect();
    versions.sort();
    let platform = platform();
    versions
        .into_iter()
        .rev()
        .filter_map(|(_, v)| {
            let path = binary_in(&base.join(&v).join(&platform), &source.type_name)?;
            Some(Found { version: v, path })
        })
        .collect()
}

/// Terraform's packed layout: `HOST/NAMESPACE/TYPE/terraform-provider-TYPE_VERSION_OS_ARCH.zip`
/// for this platform, newest first (the path is the zip's).
pub fn packed_versions(source: &SourceAddr, dirs: &[PathBuf]) -> Vec<Found> {
    let prefix = format!("terraform-provider-{}_", source.type_name);
    let suffix = format!("_{}.zip", platform());
    let mut all: Vec<(Vec<u64>, Found)> = Vec::new();
    for d in dirs {
        let base = d.join(&source.host).join(&source.namespace).join(&source.type_name);
        let Ok(entries) = std::fs::read_dir(&base) else { continue };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(v) = name.strip_prefix(&prefix).and_then(|n| n.strip_suffix(&suffix)) else { continue };
            let Some(key) = version_key(v) else { continue };
            if e.path().is_file() && !all.iter().any(|(_, f)| f.version == v) {
                all.push((key, Found { version: v.to_string(), path: e.path() }));
            }
        }
    }
    all.sort_by(|a, b| b.0.cmp(&a.0));
    all.into_iter().map(|(_, f)| f).collect()
}

/// The provider's executable in an unpacked package directory.
pub fn binary_in(package: &Path, type_name: &str) -> Option<PathBuf> {
    let prefix = format!("terraform-provider-{type_name}");
    let mut bins: Vec<PathBuf> = std::fs::read_dir(package)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    bins.sort();
    bins.into_iter().next()
}

/// A release version's numbers (`5.100.0`); pre-releases are not chosen.
pub fn version_key(v: &str) -> Option<Vec<u64>> {
    let parts: Vec<u64> = v.split('.').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    (parts.len() == 3).then_some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_addresses() {
        let a = SourceAddr::parse("hashicorp/aws").unwrap();
        assert_eq!(a.to_string(), "registry.terraform.io/hashicorp/aws");
        assert_eq!(SourceAddr::parse("Example.com/Test/PYV").unwrap().to_string(), "example.com/test/pyv");
        assert_eq!(SourceAddr::parse("aws"), None);
        assert_eq!(SourceAddr::parse("../../etc"), None);
        assert_eq!(SourceAddr::parse("a//b"), None);
    }

    #[test]
    fn the_newest_release_in_the_mirror_is_found() {
        let dir = std::env::temp_dir().join(format!("landform-mirror-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for v in ["5.9.0", "5.100.0", "6.0.0-beta1"] {
            let p = dir.join("registry.terraform.io/hashicorp/aws").join(v).join(platform());
            std::fs::create_dir_all(&p).unwrap();
            std::fs::write(p.join(format!("terraform-provider-aws_v{v}_x5")), "").unwrap();
        }
        let found = find(&SourceAddr::parse("hashicorp/aws").unwrap(), &[dir.join("nothing"), dir.clone()]).unwrap();
        assert_eq!(found.version, "5.100.0");
        assert!(found.path.ends_with("terraform-provider-aws_v5.100.0_x5"));
        assert_eq!(find(&SourceAddr::parse("hashicorp/tls").unwrap(), std::slice::from_ref(&dir)), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
