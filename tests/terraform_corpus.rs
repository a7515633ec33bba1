//! Issue 14: real Terraform modules port by renaming files. The corpus
//! (tests/data/terraform-modules: terraform-aws-modules vpc, alb, rds and eks,
//! the aws-5 versions of vpc, security-group, s3-bucket and alb, cloudposse's
//! null-label; 347 files) is parsed file by file, and
//! `landform validate` runs in every directory that holds configuration,
//! with the real hashicorp/aws 5.100.0 from the machine's Terraform mirror:
//! a directory that requires it is validated against its schema, and must
//! have no error at all but modules that would come from a registry
//! (`landform init`, no network here) and providers this machine does not
//! have (hashicorp/null, tls, helm). A directory whose constraints need a
//! newer aws (`>= 6.28`) is told so ("Required provider not installed") and
//! counted apart; in the others, errors about AWS types and arguments of
//! Landform's built-in aws provider are the provider's, not the language's.

mod common;
#[path = "../providers/plugin/tests/common/mod.rs"]
mod plugin;
use common::text;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/terraform-modules")
}

fn lf_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            lf_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "lf") {
            out.push(p);
        }
    }
}

/// Whether an error is about what a provider has (or a download), not the language.
fn provider_or_network(summary: &str, detail: &str) -> bool {
    match summary {
        "Unsupported resource type"
        | "Unsupported data source type"
        | "Unknown provider"
        | "Module not installed"
        | "Required provider not installed" => true,
        // Inside a provider's resource: an argument or block its schema lacks.
        "Unsupported argument" | "Unsupported block type" => {
            detail.contains("resource \"")
                || detail.contains("data \"")
                || detail.contains("in a \"")
                || detail.starts_with("A dynamic block makes blocks")
        }
        _ => false,
    }
}

/// Whether the configuration in `dir` requires hashicorp/aws by source.
fn requires_hashicorp_aws(dir: &Path) -> bool {
    std::fs::read_dir(dir).unwrap().flatten().any(|e| {
        e.path().extension().is_some_and(|x| x == "lf")
            && std::fs::read_to_string(e.path()).unwrap_or_default().lines().any(|l| {
                let l: String = l.chars().filter(|c| !c.is_whitespace()).collect();
                l == "source=\"hashicorp/aws\""
            })
    })
}

#[test]
fn public_modules_parse_and_validate_after_a_rename() {
    plugin::aws_provider();
    let cache = std::env::temp_dir().join(format!("landform-corpus-schemas-{}", std::process::id()));
    let root = corpus();
    let mut files = Vec::new();
    lf_files(&root, &mut files);
    files.sort();
    assert!(files.len() >= 150, "only {} files", files.len());
    // Every file parses.
    let mut unparsed = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let (_, diags) = landform_lang::parse::parse_file(landform_lang::FileId(0), &text);
        if let Some(d) = diags.iter().find(|d| landform_lang::parse::is_syntax_error(d)) {
            unparsed.push(format!("{}: {}: {}", f.display(), d.summary, d.detail));
        }
    }
    assert!(unparsed.is_empty(), "{} of {} files do not parse:\n{}", unparsed.len(), files.len(), unparsed.join("\n"));

    // validate in every directory; language errors counted by repository.
    let mut dirs: Vec<PathBuf> = files.iter().filter_map(|f| f.parent().map(Path::to_path_buf)).collect();
    dirs.sort();
    dirs.dedup();
    let mut per_repo: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut failing = Vec::new();
    let (mut with_schema, mut newer) = (Vec::new(), Vec::new());
    for d in &dirs {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_landform"))
            .args(["validate", "-json", "-no-color"])
            .current_dir(d)
            .env("LANDFORM_PLUGIN_MIRROR", plugin::mirror())
            .env("LANDFORM_PLUGIN_CACHE_DIR", &cache)
            .env_remove("TF_CLI_CONFIG_FILE")
            .env_remove("LANDFORM_CLI_CONFIG_FILE")
            .output()
            .unwrap();
        let j: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{}: validate -json gave no JSON ({e}): {}", d.display(), text(&out.stderr)));
        let errors: Vec<(&str, &str)> = j["diagnostics"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|x| x["severity"] == "error")
            .map(|x| (x["summary"].as_str().unwrap_or(""), x["detail"].as_str().unwrap_or("")))
            .collect();
        let rel = d.strip_prefix(&root).unwrap().to_string_lossy().into_owned();
        let needs_newer = errors.iter().any(|(s, _)| *s == "Required provider not installed");
        let schema = requires_hashicorp_aws(d) && !needs_newer;
        if needs_newer {
            newer.push(rel.clone());
        }
        // Against the real provider's schema, only what this machine cannot have is excused.
        let excused = |s: &str, detail: &str| match schema {
            true => {
                matches!(s, "Module not installed" | "Unknown provider")
                    || (s.starts_with("Unsupported") && s.ends_with(" type") && !detail.contains("\"aws_"))
            }
            false => provider_or_network(s, detail),
        };
        let language: Vec<String> =
            errors.iter().filter(|(s, d)| !excused(s, d)).map(|(s, d)| format!("{s}: {d}")).collect();
        if schema {
            with_schema.push((rel.clone(), language.clone()));
        }
        assert!(!d.join(".landform").exists(), "validate wrote state in {}", d.display());
        let repo = rel.split('/').next().unwrap_or_default().to_string();
        let e = per_repo.entry(repo).or_default();
        e.0 += 1;
        if language.is_empty() {
            e.1 += 1;
        } else {
            failing.push(format!("{rel}: {}", language.join(" | ")));
        }
    }
    let clean: usize = per_repo.values().map(|(_, c)| c).sum();
    for (repo, (n, c)) in &per_repo {
        eprintln!("{repo}: {c} of {n} directories validate with no language error");
    }
    eprintln!("all: {clean} of {} directories; {} files parse", dirs.len(), files.len());
    eprintln!(
        "{} directories validated against hashicorp/aws 5.100.0's schema; {} need a newer aws than this machine has",
        with_schema.len(),
        newer.len()
    );
    let _ = std::fs::remove_dir_all(&cache);
    // The aws-5 modules: vpc, security-group, s3-bucket and alb.
    assert!(with_schema.len() >= 4, "{with_schema:?}");
    let wrong: Vec<&(String, Vec<String>)> = with_schema.iter().filter(|(_, l)| !l.is_empty()).collect();
    assert!(wrong.is_empty(), "errors against the real provider's schema: {wrong:#?}");
    for f in &failing {
        eprintln!("still failing: {f}");
    }
    assert!(
        clean * 100 >= dirs.len() * 90,
        "{clean} of {} directories validate; failing:\n{}",
        dirs.len(),
        failing.join("\n")
    );
}

/// Issue 26: `terraform fmt -check` accepts every file of the corpus (the
/// cached answers of lang/tests/fmt.rs say so), and teams run `fmt -check` in
/// CI: `landform fmt --check` must accept them too, listing nothing.
#[test]
fn public_modules_pass_fmt_check_as_they_pass_terraform_fmt_check() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_landform"))
        .args(["fmt", "--check", "--recursive", "--no-color"])
        .arg(corpus())
        .output()
        .unwrap();
    assert!(text(&out.stdout).is_empty(), "fmt --check would change:\n{}", text(&out.stdout));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}
