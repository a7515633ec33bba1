//! The tokens `terraform fmt` sees: a port of the parts of HCL's scanner
//! (hclsyntax/scan_tokens.rl) that layout depends on. Each token keeps its
//! exact text and the number of space bytes before it, so that formatting
//! can change only the spaces between tokens.

/// A token's type, as far as layout distinguishes them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum K {
    Ident,
    Number,
    /// `"` opening a string.
    OQuote,
    /// Literal text inside a quoted string.
    QuotedLit,
    /// A line break inside a quoted string (invalid, kept as written).
    QuotedNewline,
    /// `"` closing a string.
    CQuote,
    /// `<<EOT` or `<<-EOT` with its line break.
    OHeredoc,
    /// Literal text inside a heredoc (a line, or part of one).
    StringLit,
    /// A heredoc's closing marker line, without its line break.
    CHeredoc,
    /// `${` or `${~`.
    Interp,
    /// `%{` or `%{~`.
    Control,
    /// `}` or `~}` closing an interpolation or directive.
    SeqEnd,
    /// `#`/`//` comments (with their line break) and `/* */` comments.
    Comment,
    Newline,
    OBrace,
    CBrace,
    OBrack,
    CBrack,
    OParen,
    CParen,
    /// `=` (not `==`, `=>`).
    Equal,
    EqualOp,
    NotEqual,
    Gt,
    Ge,
    Lt,
    Le,
    And,
    Or,
    Bang,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Dot,
    Comma,
    Colon,
    Question,
    Ellipsis,
    FatArrow,
    DoubleColon,
    /// Anything else (the parser has refused the file before it gets here).
    Other,
    /// End of input: keeps the spaces before it, as hclwrite does.
    Eof,
}

#[derive(Clone, Debug)]
pub(super) struct Tok {
    pub kind: K,
    pub text: String,
    /// Spaces written before the token.
    pub sp: usize,
}

impl Tok {
    pub fn new(kind: K, text: &str) -> Tok {
        Tok { kind, text: text.to_string(), sp: 0 }
    }

    /// A line break, or a line comment that ends with one.
    pub fn ends_line(&self) -> bool {
        self.kind == K::Newline || (self.kind == K::Comment && self.text.ends_with('\n'))
    }

    /// +1 for an opening bracket (or `${`/`%{`), -1 for a closing one.
    pub fn bracket_change(&self) -> i32 {
        match self.kind {
            K::OBrace | K::OBrack | K::OParen | K::Control | K::Interp => 1,
            K::CBrace | K::CBrack | K::CParen | K::SeqEnd => -1,
            _ => 0,
        }
    }
}

enum Mode {
    Main,
    Quoted,
    Heredoc { marker: String, start_of_line: bool },
}

fn ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || !c.is_ascii()
}

fn ident_continue(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-' || (!c.is_ascii() && !c.is_whitespace())
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    last_end: usize,
    toks: Vec<Tok>,
}

impl Lexer<'_> {
    fn rest(&self) -> &str {
        &self.src[self.pos..]
    }

    fn emit(&mut self, kind: K, len: usize) {
        let start = self.pos;
        let end = start + len;
        self.toks.push(Tok { kind, text: self.src[start..end].to_string(), sp: start - self.last_end });
        self.pos = end;
        self.last_end = end;
    }

    /// Length of a line break at the current position, if any.
    fn newline_len(&self) -> Option<usize> {
        let r = self.rest();
        if r.starts_with('\n') {
            Some(1)
        } else if r.starts_with("\r\n") {
            Some(2)
        } else {
            None
        }
    }

    /// `${`, `${~`, `%{`, `%{~` here: (kind, length).
    fn template_open(&self) -> Option<(K, usize)> {
        let r = self.rest();
        let kind = if r.starts_with("${") {
            K::Interp
        } else if r.starts_with("%{") {
            K::Control
        } else {
            return None;
        };
        Some((kind, if r[2..].starts_with('~') { 3 } else { 2 }))
    }

    /// Length of literal text from here up to (not including) a template
    /// opening, a line break, or (in a quoted string) the closing quote.
    fn literal_len(&self, quoted: bool) -> usize {
        let b = self.rest().as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'\n' | b'\r' => break,
                b'"' if quoted => break,
                b'\\' if quoted => {
                    i += 1;
                    if i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
                        i += 1;
                    }
                    // Keep to character boundaries.
                    while i < b.len() && !self.rest().is_char_boundary(i) {
                        i += 1;
                    }
                    continue;
                }
                c @ (b'$' | b'%') => {
                    if b.get(i + 1) == Some(&b'{') {
                        break;
                    }
                    // `$${` and `%%{` are literal text.
                    if b.get(i + 1) == Some(&c) && b.get(i + 2) == Some(&b'{') {
                        i += 3;
                        continue;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        i
    }

    fn main_token(&mut self, braces: &mut usize, ret_braces: &mut Vec<usize>, modes: &mut Vec<Mode>) {
        let r = self.rest();
        let c = r.chars().next().unwrap_or(' ');
        if c == ' ' || c == '\t' {
            self.pos += 1;
            return;
        }
        if let Some(n) = self.newline_len() {
            return self.emit(K::Newline, n);
        }
        if c.is_ascii_digit() {
            let b = r.as_bytes();
            let mut i = 1;
            loop {
                if i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                } else if i + 1 < b.len() && matches!(b[i], b'.' | b'e' | b'E') && b[i + 1].is_ascii_digit() {
                    i += 2;
                } else if i + 2 < b.len()
                    && (b[i] == b'e' || b[i] == b'E')
                    && (b[i + 1] == b'+' || b[i + 1] == b'-')
                    && b[i + 2].is_ascii_digit()
                {
                    i += 3;
                } else {
                    break;
                }
            }
            let i = landform_literal(b).unwrap_or(i);
            return self.emit(K::Number, i);
        }
        if ident_start(c) {
            let n = r.char_indices().find(|&(i, ch)| i > 0 && !ident_continue(ch)).map_or(r.len(), |(i, _)| i);
            return self.emit(K::Ident, n);
        }
        if c == '#' || r.starts_with("//") {
            let n = r.find('\n').map_or(r.len(), |i| i + 1);
            return self.emit(K::Comment, n);
        }
        if let Some(body) = r.strip_prefix("/*") {
            let n = body.find("*/").map_or(r.len(), |i| i + 4);
            return self.emit(K::Comment, n);
        }
        if let Some(n) = heredoc_open(r) {
            let head = r[2..n].trim_end_matches(['\n', '\r']);
            let marker = head.strip_prefix('-').unwrap_or(head).to_string();
            self.emit(K::OHeredoc, n);
            modes.push(Mode::Heredoc { marker, start_of_line: true });
            return;
        }
        let three = [("...", K::Ellipsis)];
        let two = [
            ("==", K::EqualOp),
            ("!=", K::NotEqual),
            (">=", K::Ge),
            ("<=", K::Le),
            ("&&", K::And),
            ("||", K::Or),
            ("::", K::DoubleColon),
            ("=>", K::FatArrow),
        ];
        for (s, k) in three.iter().chain(two.iter()) {
            if r.starts_with(s) {
                return self.emit(*k, s.len());
            }
        }
        if c == '}' || r.starts_with("~}") {
            let len = if c == '}' { 1 } else { 2 };
            if ret_braces.last() == Some(&*braces) {
                ret_braces.pop();
                modes.pop();
                *braces = braces.saturating_sub(1);
                return self.emit(K::SeqEnd, len);
            }
            *braces = braces.saturating_sub(1);
            return self.emit(if c == '}' { K::CBrace } else { K::SeqEnd }, len);
        }
        let kind = match c {
            '{' => {
                *braces += 1;
                K::OBrace
            }
            '"' => {
                modes.push(Mode::Quoted);
                K::OQuote
            }
            '[' => K::OBrack,
            ']' => K::CBrack,
            '(' => K::OParen,
            ')' => K::CParen,
            '.' => K::Dot,
            ',' => K::Comma,
            '*' => K::Star,
            '/' => K::Slash,
            '%' => K::Percent,
            '+' => K::Plus,
            '-' => K::Minus,
            '=' => K::Equal,
            '<' => K::Lt,
            '>' => K::Gt,
            '!' => K::Bang,
            '?' => K::Question,
            ':' => K::Colon,
            _ => K::Other,
        };
        self.emit(kind, c.len_utf8());
    }
}

/// Landform's own literals, which Terraform's language lacks (there, they
/// are errors): a percentage `10%` and a duration `1m30s` are one token, as
/// the grammar reads them, so that layout never writes `10 %` or `1 m30s`.
fn landform_literal(b: &[u8]) -> Option<usize> {
    let digits = |mut i: usize| {
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    // digits, then optionally "." and digits
    let num_end = |i: usize| {
        let j = digits(i);
        if j == i {
            return None;
        }
        if b.get(j) == Some(&b'.') && digits(j + 1) > j + 1 {
            return Some(digits(j + 1));
        }
        Some(j)
    };
    let alnum_or = |i: usize, extra: &[u8]| b.get(i).is_some_and(|c| c.is_ascii_alphanumeric() || extra.contains(c));
    let n = num_end(0)?;
    // A percentage: `%` not followed by an operand (`10% 3` is 10 modulo 3).
    let mut after = n + 1;
    while matches!(b.get(after), Some(b' ' | b'\t')) {
        after += 1;
    }
    if b.get(n) == Some(&b'%') && !alnum_or(n + 1, b"_(") && !(after > n + 1 && alnum_or(after, b"_(\"")) {
        return Some(n + 1);
    }
    // A duration: (number letters)+, not followed by an identifier character;
    // a number with an exponent (`1e3`) is a number, as the grammar tries it first.
    let mut end = n;
    if matches!(b.get(end), Some(b'e' | b'E')) {
        let k = end + 1 + usize::from(matches!(b.get(end + 1), Some(b'+' | b'-')));
        if digits(k) > k {
            end = digits(k);
        }
    }
    if !b.get(end).is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_') {
        return None;
    }
    let mut i = 0;
    let mut matched = None;
    while let Some(ne) = num_end(i) {
        let mut a = ne;
        while b.get(a).is_some_and(u8::is_ascii_alphabetic) {
            a += 1;
        }
        if a == ne {
            break;
        }
        matched = Some(a);
        i = a;
    }
    matched.filter(|&m| !alnum_or(m, b"_"))
}

/// Length of `<<EOT\n` / `<<-EOT\r\n` at the start of `r`, if it is one.
fn heredoc_open(r: &str) -> Option<usize> {
    let rest = r.strip_prefix("<<")?;
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    let first = rest.chars().next()?;
    if !ident_start(first) {
        return None;
    }
    let n = rest.char_indices().find(|&(i, ch)| i > 0 && !ident_continue(ch)).map_or(rest.len(), |(i, _)| i);
    let after = &rest[n..];
    let nl = if after.starts_with('\n') {
        1
    } else if after.starts_with("\r\n") {
        2
    } else {
        return None;
    };
    Some(r.len() - after.len() + nl)
}

/// The tokens of a file (without its byte-order mark), ending with `Eof`.
pub(super) fn lex(src: &str) -> Vec<Tok> {
    let mut lx = Lexer { src, pos: 0, last_end: 0, toks: Vec::new() };
    let mut modes = vec![Mode::Main];
    let mut braces = 0usize;
    let mut ret_braces: Vec<usize> = Vec::new();
    while lx.pos < src.len() {
        match modes.last_mut() {
            None | Some(Mode::Main) => {
                if modes.is_empty() {
                    modes.push(Mode::Main);
                }
                lx.main_token(&mut braces, &mut ret_braces, &mut modes);
            }
            Some(Mode::Quoted) => {
                if let Some((k, n)) = lx.template_open() {
                    braces += 1;
                    ret_braces.push(braces);
                    modes.push(Mode::Main);
                    lx.emit(k, n);
                } else if lx.rest().starts_with('"') {
                    modes.pop();
                    lx.emit(K::CQuote, 1);
                } else if lx.rest().starts_with(['\n', '\r']) {
                    let n = lx.rest().find(|c| c != '\n' && c != '\r').unwrap_or(lx.rest().len());
                    lx.emit(K::QuotedNewline, n);
                } else {
                    let n = lx.literal_len(true).max(1);
                    let n = (n..=lx.rest().len()).find(|&i| lx.rest().is_char_boundary(i)).unwrap_or(n);
                    lx.emit(K::QuotedLit, n);
                }
            }
            Some(Mode::Heredoc { marker, start_of_line }) => {
                if let Some((k, n)) = lx.template_open() {
                    *start_of_line = false;
                    braces += 1;
                    ret_braces.push(braces);
                    modes.push(Mode::Main);
                    lx.emit(k, n);
                    continue;
                }
                let n = lx.literal_len(false);
                let line_end = lx.src[lx.pos + n..].starts_with('\n') || lx.src[lx.pos + n..].starts_with("\r\n");
                if *start_of_line && line_end && lx.rest()[..n].trim_matches([' ', '\t', '\r']) == marker.as_str() {
                    let body = n - usize::from(lx.rest()[..n].ends_with('\r'));
                    let nl = if lx.rest()[body..].starts_with("\r\n") { 2 } else { 1 };
                    modes.pop();
                    lx.emit(K::CHeredoc, body);
                    lx.emit(K::Newline, nl);
                    continue;
                }
                let nl = if !line_end {
                    0
                } else if lx.src[lx.pos + n..].starts_with('\n') {
                    1
                } else {
                    2
                };
                *start_of_line = line_end;
                let len = n + nl;
                if len == 0 {
                    // A lone `\r` or similar: one character of literal text.
                    let c = lx.rest().chars().next().map_or(1, char::len_utf8);
                    lx.emit(K::StringLit, c);
                } else {
                    lx.emit(K::StringLit, len);
                }
            }
        }
    }
    lx.toks.push(Tok { kind: K::Eof, text: String::new(), sp: src.len() - lx.last_end });
    lx.toks
}
