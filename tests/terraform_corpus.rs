//! Issue 14: real Terraform modules port by renaming files. The corpus
//! (tests/data/terraform-modules: terraform-aws-modules vpc, alb, rds and eks,
//! the aws-5 versions of vpc, security-group, s3-bucket and alb, cloudposse's
//! null-label; 347 files) is parsed file by file, and
//! `landform validate` runs in every directory that holds configuration.
//! Errors about AWS resource types, data sources and providers Landform does
//! not have (or arguments its ELBv2 resources do not take), and modules that
//! would come from a registry (`landform init`, no network here), are the
//! provider's and the network's, not the language's: everything else is a
//! language error.

mod common;
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
        "Unsupported resource type" | "Unsupported data source type" | "Unknown provider" | "Module not installed" => {
            true
        }
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

#[test]
fn public_modules_parse_and_validate_after_a_rename() {
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
    for d in &dirs {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_landform"))
            .args(["validate", "-json", "-no-color"])
            .current_dir(d)
            .output()
            .unwrap();
        let j: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{}: validate -json gave no JSON ({e}): {}", d.display(), text(&out.stderr)));
        let language: Vec<String> = j["diagnostics"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|x| x["severity"] == "error")
            .filter(|x| !provider_or_network(x["summary"].as_str().unwrap_or(""), x["detail"].as_str().unwrap_or("")))
            .map(|x| format!("{}: {}", x["summary"].as_str().unwrap_or(""), x["detail"].as_str().unwrap_or("")))
            .collect();
        assert!(!d.join(".landform").exists(), "validate wrote state in {}", d.display());
        let rel = d.strip_prefix(&root).unwrap().to_string_lossy().into_owned();
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
