//! Terraform's dependency lock file, `.terraform.lock.hcl`: one `provider
//! "HOST/NAMESPACE/TYPE"` block per provider with the `version` chosen, the
//! `constraints` it was chosen under (in Terraform's normal form) and the
//! `hashes` its package must match (`h1:` over the unpacked package, `zh:`
//! of a zip). Read as HCL, written exactly as Terraform writes it.

use std::collections::BTreeMap;
use std::path::Path;

use landform_lang::diag::Diagnostic;
use landform_lang::source::SourceMap;
use landform_lang::syntax::ExprKind;
use sha2::{Digest, Sha256};

pub const LOCK_FILE: &str = ".terraform.lock.hcl";

/// One provider's entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Locked {
    pub version: String,
    pub constraints: Option<String>,
    pub hashes: Vec<String>,
}

/// The lock file's entries by source address; none when there is no file.
pub fn read(path: &Path) -> Result<BTreeMap<String, Locked>, (Vec<Diagnostic>, SourceMap)> {
    let mut sources = SourceMap::new();
    let text = match crate::inputs::read_regular(path, 16 << 20) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => {
            let d = Diagnostic::global(
                "Failed to read the dependency lock file",
                format!("cannot read {}: {}", path.display(), landform_state::files::io_words(&e)),
            );
            return Err((vec![d], sources));
        }
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
    };
    let file = sources.add(path.display().to_string(), text.clone());
    let (parsed, diags) = landform_lang::parse::parse_file(file, &text);
    // A provider block's label is an address here, not a configuration's name.
    let mut diags: Vec<Diagnostic> = diags.into_iter().filter(|d| d.summary != "Invalid provider name").collect();
    let mut out = BTreeMap::new();
    for b in parsed.body.blocks() {
        if b.kind.name != "provider" || b.labels.len() != 1 {
            diags.push(Diagnostic::error(
                "Invalid dependency lock file",
                "The lock file holds only provider \"HOST/NAMESPACE/TYPE\" { … } blocks.",
                b.kind.span,
            ));
            continue;
        }
        let addr = &b.labels[0].value;
        if landform_provider_plugin::mirror::SourceAddr::parse(addr).is_none_or(|a| a.to_string() != *addr) {
            diags.push(Diagnostic::error(
                "Invalid provider address in the lock file",
                format!(
                    "\"{addr}\" is not a provider address in its full form (registry.terraform.io/NAMESPACE/TYPE)."
                ),
                b.labels[0].span,
            ));
            continue;
        }
        let mut version = None;
        let mut constraints = None;
        let mut hashes = Vec::new();
        for a in b.body.attributes() {
            match (a.name.name.as_str(), &a.value.kind) {
                ("version", _) => match a.value.as_static_string() {
                    Some(v) if landform_lang::version::Version::parse(&v).is_ok() => version = Some(v),
                    _ => diags.push(Diagnostic::error(
                        "Invalid dependency lock file",
                        format!("The version of {addr} is a version string: version = \"1.2.3\"."),
                        a.value.span,
                    )),
                },
                ("constraints", _) => constraints = a.value.as_static_string(),
                ("hashes", ExprKind::List(items)) => {
                    hashes = items.iter().filter_map(|i| i.as_static_string()).collect();
                    if hashes.len() != items.len() {
                        version = None;
                    }
                }
                _ => {
                    diags.push(Diagnostic::error(
                        "Invalid dependency lock file",
                        format!("A provider entry has version, constraints and hashes (a list of strings); \"{}\" is not one of them or not a literal.", a.name.name),
                        a.name.span,
                    ));
                    continue;
                }
            }
        }
        match version {
            Some(version) => {
                out.insert(addr.clone(), Locked { version, constraints, hashes });
            }
            None if landform_lang::diag::has_errors(&diags) => {}
            None => diags.push(Diagnostic::error(
                "Invalid dependency lock file",
                format!("The entry for {addr} has no version = \"X.Y.Z\" (or a hash that is not a string)."),
                b.kind.span,
            )),
        }
    }
    if landform_lang::diag::has_errors(&diags) {
        return Err((diags, sources));
    }
    Ok(out)
}

/// The file as Terraform writes it.
pub fn render(locks: &BTreeMap<String, Locked>) -> String {
    let mut s = String::from(
        "# This file is maintained automatically by \"terraform init\".\n# Manual edits may be lost in future updates.\n",
    );
    for (addr, l) in locks {
        s.push_str(&format!("\nprovider {} {{\n", quote(addr)));
        // hclwrite lines up the `=` of one-line attributes next to each other.
        match &l.constraints {
            Some(c) => {
                s.push_str(&format!("  version     = {}\n", quote(&l.version)));
                s.push_str(&format!("  constraints = {}\n", quote(c)));
            }
            None => s.push_str(&format!("  version = {}\n", quote(&l.version))),
        }
        if !l.hashes.is_empty() {
            s.push_str("  hashes = [\n");
            for h in &l.hashes {
                s.push_str(&format!("    {},\n", quote(h)));
            }
            s.push_str("  ]\n");
        }
        s.push_str("}\n");
    }
    s
}

fn quote(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '$' => o.push('$'),
            c if c.is_control() => o.push_str(&format!("\\u{:04X}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// One version constraint term: its operator and boundary.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Term {
    op: &'static str,
    parts: [u64; 3],
    written: usize,
    pre: String,
}

/// A constraint in Terraform's normal form, as the lock file records it:
/// terms deduplicated and sorted by version, missing parts written as 0
/// (`>=1.0` is `>= 1.0.0`), `~>` keeping the precision that gives its meaning.
pub fn normal_constraints(text: &str) -> Result<String, String> {
    let mut terms: Vec<Term> = Vec::new();
    for part in text.split(',') {
        let p = part.trim();
        let op = ["~>", ">=", "<=", "!=", ">", "<", "="].into_iter().find(|o| p.starts_with(*o)).unwrap_or("=");
        let v = p.strip_prefix(op).unwrap_or(p).trim();
        let v = v.strip_prefix('v').unwrap_or(v);
        let (nums, pre) = v.split_once('-').map_or((v, ""), |(n, p)| (n, p));
        let bad = || format!("\"{text}\" is not a version constraint; write e.g. \">= 5.0, < 6.0\" or \"~> 5.1\"");
        let mut parts = [0u64; 3];
        let nums: Vec<&str> = nums.split('.').collect();
        if nums.is_empty() || nums.len() > 3 {
            return Err(bad());
        }
        for (i, n) in nums.iter().enumerate() {
            parts[i] = n.parse().map_err(|_| bad())?;
        }
        let t = Term { op, parts, written: nums.len(), pre: pre.to_string() };
        // `~> 2` and `~> 2.0` mean the same; `>= 2` and `>= 2.0.0` too.
        let t = if op == "~>" { Term { written: t.written.max(2), ..t } } else { Term { written: 3, ..t } };
        if !terms.contains(&t) {
            terms.push(t);
        }
    }
    // Terraform's order at one boundary (seen in the lock files it writes):
    // >, >=, =, ~> X.Y.Z, ~> X.Y, <=, <, !=. A pre-release comes before its release.
    let rank = |t: &Term| match t.op {
        ">" => 0,
        ">=" => 1,
        "=" => 2,
        "~>" if t.written == 3 => 3,
        "~>" => 4,
        "<=" => 5,
        "<" => 6,
        _ => 7,
    };
    terms.sort_by(|a, b| {
        a.parts
            .cmp(&b.parts)
            .then_with(|| a.pre.is_empty().cmp(&b.pre.is_empty()))
            .then_with(|| a.pre.cmp(&b.pre))
            .then_with(|| rank(a).cmp(&rank(b)))
    });
    let shown: Vec<String> = terms
        .iter()
        .map(|t| {
            let op = if t.op == "=" { String::new() } else { format!("{} ", t.op) };
            let v = t.parts[..t.written].iter().map(u64::to_string).collect::<Vec<_>>().join(".");
            let pre = if t.pre.is_empty() { String::new() } else { format!("-{}", t.pre) };
            format!("{op}{v}{pre}")
        })
        .collect();
    Ok(shown.join(", "))
}

/// Terraform's `h1:` hash of an unpacked package (Go's dirhash "Hash1"):
/// the SHA-256 of the lines `SHA256(file)  NAME\n` for every file, by name,
/// in base64. A link inside the package is hashed as what it points to.
pub fn h1_dir(dir: &Path) -> Result<String, String> {
    let dir = std::fs::canonicalize(dir).map_err(|e| format!("cannot read {}: {}", dir.display(), e))?;
    let mut files = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| format!("cannot read {}: {e}", d.display()))?;
        for e in entries.flatten() {
            let t = e.file_type().map_err(|e| e.to_string())?;
            if t.is_dir() {
                stack.push(e.path());
            } else {
                let rel = e.path().strip_prefix(&dir).unwrap_or(&e.path()).to_string_lossy().into_owned();
                files.push((rel, e.path()));
            }
        }
    }
    files.sort();
    let mut summary = Sha256::new();
    for (name, path) in files {
        if name.contains('\n') {
            return Err(format!("{} has a file name with a newline", dir.display()));
        }
        let mut f = std::fs::File::open(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut h = Sha256::new();
        std::io::copy(&mut f, &mut h).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        summary.update(format!("{:x}  {name}\n", h.finalize()).as_bytes());
    }
    Ok(format!("h1:{}", base64(&summary.finalize())))
}

/// `zh:`: the SHA-256 of a package's zip file, in hex.
pub fn zh_file(zip: &Path) -> Result<String, String> {
    let mut f = std::fs::File::open(zip).map_err(|e| format!("cannot read {}: {e}", zip.display()))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(|e| format!("cannot read {}: {e}", zip.display()))?;
    Ok(format!("zh:{:x}", h.finalize()))
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n =
            (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraints_in_terraforms_normal_form() {
        // What Terraform 1.15 wrote for these (see tests/provider_install.rs).
        assert_eq!(normal_constraints(">=1.0,  < 2.0.0, != 1.2.1").unwrap(), ">= 1.0.0, != 1.2.1, < 2.0.0");
        assert_eq!(normal_constraints("~> 0.5").unwrap(), "~> 0.5");
        assert_eq!(normal_constraints("~> 5").unwrap(), "~> 5.0");
        assert_eq!(normal_constraints("~> 5.1.2").unwrap(), "~> 5.1.2");
        assert_eq!(normal_constraints("= 1.2").unwrap(), "1.2.0");
        assert_eq!(normal_constraints(">= 2, >= 2.0.0").unwrap(), ">= 2.0.0");
        assert_eq!(
            normal_constraints("<= 2.0.0, >= 1.2.0, < 2.0.0, != 1.2.0, > 1.2.0, ~> 1.2, 1.3.0").unwrap(),
            "> 1.2.0, >= 1.2.0, ~> 1.2, != 1.2.0, 1.3.0, <= 2.0.0, < 2.0.0"
        );
        assert_eq!(
            normal_constraints("<= 1.3.0, 1.3.0, ~> 1.3.0, >= 1.3.0").unwrap(),
            ">= 1.3.0, 1.3.0, ~> 1.3.0, <= 1.3.0"
        );
        assert_eq!(normal_constraints("<= 2.0.0, != 2.0.0, ~> 1.0").unwrap(), "~> 1.0, <= 2.0.0, != 2.0.0");
        assert_eq!(normal_constraints("~> 1.3, ~> 1.3.0").unwrap(), "~> 1.3.0, ~> 1.3");
        assert_eq!(normal_constraints("!= 2.0.0, < 2.0.0").unwrap(), "< 2.0.0, != 2.0.0");
        assert!(normal_constraints(">= one").is_err());
    }

    #[test]
    fn base64_as_go_writes_it() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foob"), "Zm9vYg==");
    }
}
