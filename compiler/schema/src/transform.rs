//! Transformer typing (language.md §5): which inputs each transformer accepts and what it yields.

use std::fmt;
use std::str::FromStr;

use crate::types::{FieldType, UnknownName, ValueType};

/// A field transformer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Transformer {
    /// `tolower(x)`: ASCII lower case.
    ToLower,
    /// `toupper(x)`: ASCII upper case.
    ToUpper,
    /// `b64(x)`: base64 decoding.
    B64,
    /// `basename(x)`: text after the last `/`.
    Basename,
    /// `len(x)`: string or buffer length, or list element count.
    Len,
    /// `val(f)`: marks a right-hand-side field reference.
    Val,
    /// `join(sep, list)`: joins values with a separator.
    Join,
    /// `concat(a, b, ...)`: concatenates strings.
    Concat,
    /// `getopt(args, optstring)[c]`: getopt-style option parsing.
    Getopt,
}

/// One argument of a transformer call, as far as typing is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransformerArg {
    /// A quoted string or a number written in place.
    Literal,
    /// A field or a nested transformer, with its value type.
    Value(ValueType),
    /// A parenthesised transformer list `( ... )`.
    List(Vec<TransformerArg>),
}

/// Why a transformer application does not type-check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransformerError {
    /// The input type is not one the transformer handles.
    #[error("transformer '{transformer}' does not support type {input}")]
    UnsupportedType {
        /// The transformer.
        transformer: Transformer,
        /// The offending input type.
        input: ValueType,
    },
    /// Wrong number of arguments.
    #[error("transformer '{transformer}' expects {expected} argument(s), got {got}")]
    Arity {
        /// The transformer.
        transformer: Transformer,
        /// What it expects, e.g. "1" or "at least 2".
        expected: &'static str,
        /// What was written.
        got: usize,
    },
    /// An argument has the wrong shape (a list where a single value belongs, or the reverse).
    #[error("transformer '{transformer}': argument {position} {problem}")]
    BadArgument {
        /// The transformer.
        transformer: Transformer,
        /// 1-based argument position.
        position: usize,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A `[...]` argument on a transformer that takes none, or a bad one on `getopt`.
    #[error("transformer '{transformer}' does not support field argument '{arg}'")]
    FieldArgument {
        /// The transformer.
        transformer: Transformer,
        /// The argument as written.
        arg: String,
    },
}

impl Transformer {
    /// Every transformer.
    pub const ALL: &'static [Transformer] = &[
        Transformer::ToLower,
        Transformer::ToUpper,
        Transformer::B64,
        Transformer::Basename,
        Transformer::Len,
        Transformer::Val,
        Transformer::Join,
        Transformer::Concat,
        Transformer::Getopt,
    ];

    /// The transformer's name as written before `(`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Transformer::ToLower => "tolower",
            Transformer::ToUpper => "toupper",
            Transformer::B64 => "b64",
            Transformer::Basename => "basename",
            Transformer::Len => "len",
            Transformer::Val => "val",
            Transformer::Join => "join",
            Transformer::Concat => "concat",
            Transformer::Getopt => "getopt",
        }
    }

    /// The transformer spelled `text` before `(`, exactly.
    pub fn parse(text: &str) -> Option<Transformer> {
        Transformer::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == text)
    }

    /// True for `val`, which may only appear on the right-hand side, directly around a field.
    pub const fn rhs_only(self) -> bool {
        matches!(self, Transformer::Val)
    }

    /// True for the transformers that take exactly one field or transformer argument.
    pub const fn is_unary(self) -> bool {
        !matches!(
            self,
            Transformer::Join | Transformer::Concat | Transformer::Getopt
        )
    }

    /// True if a trailing `[arg]` is allowed (`getopt` only).
    pub const fn accepts_field_arg(self) -> bool {
        matches!(self, Transformer::Getopt)
    }

    /// The element types a unary transformer accepts; `len` also takes any list, and `val`
    /// takes every type (the slice is then empty and [`Transformer::apply`] is the authority).
    pub const fn input_types(self) -> &'static [FieldType] {
        const STRINGS: &[FieldType] =
            &[FieldType::Charbuf, FieldType::FsPath, FieldType::FsRelPath];
        match self {
            Transformer::ToLower | Transformer::ToUpper | Transformer::Basename => STRINGS,
            Transformer::B64 => &[FieldType::Charbuf, FieldType::Bytebuf],
            Transformer::Len => &[
                FieldType::Charbuf,
                FieldType::Bytebuf,
                FieldType::FsPath,
                FieldType::FsRelPath,
            ],
            Transformer::Concat => &[FieldType::Charbuf],
            Transformer::Val | Transformer::Join | Transformer::Getopt => &[],
        }
    }

    /// The result type of a unary transformer applied to a value of type `input`.
    ///
    /// Case changes, `b64` and `basename` keep the input type (a list stays a list, each
    /// element being transformed); `len` yields a single UINT64; `val` is the identity.
    /// Multi-argument transformers must go through [`Transformer::apply_call`].
    pub fn apply(self, input: ValueType) -> Result<ValueType, TransformerError> {
        let unsupported = || TransformerError::UnsupportedType {
            transformer: self,
            input,
        };
        match self {
            Transformer::Val => Ok(input),
            Transformer::Len if input.is_list => Ok(ValueType::single(FieldType::Uint64)),
            Transformer::Len if self.input_types().contains(&input.ty) => {
                Ok(ValueType::single(FieldType::Uint64))
            }
            Transformer::ToLower
            | Transformer::ToUpper
            | Transformer::B64
            | Transformer::Basename
                if self.input_types().contains(&input.ty) =>
            {
                Ok(input)
            }
            Transformer::Join | Transformer::Concat | Transformer::Getopt => {
                Err(TransformerError::Arity {
                    transformer: self,
                    expected: match self {
                        Transformer::Concat => "at least 2",
                        _ => "2",
                    },
                    got: 1,
                })
            }
            _ => Err(unsupported()),
        }
    }

    /// Types a whole call `name(args...)[field_arg]` and returns its result type.
    pub fn apply_call(
        self,
        args: &[TransformerArg],
        field_arg: Option<&str>,
    ) -> Result<ValueType, TransformerError> {
        if let Some(arg) = field_arg
            && !self.accepts_field_arg()
        {
            return Err(TransformerError::FieldArgument {
                transformer: self,
                arg: arg.to_owned(),
            });
        }
        match self {
            Transformer::Join => self.join(args),
            Transformer::Concat => self.concat(args),
            Transformer::Getopt => self.getopt(args, field_arg),
            _ => match args {
                [TransformerArg::Value(input)] => self.apply(*input),
                [_] => Err(self.bad(1, "must be a field or a transformer")),
                _ => Err(TransformerError::Arity {
                    transformer: self,
                    expected: "1",
                    got: args.len(),
                }),
            },
        }
    }

    fn bad(self, position: usize, problem: &'static str) -> TransformerError {
        TransformerError::BadArgument {
            transformer: self,
            position,
            problem,
        }
    }

    /// A single value: a literal or a single-valued field/transformer.
    fn is_single(arg: &TransformerArg) -> bool {
        match arg {
            TransformerArg::Literal => true,
            TransformerArg::Value(v) => !v.is_list,
            TransformerArg::List(_) => false,
        }
    }

    /// A list: a written transformer list of single values, or a list-valued field.
    fn is_list(arg: &TransformerArg) -> bool {
        match arg {
            TransformerArg::Literal => false,
            TransformerArg::Value(v) => v.is_list,
            TransformerArg::List(items) => items.iter().all(Transformer::is_single),
        }
    }

    fn join(self, args: &[TransformerArg]) -> Result<ValueType, TransformerError> {
        let [separator, items] = args else {
            return Err(TransformerError::Arity {
                transformer: self,
                expected: "2",
                got: args.len(),
            });
        };
        if !Transformer::is_single(separator) {
            return Err(self.bad(1, "must be a single value"));
        }
        if !Transformer::is_list(items) {
            return Err(self.bad(2, "must be a list"));
        }
        Ok(ValueType::single(FieldType::Charbuf))
    }

    fn concat(self, args: &[TransformerArg]) -> Result<ValueType, TransformerError> {
        if args.len() < 2 {
            return Err(TransformerError::Arity {
                transformer: self,
                expected: "at least 2",
                got: args.len(),
            });
        }
        for (i, arg) in args.iter().enumerate() {
            let ok = match arg {
                TransformerArg::Literal => true,
                TransformerArg::Value(v) => !v.is_list && v.ty.is_string(),
                TransformerArg::List(_) => false,
            };
            if !ok {
                return Err(self.bad(i + 1, "must be a single string value"));
            }
        }
        Ok(ValueType::single(FieldType::Charbuf))
    }

    fn getopt(
        self,
        args: &[TransformerArg],
        field_arg: Option<&str>,
    ) -> Result<ValueType, TransformerError> {
        let [list, optstring] = args else {
            return Err(TransformerError::Arity {
                transformer: self,
                expected: "2",
                got: args.len(),
            });
        };
        if !Transformer::is_list(list) {
            return Err(self.bad(1, "must be a list of strings"));
        }
        if !matches!(optstring, TransformerArg::Literal) {
            return Err(self.bad(2, "must be a single option string"));
        }
        match field_arg {
            None => Ok(ValueType::list(FieldType::Charbuf)),
            Some(c) if c.chars().count() == 1 => Ok(ValueType::single(FieldType::Charbuf)),
            Some(other) => Err(TransformerError::FieldArgument {
                transformer: self,
                arg: other.to_owned(),
            }),
        }
    }
}

impl fmt::Display for Transformer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Transformer {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Transformer::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownName {
                kind: "Transformer",
                name: s.to_owned(),
            })
    }
}
