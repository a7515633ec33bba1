//! The README's list of functions is the function table's: a function added
//! or removed without the README saying so fails here, with the list to paste.

use std::path::Path;

#[test]
fn the_readme_lists_exactly_the_functions_of_the_table() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).unwrap();
    let (start, end) = (
        "<!-- functions: generated from lang/src/functions; checked by lang/tests/readme_functions.rs -->",
        "<!-- /functions -->",
    );
    let table = landform_lang::functions::names();
    let wanted = table.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    let listed: Vec<&str> = readme
        .split_once(start)
        .and_then(|(_, rest)| rest.split_once(end))
        .map(|(list, _)| list.split('`').skip(1).step_by(2).collect())
        .unwrap_or_default();
    assert_eq!(
        listed,
        table,
        "README.md's function list differs from the table; between its markers it should read:\n{start}\n{}\n{end}",
        wrap(&wanted)
    );
}

/// The list in lines of at most 78 characters, as the README is written.
fn wrap(text: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.len() + 1 + word.len() > 78 {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out + &line
}
