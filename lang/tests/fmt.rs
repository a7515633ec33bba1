//! The formatter against Terraform's: every file of the real-module corpus
//! (tests/data/terraform-modules) and every hostile case
//! (tests/data/terraform-fmt/cases) must format exactly as `terraform fmt`
//! formats it, byte for byte. Terraform's answers are cached by
//! scripts/terraform-fmt-oracle.py (which `scripts/test` runs with --check):
//! `terraform-fmt/corpus.txt` holds a hash of each corpus file and `same`
//! when Terraform leaves it as it is (else the hash of Terraform's output,
//! kept in `terraform-fmt/corpus/`); each case's output is `NAME.lf.tf-out`.

use landform_lang::fmt::format_source;
use sha2::{Digest, Sha256};
use std::path::Path;

fn data() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/terraform-fmt")
}

fn sha(b: &[u8]) -> String {
    Sha256::digest(b).iter().map(|b| format!("{b:02x}")).collect()
}

/// The first line where two texts differ, for the failure message.
fn first_difference(got: &str, want: &str) -> String {
    let (g, w): (Vec<_>, Vec<_>) = (got.split('\n').collect(), want.split('\n').collect());
    let n = (0..g.len().max(w.len())).find(|&i| g.get(i) != w.get(i)).unwrap_or(0);
    format!("line {}:\n  landform:  {:?}\n  terraform: {:?}", n + 1, g.get(n), w.get(n))
}

/// Formats `input`; Some(message) when it is not `want`, or when `want`
/// itself would not pass `fmt --check`.
fn disagreement(name: &str, input: &str, want: &str) -> Option<String> {
    let got = match format_source(input) {
        Ok(got) => got,
        Err(d) => return Some(format!("{name}: does not parse: {}", d[0].summary)),
    };
    if got != want {
        return Some(format!("{name}: not as terraform fmt, {}", first_difference(&got, want)));
    }
    match format_source(want) {
        Ok(again) if again == want => None,
        Ok(again) => Some(format!("{name}: terraform's layout fails fmt --check, {}", first_difference(&again, want))),
        Err(d) => Some(format!("{name}: terraform's layout does not parse: {}", d[0].summary)),
    }
}

#[test]
fn the_real_module_corpus_formats_as_terraform_fmt() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/terraform-modules");
    let manifest = std::fs::read_to_string(data().join("corpus.txt")).unwrap();
    let mut failures = Vec::new();
    let mut total = 0;
    for line in manifest.lines() {
        let [path, input_hash, output] = line.split(' ').collect::<Vec<_>>()[..] else {
            panic!("corpus.txt: bad line {line:?}");
        };
        let input = std::fs::read(corpus.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(
            sha(&input),
            input_hash,
            "{path} changed since Terraform's answers were recorded: run scripts/terraform-fmt-oracle.py --update"
        );
        let input = String::from_utf8(input).unwrap();
        let want = if output == "same" {
            input.clone()
        } else {
            let want = std::fs::read_to_string(data().join("corpus").join(path)).unwrap();
            assert_eq!(sha(want.as_bytes()), output, "{path}: the recorded output is not Terraform's");
            want
        };
        total += 1;
        failures.extend(disagreement(path, &input, &want));
    }
    assert!(total >= 300, "only {total} corpus files");
    assert!(
        failures.is_empty(),
        "{} of {total} files agree with terraform fmt; the others:\n{}",
        total - failures.len(),
        failures.join("\n")
    );
}

#[test]
fn hostile_cases_format_as_terraform_fmt() {
    let dir = data().join("cases");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "lf"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 10, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let input = std::fs::read_to_string(case).unwrap();
        let want_path = case.with_extension("lf.tf-out");
        let want = std::fs::read_to_string(&want_path)
            .unwrap_or_else(|e| panic!("{}: {e} (run scripts/terraform-fmt-oracle.py --update)", want_path.display()));
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        failures.extend(disagreement(&name, &input, &want));
    }
    assert!(failures.is_empty(), "{} of {} cases disagree:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn fmt_refuses_invalid_input_with_diagnostics() {
    let err = format_source("locals {\n  a =\n}\n").unwrap_err();
    assert_eq!(err[0].summary, "Invalid expression");
}

#[test]
fn fmt_keeps_every_comment() {
    let src = "# one\nlocals {\n  a = 1 # two\n  // three\n  /* four */ b = 2\n}\n";
    let out = format_source(src).unwrap();
    for c in ["# one", "# two", "// three", "/* four */"] {
        assert!(out.contains(c), "lost {c} in:\n{out}");
    }
}

/// Landform's own literals (Terraform has none to compare with): a
/// percentage and a duration are laid out as one token, not as `5 %` or
/// `10 s` (which would change the meaning, and leave the file unformatted).
#[test]
fn percentages_and_durations_are_laid_out_whole() {
    let src = "locals {\n  steps = [5%,25% , 100%]\n  interval=10s\n  long = 1m30s\n  max    = 1%\n  mod = 10% 3\n}\n";
    let want = "locals {\n  steps    = [5%, 25%, 100%]\n  interval = 10s\n  long     = 1m30s\n  max      = 1%\n  mod      = 10 % 3\n}\n";
    assert_eq!(format_source(src).unwrap(), want);
}
