//! Formatter golden tests: each `tests/data/fmt/NAME.lf` formats to the checked-in
//! `NAME.lf.out`, which in turn formats to itself. `UPDATE_EXPECT=1` rewrites.

use landform_lang::fmt::format_source;
use std::path::Path;

#[test]
fn fmt_cases_format_as_recorded_and_idempotently() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fmt");
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "lf"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 3);
    for case in cases {
        let input = std::fs::read_to_string(&case).unwrap();
        let out = format_source(&input).unwrap_or_else(|d| panic!("{} does not parse: {d:?}", case.display()));
        let expected_path = case.with_extension("lf.out");
        if update {
            std::fs::write(&expected_path, &out).unwrap();
        } else {
            let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
            assert_eq!(out, expected, "{} formats differently from {}", case.display(), expected_path.display());
        }
        assert_eq!(format_source(&out).unwrap(), out, "{}: fmt is not idempotent", case.display());
    }
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
