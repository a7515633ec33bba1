//! Terraform's CLI configuration file, as far as provider installation goes:
//! `provider_installation { filesystem_mirror { path, include, exclude }
//! network_mirror { url, include, exclude } direct { include, exclude }
//! dev_overrides { "NS/TYPE" = "DIR" } }` and `plugin_cache_dir`, from the file
//! `LANDFORM_CLI_CONFIG_FILE` or `TF_CLI_CONFIG_FILE` names. Without one (or
//! without a `provider_installation` block), Terraform's implied methods:
//! the local mirror directories, then the registry.

use std::path::{Path, PathBuf};

use landform_lang::diag::Diagnostic;
use landform_lang::source::SourceMap;
use landform_lang::syntax::{Body, ExprKind};
use landform_provider_plugin::mirror::{self, SourceAddr};

/// One installation method, with the providers it is for.
#[derive(Clone, Debug)]
pub struct Method {
    /// A filesystem mirror's directory; `None` for the other methods.
    pub mirror: Option<PathBuf>,
    /// A network mirror's base URL; `None` for the other methods.
    pub network: Option<String>,
    include: Vec<String>,
    exclude: Vec<String>,
}

impl Method {
    /// Whether this method may install `addr`.
    pub fn serves(&self, addr: &SourceAddr) -> bool {
        let a = addr.to_string();
        (self.include.is_empty() || self.include.iter().any(|p| matches(p, &a)))
            && !self.exclude.iter().any(|p| matches(p, &a))
    }
}

/// `HOST/NS/TYPE` or `NS/TYPE` (the public registry), each part a name or `*`.
fn matches(pattern: &str, addr: &str) -> bool {
    let full =
        if pattern.split('/').count() == 2 { format!("registry.terraform.io/{pattern}") } else { pattern.to_string() };
    let p: Vec<&str> = full.split('/').collect();
    let a: Vec<&str> = addr.split('/').collect();
    p.len() == a.len() && p.iter().zip(&a).all(|(p, a)| *p == "*" || p.eq_ignore_ascii_case(a))
}

/// How providers are installed.
#[derive(Clone, Debug)]
pub struct Installation {
    pub methods: Vec<Method>,
    /// Set by a provider_installation block (not Terraform's implied methods).
    pub explicit: bool,
    /// `credentials "HOST" { token = "…" }`: a registry's API token.
    credentials: std::collections::BTreeMap<String, String>,
    pub plugin_cache_dir: Option<PathBuf>,
    /// `dev_overrides { "hashicorp/aws" = "/home/dev/go/bin" }`: providers
    /// plan and apply run from a directory of their own, as built,
    /// whatever the lock file says (by full source address).
    pub dev_overrides: std::collections::BTreeMap<String, PathBuf>,
}

impl Installation {
    /// A registry's token: `TF_TOKEN_HOST` (dots as `_`, dashes as `__`),
    /// else a `credentials "HOST"` block.
    pub fn token_for(&self, host: &str) -> Option<String> {
        let var = format!("TF_TOKEN_{}", host.replace('-', "__").replace('.', "_"));
        std::env::var(var).ok().filter(|t| !t.is_empty()).or_else(|| self.credentials.get(host).cloned())
    }

    /// The filesystem mirrors that may serve `addr`, in order, and whether
    /// the registry may.
    pub fn for_provider(&self, addr: &SourceAddr) -> (Vec<PathBuf>, bool) {
        let serving: Vec<&Method> = self.methods.iter().filter(|m| m.serves(addr)).collect();
        let direct = serving.iter().any(|m| m.mirror.is_none() && m.network.is_none());
        (serving.iter().filter_map(|m| m.mirror.clone()).collect(), direct)
    }

    /// The network mirrors that may serve `addr`, in order.
    pub fn network_for(&self, addr: &SourceAddr) -> Vec<String> {
        self.methods.iter().filter(|m| m.serves(addr)).filter_map(|m| m.network.clone()).collect()
    }
}

/// The CLI configuration file's path, if one is set.
pub fn path() -> Option<PathBuf> {
    ["LANDFORM_CLI_CONFIG_FILE", "TF_CLI_CONFIG_FILE"]
        .iter()
        .find_map(|v| std::env::var_os(v).filter(|p| !p.is_empty()))
        .map(PathBuf::from)
}

/// Terraform's implied methods: each local mirror directory, then the registry.
fn implied() -> Vec<Method> {
    let mut m: Vec<Method> = mirror::mirror_dirs()
        .into_iter()
        .map(|d| Method { mirror: Some(d), network: None, include: Vec::new(), exclude: Vec::new() })
        .collect();
    m.push(Method { mirror: None, network: None, include: Vec::new(), exclude: Vec::new() });
    m
}

pub fn read() -> Result<Installation, (Vec<Diagnostic>, SourceMap)> {
    let mut sources = SourceMap::new();
    let Some(path) = path() else {
        return Ok(Installation {
            methods: implied(),
            explicit: false,
            plugin_cache_dir: None,
            credentials: Default::default(),
            dev_overrides: Default::default(),
        });
    };
    let text = match crate::inputs::read_regular(&path, 4 << 20) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        // A variable naming a file that is not there: no configuration.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Installation {
                methods: implied(),
                explicit: false,
                plugin_cache_dir: None,
                credentials: Default::default(),
                dev_overrides: Default::default(),
            });
        }
        Err(e) => {
            let d = Diagnostic::global(
                "Failed to read the CLI configuration",
                format!("cannot read {}: {}", path.display(), landform_state::files::io_words(&e)),
            );
            return Err((vec![d], sources));
        }
    };
    let text = dev_overrides_as_object(&text);
    let file = sources.add(path.display().to_string(), text.clone());
    let (parsed, diags) = landform_lang::parse::parse_file(file, &text);
    // A credentials block's label is a host name, not a configuration's name.
    let mut diags: Vec<Diagnostic> = diags.into_iter().filter(|d| d.summary != "Invalid block label").collect();
    let inst = from_body(&parsed.body, &mut diags);
    if landform_lang::diag::has_errors(&diags) {
        return Err((diags, sources));
    }
    Ok(inst)
}

fn from_body(body: &Body, diags: &mut Vec<Diagnostic>) -> Installation {
    let mut inst = Installation {
        methods: Vec::new(),
        explicit: false,
        plugin_cache_dir: None,
        credentials: Default::default(),
        dev_overrides: Default::default(),
    };
    let mut explicit = false;
    for a in body.attributes() {
        if a.name.name == "plugin_cache_dir" {
            match a.value.as_static_string() {
                Some(s) if !s.is_empty() => inst.plugin_cache_dir = Some(PathBuf::from(expand_env(&s))),
                _ => diags.push(Diagnostic::error(
                    "Invalid plugin_cache_dir",
                    "plugin_cache_dir is a directory: plugin_cache_dir = \"$HOME/.terraform.d/plugin-cache\"",
                    a.value.span,
                )),
            }
        }
        // Other settings (credentials, disable_checkpoint, …) are not Landform's concern here.
    }
    for b in body.blocks().filter(|b| b.kind.name == "credentials") {
        let token = b.body.attributes().find(|a| a.name.name == "token").and_then(|a| a.value.as_static_string());
        match (b.labels.first(), token) {
            (Some(host), Some(token)) => {
                inst.credentials.insert(host.value.to_ascii_lowercase(), token);
            }
            _ => diags.push(Diagnostic::error(
                "Invalid credentials block",
                "A credentials block names its host and gives a token: credentials \"HOST\" { token = \"…\" }",
                b.kind.span,
            )),
        }
    }
    for b in body.blocks().filter(|b| b.kind.name == "provider_installation") {
        explicit = true;
        if let Some(a) = b.body.attributes().find(|a| a.name.name == "dev_overrides") {
            dev_overrides(a, &mut inst, diags);
        }
        for m in b.body.blocks() {
            let list = |name: &str, diags: &mut Vec<Diagnostic>| -> Vec<String> {
                let Some(a) = m.body.attributes().find(|a| a.name.name == name) else { return Vec::new() };
                match &a.value.kind {
                    ExprKind::List(items) if items.iter().all(|i| i.as_static_string().is_some()) => {
                        items.iter().filter_map(|i| i.as_static_string()).collect()
                    }
                    _ => {
                        diags.push(Diagnostic::error(
                            "Invalid provider_installation",
                            format!("{name} is a list of provider address patterns: [\"registry.terraform.io/hashicorp/*\"]"),
                            a.value.span,
                        ));
                        Vec::new()
                    }
                }
            };
            let (include, exclude) = (list("include", diags), list("exclude", diags));
            match m.kind.name.as_str() {
                "filesystem_mirror" => {
                    match m.body.attributes().find(|a| a.name.name == "path").and_then(|a| a.value.as_static_string()) {
                        Some(p) => inst.methods.push(Method {
                            mirror: Some(PathBuf::from(expand_env(&p))),
                            network: None,
                            include,
                            exclude,
                        }),
                        None => diags.push(Diagnostic::error(
                            "Invalid provider_installation",
                            "A filesystem_mirror block needs path = \"DIRECTORY\".",
                            m.kind.span,
                        )),
                    }
                }
                "network_mirror" => {
                    let url = m.body.attributes().find(|a| a.name.name == "url");
                    match url.and_then(|a| a.value.as_static_string().map(|u| (a, u))) {
                        Some((a, u)) => match reqwest::Url::parse(&u).map_err(|e| e.to_string()).and_then(|p| crate::http::check_url(&p)) {
                            Ok(()) => inst.methods.push(Method { mirror: None, network: Some(u), include, exclude }),
                            Err(e) => diags.push(Diagnostic::error(
                                "Invalid provider_installation",
                                format!("A network_mirror's url must be an https:// URL (plain http only on this machine): {e}"),
                                a.value.span,
                            )),
                        },
                        None => diags.push(Diagnostic::error(
                            "Invalid provider_installation",
                            "A network_mirror block needs url = \"https://MIRROR/PATH/\".",
                            m.kind.span,
                        )),
                    }
                }
                "direct" => inst.methods.push(Method { mirror: None, network: None, include, exclude }),
                other => diags.push(Diagnostic::error(
                    "Unsupported provider installation method",
                    format!("Landform installs providers from filesystem_mirror, network_mirror and direct (the registry); \"{other}\" is not supported."),
                    m.kind.span,
                )),
            }
        }
    }
    if !explicit {
        inst.methods = implied();
    }
    inst.explicit = explicit;
    inst
}

/// A `dev_overrides { "hashicorp/aws" = "DIR" }` block (HCL 1's quoted keys,
/// as Terraform's CLI configuration has them) written as the object it is:
/// `dev_overrides = { … }`, on the same line, so that errors keep their place.
fn dev_overrides_as_object(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        let rest = t.strip_prefix("dev_overrides").map(str::trim_start);
        match rest {
            Some(r) if r.starts_with('{') => {
                out.push_str(&line[..line.len() - t.len()]);
                out.push_str("dev_overrides = ");
                out.push_str(r);
            }
            _ => out.push_str(line),
        }
    }
    out
}

/// The overrides of a `dev_overrides` object: each provider's source
/// address to a directory.
fn dev_overrides(a: &landform_lang::syntax::Attribute, inst: &mut Installation, diags: &mut Vec<Diagnostic>) {
    let bad = |diags: &mut Vec<Diagnostic>, why: String| {
        diags.push(Diagnostic::error("Invalid dev_overrides", why, a.value.span));
    };
    let ExprKind::Object(items) = &a.value.kind else {
        return bad(
            diags,
            "dev_overrides maps providers to directories: dev_overrides { \"hashicorp/aws\" = \"/home/me/go/bin\" }"
                .into(),
        );
    };
    for item in items {
        let key = match &item.key {
            landform_lang::syntax::ObjectKey::Name(id) => Some(id.name.clone()),
            landform_lang::syntax::ObjectKey::Expr(e) => e.as_static_string(),
        };
        let addr = key.as_deref().and_then(SourceAddr::parse);
        match (addr, item.value.as_static_string()) {
            (Some(addr), Some(dir)) if !dir.is_empty() => {
                inst.dev_overrides.insert(addr.to_string(), PathBuf::from(expand_env(&dir)));
            }
            _ => bad(
                diags,
                format!(
                    "{} is not a provider source address with a directory: \"NAMESPACE/TYPE\" = \"DIRECTORY\"",
                    key.unwrap_or_default()
                ),
            ),
        }
    }
}

/// `$NAME` replaced by the environment's value, as Terraform does for paths.
fn expand_env(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let n = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
        if n == 0 {
            out.push('$');
        } else {
            out.push_str(&std::env::var(&after[..n]).unwrap_or_default());
        }
        rest = &after[n..];
    }
    out.push_str(rest);
    out
}

/// Where a provider's package goes in the plugin cache.
pub fn cache_dir_for(cache: &Path, addr: &SourceAddr, version: &str) -> PathBuf {
    cache.join(&addr.host).join(&addr.namespace).join(&addr.type_name).join(version).join(mirror::platform())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_as_terraform_matches_them() {
        let a = "registry.terraform.io/hashicorp/aws";
        assert!(matches("registry.terraform.io/hashicorp/*", a));
        assert!(matches("hashicorp/aws", a));
        assert!(matches("*/*/*", a));
        assert!(!matches("registry.terraform.io/acme/*", a));
        assert!(!matches("example.com/*/*", a));
    }
}
