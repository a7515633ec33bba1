//! The syntax tree. Every node carries the [`Span`] it was parsed from.

use crate::source::Span;

#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A parsed file: its top-level body.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct File {
    pub body: Body,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Body {
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Attribute(Attribute),
    Block(Block),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    pub name: Ident,
    pub value: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub kind: Ident,
    pub labels: Vec<Label>,
    pub body: Body,
    pub span: Span,
}

/// A `dynamic "NAME" { for_each = …  iterator = …  content { … } }` block, read:
/// one `NAME` block for each element of `for_each`.
pub struct Dynamic<'a> {
    pub name: &'a str,
    pub for_each: Option<&'a Expr>,
    /// The name the element is known by in `content`: `iterator`, else `NAME`.
    pub iterator: String,
    pub content: Option<&'a Body>,
}

impl Block {
    /// This block as a `dynamic` block, if it is one (with its one label).
    pub fn as_dynamic(&self) -> Option<Dynamic<'_>> {
        if self.kind.name != "dynamic" || self.labels.len() != 1 {
            return None;
        }
        let name = self.labels[0].value.as_str();
        let iterator = match self.body.attribute("iterator").map(|a| &a.value.kind) {
            Some(ExprKind::Variable(id)) => id.name.clone(),
            _ => name.to_string(),
        };
        Some(Dynamic {
            name,
            for_each: self.body.attribute("for_each").map(|a| &a.value),
            iterator,
            content: self.body.blocks().find(|b| b.kind.name == "content").map(|b| &b.body),
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    pub value: String,
    pub span: Span,
}

impl Body {
    pub fn attributes(&self) -> impl Iterator<Item = &Attribute> {
        self.items.iter().filter_map(|i| match i {
            Item::Attribute(a) => Some(a),
            Item::Block(_) => None,
        })
    }

    pub fn blocks(&self) -> impl Iterator<Item = &Block> {
        self.items.iter().filter_map(|i| match i {
            Item::Block(b) => Some(b),
            Item::Attribute(_) => None,
        })
    }

    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes().find(|a| a.name.name == name)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Null,
    Bool(bool),
    Number(crate::number::Number),
    /// Milliseconds.
    Duration(u64),
    Percent(f64),
    /// A quoted string or heredoc: literal text and interpolations.
    Template(Vec<TemplatePart>),
    List(Vec<Expr>),
    Object(Vec<ObjectItem>),
    /// A bare name at the root of a reference: `var`, `local`, `aws_lb`, `each`…
    Variable(Ident),
    GetAttr(Box<Expr>, Ident),
    Index(Box<Expr>, Box<Expr>),
    /// `source[*]` followed by the steps applied to each element.
    Splat(Box<Expr>, Vec<Step>),
    /// A function call; `true` when the last argument ends in `...` (a
    /// list expanded into arguments).
    Call(Ident, Vec<Expr>, bool),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    Conditional(Box<Expr>, Box<Expr>, Box<Expr>),
    For(Box<ForExpr>),
    Paren(Box<Expr>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum TemplatePart {
    Literal(String),
    Interpolation(Expr),
    /// `%{ if cond }…%{ else }…%{ endif }`.
    If {
        cond: Expr,
        then: Vec<TemplatePart>,
        otherwise: Vec<TemplatePart>,
    },
    /// `%{ for k, v in collection }…%{ endfor }`.
    For {
        key_var: Option<Ident>,
        value_var: Ident,
        collection: Expr,
        body: Vec<TemplatePart>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct ObjectItem {
    pub key: ObjectKey,
    pub value: Expr,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ObjectKey {
    /// A bare name, taken literally as the key.
    Name(Ident),
    Expr(Expr),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    Attr(Ident),
    Index(Expr),
    /// A `[*]` inside a splat's steps: the steps after it apply to each
    /// element (`a[*].b[*].c` is, for each x of a, `x.b[*].c`).
    Splat,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ForExpr {
    pub key_var: Option<Ident>,
    pub value_var: Ident,
    pub collection: Expr,
    /// Present for `{for …: k => v}`.
    pub key: Option<Expr>,
    pub value: Expr,
    pub condition: Option<Expr>,
    /// `{for …: k => v...}`: values of one key grouped into a list.
    pub group: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Not,
    Neg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "||",
            BinaryOp::And => "&&",
            BinaryOp::Eq => "==",
            BinaryOp::NotEq => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::LtEq => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::GtEq => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
        }
    }
}

impl Expr {
    /// The literal string of a template without interpolations.
    pub fn as_static_string(&self) -> Option<String> {
        match &self.kind {
            ExprKind::Template(parts) => {
                let mut s = String::new();
                for p in parts {
                    match p {
                        TemplatePart::Literal(l) => s.push_str(l),
                        _ => return None,
                    }
                }
                Some(s)
            }
            _ => None,
        }
    }

    /// A reference's root name and its static attribute path: `a.b["c"].d` → `a`, `[b, c, d]`.
    pub fn as_traversal(&self) -> Option<(&Ident, Vec<String>)> {
        match &self.kind {
            ExprKind::Variable(id) => Some((id, Vec::new())),
            ExprKind::GetAttr(inner, name) => {
                let (root, mut path) = inner.as_traversal()?;
                path.push(name.name.clone());
                Some((root, path))
            }
            ExprKind::Index(inner, key) => {
                let (root, mut path) = inner.as_traversal()?;
                match &key.kind {
                    ExprKind::Number(n) => path.push(n.to_string()),
                    _ => path.push(key.as_static_string()?),
                }
                Some((root, path))
            }
            _ => None,
        }
    }
}

/// Every expression in a body, its nested blocks and the expressions inside
/// them, outermost first.
pub fn walk_body(body: &Body, f: &mut dyn FnMut(&Expr)) {
    walk_items(&body.items, f);
}

/// [`walk_body`] over some of a body's items.
pub fn walk_items<'a>(items: impl IntoIterator<Item = &'a Item>, f: &mut dyn FnMut(&Expr)) {
    let mut exprs = Vec::new();
    let mut bodies: Vec<&Body> = Vec::new();
    let take = |item: &'a Item, exprs: &mut Vec<&'a Expr>, bodies: &mut Vec<&'a Body>| match item {
        Item::Attribute(a) => exprs.push(&a.value),
        Item::Block(b) => bodies.push(&b.body),
    };
    for item in items {
        take(item, &mut exprs, &mut bodies);
    }
    while let Some(b) = bodies.pop() {
        for item in &b.items {
            take(item, &mut exprs, &mut bodies);
        }
    }
    walk_exprs(exprs, f);
}

/// The arguments of a call that are values: all but the type of
/// `convert(value, list(string))`, which is a type, not calls and references.
pub fn value_args<'a>(name: &Ident, args: &'a [Expr]) -> impl Iterator<Item = &'a Expr> {
    let is_convert = matches!(name.name.as_str(), "convert" | "core::convert");
    args.iter().enumerate().filter(move |(i, _)| !(is_convert && *i == 1)).map(|(_, a)| a)
}

/// An expression and every expression inside it, outermost first; iterative,
/// so that deeply nested input cannot overflow the stack.
pub fn walk_expr(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    walk_exprs(vec![e], f);
}

fn walk_exprs<'e>(mut stack: Vec<&'e Expr>, f: &mut dyn FnMut(&Expr)) {
    let mut parts: Vec<&'e TemplatePart> = Vec::new();
    while !stack.is_empty() || !parts.is_empty() {
        if let Some(p) = parts.pop() {
            match p {
                TemplatePart::Literal(_) => {}
                TemplatePart::Interpolation(e) => stack.push(e),
                TemplatePart::If { cond, then, otherwise } => {
                    stack.push(cond);
                    parts.extend(then.iter().chain(otherwise));
                }
                TemplatePart::For { collection, body, .. } => {
                    stack.push(collection);
                    parts.extend(body.iter());
                }
            }
            continue;
        }
        let Some(e) = stack.pop() else { break };
        f(e);
        match &e.kind {
            ExprKind::Null
            | ExprKind::Bool(_)
            | ExprKind::Number(_)
            | ExprKind::Duration(_)
            | ExprKind::Percent(_)
            | ExprKind::Variable(_) => {}
            ExprKind::Template(ps) => parts.extend(ps.iter()),
            ExprKind::List(items) => stack.extend(items.iter()),
            ExprKind::Call(name, args, _) => stack.extend(value_args(name, args)),
            ExprKind::Object(items) => {
                for i in items {
                    if let ObjectKey::Expr(k) = &i.key {
                        stack.push(k);
                    }
                    stack.push(&i.value);
                }
            }
            ExprKind::GetAttr(b, _) | ExprKind::Unary(_, b) | ExprKind::Paren(b) => stack.push(b),
            ExprKind::Index(a, b) | ExprKind::Binary(_, a, b) => stack.extend([&**a, &**b]),
            ExprKind::Splat(b, steps) => {
                stack.push(b);
                stack.extend(steps.iter().filter_map(|s| match s {
                    Step::Index(k) => Some(k),
                    Step::Attr(_) | Step::Splat => None,
                }));
            }
            ExprKind::Conditional(c, a, b) => stack.extend([&**c, &**a, &**b]),
            ExprKind::For(fe) => {
                stack.push(&fe.collection);
                stack.extend(fe.key.iter());
                stack.push(&fe.value);
                stack.extend(fe.condition.iter());
            }
        }
    }
}
