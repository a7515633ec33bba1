//! Generators of Landform source text for property tests and fuzzing: valid
//! files from the grammar, and the expressions inside them. Shared by
//! `properties.rs` and the fuzz targets at the workspace root.
#![allow(dead_code)]

use proptest::prelude::*;

pub fn ident() -> impl Strategy<Value = String> {
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
pub fn gap() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just(" ".to_string()),
        1 => Just("".to_string()),
        1 => Just("  ".to_string()),
        1 => Just(" /* c */ ".to_string()),
        1 => Just("\n".to_string()),
        1 => Just("\t".to_string()),
    ]
}

pub fn leaf() -> impl Strategy<Value = String> {
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

pub fn expr() -> impl Strategy<Value = String> {
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

pub fn attribute(depth: usize) -> impl Strategy<Value = String> {
    (ident(), "[ ]{0,3}", expr(), prop_oneof![3 => Just(""), 1 => Just(" # note"), 1 => Just(" // note")])
        .prop_map(move |(k, sp, e, c)| format!("{}{k}{sp}= {e}{c}\n", " ".repeat(depth * 3)))
}

pub fn block() -> impl Strategy<Value = String> {
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

pub fn file() -> impl Strategy<Value = String> {
    prop::collection::vec(block(), 0..5).prop_map(|b| b.concat())
}
