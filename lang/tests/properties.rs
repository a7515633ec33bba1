//! Property tests over the parser and the formatter: no input makes either
//! panic, formatting is idempotent, and formatting never changes meaning.

use landform_lang::dump::dump_body;
use landform_lang::fmt::format_source;
use landform_lang::parse::{parse_file, parse_file_reference};
use landform_lang::FileId;
use proptest::prelude::*;

mod gen;
use gen::file;

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
