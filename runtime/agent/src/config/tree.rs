//! The configuration as a located tree: the YAML file read with the front end's saphyr-based
//! loader (byte spans into the original text), plus `-o key=value` overrides written into the
//! same tree so that every later check points either into the file or at the override.

use lanner_syntax::span::LineIndex;
use lanner_syntax::yaml::tree::{self, Node as YNode};

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum At {
    /// A byte offset into the configuration file.
    File(usize),
    /// A `-o key=value` override (its text).
    Override(String),
    /// Not written anywhere: a default.
    Default,
}

#[derive(Clone, Debug)]
pub enum Kind {
    Null,
    Scalar(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

#[derive(Clone, Debug)]
pub struct Key {
    pub name: String,
    pub at: At,
}

#[derive(Clone, Debug)]
pub struct Node {
    pub kind: Kind,
    pub at: At,
}

impl Node {
    pub fn null(at: At) -> Node {
        Node {
            kind: Kind::Null,
            at,
        }
    }

    /// The entry `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            Kind::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn shape(&self) -> &'static str {
        match self.kind {
            Kind::Null => "null",
            Kind::Scalar(_) => "a scalar",
            Kind::Seq(_) => "a sequence",
            Kind::Map(_) => "a mapping",
        }
    }
}

/// A YAML syntax error, located.
#[derive(Debug, Clone)]
pub struct SyntaxError {
    pub offset: usize,
    pub message: String,
}

fn convert(node: &YNode) -> Node {
    let at = At::File(node.span().start as usize);
    let kind = match node {
        YNode::Scalar(s) if s.null => Kind::Null,
        YNode::Scalar(s) => Kind::Scalar(s.scalar.value.clone()),
        YNode::Seq(items, _) => Kind::Seq(items.iter().map(convert).collect()),
        YNode::Map(entries, _) => Kind::Map(
            entries
                .iter()
                .map(|(k, v)| {
                    let name = match k {
                        YNode::Scalar(s) => s.scalar.value.clone(),
                        other => other.shape().to_string(),
                    };
                    (
                        Key {
                            name,
                            at: At::File(k.span().start as usize),
                        },
                        convert(v),
                    )
                })
                .collect(),
        ),
    };
    Node { kind, at }
}

/// Parses configuration text. An empty file is an empty mapping, as Falco reads it.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let docs = tree::parse(text);
    if let Some(e) = docs.error {
        return Err(SyntaxError {
            offset: e.offset,
            message: e.message,
        });
    }
    Ok(docs.docs.first().map_or(
        Node {
            kind: Kind::Map(Vec::new()),
            at: At::File(0),
        },
        convert,
    ))
}

/// `file:line:col` of a location (or the override that set it).
pub fn describe(at: &At, file: &str, text: &str, index: &LineIndex) -> String {
    match at {
        At::File(offset) => {
            let lc = index.line_col(text, *offset);
            format!("{file}:{}:{}", lc.line, lc.column)
        }
        At::Override(o) => format!("-o `{o}`"),
        At::Default => file.to_string(),
    }
}

/// Why an override could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverrideError {
    #[error("`-o {0}` has no `=`: overrides are written `key=value`")]
    NoEquals(String),
    #[error("`-o {0}`: the key is empty")]
    EmptyKey(String),
    #[error("`-o {text}`: malformed key path at `{rest}`")]
    BadPath { text: String, rest: String },
    #[error("`-o {text}`: `{segment}` is {shape}, not a mapping")]
    NotAMap {
        text: String,
        segment: String,
        shape: &'static str,
    },
    #[error("`-o {text}`: `{segment}` is {shape}, not a sequence")]
    NotASeq {
        text: String,
        segment: String,
        shape: &'static str,
    },
    #[error("`-o {text}`: index {index} is past the end of `{segment}` (use `[]` to append)")]
    Index {
        text: String,
        segment: String,
        index: usize,
    },
    #[error("`-o {text}`: the value is not valid YAML: {message}")]
    Value { text: String, message: String },
}

#[derive(Debug, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
    Append,
}

/// Falco's override path: `a.b[0].c`, `rules[].disable.rule`; `\` escapes the next character of
/// a key (so a key may hold a `.` or `[`).
fn path(text: &str, key: &str) -> Result<Vec<Step>, OverrideError> {
    let mut steps = Vec::new();
    let mut chars = key.chars().peekable();
    let mut current = String::new();
    let bad = |rest: String| OverrideError::BadPath {
        text: text.to_string(),
        rest,
    };
    let mut after_index = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) => current.push(n),
                None => return Err(bad("\\".into())),
            },
            '.' => {
                if current.is_empty() && !after_index {
                    return Err(bad(std::iter::once('.').chain(chars).collect()));
                }
                if !current.is_empty() {
                    steps.push(Step::Key(std::mem::take(&mut current)));
                }
                after_index = false;
            }
            '[' => {
                if !current.is_empty() {
                    steps.push(Step::Key(std::mem::take(&mut current)));
                }
                let mut digits = String::new();
                let mut closed = false;
                for d in chars.by_ref() {
                    if d == ']' {
                        closed = true;
                        break;
                    }
                    digits.push(d);
                }
                if !closed {
                    return Err(bad(format!("[{digits}")));
                }
                if digits.is_empty() {
                    steps.push(Step::Append);
                } else {
                    let i = digits
                        .parse::<usize>()
                        .map_err(|_| bad(format!("[{digits}]")))?;
                    steps.push(Step::Index(i));
                }
                after_index = true;
            }
            c => {
                if after_index {
                    return Err(bad(std::iter::once(c).chain(chars).collect()));
                }
                current.push(c);
            }
        }
    }
    if !current.is_empty() {
        steps.push(Step::Key(current));
    }
    if steps.is_empty() {
        return Err(OverrideError::EmptyKey(text.to_string()));
    }
    Ok(steps)
}

fn relocate(node: &mut Node, at: &At) {
    node.at = at.clone();
    match &mut node.kind {
        Kind::Seq(items) => items.iter_mut().for_each(|n| relocate(n, at)),
        Kind::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
            k.at = at.clone();
            relocate(v, at);
        }),
        _ => {}
    }
}

/// Applies one `-o key=value`: split at the first `=`, the key is a path, a value starting with
/// `{` or `[` is YAML, anything else one scalar (no comma splitting).
pub fn apply_override(root: &mut Node, text: &str) -> Result<(), OverrideError> {
    let Some((key, value)) = text.split_once('=') else {
        return Err(OverrideError::NoEquals(text.to_string()));
    };
    let steps = path(text, key)?;
    let at = At::Override(text.to_string());
    let mut value_node = if value.starts_with('{') || value.starts_with('[') {
        parse(value).map_err(|e| OverrideError::Value {
            text: text.to_string(),
            message: e.message,
        })?
    } else {
        Node {
            kind: Kind::Scalar(value.to_string()),
            at: at.clone(),
        }
    };
    relocate(&mut value_node, &at);
    let mut node = root;
    let mut name = String::new();
    for (i, step) in steps.iter().enumerate() {
        let last = i + 1 == steps.len();
        let fresh = |at: &At| Node::null(at.clone());
        match step {
            Step::Key(k) => {
                if matches!(node.kind, Kind::Null) {
                    node.kind = Kind::Map(Vec::new());
                }
                let shape = node.shape();
                let Kind::Map(entries) = &mut node.kind else {
                    return Err(OverrideError::NotAMap {
                        text: text.to_string(),
                        segment: if name.is_empty() { k.clone() } else { name },
                        shape,
                    });
                };
                let pos = match entries.iter().position(|(ek, _)| ek == k) {
                    Some(p) => p,
                    None => {
                        entries.push((
                            Key {
                                name: k.clone(),
                                at: at.clone(),
                            },
                            fresh(&at),
                        ));
                        entries.len() - 1
                    }
                };
                name = k.clone();
                let Some((_, child)) = entries.get_mut(pos) else {
                    return Err(OverrideError::EmptyKey(text.to_string()));
                };
                node = child;
            }
            Step::Index(idx) => {
                if matches!(node.kind, Kind::Null) {
                    node.kind = Kind::Seq(Vec::new());
                }
                let shape = node.shape();
                let Kind::Seq(items) = &mut node.kind else {
                    return Err(OverrideError::NotASeq {
                        text: text.to_string(),
                        segment: name,
                        shape,
                    });
                };
                if *idx == items.len() {
                    items.push(fresh(&at));
                }
                let len = items.len();
                node = items.get_mut(*idx).ok_or(OverrideError::Index {
                    text: text.to_string(),
                    segment: name.clone(),
                    index: *idx.min(&len),
                })?;
            }
            Step::Append => {
                if matches!(node.kind, Kind::Null) {
                    node.kind = Kind::Seq(Vec::new());
                }
                let shape = node.shape();
                let Kind::Seq(items) = &mut node.kind else {
                    return Err(OverrideError::NotASeq {
                        text: text.to_string(),
                        segment: name,
                        shape,
                    });
                };
                items.push(fresh(&at));
                let n = items.len() - 1;
                node = items
                    .get_mut(n)
                    .ok_or(OverrideError::EmptyKey(text.to_string()))?;
            }
        }
        if last {
            *node = value_node.clone();
        }
    }
    Ok(())
}

impl PartialEq<String> for Key {
    fn eq(&self, other: &String) -> bool {
        &self.name == other
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn paths_follow_falco() {
        assert_eq!(
            path("", "rules[].disable.rule").unwrap(),
            vec![
                Step::Key("rules".into()),
                Step::Append,
                Step::Key("disable".into()),
                Step::Key("rule".into())
            ]
        );
        assert_eq!(
            path("", r"a\.b[2].c").unwrap(),
            vec![
                Step::Key("a.b".into()),
                Step::Index(2),
                Step::Key("c".into())
            ]
        );
        assert!(path("", "a..b").is_err());
        assert!(path("", "a[x]").is_err());
    }

    #[test]
    fn overrides_append_and_index() {
        let mut root = parse("rules:\n  - disable: {rule: x}\n").unwrap();
        apply_override(&mut root, "rules[].enable.tag=t=1").unwrap();
        apply_override(&mut root, "rules[0].disable.rule=*").unwrap();
        let Kind::Seq(items) = &root.get("rules").unwrap().kind else {
            panic!()
        };
        assert_eq!(items.len(), 2);
        let Kind::Scalar(tag) = &items[1].get("enable").unwrap().get("tag").unwrap().kind else {
            panic!()
        };
        assert_eq!(tag, "t=1");
        let Kind::Scalar(r) = &items[0].get("disable").unwrap().get("rule").unwrap().kind else {
            panic!()
        };
        assert_eq!(r, "*");
        assert!(apply_override(&mut root, "rules[5].x=1").is_err());
        assert!(apply_override(&mut root, "noequals").is_err());
    }
}
