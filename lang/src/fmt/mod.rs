//! The formatter: `terraform fmt`'s layout, byte for byte. The file is read
//! as HCL's tokens (`lex`), Terraform's own rewrites are applied (`terraform`:
//! `"${x}"` → `x`, legacy `type`s, quoted block labels), then hclwrite's
//! layout (`layout`): indentation by brackets, spacing between tokens,
//! `=` and trailing comments aligned across consecutive lines. Only the
//! spaces between tokens change otherwise, so no comment can be lost; the
//! tree is used to refuse invalid input and to prove that layout changed
//! nothing but layout (else the file is kept as it was).

mod layout;
mod lex;
mod terraform;

use crate::diag::Diagnostic;
use crate::parse::parse_file;
use crate::source::FileId;

/// Format a file. Fails with the syntax errors when the file does not parse.
pub fn format_source(text: &str) -> Result<String, Vec<Diagnostic>> {
    // A byte-order mark is dropped (Terraform's scanner skips it and its
    // layout rewrites the spaces it would leave); line endings are kept.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (before, diags) = parse_file(FileId(0), &lf(text));
    if !diags.is_empty() {
        return Err(diags);
    }
    let toks = lex::lex(text);
    // Terraform's rewrites first, kept only if the result still parses.
    let rewritten = terraform::rewrite(&toks).and_then(|t| {
        let (tree, diags) = parse_file(FileId(0), &lf(&render(&t)));
        diags.is_empty().then_some((t, tree))
    });
    let (mut toks, before) = rewritten.unwrap_or((toks, before));
    layout::format(&mut toks);
    let out = render(&toks);
    // The safety net: layout must not change what the file means.
    let (after, diags) = parse_file(FileId(0), &lf(&out));
    if !diags.is_empty() || crate::dump::dump_body(&before.body, None) != crate::dump::dump_body(&after.body, None) {
        return Ok(text.to_string());
    }
    Ok(out)
}

/// The text as the parser reads it (LF line endings).
fn lf(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains("\r\n") {
        std::borrow::Cow::Owned(text.replace("\r\n", "\n"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

fn render(toks: &[lex::Tok]) -> String {
    let mut out = String::new();
    for t in toks {
        out.extend(std::iter::repeat_n(' ', t.sp));
        out.push_str(&t.text);
    }
    out
}
