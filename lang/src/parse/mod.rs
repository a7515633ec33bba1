//! The parser: pest grammar plus one lowering function per rule. pest stays
//! private to this module; callers get a [`syntax::File`] and diagnostics, and a
//! syntax error in one top-level block does not hide the errors of the others.

use crate::diag::Diagnostic;
use crate::number::Number;
use crate::source::{FileId, Span};
use crate::syntax::*;
use pest::iterators::Pair;
use pest::Parser as _;
use template::{Directive, Tok};

mod fast;
pub mod labels;
pub mod limits;
mod recover;
mod template;

pub use recover::is_syntax_error;
use recover::{syntax_error, syntax_error_rule, top_level_chunks};

#[derive(pest_derive::Parser)]
#[grammar = "parse/grammar.pest"]
struct LfParser;

/// Parse a whole file. Always returns a tree (possibly partial) and the diagnostics.
///
/// Valid input takes the fast hand-written parser; anything else is read by the
/// pest grammar, which knows how to say what is wrong.
pub fn parse_file(file: FileId, text: &str) -> (File, Vec<Diagnostic>) {
    if let Some(d) = limits::check(file, text) {
        return (File { body: Body::default() }, vec![d]);
    }
    let (parsed, mut diags) = match fast::parse_file(file, text) {
        Ok(body) => (File { body }, Vec::new()),
        Err(furthest) => reference_or_give_up(file, text, furthest),
    };
    labels::check(&parsed.body, &mut diags);
    (parsed, diags)
}

/// How much work pest may do on a file, in rule calls: linear in its length.
/// Some invalid input sends a backtracking parser into time exponential in
/// its nesting; past this budget the error is reported where the fast parser
/// stopped instead.
fn call_budget(text: &str) -> usize {
    text.len().saturating_mul(400).saturating_add(2_000_000)
}

/// Run pest on `text` within its call budget. The limit is one setting for
/// the whole process, so pest reads one text at a time.
fn within_budget<T>(text: &str, parse: impl FnOnce() -> T) -> T {
    static PEST: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = PEST.lock().unwrap_or_else(|e| e.into_inner());
    pest::set_call_limit(std::num::NonZeroUsize::new(call_budget(text)));
    let out = parse();
    pest::set_call_limit(None);
    out
}

/// Read an invalid file with pest for its diagnostics, within the budget.
fn reference_or_give_up(file: FileId, text: &str, furthest: usize) -> (File, Vec<Diagnostic>) {
    let (f, diags) = within_budget(text, || parse_file_reference(file, text));
    if !diags.iter().any(|d| d.detail.contains("call limit reached") || d.summary.contains("call limit reached")) {
        return (f, diags);
    }
    let at = furthest.min(text.len());
    let diag = Diagnostic::error(
        "Invalid syntax",
        "Landform could not read the file from here on. Check the brackets, braces, quotes and operators around this point.",
        Span::new(file, at, (at + 1).min(text.len()).max(at)),
    );
    (File { body: Body::default() }, vec![diag])
}

/// The reference parser alone: the pest grammar and its lowering. Public for
/// the differential tests that hold the fast parser to the same language.
#[doc(hidden)]
pub fn parse_file_reference(file: FileId, text: &str) -> (File, Vec<Diagnostic>) {
    let mut lower = Lower { file, offset: 0, diags: Vec::new() };
    match LfParser::parse(Rule::file, text) {
        Ok(mut pairs) => {
            let body = match pairs.next() {
                Some(f) => lower.file(f),
                None => Body::default(),
            };
            (File { body }, lower.diags)
        }
        Err(whole) => {
            // Parse each top-level item on its own so that one syntax error does
            // not hide the errors (or the valid blocks) of the rest.
            let mut items = Vec::new();
            let mut errors = 0;
            for (start, end) in top_level_chunks(text) {
                let chunk = &text[start..end];
                lower.offset = start;
                match LfParser::parse(Rule::file, chunk) {
                    Ok(mut pairs) => {
                        if let Some(f) = pairs.next() {
                            items.extend(lower.file(f).items);
                        }
                    }
                    Err(_) => {
                        errors += 1;
                        let diag = syntax_error(file, start, chunk);
                        lower.diags.push(diag);
                    }
                }
            }
            if errors == 0 {
                drop(whole);
                lower.diags.push(syntax_error(file, 0, text));
            }
            (File { body: Body { items } }, lower.diags)
        }
    }
}

/// Parse a template file's text (`templatefile`); on an error, its offset and what it is.
pub fn parse_template(file: FileId, text: &str) -> Result<Vec<TemplatePart>, (usize, String)> {
    if let Some(d) = limits::check(file, text) {
        return Err((0, d.detail));
    }
    fast::parse_template(file, text)
}

/// Parse a lone expression, as given in `--var name=value` or a test.
pub fn parse_expr(file: FileId, text: &str) -> (Option<Expr>, Vec<Diagnostic>) {
    if let Some(d) = limits::check(file, text) {
        return (None, vec![d]);
    }
    if let Some(e) = fast::parse_expr(file, text) {
        return (Some(e), Vec::new());
    }
    within_budget(text, || {
        let mut lower = Lower { file, offset: 0, diags: Vec::new() };
        match LfParser::parse(Rule::expr_only, text) {
            Ok(mut pairs) => {
                let expr = pairs.next().and_then(|p| p.into_inner().next()).map(|e| lower.expr(e));
                (expr, lower.diags)
            }
            Err(_) => (None, vec![syntax_error_rule(file, 0, text, Rule::expr_only)]),
        }
    })
}

/// A postfix chain under construction: attribute and index steps, and splats
/// that apply the steps after them to every element. Both parsers build chains
/// through this, so that their trees agree.
struct PostfixChain {
    e: Expr,
    splat: Option<(Expr, Vec<Step>)>,
    /// The splat is the old `.*`, which takes only the attribute steps after it.
    legacy: bool,
}

impl PostfixChain {
    fn new(e: Expr) -> PostfixChain {
        PostfixChain { e, splat: None, legacy: false }
    }

    /// `[*]` or (`legacy`) `.*`, spanning `pspan`.
    fn splat(&mut self, pspan: Span, legacy: bool) {
        // `[*]` within a full splat nests, as HCL has it: what follows
        // applies to each element of each element.
        if !legacy && !self.legacy {
            if let Some((_, steps)) = &mut self.splat {
                steps.push(Step::Splat);
                return;
            }
        }
        self.close(pspan);
        self.splat = Some((self.e.clone(), Vec::new()));
        self.legacy = legacy;
    }

    /// End the open splat here: what follows applies to its result.
    fn close(&mut self, pspan: Span) {
        if let Some((src, steps)) = self.splat.take() {
            let s = src.span.to(pspan);
            self.e = Expr { kind: ExprKind::Splat(Box::new(src), steps), span: s };
        }
    }

    /// `.0`: an index written as an attribute, which stays inside an old
    /// `.*` splat as attributes do (`a.*.b.1` takes each b's second element).
    fn dotted_index(&mut self, step: Step, pspan: Span) {
        let legacy = std::mem::replace(&mut self.legacy, false);
        self.step(step, pspan);
        self.legacy = legacy;
    }

    /// `.name` or `[key]`, spanning `pspan`.
    fn step(&mut self, step: Step, pspan: Span) {
        if self.legacy && matches!(step, Step::Index(_)) {
            // `a.*.b[0]` is `(a.*.b)[0]`, as HCL reads the attribute-only splat.
            let end = match self.splat.as_ref().and_then(|(_, steps)| steps.last()) {
                Some(Step::Attr(i)) => i.span,
                Some(Step::Index(e)) => e.span,
                Some(Step::Splat) | None => pspan,
            };
            self.close(end);
            self.legacy = false;
        }
        match &mut self.splat {
            Some((_, steps)) => steps.push(step),
            None => {
                let e = std::mem::replace(&mut self.e, Expr { kind: ExprKind::Null, span: pspan });
                let s = e.span.to(pspan);
                self.e = match step {
                    Step::Attr(name) => Expr { kind: ExprKind::GetAttr(Box::new(e), name), span: s },
                    Step::Index(k) => Expr { kind: ExprKind::Index(Box::new(e), Box::new(k)), span: s },
                    // Only `splat` makes these, and only inside an open splat.
                    Step::Splat => e,
                };
            }
        }
    }

    fn finish(self) -> Expr {
        let Some((src, steps)) = self.splat else { return self.e };
        let end = steps
            .last()
            .and_then(|s| match s {
                Step::Attr(i) => Some(i.span),
                Step::Index(e) => Some(e.span),
                Step::Splat => None,
            })
            .unwrap_or(src.span);
        let s = src.span.to(end);
        Expr { kind: ExprKind::Splat(Box::new(src), steps), span: s }
    }
}

struct Lower {
    file: FileId,
    offset: usize,
    diags: Vec<Diagnostic>,
}

impl Lower {
    fn span(&self, pair: &Pair<Rule>) -> Span {
        let s = pair.as_span();
        Span::new(self.file, self.offset + s.start(), self.offset + s.end())
    }

    fn unexpected(&mut self, pair: &Pair<Rule>) -> Expr {
        let span = self.span(pair);
        self.diags.push(Diagnostic::error(
            "Internal parser error",
            format!("Unexpected rule {:?}. This is a bug in Landform; please report it.", pair.as_rule()),
            span,
        ));
        Expr { kind: ExprKind::Null, span }
    }

    fn file(&mut self, pair: Pair<Rule>) -> Body {
        match pair.into_inner().find(|p| p.as_rule() == Rule::body) {
            Some(b) => self.body(b),
            None => Body::default(),
        }
    }

    fn body(&mut self, pair: Pair<Rule>) -> Body {
        let mut items = Vec::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::attribute => items.push(Item::Attribute(self.attribute(p))),
                Rule::block => items.push(Item::Block(self.block(p))),
                _ => {
                    self.unexpected(&p);
                }
            }
        }
        Body { items }
    }

    fn ident(&self, pair: &Pair<Rule>) -> Ident {
        Ident { name: pair.as_str().to_string(), span: self.span(pair) }
    }

    fn attribute(&mut self, pair: Pair<Rule>) -> Attribute {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let name = inner.next().map(|p| self.ident(&p)).unwrap_or(Ident { name: String::new(), span });
        let value = match inner.next() {
            Some(e) => self.expr(e),
            None => Expr { kind: ExprKind::Null, span },
        };
        // The rule's own span can run on over trailing whitespace; keep it tight.
        let span = name.span.to(value.span);
        Attribute { name, value, span }
    }

    fn block(&mut self, pair: Pair<Rule>) -> Block {
        let span = self.span(&pair);
        let mut kind = None;
        let mut labels = Vec::new();
        let mut body = Body::default();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident if kind.is_none() => kind = Some(self.ident(&p)),
                Rule::ident => labels.push(Label { value: p.as_str().to_string(), span: self.span(&p) }),
                Rule::string => {
                    let lspan = self.span(&p);
                    let e = self.template(p);
                    match e.as_static_string() {
                        Some(value) => labels.push(Label { value, span: lspan }),
                        None => {
                            self.diags.push(Diagnostic::error(
                                "Invalid block label",
                                "A block label is a plain quoted string; it cannot contain interpolation sequences.",
                                lspan,
                            ));
                            // Keep a placeholder so the label count stays right.
                            labels.push(Label { value: String::new(), span: lspan });
                        }
                    }
                }
                Rule::body => body = self.body(p),
                _ => {
                    self.unexpected(&p);
                }
            }
        }
        let kind = kind.unwrap_or(Ident { name: String::new(), span });
        Block { kind, labels, body, span }
    }

    fn expr(&mut self, pair: Pair<Rule>) -> Expr {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::expr => {
                let mut inner = pair.into_inner();
                let Some(first) = inner.next() else { return Expr { kind: ExprKind::Null, span } };
                let cond = self.expr(first);
                if inner.next().is_none() {
                    return cond;
                }
                let a = inner.next().map(|p| self.expr(p));
                let b = inner.next().map(|p| self.expr(p));
                match (a, b) {
                    (Some(a), Some(b)) => {
                        let span = cond.span.to(b.span);
                        Expr { kind: ExprKind::Conditional(Box::new(cond), Box::new(a), Box::new(b)), span }
                    }
                    _ => cond,
                }
            }
            Rule::or_expr | Rule::and_expr | Rule::eq_expr | Rule::cmp_expr | Rule::add_expr | Rule::mul_expr => {
                let mut inner = pair.into_inner();
                let Some(first) = inner.next() else { return Expr { kind: ExprKind::Null, span } };
                let mut left = self.expr(first);
                while let (Some(op), Some(rhs)) = (inner.next(), inner.next()) {
                    let op = match op.as_str() {
                        "||" => BinaryOp::Or,
                        "&&" => BinaryOp::And,
                        "==" => BinaryOp::Eq,
                        "!=" => BinaryOp::NotEq,
                        "<" => BinaryOp::Lt,
                        "<=" => BinaryOp::LtEq,
                        ">" => BinaryOp::Gt,
                        ">=" => BinaryOp::GtEq,
                        "+" => BinaryOp::Add,
                        "-" => BinaryOp::Sub,
                        "*" => BinaryOp::Mul,
                        "/" => BinaryOp::Div,
                        _ => BinaryOp::Mod,
                    };
                    let right = self.expr(rhs);
                    let s = left.span.to(right.span);
                    left = Expr { kind: ExprKind::Binary(op, Box::new(left), Box::new(right)), span: s };
                }
                left
            }
            Rule::unary_expr => {
                let mut ops = Vec::new();
                let mut operand = None;
                for p in pair.into_inner() {
                    match p.as_rule() {
                        Rule::op_unary => ops.push((p.as_str() == "!", self.span(&p))),
                        _ => operand = Some(self.expr(p)),
                    }
                }
                let mut e = operand.unwrap_or(Expr { kind: ExprKind::Null, span });
                for (not, ospan) in ops.into_iter().rev() {
                    let op = if not { UnaryOp::Not } else { UnaryOp::Neg };
                    // Fold `-5` into a literal so that it prints and evaluates as one.
                    if let (UnaryOp::Neg, ExprKind::Number(n)) = (op, &e.kind) {
                        e = Expr { kind: ExprKind::Number(n.neg()), span: ospan.to(e.span) };
                        continue;
                    }
                    let s = ospan.to(e.span);
                    e = Expr { kind: ExprKind::Unary(op, Box::new(e)), span: s };
                }
                e
            }
            Rule::postfix_expr => self.postfix(pair),
            Rule::number => {
                let n = Number::parse(pair.as_str()).unwrap_or_else(|| Number::infinity(false));
                if n.is_infinite() {
                    self.diags.push(Diagnostic::error(
                        "Invalid number",
                        format!("The number {} is too large: Landform's numbers reach about 10^78000.", pair.as_str()),
                        span,
                    ));
                }
                Expr { kind: ExprKind::Number(n), span }
            }
            Rule::percent => {
                let text = pair.as_str().trim_end_matches('%');
                let n = text.parse::<f64>().unwrap_or(f64::NAN);
                if !(0.0..=100.0).contains(&n) {
                    self.diags.push(Diagnostic::error(
                        "Invalid percentage",
                        format!("{}% is out of range: a percentage is between 0% and 100%.", text),
                        span,
                    ));
                }
                Expr { kind: ExprKind::Percent(n), span }
            }
            Rule::duration => match parse_duration(pair.as_str()) {
                Ok(ms) => Expr { kind: ExprKind::Duration(ms), span },
                Err(why) => {
                    self.diags.push(Diagnostic::error(
                        "Invalid duration",
                        format!(
                            "\"{}\" is not a duration: {why}. A duration is a number followed by a unit \
                             (ms, s, m, h, d), largest unit first, as in 500ms, 30s, 5m or 1h30m.",
                            pair.as_str()
                        ),
                        span,
                    ));
                    Expr { kind: ExprKind::Duration(0), span }
                }
            },
            Rule::string | Rule::heredoc => self.template(pair),
            Rule::list => {
                let items = pair.into_inner().map(|p| self.expr(p)).collect();
                Expr { kind: ExprKind::List(items), span }
            }
            Rule::object => {
                let mut items = Vec::new();
                for item in pair.into_inner() {
                    let mut inner = item.into_inner();
                    let (Some(key), Some(value)) = (inner.next(), inner.next()) else { continue };
                    let key = match key.into_inner().next() {
                        Some(k) if k.as_rule() == Rule::ident => ObjectKey::Name(self.ident(&k)),
                        Some(k) => ObjectKey::Expr(self.expr(k)),
                        None => continue,
                    };
                    items.push(ObjectItem { key, value: self.expr(value) });
                }
                Expr { kind: ExprKind::Object(items), span }
            }
            Rule::call => {
                let mut inner = pair.into_inner();
                let Some(name) = inner.next() else {
                    return Expr { kind: ExprKind::Null, span };
                };
                let name = self.ident(&name);
                let mut expand = false;
                let mut args = Vec::new();
                for p in inner {
                    match p.as_rule() {
                        Rule::ellipsis => expand = true,
                        _ => args.push(self.expr(p)),
                    }
                }
                Expr { kind: ExprKind::Call(name, args, expand), span }
            }
            Rule::variable => {
                let Some(id) = pair.into_inner().next() else { return Expr { kind: ExprKind::Null, span } };
                let kind = match id.as_str() {
                    "true" => ExprKind::Bool(true),
                    "false" => ExprKind::Bool(false),
                    "null" => ExprKind::Null,
                    _ => ExprKind::Variable(self.ident(&id)),
                };
                Expr { kind, span }
            }
            Rule::paren => match pair.into_inner().next() {
                Some(e) => Expr { kind: ExprKind::Paren(Box::new(self.expr(e))), span },
                None => Expr { kind: ExprKind::Null, span },
            },
            Rule::for_list | Rule::for_map => self.for_expr(pair),
            _ => self.unexpected(&pair),
        }
    }

    fn postfix(&mut self, pair: Pair<Rule>) -> Expr {
        let mut inner = pair.into_inner();
        let Some(first) = inner.next() else { return Expr { kind: ExprKind::Null, span: Span::default() } };
        let first = self.expr(first);
        let mut chain = PostfixChain::new(first);
        for p in inner {
            let pspan = self.span(&p);
            let step = match p.as_rule() {
                Rule::get_attr => {
                    let Some(name) = p.into_inner().next() else { continue };
                    if name.as_rule() == Rule::attr_index {
                        let n = Number::parse(name.as_str()).unwrap_or_else(Number::zero);
                        chain.dotted_index(
                            Step::Index(Expr { kind: ExprKind::Number(n), span: self.span(&name) }),
                            pspan,
                        );
                        continue;
                    } else {
                        Step::Attr(self.ident(&name))
                    }
                }
                Rule::index => match p.into_inner().next() {
                    Some(k) => Step::Index(self.expr(k)),
                    None => continue,
                },
                Rule::splat => {
                    chain.splat(pspan, p.as_str().starts_with('.'));
                    continue;
                }
                _ => {
                    self.unexpected(&p);
                    continue;
                }
            };
            chain.step(step, pspan);
        }
        chain.finish()
    }

    fn for_expr(&mut self, pair: Pair<Rule>) -> Expr {
        let span = self.span(&pair);
        let is_map = pair.as_rule() == Rule::for_map;
        let mut inner = pair.into_inner();
        let null = Expr { kind: ExprKind::Null, span };
        let Some(intro) = inner.next() else { return null };
        let mut names = Vec::new();
        let mut collection = None;
        for p in intro.into_inner() {
            match p.as_rule() {
                Rule::ident => names.push(self.ident(&p)),
                Rule::expr => collection = Some(self.expr(p)),
                _ => {}
            }
        }
        let mut exprs = Vec::new();
        let mut condition = None;
        let mut group = false;
        for p in inner {
            if p.as_rule() == Rule::for_cond {
                condition = p.into_inner().find(|c| c.as_rule() == Rule::expr).map(|c| self.expr(c));
            } else if p.as_rule() == Rule::ellipsis {
                group = true;
            } else {
                exprs.push(self.expr(p));
            }
        }
        let (key_var, value_var) = match names.len() {
            2 => (Some(names[0].clone()), names[1].clone()),
            1 => (None, names[0].clone()),
            _ => return null,
        };
        let (key, value) = if is_map {
            let mut it = exprs.into_iter();
            (it.next(), it.next())
        } else {
            (None, exprs.into_iter().next())
        };
        let (Some(collection), Some(value)) = (collection, value) else { return null };
        Expr {
            kind: ExprKind::For(Box::new(ForExpr { key_var, value_var, collection, key, value, condition, group })),
            span,
        }
    }

    fn template(&mut self, pair: Pair<Rule>) -> Expr {
        let span = self.span(&pair);
        let heredoc = pair.as_rule() == Rule::heredoc;
        let mut toks: Vec<Tok> = Vec::new();
        let mut strip = false;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::heredoc_strip => strip = true,
                Rule::ident => {}
                Rule::heredoc_line => {
                    for q in p.into_inner() {
                        self.template_piece(q, &mut toks);
                    }
                }
                _ => self.template_piece(p, &mut toks),
            }
        }
        match template::build(toks, heredoc && strip) {
            Ok(parts) => Expr { kind: ExprKind::Template(parts), span },
            Err(d) => {
                self.diags.push(d);
                Expr { kind: ExprKind::Null, span }
            }
        }
    }

    /// One literal run, interpolation or directive of a template.
    fn template_piece(&mut self, p: Pair<Rule>, toks: &mut Vec<Tok>) {
        match p.as_rule() {
            Rule::string_lit => {
                if let Some((at, what)) = bad_escape(p.as_str()) {
                    let start = self.offset + p.as_span().start() + at;
                    let span = Span::new(self.file, start, start + 1 + what.len());
                    self.diags.push(Diagnostic::error(
                        "Invalid escape sequence",
                        if what.len() > 1 {
                            format!("\\{what} is not a character (half of a surrogate pair, or past U+10FFFF), so it cannot be encoded in UTF-8.")
                        } else {
                            format!(
                                "The symbol \"{what}\" is not a valid escape sequence selector. Use \\n, \\r, \\t, \\\", \\\\, \\uNNNN or \\UNNNNNNNN; write \\\\ for a backslash."
                            )
                        },
                        span,
                    ));
                }
                template::push_lit(toks, &unescape(p.as_str()))
            }
            Rule::heredoc_lit => template::push_lit(toks, &p.as_str().replace("$${", "${").replace("%%{", "%{")),
            Rule::heredoc_nl => template::push_lit(toks, "\n"),
            Rule::interp => {
                let (mut strip_left, mut strip_right, mut expr) = (false, false, None);
                for q in p.into_inner() {
                    match q.as_rule() {
                        Rule::strip_mark if expr.is_none() => strip_left = true,
                        Rule::strip_mark => strip_right = true,
                        _ => expr = Some(self.expr(q)),
                    }
                }
                if let Some(expr) = expr {
                    toks.push(Tok::Interp { expr, strip_left, strip_right });
                }
            }
            Rule::directive => {
                let span = self.span(&p);
                let (mut strip_left, mut strip_right, mut dir) = (false, false, None);
                for q in p.into_inner() {
                    match q.as_rule() {
                        Rule::strip_mark if dir.is_none() => strip_left = true,
                        Rule::strip_mark => strip_right = true,
                        Rule::dir_else => dir = Some(Directive::Else),
                        Rule::dir_endif => dir = Some(Directive::EndIf),
                        Rule::dir_endfor => dir = Some(Directive::EndFor),
                        Rule::dir_if => {
                            if let Some(e) = q.into_inner().find(|x| x.as_rule() == Rule::expr) {
                                dir = Some(Directive::If(self.expr(e)));
                            }
                        }
                        Rule::dir_for => {
                            let mut names = Vec::new();
                            let mut collection = None;
                            for x in q.into_inner() {
                                match x.as_rule() {
                                    Rule::ident => names.push(self.ident(&x)),
                                    Rule::expr => collection = Some(self.expr(x)),
                                    _ => {}
                                }
                            }
                            let mut names = names.into_iter();
                            if let (Some(first), Some(collection)) = (names.next(), collection) {
                                dir = Some(match names.next() {
                                    Some(value_var) => Directive::For { key_var: Some(first), value_var, collection },
                                    None => Directive::For { key_var: None, value_var: first, collection },
                                });
                            }
                        }
                        _ => {}
                    }
                }
                if let Some(dir) = dir {
                    toks.push(Tok::Dir { dir, strip_left, strip_right, span });
                }
            }
            _ => {}
        }
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if (c == '$' || c == '%') && chars.peek() == Some(&c) {
            // `$${` is a literal `${`, and `%%{` a literal `%{`.
            let mut look = chars.clone();
            look.next();
            if look.peek() == Some(&'{') {
                chars.next();
                out.push(c);
                continue;
            }
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some(u @ ('u' | 'U')) => {
                let hex: String = chars.by_ref().take(if u == 'u' { 4 } else { 8 }).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => {
                        out.push('\\');
                        out.push(u);
                        out.push_str(&hex);
                    }
                }
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// The first escape in a quoted string's text that HCL does not have: its
/// byte offset (at the backslash) and the text after the backslash.
pub(crate) fn bad_escape(s: &str) -> Option<(usize, String)> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        let hex = |n: usize| b.len() > i + 1 + n && b[i + 2..i + 2 + n].iter().all(u8::is_ascii_hexdigit);
        // The code must be a character: not half of a surrogate pair (`\uD83D`), not past U+10FFFF.
        let character =
            |n: usize| hex(n) && u32::from_str_radix(&s[i + 2..i + 2 + n], 16).ok().and_then(char::from_u32).is_some();
        let ok = match b.get(i + 1) {
            Some(b'n' | b'r' | b't' | b'"' | b'\\') => true,
            Some(b'u') => character(4),
            Some(b'U') => character(8),
            _ => false,
        };
        if !ok {
            let n = match b.get(i + 1) {
                Some(b'u') if hex(4) => 5,
                Some(b'U') if hex(8) => 9,
                _ => 1,
            };
            let what: String = s[i + 1..].chars().take(n).collect();
            return Some((i, what));
        }
        i += 2;
    }
    None
}

/// Parse `1h30m`, `500ms`, `1.5s` into milliseconds.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    const UNITS: [(&str, f64); 5] =
        [("d", 86_400_000.0), ("h", 3_600_000.0), ("m", 60_000.0), ("s", 1000.0), ("ms", 1.0)];
    let mut total = 0.0;
    let mut rest = text;
    let mut last_rank = usize::MAX;
    if rest.is_empty() {
        return Err("it is empty".into());
    }
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if num_len == 0 {
            return Err(format!("expected a number before \"{rest}\""));
        }
        let n: f64 = rest[..num_len].parse().map_err(|_| format!("\"{}\" is not a number", &rest[..num_len]))?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let Some(rank) = UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err(if unit.is_empty() {
                "a number needs a unit".to_string()
            } else {
                format!("\"{unit}\" is not a unit")
            });
        };
        if last_rank != usize::MAX && rank <= last_rank {
            return Err(format!("\"{unit}\" comes after a unit that is not larger"));
        }
        last_rank = rank;
        total += n * UNITS[rank].1;
    }
    if !total.is_finite() || total.round() >= u64::MAX as f64 {
        return Err("it is longer than the longest duration (about 584 million years)".into());
    }
    Ok(total.round() as u64)
}
