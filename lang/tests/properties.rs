//! Property tests over the parser and the formatter: no input makes either
//! panic, formatting is idempotent, and formatting never changes meaning.

use landform_lang::dump::dump_body;
use landform_lang::fmt::format_source;
use landform_lang::parse::{parse_file, parse_file_reference};
use landform_lang::FileId;
use proptest::prelude::*;

fn ident() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a".to_string()),
        Just("name".to_string()),
        Just("my-thing".to_string()),
        Just("x_1".to_string()),
        "[a-z][a-z0-9_]{0,6}"
            .prop_filter("keywords", |s| !matches!(s.as_str(), "for" | "in" | "if" | "true" | "false" | "null")),
    ]
}

/// Random whitespace and comments, for where the grammar allows them.
fn gap() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just(" ".to_string()),
        1 => Just("".to_string()),
        1 => Just("  ".to_string()),
        1 => Just(" /* c */ ".to_string()),
        1 => Just("\n".to_string()),
        1 => Just("\t".to_string()),
    ]
}

fn leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u32..100000).prop_map(|n| n.to_string()),
        (0u32..1000, 0u32..100).prop_map(|(a, b)| format!("{a}.{b}")),
        prop_oneof![Just("500ms"), Just("30s"), Just("5m"), Just("1h30m"), Just("2d")].prop_map(str::to_string),
        (0u32..=100).prop_map(|n| format!("{n}%")),
        Just("true".to_string()),
        Just("null".to_string()),
        "[a-zA-Z0-9 _.-]{0,8}".prop_map(|s| format!("\"{s}\"")),
        ident().prop_map(|i| format!("var.{i}")),
        (ident(), ident()).prop_map(|(a, b)| format!("local.{a}.{b}")),
        ident().prop_map(|i| format!("\"pre-${{local.{i}}}-post\"")),
    ]
}

fn expr() -> impl Strategy<Value = String> {
    leaf().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop_oneof![Just("+"), Just("-"), Just("*"), Just("/"), Just("=="), Just("&&"), Just("<=")],
                inner.clone(),
                gap()
            )
                .prop_map(|(a, op, b, g)| format!("{a}{g}{op} {b}")),
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec((ident(), inner.clone()), 0..3).prop_map(|v| format!(
                "{{ {} }}",
                v.iter().map(|(k, e)| format!("{k} = {e}")).collect::<Vec<_>>().join(", ")
            )),
            (ident(), prop::collection::vec(inner.clone(), 0..3)).prop_map(|(f, a)| format!("{f}({})", a.join(", "))),
            (inner.clone(), inner.clone(), inner.clone()).prop_map(|(c, a, b)| format!("{c} ? {a} : {b}")),
            (ident(), inner.clone(), inner.clone()).prop_map(|(x, c, b)| format!("[for {x} in {c} : {b}]")),
            inner.clone().prop_map(|e| format!("({e})")),
            inner.clone().prop_map(|e| format!("!{e}")),
            (inner.clone(), ident()).prop_map(|(e, a)| format!("{e}[*].{a}")),
            (inner.clone(), inner).prop_map(|(e, k)| format!("{e}[{k}]")),
        ]
    })
}

fn attribute(depth: usize) -> impl Strategy<Value = String> {
    (ident(), "[ ]{0,3}", expr(), prop_oneof![3 => Just(""), 1 => Just(" # note"), 1 => Just(" // note")])
        .prop_map(move |(k, sp, e, c)| format!("{}{k}{sp}= {e}{c}\n", " ".repeat(depth * 3)))
}

fn block() -> impl Strategy<Value = String> {
    let inner = prop::collection::vec(attribute(1), 0..4);
    let nested = prop::collection::vec(
        (ident(), prop::collection::vec(attribute(2), 0..3))
            .prop_map(|(k, attrs)| format!(" {k} {{\n{}   }}\n", attrs.concat())),
        0..2,
    );
    (
        prop_oneof![Just("resource"), Just("locals"), Just("output"), Just("data")],
        prop::collection::vec(ident(), 0..3),
        inner,
        nested,
        prop_oneof![Just(""), Just("\n"), Just("\n\n\n"), Just("# between\n")],
        prop_oneof![
            3 => Just(String::new()),
            1 => Just("  text = <<-EOT\n    hello ${var.x}\n      indented\n  EOT\n".to_string())
        ],
    )
        .prop_map(|(kind, labels, attrs, nested, sep, heredoc)| {
            let labels: String = labels.iter().map(|l| format!(" \"{l}\"")).collect();
            format!("{kind}{labels} {{\n{}{}{}}}\n{sep}", attrs.concat(), nested.concat(), heredoc)
        })
}

fn file() -> impl Strategy<Value = String> {
    prop::collection::vec(block(), 0..5).prop_map(|b| b.concat())
}

/// The fast parser and the pest reference agree: the same tree (spans
/// included) when the input is valid, and diagnostics whenever it is not.
fn same_language(src: &str) -> Result<(), TestCaseError> {
    let (fast, fast_diags) = parse_file(FileId(0), src);
    let (reference, ref_diags) = parse_file_reference(FileId(0), src);
    prop_assert_eq!(fast_diags.is_empty(), ref_diags.is_empty(), "the parsers disagree on validity of:\n{}", src);
    if ref_diags.is_empty() {
        prop_assert!(
            fast == reference,
            "the parsers build different trees for:\n{}\nfast:\n{:?}\nreference:\n{:?}",
            src,
            fast,
            reference
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn generated_files_parse_and_format_idempotently(src in file()) {
        same_language(&src)?;
        let (before, diags) = parse_file(FileId(0), &src);
        prop_assert!(diags.is_empty(), "generated source should parse:\n{src}\n{diags:?}");
        let once = format_source(&src).expect("valid input formats");
        let twice = format_source(&once).expect("formatted output formats");
        prop_assert_eq!(&once, &twice, "fmt is not idempotent on:\n{}", src);
        let (after, diags) = parse_file(FileId(0), &once);
        prop_assert!(diags.is_empty());
        prop_assert_eq!(dump_body(&before.body, None), dump_body(&after.body, None), "fmt changed meaning");
    }

    #[test]
    fn arbitrary_text_never_panics(src in "[a-z0-9 \"{}\\[\\]()=,.:?!<>+*/%$#\n\t-]{0,200}") {
        same_language(&src)?;
        if let Ok(once) = format_source(&src) {
            prop_assert_eq!(format_source(&once).ok(), Some(once.clone()));
        }
    }

    #[test]
    fn broken_generated_files_never_panic(src in file(), cut in 0usize..400) {
        // Truncating valid files makes realistic half-typed input.
        let cut = src.char_indices().map(|(i, _)| i).nth(cut).unwrap_or(src.len());
        let broken = &src[..cut];
        same_language(broken)?;
        let _ = format_source(broken);
    }
}
