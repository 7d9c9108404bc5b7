//! Type checking of one (macro-expanded) condition against the field schema.
//!
//! [`check`] turns the syntax tree into a [`TExpr`]: every field is resolved to its schema
//! entry with a parsed argument, every operator is checked against the type on its left (after
//! transformers), and every constant on the right is parsed once to that type, so the
//! interpreter, the JIT and the eBPF prefilter never look at condition text again. All problems
//! are reported in one pass; a check that has an error becomes a [`TExpr::Unknown`] node, like
//! the parser's holes and unexpanded macros, so later stages neither cascade errors nor run a
//! half-checked comparison.

mod render;
pub mod value;

use lanner_schema::{
    self as schema, Deprecation, FieldFlags, FieldInfo, FieldType, Modifier, Operator,
    ResolveError, ResolvedField, Transformer, TransformerArg, TransformerError, TypeCategory,
    ValueType,
};
use lanner_syntax::codes;
use lanner_syntax::condition::ast::{self, Check, Expr, FieldRef, Operand, Rhs, TrArg};
use lanner_syntax::{Code, Diagnostic, FileSpan};

use crate::evttypes::table;
pub use value::{F64, IpNet, Lit, Pattern};

/// Settings of a check.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Fields known besides the schema's, e.g. those of loaded plugins. They are looked up by
    /// exact name when the schema does not know a name.
    pub extra_fields: &'static [FieldInfo],
}

/// The result of checking one condition.
#[derive(Clone, Debug)]
pub struct TypedCondition {
    pub expr: TExpr,
    /// Errors and warnings, in source order of discovery.
    pub diagnostics: Vec<Diagnostic>,
}

impl TypedCondition {
    /// True if any diagnostic is an error, i.e. Falco would reject the condition.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// A typed condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TExpr {
    /// At least two children.
    And(Vec<TExpr>, FileSpan),
    /// At least two children.
    Or(Vec<TExpr>, FileSpan),
    Not(Box<TExpr>, FileSpan),
    Check(Box<TCheck>),
    /// A part whose meaning is not known: a parse hole, an unexpanded macro, or a check with
    /// an error that was already reported.
    Unknown(Unknown),
}

impl TExpr {
    pub fn span(&self) -> FileSpan {
        match self {
            TExpr::And(_, s) | TExpr::Or(_, s) | TExpr::Not(_, s) => *s,
            TExpr::Check(c) => c.span,
            TExpr::Unknown(u) => u.span,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unknown {
    pub span: FileSpan,
    pub reason: UnknownReason,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnknownReason {
    /// The parser left a hole here.
    Syntax,
    /// A macro reference that resolution did not expand (its diagnostic belongs to resolution).
    Macro(String),
    /// A check with an error reported by the type checker.
    Invalid,
}

/// `lhs op rhs`, fully typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TCheck {
    pub lhs: TOperand,
    /// `=` and `==` stay apart as written; they compare alike.
    pub op: Operator,
    pub modifier: Option<Modifier>,
    pub rhs: TRhs,
    pub span: FileSpan,
}

/// A field or a transformer applied to values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TOperand {
    Field(TField),
    Transformer(TTransformer),
}

impl TOperand {
    /// The value type after transformers.
    pub fn value_type(&self) -> ValueType {
        match self {
            TOperand::Field(f) => f.ty,
            TOperand::Transformer(t) => t.ty,
        }
    }

    pub fn span(&self) -> FileSpan {
        match self {
            TOperand::Field(f) => f.span,
            TOperand::Transformer(t) => t.span,
        }
    }

    /// The field itself when the operand is a bare field.
    pub fn as_field(&self) -> Option<&TField> {
        match self {
            TOperand::Field(f) => Some(f),
            TOperand::Transformer(_) => None,
        }
    }

    /// Every field the operand reads, outermost first.
    pub fn fields(&self) -> Vec<&TField> {
        let mut out = Vec::new();
        collect_fields(self, &mut out);
        out
    }
}

fn collect_fields<'a>(operand: &'a TOperand, out: &mut Vec<&'a TField>) {
    match operand {
        TOperand::Field(f) => out.push(f),
        TOperand::Transformer(t) => {
            for arg in &t.args {
                collect_arg_fields(arg, out);
            }
        }
    }
}

fn collect_arg_fields<'a>(arg: &'a TTrArg, out: &mut Vec<&'a TField>) {
    match arg {
        TTrArg::Operand(o) => collect_fields(o, out),
        TTrArg::Literal(_) => {}
        TTrArg::List(items, _) => {
            for item in items {
                collect_arg_fields(item, out);
            }
        }
    }
}

/// A resolved field reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TField {
    /// The schema entry and the parsed argument.
    pub field: ResolvedField,
    /// The value type; for `evt.rawarg.NAME` the type of that event parameter.
    pub ty: ValueType,
    pub span: FileSpan,
}

impl TField {
    pub fn name(&self) -> &'static str {
        self.field.field.name
    }
}

/// A transformer call with typed arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TTransformer {
    pub kind: Transformer,
    pub args: Vec<TTrArg>,
    /// `getopt(...)[c]`: the option character.
    pub option: Option<char>,
    /// The result type.
    pub ty: ValueType,
    pub span: FileSpan,
}

/// A transformer argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TTrArg {
    Operand(TOperand),
    /// A quoted string or a number, as text (transformers work on text).
    Literal(String),
    /// `(a, b, ...)`.
    List(Vec<TTrArg>, FileSpan),
}

/// The right-hand side of a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TRhs {
    /// `exists` takes none.
    None,
    /// One constant.
    Value(Const),
    /// A list of constants. For `in`, `intersects` and `pmatch` it is a set (sorted by value,
    /// duplicates removed); after a modifier it stays as written, because `oneof` counts
    /// matches.
    List(Vec<Const>, FileSpan),
    /// `val(field)` or a transformer: a field-to-field comparison.
    Operand(TOperand),
}

/// A constant with the text it was parsed from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Const {
    pub lit: Lit,
    /// The text as written (unescaped), for messages and for the event-type index.
    pub text: String,
    pub span: FileSpan,
}

/// Checks `expr` against the schema with default options.
pub fn check(expr: &Expr) -> TypedCondition {
    check_with(expr, &Options::default())
}

/// Checks `expr` against the schema and `options.extra_fields`.
pub fn check_with(expr: &Expr, options: &Options) -> TypedCondition {
    let mut checker = Checker {
        options,
        diagnostics: Vec::new(),
    };
    let expr = checker.expr(expr);
    TypedCondition {
        expr,
        diagnostics: checker.diagnostics,
    }
}

struct Checker<'o> {
    options: &'o Options,
    diagnostics: Vec<Diagnostic>,
}

/// How a type is named in messages: "a number", "a string", ...
fn describe(ty: ValueType) -> String {
    if ty.is_list {
        return format!("a list of {}", ty.ty);
    }
    match ty.ty.category() {
        TypeCategory::Numeric => "a number".to_owned(),
        TypeCategory::Bool => "a boolean".to_owned(),
        TypeCategory::Ip if ty.ty.is_ip_network() => "an IP network".to_owned(),
        TypeCategory::Ip => "an IP address".to_owned(),
        TypeCategory::String => "a string".to_owned(),
        TypeCategory::Buffer => "a byte buffer".to_owned(),
        TypeCategory::Other => format!("a value of type {}", ty.ty),
    }
}

/// Backticked, comma-separated.
fn ticked<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|s| format!("`{}`", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn did_you_mean(suggestions: &[&str]) -> Option<String> {
    match suggestions {
        [] => None,
        [one] => Some(format!("did you mean `{one}`?")),
        many => Some(format!("did you mean one of {}?", ticked(many))),
    }
}

/// The text of an operand as written, for messages.
fn operand_text(operand: &Operand) -> String {
    match operand {
        Operand::Field(f) => field_text(f),
        Operand::Transformer(t) => transformer_text(t),
    }
}

fn field_text(f: &FieldRef) -> String {
    match &f.arg {
        Some(arg) => format!("{}[{}]", f.name, arg.value),
        None => f.name.clone(),
    }
}

fn transformer_text(t: &ast::Transformer) -> String {
    let args: Vec<String> = t.args.iter().map(tr_arg_text).collect();
    let mut text = format!("{}({})", t.kind.as_str(), args.join(", "));
    if let Some(arg) = &t.arg {
        text.push_str(&format!("[{}]", arg.value));
    }
    text
}

fn tr_arg_text(arg: &TrArg) -> String {
    match arg {
        TrArg::Field(f) => field_text(f),
        TrArg::Transformer(t) => transformer_text(t),
        TrArg::Str(v) => format!("{:?}", v.text),
        TrArg::Number(v) => v.text.clone(),
        TrArg::List(items, _) => {
            let items: Vec<String> = items.iter().map(tr_arg_text).collect();
            format!("({})", items.join(", "))
        }
    }
}

const TRANSFORMER_NAMES: &[&str] = &[
    "tolower", "toupper", "b64", "basename", "len", "join", "concat", "getopt", "val",
];

/// True for a constant written like a transformer call: `toupper(proc.name)`.
fn looks_like_transformer(text: &str) -> bool {
    TRANSFORMER_NAMES.iter().any(|name| {
        text.strip_prefix(name)
            .and_then(|rest| rest.strip_prefix('('))
            .is_some_and(|rest| rest.ends_with(')'))
    })
}

impl Checker<'_> {
    /// Starts a diagnostic; it is recorded when the returned guard goes out of scope, so
    /// callers can fill in help, labels and notes first.
    fn report(&mut self, code: Code, span: FileSpan, message: String) -> Pending<'_> {
        Pending {
            sink: &mut self.diagnostics,
            diagnostic: Diagnostic::new(code, span, message),
        }
    }

    fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    fn expr(&mut self, expr: &Expr) -> TExpr {
        match expr {
            Expr::And(children, span) => {
                TExpr::And(children.iter().map(|c| self.expr(c)).collect(), *span)
            }
            Expr::Or(children, span) => {
                TExpr::Or(children.iter().map(|c| self.expr(c)).collect(), *span)
            }
            Expr::Not(inner, span) => TExpr::Not(Box::new(self.expr(inner)), *span),
            Expr::Macro(ident) => TExpr::Unknown(Unknown {
                span: ident.span,
                reason: UnknownReason::Macro(ident.name.clone()),
            }),
            Expr::Error(span) => TExpr::Unknown(Unknown {
                span: *span,
                reason: UnknownReason::Syntax,
            }),
            Expr::Check(check) => {
                let before = self.errors();
                let typed = self.check(check);
                match typed {
                    Some(c) if self.errors() == before => TExpr::Check(Box::new(c)),
                    _ => TExpr::Unknown(Unknown {
                        span: check.span,
                        reason: UnknownReason::Invalid,
                    }),
                }
            }
        }
    }

    fn check(&mut self, check: &Check) -> Option<TCheck> {
        let op = check.op.kind;
        let modifier = check.op.modifier;
        let lhs = self.operand(&check.lhs);
        // The right side is checked even when the left failed, so that every problem of the
        // check is reported at once; only the parts that need the left type wait for it.
        let rhs_operand = match &check.rhs {
            Some(Rhs::Val { field, arg, .. }) => {
                if let Some(arg) = arg {
                    self.report(
                        codes::TRANSFORMER_FIELD_ARG,
                        arg.span,
                        format!(
                            "transformer `val` does not take a field argument (`[{}]`)",
                            arg.value
                        ),
                    )
                    .help = Some("only `getopt` takes a `[...]` argument".to_owned());
                }
                self.field(field).map(TOperand::Field)
            }
            Some(Rhs::Transformer(t)) => self.transformer(t).map(TOperand::Transformer),
            _ => None,
        };
        let lhs = lhs?;
        let lt = lhs.value_type();
        let lhs_text = operand_text(&check.lhs);

        if !schema::operator_allowed_with(lt.ty, lt.is_list, op, modifier) {
            self.operator_error(&lhs_text, lt, op, modifier, check);
            return None;
        }
        // `evt.around[T]` compares with its own custom check, which only implements `=`.
        if lhs.as_field().is_some_and(|f| f.name() == "evt.around")
            && !(op == Operator::Eq && modifier.is_none() || op == Operator::Exists)
        {
            self.report(
                codes::OPERATOR_NOT_ALLOWED,
                check.op.span,
                format!("operator `{op}` does not apply to `{lhs_text}`"),
            )
            .help = Some("`evt.around[T]` only takes `=`, e.g. `evt.around[T] = 1000`".to_owned());
            return None;
        }

        let rhs = match &check.rhs {
            None => TRhs::None,
            Some(Rhs::Val { .. } | Rhs::Transformer(_)) => {
                let rhs = rhs_operand?;
                self.field_comparison(&lhs, &lhs_text, op, &rhs)?;
                TRhs::Operand(rhs)
            }
            Some(Rhs::Value(v)) if op.takes_list() || modifier.is_some() => {
                let item = self.constant(&lhs, op, &v.text, v.as_bytes(), v.span)?;
                TRhs::List(vec![item], v.span)
            }
            Some(Rhs::Value(v)) => {
                TRhs::Value(self.constant(&lhs, op, &v.text, v.as_bytes(), v.span)?)
            }
            Some(Rhs::Ident(id)) if op.takes_list() || modifier.is_some() => {
                let item = self.constant(&lhs, op, &id.name, id.name.as_bytes(), id.span)?;
                TRhs::List(vec![item], id.span)
            }
            Some(Rhs::Ident(id)) => {
                TRhs::Value(self.constant(&lhs, op, &id.name, id.name.as_bytes(), id.span)?)
            }
            Some(Rhs::List(values, span)) => {
                let mut items = Vec::with_capacity(values.len());
                let mut ok = true;
                for v in values {
                    match self.constant(&lhs, op, &v.text, v.as_bytes(), v.span) {
                        Some(c) => items.push(c),
                        None => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                if modifier.is_none() {
                    items.sort_by(|a, b| a.lit.cmp(&b.lit));
                    items.dedup_by(|a, b| a.lit == b.lit);
                }
                TRhs::List(items, *span)
            }
        };
        self.unsafe_na_check(&lhs, op, &rhs);
        Some(TCheck {
            lhs,
            op,
            modifier,
            rhs,
            span: check.span,
        })
    }

    fn operator_error(
        &mut self,
        lhs_text: &str,
        lt: ValueType,
        op: Operator,
        modifier: Option<Modifier>,
        check: &Check,
    ) {
        let allowed: Vec<&str> = Operator::ALL
            .iter()
            .filter(|o| **o != Operator::EqEq && schema::operator_allowed(lt.ty, lt.is_list, **o))
            .map(|o| o.as_str())
            .collect();
        if let Some(m) = modifier
            && schema::operator_allowed(lt.ty, lt.is_list, op)
        {
            let span = check.op.modifier_span.unwrap_or(check.op.span);
            let help = if op.accepts_modifier() {
                "with an IP address or network, modifiers only follow `==` and `!=`".to_owned()
            } else {
                format!("modifiers only follow string operators, not `{op}`")
            };
            self.report(
                codes::MODIFIER_NOT_ALLOWED,
                span,
                format!(
                    "modifier `{m}` cannot follow `{op}` on `{lhs_text}` ({})",
                    describe(lt)
                ),
            )
            .help = Some(help);
            return;
        }
        let written = match modifier {
            Some(m) => format!("{op} {m}"),
            None => op.to_string(),
        };
        self.report(
            codes::OPERATOR_NOT_ALLOWED,
            check.op.span,
            format!(
                "operator `{written}` does not apply to `{lhs_text}` ({})",
                describe(lt)
            ),
        )
        .help = Some(format!("`{lhs_text}` takes {}", ticked(&allowed)));
    }

    /// Checks a field-to-field comparison (`x op val(y)` or `x op tr(y)`).
    fn field_comparison(
        &mut self,
        lhs: &TOperand,
        lhs_text: &str,
        op: Operator,
        rhs: &TOperand,
    ) -> Option<()> {
        let rhs_span = rhs.span();
        if !op.accepts_field_rhs() {
            self.report(
                codes::FIELD_RHS_NOT_ALLOWED,
                rhs_span,
                format!("operator `{op}` only takes constant values, not a field"),
            )
            .help = Some("write the value itself, not `val(...)` or a transformer".to_owned());
            return None;
        }
        let lt = lhs.value_type();
        if lt.ty.is_ip_network() {
            self.report(
                codes::FIELD_RHS_NOT_ALLOWED,
                rhs_span,
                format!("`{lhs_text}` is an IP network and cannot be compared with a field"),
            );
            return None;
        }
        for (side, operand) in [("left", lhs), ("right", rhs)] {
            for f in operand.fields() {
                if f.field.field.flags.contains(FieldFlags::NO_RHS) {
                    self.report(
                        codes::FIELD_RHS_NOT_ALLOWED,
                        f.span,
                        format!(
                            "field `{}` cannot take part in a field-to-field comparison",
                            f.field
                        ),
                    )
                    .label = format!("on the {side} side");
                    return None;
                }
            }
        }
        let rt = rhs.value_type();
        // The string types (CHARBUF, FSPATH, FSRELPATH) hold the same kind of value, so they
        // compare with each other; everything else must match exactly.
        let compatible = lt.is_list == rt.is_list
            && (lt.ty == rt.ty || (lt.ty.is_string() && rt.ty.is_string()));
        if !compatible {
            self.report(
                codes::INCOMPATIBLE_RHS,
                rhs_span,
                format!("`{lhs_text}` ({lt}) cannot be compared with a value of type {rt}",),
            )
            .help = Some("both sides of a field-to-field comparison need the same type".to_owned());
            return None;
        }
        Some(())
    }

    /// Parses one constant to the type of `lhs` for operator `op`, with the compiler's
    /// warnings about it.
    fn constant(
        &mut self,
        lhs: &TOperand,
        op: Operator,
        text: &str,
        bytes: &[u8],
        span: FileSpan,
    ) -> Option<Const> {
        let lt = lhs.value_type();
        let name = match lhs {
            TOperand::Field(f) => f.field.to_string(),
            TOperand::Transformer(_) => "the transformed value".to_owned(),
        };
        let target = match lhs {
            TOperand::Field(_) => format!("`{name}`"),
            TOperand::Transformer(_) => name.clone(),
        };
        let lit = match op {
            Operator::BContains | Operator::BStartsWith => match value::parse_hex(text) {
                Some(bytes) => Lit::Bytes(bytes),
                None => {
                    self.report(
                        codes::INVALID_HEX,
                        span,
                        format!("`{}` is not a hex string for `{op}`", text.escape_debug()),
                    )
                    .help = Some(format!(
                        "`{op}` takes an even number of hex digits, e.g. `cafebabe`"
                    ));
                    return None;
                }
            },
            Operator::Regex => {
                if !self.no_nul(text, span, lt) {
                    return None;
                }
                match Pattern::new(text) {
                    Ok(p) => {
                        if let Some(simpler) = value::regex_simplification(text) {
                            self.report(
                                codes::SIMPLE_REGEX,
                                span,
                                format!("regex `{text}` could be written with `{simpler}`"),
                            )
                            .help =
                                Some(format!("a plain `{simpler}` is faster and says the same"));
                        }
                        Lit::Regex(p)
                    }
                    Err(e) => {
                        let detail = e.to_string();
                        let last = detail.lines().last().unwrap_or("").trim().to_owned();
                        let mut d = self.report(
                            codes::INVALID_REGEX,
                            span,
                            format!("`{text}` is not a valid regex pattern"),
                        );
                        if !last.is_empty() {
                            d.notes.push(last.trim_start_matches("error: ").to_owned());
                        }
                        return None;
                    }
                }
            }
            _ => self.typed_value(&target, lt, text, bytes, span)?,
        };
        self.value_warnings(text, span);
        if let Some(f) = lhs.as_field()
            && matches!(f.name(), "evt.type" | "syscall.type")
            && f.field.arg.is_none()
            && matches!(
                op,
                Operator::Eq | Operator::EqEq | Operator::Ne | Operator::In | Operator::Intersects
            )
            && table::codes_of(text).is_none()
        {
            let suggestions = table::suggest_event(text);
            let mut d = self.report(
                codes::UNKNOWN_EVENT_TYPE,
                span,
                format!("unknown event type `{text}`"),
            );
            d.help = did_you_mean(&suggestions);
            return None;
        }
        Some(Const {
            lit,
            text: text.to_owned(),
            span,
        })
    }

    /// Checks that a value for a non-buffer type has no NUL byte.
    fn no_nul(&mut self, text: &str, span: FileSpan, lt: ValueType) -> bool {
        if text.contains('\0') && lt.ty != FieldType::Bytebuf {
            self.report(
                codes::NUL_IN_VALUE,
                span,
                "the value contains a NUL byte".to_owned(),
            )
            .help =
                Some("only byte-buffer fields such as `evt.buffer` compare NUL bytes".to_owned());
            return false;
        }
        true
    }

    fn typed_value(
        &mut self,
        target: &str,
        lt: ValueType,
        text: &str,
        bytes: &[u8],
        span: FileSpan,
    ) -> Option<Lit> {
        let shown = text.escape_debug().to_string();
        let ty = lt.ty;
        match ty.category() {
            TypeCategory::Numeric if ty == FieldType::Port => {
                let lit = value::parse_port(text);
                if lit.is_none() {
                    self.report(
                        codes::INVALID_PORT,
                        span,
                        format!("`{shown}` is not a valid port for {target}"),
                    )
                    .help = Some("write a port number or a service name such as `http`".to_owned());
                }
                lit
            }
            TypeCategory::Numeric => {
                let lit = match value::int_kind(ty) {
                    Some(kind) => value::parse_int(text, kind),
                    None => value::parse_double(text),
                };
                if lit.is_none() {
                    let mut d = self.report(
                        codes::INVALID_NUMBER,
                        span,
                        format!("`{shown}` is not a valid number for {target}"),
                    );
                    d.help = Some(if text.starts_with("0x") || text.starts_with("0X") {
                        "numbers are decimal only: write the value in base 10".to_owned()
                    } else if ty == FieldType::Double {
                        "Falco only takes whole numbers here, e.g. `1`".to_owned()
                    } else {
                        "write a decimal integer, e.g. `42` or `-1`".to_owned()
                    });
                }
                lit
            }
            TypeCategory::Bool => {
                let lit = value::parse_bool(text);
                if lit.is_none() {
                    self.report(
                        codes::INVALID_BOOL,
                        span,
                        format!("`{shown}` is not a valid boolean for {target}"),
                    )
                    .help = Some("write `true` or `false` (lowercase)".to_owned());
                }
                lit
            }
            TypeCategory::Ip => {
                let lit = if ty.is_ip_network() {
                    value::parse_net(text)
                } else {
                    value::parse_ip(text, ty)
                };
                if lit.is_none() {
                    let (what, help) = if ty.is_ip_network() {
                        (
                            "network",
                            "write a CIDR network such as `10.0.0.0/8` or `fd00::/8`",
                        )
                    } else {
                        ("address", "write an address such as `10.0.0.1` or `::1`")
                    };
                    self.report(
                        codes::INVALID_IP,
                        span,
                        format!("`{shown}` is not a valid IP {what} for {target}"),
                    )
                    .help = Some(help.to_owned());
                }
                lit
            }
            TypeCategory::String => {
                if !self.no_nul(text, span, lt) {
                    return None;
                }
                // The exact bytes: `"\xff"` must match a 0xff byte, not U+FFFD.
                Some(Lit::Str(bytes.to_vec()))
            }
            TypeCategory::Buffer => Some(Lit::Bytes(bytes.to_vec())),
            // INVARIANT: the operator check lets only `exists` through for these types, and
            // `exists` has no value; reaching here means the tables disagree, which is
            // reported rather than trusted.
            TypeCategory::Other => {
                self.report(
                    codes::OPERATOR_NOT_ALLOWED,
                    span,
                    format!(
                        "{target} ({}) cannot be compared with a value",
                        describe(lt)
                    ),
                );
                None
            }
        }
    }

    /// Falco's compiler warnings about a constant: a field name or a transformer call used as
    /// a string.
    fn value_warnings(&mut self, text: &str, span: FileSpan) {
        // Like Falco, look at the value without its blanks, which catches `"proc.pname "`.
        let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        if compact.contains('.') && schema::resolves(&compact) {
            self.report(
                codes::FIELD_AS_VALUE,
                span,
                format!("`{text}` may be a valid field misused as a constant string value"),
            )
            .help = Some(format!("to compare with the field, write `val({compact})`"));
        }
        if looks_like_transformer(&compact) {
            self.report(
                codes::TRANSFORMER_AS_VALUE,
                span,
                format!("`{text}` looks like a transformer but is compared as a constant string"),
            )
            .help =
                Some("write it without quotes to compare with the transformed value".to_owned());
        }
    }

    /// LOAD_UNSAFE_NA_CHECK: a `ka.`/`jevt.` field compared with the literal `<NA>`.
    fn unsafe_na_check(&mut self, lhs: &TOperand, op: Operator, rhs: &TRhs) {
        let Some(f) = lhs.as_field() else {
            return;
        };
        let name = f.name();
        if !(name.starts_with("ka.") || name.starts_with("jevt.")) {
            return;
        }
        if !matches!(
            op,
            Operator::Eq
                | Operator::EqEq
                | Operator::Ne
                | Operator::In
                | Operator::Intersects
                | Operator::PMatch
        ) {
            return;
        }
        let na = match rhs {
            TRhs::Value(c) => (c.text == "<NA>").then_some(c.span),
            TRhs::List(items, _) => items.iter().find(|c| c.text == "<NA>").map(|c| c.span),
            TRhs::None | TRhs::Operand(_) => None,
        };
        if let Some(span) = na {
            self.report(
                codes::UNSAFE_NA_CHECK,
                span,
                format!("`{}` is compared with `<NA>`, which is unsafe", f.field),
            )
            .help = Some(format!(
                "use `{} exists` (or `not ... exists`) instead",
                f.field
            ));
        }
    }

    fn operand(&mut self, operand: &Operand) -> Option<TOperand> {
        match operand {
            Operand::Field(f) => self.field(f).map(TOperand::Field),
            Operand::Transformer(t) => self.transformer(t).map(TOperand::Transformer),
        }
    }

    fn field(&mut self, f: &FieldRef) -> Option<TField> {
        let arg = f.arg.as_ref().map(|a| a.value.as_str());
        let resolved = match schema::resolve(&f.name, arg) {
            Ok(r) => r,
            Err(ResolveError::UnknownField { suggestions, .. }) => {
                if let Some(extra) = self.extra_field(&f.name, arg) {
                    extra
                } else {
                    let mut d = self.report(
                        codes::UNKNOWN_FIELD,
                        f.span,
                        format!("unknown field `{}`", field_text(f)),
                    );
                    d.help = did_you_mean(&suggestions);
                    return None;
                }
            }
            Err(e) => {
                self.field_arg_error(f, e);
                return None;
            }
        };
        let info = resolved.field;
        if !info.usable_in_filter() {
            self.report(
                codes::OUTPUT_ONLY_FIELD,
                f.span,
                format!("field `{}` can only be used in outputs", info.name),
            );
            return None;
        }
        if info.deprecation == Deprecation::Warned {
            self.report(
                codes::DEPRECATED_FIELD,
                f.span,
                format!("field `{}` is deprecated", info.name),
            )
            .help =
                Some("Falco warns about it and it may be removed in a later version".to_owned());
        }
        let mut ty = resolved.value_type();
        if let Some(schema::FieldArg::Param(param)) = &resolved.arg {
            match table::param_type_of(param) {
                None => {
                    let mut d = self.report(
                        codes::UNKNOWN_EVENT_ARG,
                        f.name_span,
                        format!("no event has a parameter named `{param}`"),
                    );
                    d.help = Some(format!(
                        "`{}.NAME` names an event parameter such as `fd` or `res`",
                        info.name
                    ));
                    return None;
                }
                Some(pty) if info.ty == FieldType::Dyn => ty = ValueType::single(pty),
                Some(_) => {}
            }
        }
        Some(TField {
            field: resolved,
            ty,
            span: f.span,
        })
    }

    fn extra_field(&self, name: &str, arg: Option<&str>) -> Option<ResolvedField> {
        let info = self.options.extra_fields.iter().find(|x| x.name == name)?;
        match arg {
            None if !info.arg.required() => Some(ResolvedField {
                field: info,
                arg: None,
            }),
            Some(text) if info.arg.allowed() => Some(ResolvedField {
                field: info,
                arg: Some(schema::FieldArg::Key(text.to_owned())),
            }),
            _ => None,
        }
    }

    fn field_arg_error(&mut self, f: &FieldRef, e: ResolveError) {
        let span = f.arg.as_ref().map_or(f.span, |a| a.span);
        let (message, help) = match e {
            ResolveError::ArgumentRequired { field, spec } => (
                format!("field `{field}` requires an argument"),
                Some(format!("write `{field}{}`", spec.syntax())),
            ),
            ResolveError::ArgumentNotAllowed { field, arg } => (
                format!("field `{field}` does not take an argument (got `{arg}`)"),
                Some(format!("write `{field}` alone")),
            ),
            ResolveError::BadIndex { field, arg } => (
                format!("`{arg}` is not a valid index for `{field}`"),
                Some("the index is a decimal number, e.g. `[1]`".to_owned()),
            ),
            ResolveError::BadArgument { field, arg, spec } => (
                format!("`{arg}` is not a valid argument for `{field}`"),
                Some(format!("write `{field}{}`", spec.syntax())),
            ),
            ResolveError::UnclosedBracket { text } => {
                (format!("missing `]` after the argument of `{text}`"), None)
            }
            ResolveError::UnknownField { name, .. } => (format!("unknown field `{name}`"), None),
        };
        let mut d = self.report(codes::BAD_FIELD_ARGUMENT, span, message);
        d.help = help;
    }

    fn transformer(&mut self, t: &ast::Transformer) -> Option<TTransformer> {
        let kind = t.kind;
        let mut args = Vec::with_capacity(t.args.len());
        let mut ok = true;
        for arg in &t.args {
            match self.tr_arg(kind, arg) {
                Some(a) => args.push(a),
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        let shapes: Vec<TransformerArg> = args.iter().map(shape).collect();
        let field_arg = t.arg.as_ref().map(|a| a.value.as_str());
        match kind.apply_call(&shapes, field_arg) {
            Ok(ty) => Some(TTransformer {
                kind,
                args,
                option: field_arg.and_then(|a| a.chars().next()),
                ty,
                span: t.span,
            }),
            Err(e) => {
                self.transformer_error(t, e);
                None
            }
        }
    }

    fn tr_arg(&mut self, kind: Transformer, arg: &TrArg) -> Option<TTrArg> {
        match arg {
            TrArg::Field(f) => {
                let field = self.field(f)?;
                if !field.field.field.accepts_transformers() {
                    self.report(
                        codes::TRANSFORMER_NOT_ALLOWED,
                        f.span,
                        format!("field `{}` does not accept transformers", field.field),
                    )
                    .label = format!("inside `{kind}`");
                    return None;
                }
                Some(TTrArg::Operand(TOperand::Field(field)))
            }
            TrArg::Transformer(inner) => self
                .transformer(inner)
                .map(|t| TTrArg::Operand(TOperand::Transformer(t))),
            TrArg::Str(v) | TrArg::Number(v) => Some(TTrArg::Literal(v.text.clone())),
            TrArg::List(items, span) => {
                let mut out = Vec::with_capacity(items.len());
                let mut ok = true;
                for item in items {
                    match self.tr_arg(kind, item) {
                        Some(a) => out.push(a),
                        None => ok = false,
                    }
                }
                ok.then_some(TTrArg::List(out, *span))
            }
        }
    }

    fn transformer_error(&mut self, t: &ast::Transformer, e: TransformerError) {
        let text = transformer_text(t);
        match e {
            TransformerError::UnsupportedType { transformer, input } => {
                let accepted: Vec<&str> = transformer
                    .input_types()
                    .iter()
                    .map(|ty| ty.as_str())
                    .collect();
                let mut d = self.report(
                    codes::TRANSFORMER_TYPE,
                    t.span,
                    format!(
                        "transformer `{transformer}` does not apply to {} ({input})",
                        describe(input)
                    ),
                );
                if !accepted.is_empty() {
                    d.help = Some(format!("`{transformer}` takes {}", ticked(&accepted)));
                }
            }
            TransformerError::Arity {
                transformer,
                expected,
                got,
            } => {
                self.report(
                    codes::TRANSFORMER_TYPE,
                    t.span,
                    format!("transformer `{transformer}` takes {expected} argument(s), not {got}"),
                )
                .label = text;
            }
            TransformerError::BadArgument {
                transformer,
                position,
                problem,
            } => {
                let span = t
                    .args
                    .get(position.saturating_sub(1))
                    .map_or(t.span, tr_arg_span);
                self.report(
                    codes::TRANSFORMER_TYPE,
                    span,
                    format!("argument {position} of `{transformer}` {problem}"),
                );
            }
            TransformerError::FieldArgument { transformer, arg } => {
                let span = t.arg.as_ref().map_or(t.span, |a| a.span);
                let mut d = self.report(
                    codes::TRANSFORMER_FIELD_ARG,
                    span,
                    if transformer == Transformer::Getopt && arg.is_empty() {
                        "`getopt` needs one option character in `[...]`, not an empty argument"
                            .to_owned()
                    } else if transformer == Transformer::Getopt {
                        format!("`{arg}` is not a single option character for `getopt`")
                    } else {
                        format!(
                            "transformer `{transformer}` does not take a field argument (`[{arg}]`)"
                        )
                    },
                );
                d.help =
                    Some("only `getopt` takes a `[c]` argument, one option character".to_owned());
            }
        }
    }
}

fn tr_arg_span(arg: &TrArg) -> FileSpan {
    match arg {
        TrArg::Field(f) => f.span,
        TrArg::Transformer(t) => t.span,
        TrArg::Str(v) | TrArg::Number(v) => v.span,
        TrArg::List(_, s) => *s,
    }
}

/// The typing shape of a checked transformer argument.
fn shape(arg: &TTrArg) -> TransformerArg {
    match arg {
        TTrArg::Operand(o) => TransformerArg::Value(o.value_type()),
        TTrArg::Literal(_) => TransformerArg::Literal,
        TTrArg::List(items, _) => TransformerArg::List(items.iter().map(shape).collect()),
    }
}

/// A diagnostic being filled in; pushed to the checker's list when dropped.
struct Pending<'a> {
    sink: &'a mut Vec<Diagnostic>,
    diagnostic: Diagnostic,
}

impl std::ops::Deref for Pending<'_> {
    type Target = Diagnostic;

    fn deref(&self) -> &Diagnostic {
        &self.diagnostic
    }
}

impl std::ops::DerefMut for Pending<'_> {
    fn deref_mut(&mut self) -> &mut Diagnostic {
        &mut self.diagnostic
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        // The placeholder left behind is never observed: the guard is gone after this.
        let placeholder =
            Diagnostic::new(self.diagnostic.code, self.diagnostic.primary, String::new());
        self.sink
            .push(std::mem::replace(&mut self.diagnostic, placeholder));
    }
}
