//! The fast path: a hand-written recursive-descent parser for exactly the
//! language of `grammar.pest`, building the same tree with the same spans.
//! It gives up (returns `None`) on anything that needs a diagnostic; the pest
//! parser then reads the file again and says precisely what is wrong. The
//! differential property test keeps the two in step.

use super::template::{self, Directive, Tok};
use super::{parse_duration, unescape, PostfixChain};
use crate::number::Number;
use crate::source::{FileId, Span};
use crate::syntax::*;

/// Parse a whole file; on any error, the furthest offset it reached (where
/// the error most likely is).
pub fn parse_file(file: FileId, text: &str) -> Result<Body, usize> {
    let mut p =
        P { b: text.as_bytes(), s: text, pos: 0, file, depth: 0, failed_operands: Default::default(), furthest: 0 };
    let body = p.body(false);
    p.ws();
    match body {
        Some(body) if p.pos == p.b.len() => Ok(body),
        _ => Err(p.furthest),
    }
}

/// Parse a lone expression, or `None` on any error.
pub fn parse_expr(file: FileId, text: &str) -> Option<Expr> {
    let mut p =
        P { b: text.as_bytes(), s: text, pos: 0, file, depth: 0, failed_operands: Default::default(), furthest: 0 };
    p.ws();
    let e = p.expr()?;
    p.ws();
    (p.pos == p.b.len()).then_some(e)
}

/// Parse a template file (`templatefile`): text whose `${ }` and `%{ }` are
/// live, with no quotes or escapes. On an error, the offset where it is.
pub fn parse_template(file: FileId, text: &str) -> Result<Vec<TemplatePart>, (usize, String)> {
    let mut p =
        P { b: text.as_bytes(), s: text, pos: 0, file, depth: 0, failed_operands: Default::default(), furthest: 0 };
    let mut toks = Vec::new();
    let mut run = 0;
    while let Some(c) = p.peek() {
        match c {
            b'$' if p.starts("$${") => p.pos += 3,
            b'%' if p.starts("%%{") => p.pos += 3,
            b'$' | b'%' if p.starts("${") || p.starts("%{") => {
                template::push_source_lines(&mut toks, &text[run..p.pos].replace("$${", "${").replace("%%{", "%{"));
                let at = p.pos;
                let t = if c == b'$' { p.interpolation() } else { p.directive() };
                toks.push(t.ok_or((at, "this ${ } or %{ } sequence does not parse".to_string()))?);
                run = p.pos;
            }
            _ => p.pos += 1,
        }
    }
    template::push_source_lines(&mut toks, &text[run..].replace("$${", "${").replace("%%{", "%{"));
    template::build(toks, false)
        .map_err(|d| (d.span.map_or(0, |s| s.start as usize), format!("{}: {}", d.summary, d.detail)))
}

/// A guard only: `limits::check` refuses deeper input before either parser
/// runs, so valid input never reaches this depth.
const MAX_DEPTH: usize = super::limits::MAX_NESTING + 50;

struct P<'a> {
    b: &'a [u8],
    s: &'a str,
    pos: usize,
    file: FileId,
    depth: usize,
    /// Where an operand already failed to parse. Precedence climbing tries the
    /// operand after an operator once per enclosing precedence level; without
    /// this, nested failures would cost time exponential in their depth.
    failed_operands: std::collections::HashSet<usize>,
    /// The furthest offset reached, for where an error is.
    furthest: usize,
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

impl<'a> P<'a> {
    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, start, end)
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn at(&self, i: usize) -> Option<u8> {
        self.b.get(self.pos + i).copied()
    }

    fn starts(&self, lit: &str) -> bool {
        self.b[self.pos..].starts_with(lit.as_bytes())
    }

    fn eat(&mut self, lit: &str) -> bool {
        if self.starts(lit) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    /// Implicit whitespace and comments, as pest's WHITESPACE and COMMENT.
    fn ws(&mut self) {
        self.furthest = self.furthest.max(self.pos);
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r' | b'\n') => self.pos += 1,
                Some(b'#') => self.skip_line(),
                Some(b'/') if self.at(1) == Some(b'/') => self.skip_line(),
                Some(b'/') if self.at(1) == Some(b'*') => match self.s[self.pos + 2..].find("*/") {
                    Some(e) => self.pos += 2 + e + 2,
                    // An unclosed comment is not a comment; the caller fails on `/`.
                    None => return,
                },
                _ => return,
            }
        }
    }

    fn skip_line(&mut self) {
        while let Some(c) = self.peek() {
            if c == b'\n' {
                return;
            }
            self.pos += 1;
        }
    }

    /// `ident = @{ (ASCII_ALPHA | "_") ~ (ASCII_ALPHANUMERIC | "_" | "-" ~ &(ASCII_ALPHANUMERIC | "_"))* }`
    fn ident_len(&self, from: usize) -> usize {
        let b = self.b;
        if !b.get(from).is_some_and(|c| is_ident_start(*c)) {
            return 0;
        }
        let mut i = from + 1;
        while let Some(&c) = b.get(i) {
            let dash_inside = c == b'-' && b.get(i + 1).is_some_and(|n| n.is_ascii_alphanumeric() || *n == b'_');
            if c.is_ascii_alphanumeric() || c == b'_' || dash_inside {
                i += 1;
            } else {
                break;
            }
        }
        i - from
    }

    fn ident(&mut self) -> Option<Ident> {
        let n = self.ident_len(self.pos);
        if n == 0 {
            return None;
        }
        let start = self.pos;
        self.pos += n;
        Some(Ident { name: self.s[start..self.pos].to_string(), span: self.span(start, self.pos) })
    }

    /// A keyword: the word, not followed by an identifier character.
    fn keyword(&mut self, kw: &str) -> bool {
        if self.starts(kw) && !self.b.get(self.pos + kw.len()).is_some_and(|c| is_ident_char(*c)) {
            self.pos += kw.len();
            true
        } else {
            false
        }
    }

    fn body(&mut self, in_block: bool) -> Option<Body> {
        let mut items = Vec::new();
        loop {
            self.ws();
            match self.peek() {
                None => return if in_block { None } else { Some(Body { items }) },
                Some(b'}') if in_block => return Some(Body { items }),
                _ => {}
            }
            let name = self.ident()?;
            self.ws();
            if self.peek() == Some(b'=') && !self.starts("==") {
                self.pos += 1;
                self.ws();
                let value = self.expr()?;
                let span = name.span.to(value.span);
                items.push(Item::Attribute(Attribute { name, value, span }));
            } else {
                items.push(Item::Block(self.block(name)?));
            }
        }
    }

    fn block(&mut self, kind: Ident) -> Option<Block> {
        let mut labels = Vec::new();
        loop {
            self.ws();
            match self.peek()? {
                b'"' => {
                    let e = self.string()?;
                    // An interpolated label needs a diagnostic.
                    let value = e.as_static_string()?;
                    labels.push(Label { value, span: e.span });
                }
                b'{' => break,
                c if is_ident_start(c) => {
                    let id = self.ident()?;
                    labels.push(Label { value: id.name, span: id.span });
                }
                _ => return None,
            }
        }
        self.pos += 1;
        self.depth += 1;
        let body = if self.depth > MAX_DEPTH { None } else { self.body(true) };
        self.depth -= 1;
        let body = body?;
        self.ws();
        if !self.eat("}") {
            return None;
        }
        let span = self.span(kind.span.start as usize, self.pos);
        Some(Block { kind, labels, body, span })
    }

    /// `expr = { or_expr ~ (question ~ expr ~ ":" ~ expr)? }`
    fn expr(&mut self) -> Option<Expr> {
        // The depth comes back down on every path, failures included.
        self.depth += 1;
        let e = if self.depth > MAX_DEPTH { None } else { self.conditional() };
        self.depth -= 1;
        e
    }

    fn conditional(&mut self) -> Option<Expr> {
        let cond = self.binary(0)?;
        let save = self.pos;
        self.ws();
        let out = if self.eat("?") {
            self.ws();
            let a = self.expr()?;
            self.ws();
            if !self.eat(":") {
                return None;
            }
            self.ws();
            let b = self.expr()?;
            let span = cond.span.to(b.span);
            Expr { kind: ExprKind::Conditional(Box::new(cond), Box::new(a), Box::new(b)), span }
        } else {
            self.pos = save;
            cond
        };
        Some(out)
    }

    /// The binary operator at the cursor and its precedence (0 binds loosest),
    /// longest spelling first as in the grammar's alternatives.
    fn operator(&self) -> Option<(BinaryOp, usize, usize)> {
        let c = self.peek()?;
        let next = self.at(1);
        Some(match (c, next) {
            (b'|', Some(b'|')) => (BinaryOp::Or, 0, 2),
            (b'&', Some(b'&')) => (BinaryOp::And, 1, 2),
            (b'=', Some(b'=')) => (BinaryOp::Eq, 2, 2),
            (b'!', Some(b'=')) => (BinaryOp::NotEq, 2, 2),
            (b'>', Some(b'=')) => (BinaryOp::GtEq, 3, 2),
            (b'<', Some(b'=')) => (BinaryOp::LtEq, 3, 2),
            (b'>', _) => (BinaryOp::Gt, 3, 1),
            (b'<', _) => (BinaryOp::Lt, 3, 1),
            (b'+', _) => (BinaryOp::Add, 4, 1),
            (b'-', _) => (BinaryOp::Sub, 4, 1),
            (b'*', _) => (BinaryOp::Mul, 5, 1),
            (b'/', _) => (BinaryOp::Div, 5, 1),
            (b'%', _) => (BinaryOp::Mod, 5, 1),
            _ => return None,
        })
    }

    /// Precedence climbing; builds the same left-associative trees as the
    /// grammar's `or_expr … mul_expr` chain of rules.
    fn binary(&mut self, min: usize) -> Option<Expr> {
        let mut left = self.unary()?;
        loop {
            let save = self.pos;
            self.ws();
            let Some((op, prec, len)) = self.operator().filter(|(_, p, _)| *p >= min) else {
                self.pos = save;
                return Some(left);
            };
            self.pos += len;
            self.ws();
            // An operand fails or not whatever the precedence it is parsed at.
            let operand = self.pos;
            let right = if self.failed_operands.contains(&operand) { None } else { self.binary(prec + 1) };
            if right.is_none() {
                self.failed_operands.insert(operand);
            }
            match right {
                Some(right) => {
                    let span = left.span.to(right.span);
                    left = Expr { kind: ExprKind::Binary(op, Box::new(left), Box::new(right)), span };
                }
                None => {
                    // As in the grammar's repetition, a failed right side ends the chain.
                    self.pos = save;
                    return Some(left);
                }
            }
        }
    }

    /// `unary_expr = { op_unary* ~ postfix_expr }`
    fn unary(&mut self) -> Option<Expr> {
        let mut ops = Vec::new();
        loop {
            match self.peek() {
                Some(b'!') => {
                    ops.push((UnaryOp::Not, self.pos));
                    self.pos += 1;
                    self.ws();
                }
                Some(b'-') => {
                    ops.push((UnaryOp::Neg, self.pos));
                    self.pos += 1;
                    self.ws();
                }
                _ => break,
            }
        }
        let mut e = self.postfix()?;
        for (op, at) in ops.into_iter().rev() {
            let ospan = self.span(at, at + 1);
            if let (UnaryOp::Neg, ExprKind::Number(n)) = (op, &e.kind) {
                e = Expr { kind: ExprKind::Number(n.neg()), span: ospan.to(e.span) };
                continue;
            }
            let s = ospan.to(e.span);
            e = Expr { kind: ExprKind::Unary(op, Box::new(e)), span: s };
        }
        Some(e)
    }

    /// `postfix_expr = { primary ~ (splat | get_attr | index)* }`
    fn postfix(&mut self) -> Option<Expr> {
        let first = self.primary()?;
        let mut chain = PostfixChain::new(first);
        loop {
            let save = self.pos;
            self.ws();
            let start = self.pos;
            let step = match self.peek() {
                Some(b'[') => {
                    self.pos += 1;
                    self.ws();
                    if self.eat("*") {
                        self.ws();
                        if self.eat("]") {
                            chain.splat(self.span(start, self.pos), false);
                            continue;
                        }
                        self.pos = save;
                        break;
                    }
                    let Some(k) = self.expr() else {
                        self.pos = save;
                        break;
                    };
                    self.ws();
                    if !self.eat("]") {
                        self.pos = save;
                        break;
                    }
                    Step::Index(k)
                }
                Some(b'.') => {
                    self.pos += 1;
                    self.ws();
                    if self.eat("*") {
                        chain.splat(self.span(start, self.pos), true);
                        continue;
                    }
                    if let Some(id) = self.ident() {
                        Step::Attr(id)
                    } else if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                        let d0 = self.pos;
                        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                            self.pos += 1;
                        }
                        let n = Number::parse(&self.s[d0..self.pos])?;
                        let step = Step::Index(Expr { kind: ExprKind::Number(n), span: self.span(d0, self.pos) });
                        chain.dotted_index(step, self.span(start, self.pos));
                        continue;
                    } else {
                        self.pos = save;
                        break;
                    }
                }
                _ => {
                    self.pos = save;
                    break;
                }
            };
            chain.step(step, self.span(start, self.pos));
        }
        Some(chain.finish())
    }

    fn primary(&mut self) -> Option<Expr> {
        let start = self.pos;
        match self.peek()? {
            b'<' if self.starts("<<") => self.heredoc(),
            b'"' => self.string(),
            c if c.is_ascii_digit() => self.numeric(),
            b'[' => {
                if let Some(e) = self.for_expr(false) {
                    return Some(e);
                }
                self.pos = start;
                self.list()
            }
            b'{' => {
                if let Some(e) = self.for_expr(true) {
                    return Some(e);
                }
                self.pos = start;
                self.object()
            }
            b'(' => {
                self.pos += 1;
                self.ws();
                let inner = self.expr()?;
                self.ws();
                if !self.eat(")") {
                    return None;
                }
                Some(Expr { kind: ExprKind::Paren(Box::new(inner)), span: self.span(start, self.pos) })
            }
            c if is_ident_start(c) => {
                let mut id = self.ident()?;
                // A namespaced function: `core::upper(…)`, `provider::aws::f(…)`.
                while self.starts("::") && self.b.get(self.pos + 2).is_some_and(|c| is_ident_start(*c)) {
                    self.pos += 2;
                    let more = self.ident()?;
                    id = Ident { name: format!("{}::{}", id.name, more.name), span: id.span.to(more.span) };
                    if self.peek() != Some(b'(') && !self.starts("::") {
                        return None;
                    }
                }
                if self.peek() == Some(b'(') {
                    return self.call(id);
                }
                let kind = match id.name.as_str() {
                    "true" => ExprKind::Bool(true),
                    "false" => ExprKind::Bool(false),
                    "null" => ExprKind::Null,
                    _ => ExprKind::Variable(id.clone()),
                };
                Some(Expr { kind, span: id.span })
            }
            _ => None,
        }
    }

    /// `percent | duration | number`, tried in that order as the grammar does.
    fn numeric(&mut self) -> Option<Expr> {
        let start = self.pos;
        let b = self.b;
        let digits = |mut i: usize| {
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            i
        };
        // A number: digits, then optionally "." and digits.
        let num_end = |i: usize| {
            let j = digits(i);
            if j == i {
                return None;
            }
            if b.get(j) == Some(&b'.') {
                let k = digits(j + 1);
                if k > j + 1 {
                    return Some(k);
                }
            }
            Some(j)
        };
        let alnum_or =
            |i: usize, extra: &[u8]| b.get(i).is_some_and(|c| c.is_ascii_alphanumeric() || extra.contains(c));
        let n = num_end(start)?;
        // percent
        // `10% 3` is 10 modulo 3, as in Terraform: an operand after the blanks
        // means the `%` is an operator.
        let mut after = n + 1;
        while matches!(b.get(after), Some(b' ' | b'\t')) {
            after += 1;
        }
        if b.get(n) == Some(&b'%') && !alnum_or(n + 1, b"_(") && !(after > n + 1 && alnum_or(after, b"_(\"")) {
            self.pos = n + 1;
            let v: f64 = self.s[start..n].parse().ok()?;
            if !(0.0..=100.0).contains(&v) {
                return None;
            }
            return Some(Expr { kind: ExprKind::Percent(v), span: self.span(start, self.pos) });
        }
        // A number with an optional exponent, tried before a duration as the
        // grammar does, so that 1e-3 is a number and not the duration "1e".
        let mut end = n;
        if matches!(b.get(end), Some(b'e' | b'E')) {
            let mut k = end + 1;
            if matches!(b.get(k), Some(b'+' | b'-')) {
                k += 1;
            }
            let d = digits(k);
            if d > k {
                end = d;
            }
        }
        if !b.get(end).is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_') {
            let v = Number::parse(&self.s[start..end])?;
            if v.is_infinite() {
                // Out of range: the reference parser says so.
                return None;
            }
            self.pos = end;
            return Some(Expr { kind: ExprKind::Number(v), span: self.span(start, end) });
        }
        // duration: (number alpha+)+ not followed by an identifier character
        let mut i = start;
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
        if let Some(end) = matched {
            if !alnum_or(end, b"_") {
                self.pos = end;
                let ms = parse_duration(&self.s[start..end]).ok()?;
                return Some(Expr { kind: ExprKind::Duration(ms), span: self.span(start, end) });
            }
        }
        None
    }

    /// Comma-separated expressions up to `close`, with an optional trailing comma.
    fn items(&mut self, close: u8) -> Option<Vec<Expr>> {
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(close) {
            self.pos += 1;
            return Some(items);
        }
        loop {
            items.push(self.expr()?);
            self.ws();
            if self.peek() == Some(b',') {
                self.pos += 1;
                self.ws();
                if self.peek() == Some(close) {
                    self.pos += 1;
                    return Some(items);
                }
                continue;
            }
            if self.peek() == Some(close) {
                self.pos += 1;
                return Some(items);
            }
            return None;
        }
    }

    fn list(&mut self) -> Option<Expr> {
        let start = self.pos;
        self.pos += 1;
        let items = self.items(b']')?;
        Some(Expr { kind: ExprKind::List(items), span: self.span(start, self.pos) })
    }

    fn call(&mut self, name: Ident) -> Option<Expr> {
        self.pos += 1;
        let mut args = Vec::new();
        let mut expand = false;
        self.ws();
        if !self.eat(")") {
            loop {
                args.push(self.expr()?);
                self.ws();
                if self.eat("...") {
                    // Only the last argument expands: `)` must follow.
                    self.ws();
                    if !self.eat(")") {
                        return None;
                    }
                    expand = true;
                    break;
                }
                if self.eat(",") {
                    self.ws();
                    if self.eat(")") {
                        break;
                    }
                    continue;
                }
                if self.eat(")") {
                    break;
                }
                return None;
            }
        }
        let span = self.span(name.span.start as usize, self.pos);
        Some(Expr { kind: ExprKind::Call(name, args, expand), span })
    }

    fn object(&mut self) -> Option<Expr> {
        let start = self.pos;
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.ws();
            if self.eat("}") {
                return Some(Expr { kind: ExprKind::Object(items), span: self.span(start, self.pos) });
            }
            let key = match self.peek()? {
                b'"' => ObjectKey::Expr(self.string()?),
                b'(' => {
                    let s = self.pos;
                    self.pos += 1;
                    self.ws();
                    let inner = self.expr()?;
                    self.ws();
                    if !self.eat(")") {
                        return None;
                    }
                    ObjectKey::Expr(Expr { kind: ExprKind::Paren(Box::new(inner)), span: self.span(s, self.pos) })
                }
                c if is_ident_start(c) => ObjectKey::Name(self.ident()?),
                c if c.is_ascii_digit() => match self.numeric()? {
                    e @ Expr { kind: ExprKind::Number(_), .. } => ObjectKey::Expr(e),
                    _ => return None,
                },
                _ => return None,
            };
            self.ws();
            if !(self.eat("=") || self.eat(":")) {
                return None;
            }
            self.ws();
            let value = self.expr()?;
            items.push(ObjectItem { key, value });
            self.ws();
            self.eat(",");
        }
    }

    /// `[for …]` or `{for …}`; `None` (and the caller backtracks) when it is not one.
    fn for_expr(&mut self, is_map: bool) -> Option<Expr> {
        let start = self.pos;
        self.pos += 1;
        self.ws();
        if !self.keyword("for") {
            return None;
        }
        let (key_var, value_var, collection) = self.for_intro()?;
        self.ws();
        if !self.eat(":") {
            return None;
        }
        self.ws();
        let first_expr = self.expr()?;
        self.ws();
        let mut group = false;
        let (key, value) = if is_map {
            if !self.eat("=>") {
                return None;
            }
            self.ws();
            let v = self.expr()?;
            self.ws();
            group = self.eat("...");
            self.ws();
            (Some(first_expr), v)
        } else {
            (None, first_expr)
        };
        let mut condition = None;
        let save = self.pos;
        if self.keyword("if") {
            self.ws();
            match self.expr() {
                Some(c) => {
                    condition = Some(c);
                    self.ws();
                }
                None => self.pos = save,
            }
        }
        if !self.eat(if is_map { "}" } else { "]" }) {
            return None;
        }
        Some(Expr {
            kind: ExprKind::For(Box::new(ForExpr { key_var, value_var, collection, key, value, condition, group })),
            span: self.span(start, self.pos),
        })
    }

    /// `${ expr }` (with `~` strip markers) at the cursor.
    fn interpolation(&mut self) -> Option<Tok> {
        self.pos += 2;
        self.ws();
        let strip_left = self.eat("~");
        self.ws();
        let expr = self.expr()?;
        self.ws();
        let strip_right = self.eat("~");
        self.ws();
        self.eat("}").then_some(Tok::Interp { expr, strip_left, strip_right })
    }

    /// After `for`: `NAME, NAME in COLLECTION` or `NAME in COLLECTION`, as
    /// (key variable, value variable, collection), for `for` expressions and
    /// `%{ for }` directives alike.
    fn for_intro(&mut self) -> Option<(Option<Ident>, Ident, Expr)> {
        self.ws();
        let first = self.ident()?;
        self.ws();
        let mut second = None;
        if self.eat(",") {
            self.ws();
            second = Some(self.ident()?);
            self.ws();
        }
        if !self.keyword("in") {
            return None;
        }
        self.ws();
        let collection = self.expr()?;
        Some(match second {
            Some(value_var) => (Some(first), value_var, collection),
            None => (None, first, collection),
        })
    }

    /// `%{ if … }`, `%{ else }`, `%{ endif }`, `%{ for … in … }` or `%{ endfor }` at the cursor.
    fn directive(&mut self) -> Option<Tok> {
        let start = self.pos;
        self.pos += 2;
        self.ws();
        let strip_left = self.eat("~");
        self.ws();
        let dir = if self.keyword("if") {
            self.ws();
            Directive::If(self.expr()?)
        } else if self.keyword("else") {
            Directive::Else
        } else if self.keyword("endif") {
            Directive::EndIf
        } else if self.keyword("endfor") {
            Directive::EndFor
        } else if self.keyword("for") {
            let (key_var, value_var, collection) = self.for_intro()?;
            Directive::For { key_var, value_var, collection }
        } else {
            return None;
        };
        self.ws();
        let strip_right = self.eat("~");
        self.ws();
        if !self.eat("}") {
            return None;
        }
        Some(Tok::Dir { dir, strip_left, strip_right, span: self.span(start, self.pos) })
    }

    fn string(&mut self) -> Option<Expr> {
        let start = self.pos;
        self.pos += 1;
        let mut toks = Vec::new();
        let mut run = self.pos;
        loop {
            let c = self.peek()?;
            match c {
                b'"' => break,
                b'$' if self.starts("$${") => self.pos += 3,
                b'%' if self.starts("%%{") => self.pos += 3,
                b'\\' => {
                    self.pos += 1;
                    let ch = self.s[self.pos..].chars().next()?;
                    self.pos += ch.len_utf8();
                }
                b'$' | b'%' if self.starts("${") || self.starts("%{") => {
                    template::push_lit(&mut toks, &unescape(&self.s[run..self.pos]));
                    let t = if c == b'$' { self.interpolation()? } else { self.directive()? };
                    toks.push(t);
                    run = self.pos;
                }
                b'\n' => return None,
                _ => self.pos += 1,
            }
        }
        template::push_lit(&mut toks, &unescape(&self.s[run..self.pos]));
        if super::bad_escape(&self.s[start..self.pos]).is_some() {
            // The reference parser says where and why.
            return None;
        }
        self.pos += 1;
        let parts = template::build(toks, false).ok()?;
        Some(Expr { kind: ExprKind::Template(parts), span: self.span(start, self.pos) })
    }

    fn heredoc(&mut self) -> Option<Expr> {
        let start = self.pos;
        self.pos += 2;
        let strip = self.eat("-");
        let n = self.ident_len(self.pos);
        if n == 0 {
            return None;
        }
        let marker = &self.s[self.pos..self.pos + n];
        self.pos += n;
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r')) {
            self.pos += 1;
        }
        if !self.eat("\n") {
            return None;
        }
        let mut toks = Vec::new();
        loop {
            // At a line start: is this the closing marker?
            let mut i = self.pos;
            while matches!(self.b.get(i), Some(b' ' | b'\t')) {
                i += 1;
            }
            if self.b[i..].starts_with(marker.as_bytes()) && !self.b.get(i + n).is_some_and(|c| is_ident_char(*c)) {
                self.pos = i + n;
                break;
            }
            // One line: literal runs, interpolations and directives, then the newline.
            let mut run = self.pos;
            loop {
                match self.peek()? {
                    b'\n' => break,
                    b'$' if self.starts("$${") => self.pos += 3,
                    b'%' if self.starts("%%{") => self.pos += 3,
                    c @ (b'$' | b'%') if self.starts("${") || self.starts("%{") => {
                        template::push_lit(&mut toks, &self.s[run..self.pos].replace("$${", "${").replace("%%{", "%{"));
                        let t = if c == b'$' { self.interpolation()? } else { self.directive()? };
                        toks.push(t);
                        run = self.pos;
                    }
                    _ => self.pos += 1,
                }
            }
            template::push_lit(&mut toks, &self.s[run..self.pos].replace("$${", "${").replace("%%{", "%{"));
            self.pos += 1;
            template::push_lit(&mut toks, "\n");
        }
        let parts = template::build(toks, strip).ok()?;
        Some(Expr { kind: ExprKind::Template(parts), span: self.span(start, self.pos) })
    }
}
