//! A light tokenizer over the decoded value of a condition or output scalar, for the editor
//! features that work on words (semantic tokens, hover, completion context). It never fails
//! and needs no parse, so it also works on half-typed text; the checker stays the judge of
//! what the text means.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tok {
    /// A field, macro, list, keyword, operator word or bare value.
    Word,
    /// A quoted string.
    Str,
    /// `=`, `!=`, `<`, `<=`, `>`, `>=`, `==`.
    Symbol,
    /// `(`, `)`, `,`.
    Punct,
    /// `%field` in an output (the range covers the field without `%`).
    OutputField,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: Tok,
    /// Byte range in the scalar's value.
    pub start: usize,
    pub end: usize,
}

fn is_word_char(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, '(' | ')' | ',' | '=' | '<' | '>' | '!' | '"' | '\'')
}

/// Splits a condition into tokens. A word includes a bracketed argument (`proc.aname[2]`,
/// `evt.arg["a b"]`) so that a field and its argument stay one token.
pub fn condition(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let Some(c) = text.get(i..).and_then(|s| s.chars().next()) else {
            break;
        };
        let start = i;
        if c.is_whitespace() {
            i += c.len_utf8();
            continue;
        }
        let kind = match c {
            '"' | '\'' => {
                i += 1;
                while i < text.len() {
                    match bytes.get(i) {
                        Some(b'\\') => i += 2,
                        Some(&b) if b == c as u8 => {
                            i += 1;
                            break;
                        }
                        _ => i += 1,
                    }
                }
                Tok::Str
            }
            '(' | ')' | ',' => {
                i += 1;
                Tok::Punct
            }
            '=' | '<' | '>' | '!' => {
                i += 1;
                if bytes.get(i) == Some(&b'=') {
                    i += 1;
                }
                Tok::Symbol
            }
            _ => {
                let mut depth = 0usize;
                while let Some(ch) = text.get(i..).and_then(|s| s.chars().next()) {
                    if ch == '[' {
                        depth += 1;
                    } else if ch == ']' {
                        depth = depth.saturating_sub(1);
                    } else if depth == 0 && !is_word_char(ch) {
                        break;
                    } else if depth > 0 && ch == '"' {
                        // A quoted key inside brackets may hold anything.
                        i += 1;
                        while let Some(&b) = bytes.get(i) {
                            i += 1;
                            if b == b'"' {
                                break;
                            }
                        }
                        continue;
                    }
                    i += ch.len_utf8();
                }
                Tok::Word
            }
        };
        out.push(Token {
            kind,
            start,
            end: i.min(text.len()),
        });
    }
    out
}

/// The `%field` tokens of an output (`%proc.name`, `%proc.aname[2]`, `%{...}` is not Falco).
pub fn output(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes.get(i) == Some(&b'%') {
            let start = i + 1;
            let mut j = start;
            // An optional width such as `%12proc.name` is not part of the field.
            while bytes.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            let fstart = j;
            let mut depth = 0usize;
            while let Some(&b) = bytes.get(j) {
                if b == b'[' {
                    depth += 1;
                } else if b == b']' {
                    if depth == 0 {
                        break;
                    }
                    depth -= 1;
                    if depth == 0 {
                        j += 1;
                        break;
                    }
                } else if depth == 0 && !(b.is_ascii_alphanumeric() || b == b'.' || b == b'_') {
                    break;
                }
                j += 1;
            }
            if j > fstart {
                out.push(Token {
                    kind: Tok::OutputField,
                    start: fstart,
                    end: j,
                });
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// The token covering `offset` (end inclusive).
pub fn at(tokens: &[Token], offset: usize) -> Option<(usize, Token)> {
    tokens
        .iter()
        .copied()
        .enumerate()
        .find(|(_, t)| t.start <= offset && offset <= t.end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<(&str, Tok)> {
        condition(text)
            .iter()
            .map(|t| (text.get(t.start..t.end).unwrap_or("?"), t.kind))
            .collect()
    }

    #[test]
    fn condition_tokens() {
        assert_eq!(
            words("proc.aname[2]!=\"a b\" and evt.arg[\"x y\"] in (sh, l)"),
            vec![
                ("proc.aname[2]", Tok::Word),
                ("!=", Tok::Symbol),
                ("\"a b\"", Tok::Str),
                ("and", Tok::Word),
                ("evt.arg[\"x y\"]", Tok::Word),
                ("in", Tok::Word),
                ("(", Tok::Punct),
                ("sh", Tok::Word),
                (",", Tok::Punct),
                ("l", Tok::Word),
                (")", Tok::Punct),
            ]
        );
    }

    #[test]
    fn output_tokens() {
        let text = "x %proc.name (%12proc.aname[2]) 100%";
        let toks: Vec<&str> = output(text)
            .iter()
            .map(|t| text.get(t.start..t.end).unwrap_or("?"))
            .collect();
        assert_eq!(toks, vec!["proc.name", "proc.aname[2]"]);
    }
}
