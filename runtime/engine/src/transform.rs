//! Transformers (language.md §5) as pure functions on values.
//!
//! A transformer that cannot produce a value (invalid base64, a missing `getopt` option)
//! returns `None`, which the interpreter treats like a failed extraction: every check on it
//! is false.

use std::borrow::Cow;

use lanner_state::value::Value;

use crate::ops::c_str;

/// `tolower`/`toupper`: ASCII only, like the C locale.
pub fn change_case(bytes: &[u8], upper: bool) -> Vec<u8> {
    if upper {
        bytes.to_ascii_uppercase()
    } else {
        bytes.to_ascii_lowercase()
    }
}

/// `basename`: the text after the last `/` (all of it when there is none; empty after a
/// trailing `/`).
pub fn basename(bytes: &[u8]) -> &[u8] {
    match bytes.iter().rposition(|&b| b == b'/') {
        Some(slash) => bytes.get(slash + 1..).unwrap_or(&[]),
        None => bytes,
    }
}

/// The value of one base64 digit (standard alphabet).
fn b64_digit(b: u8) -> Option<u32> {
    Some(u32::from(match b {
        b'A'..=b'Z' => b - b'A',
        b'a'..=b'z' => b - b'a' + 26,
        b'0'..=b'9' => b - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    }))
}

/// `b64`: decodes standard base64. Padding is optional (`YWFh`, `YWE`, `YWE=` all decode);
/// any other byte, padding in the middle, or a lone trailing digit makes the input invalid.
pub fn b64_decode(input: &[u8]) -> Option<Vec<u8>> {
    let body = input
        .strip_suffix(b"==")
        .or_else(|| input.strip_suffix(b"="))
        .unwrap_or(input);
    if body.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() / 4 * 3 + 2);
    for chunk in body.chunks(4) {
        let mut acc: u32 = 0;
        for &b in chunk {
            acc = (acc << 6) | b64_digit(b)?;
        }
        // INVARIANT: a chunk has 2, 3 or 4 digits (a 1-digit tail was rejected above), i.e.
        // 12, 18 or 24 bits, of which the whole bytes are kept.
        let bits = 6 * chunk.len() as u32;
        let bytes = bits / 8;
        let acc = acc >> (bits - 8 * bytes);
        for i in (0..bytes).rev() {
            out.push((acc >> (8 * i)) as u8);
        }
    }
    Some(out)
}

/// The text form of a value, for `join`, `concat` and `getopt`, which work on strings:
/// strings as C strings, numbers in decimal, addresses and booleans as Falco prints them.
/// A list has no single text form.
pub fn text_of<'v>(value: &'v Value<'_>) -> Option<Cow<'v, [u8]>> {
    Some(match value {
        Value::Str(s) | Value::Bytes(s) => Cow::Borrowed(c_str(s)),
        Value::Int(v) => Cow::Owned(v.to_string().into_bytes()),
        Value::UInt(v) => Cow::Owned(v.to_string().into_bytes()),
        Value::Double(v) => Cow::Owned(v.to_string().into_bytes()),
        Value::Bool(v) => Cow::Borrowed(if *v { b"true" } else { b"false" }),
        Value::Ipv4(a) => Cow::Owned(a.to_string().into_bytes()),
        Value::Ipv6(a) => Cow::Owned(a.to_string().into_bytes()),
        Value::Net(a, p) => Cow::Owned(format!("{a}/{p}").into_bytes()),
        Value::List(_) => return None,
    })
}

/// The option string of `getopt`, decoded: which bytes are options, and which take a value.
struct OptString {
    valid: [bool; 256],
    takes_value: [bool; 256],
}

fn parse_optstring(optstring: &[u8]) -> OptString {
    let mut info = OptString {
        valid: [false; 256],
        takes_value: [false; 256],
    };
    // A leading `:` only changes getopt(3)'s error reporting, which the transformer does not
    // expose (a missing value is always reported as an empty string).
    let body = optstring.strip_prefix(b":").unwrap_or(optstring);
    let mut i = 0;
    while let Some(&opt) = body.get(i) {
        i += 1;
        if opt == b':' {
            continue;
        }
        if let Some(v) = info.valid.get_mut(usize::from(opt)) {
            *v = true;
        }
        if body.get(i) == Some(&b':') {
            if let Some(t) = info.takes_value.get_mut(usize::from(opt)) {
                *t = true;
            }
            i += 1;
        }
    }
    info
}

/// `getopt(argv, optstring)` and `getopt(argv, optstring)[c]`, as libsinsp implements them.
///
/// argv is scanned like getopt(3): it stops at `--`, at the first non-option word (one not
/// starting with `-`, or a bare `-`), skips long options (`--exec`), and expands clusters
/// (`-nt`). Without a selector the result lists each option character, followed by its value
/// for options that take one; an unknown option contributes `?`; a missing value contributes
/// an empty string. With a selector `c` the result is the value of the last `-c` (or `c`
/// itself when it takes no value); if `-c` does not occur there is no result.
pub fn getopt(argv: &[Vec<u8>], optstring: &[u8], selector: Option<u8>) -> Option<Value<'static>> {
    let info = parse_optstring(optstring);
    let is = |table: &[bool; 256], b: u8| table.get(usize::from(b)).copied().unwrap_or(false);
    let mut results: Vec<Vec<u8>> = Vec::new();
    let mut selected: Option<Vec<u8>> = None;
    let mut emit = |name: &[u8], value: Option<&[u8]>| match selector {
        Some(_) => selected = Some(value.unwrap_or(name).to_vec()),
        None => {
            results.push(name.to_vec());
            if let Some(v) = value {
                results.push(v.to_vec());
            }
        }
    };
    let mut idx = 0;
    while let Some(arg) = argv.get(idx) {
        if arg.as_slice() == b"--" {
            break;
        }
        if arg.len() > 2 && arg.starts_with(b"--") {
            idx += 1;
            continue;
        }
        if arg.len() < 2 || arg.first() != Some(&b'-') {
            break;
        }
        let mut i = 1;
        while let Some(&opt) = arg.get(i) {
            if opt == b':' || !is(&info.valid, opt) {
                if selector.is_none() {
                    emit(b"?", None);
                }
                i += 1;
                continue;
            }
            let matches = selector.is_none_or(|s| s == opt);
            let name = [opt];
            if !is(&info.takes_value, opt) {
                if matches {
                    emit(&name, None);
                }
                i += 1;
                continue;
            }
            // The value is the rest of this word (`-tvalue`) or the next word (`-t value`).
            let value: Option<&[u8]> = match arg.get(i + 1..) {
                Some(rest) if !rest.is_empty() => Some(rest),
                _ => {
                    idx += 1;
                    argv.get(idx).map(Vec::as_slice)
                }
            };
            match value {
                Some(v) if matches => emit(&name, Some(v)),
                Some(_) => {}
                None if matches => emit(b"", None),
                None => {}
            }
            break;
        }
        idx += 1;
    }
    match selector {
        Some(_) => selected.map(|v| Value::Str(Cow::Owned(v))),
        None => Some(Value::List(
            results
                .into_iter()
                .map(|r| Value::Str(Cow::Owned(r)))
                .collect(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64() {
        assert_eq!(b64_decode(b"YWFhLWJiYg").unwrap(), b"aaa-bbb");
        assert_eq!(b64_decode(b"YWFhLWJiYg==").unwrap(), b"aaa-bbb");
        assert_eq!(b64_decode(b"YWFhYmJi").unwrap(), b"aaabbb");
        assert_eq!(b64_decode(b"YWE=").unwrap(), b"aa");
        assert_eq!(b64_decode(b"YWE").unwrap(), b"aa");
        assert_eq!(b64_decode(b"").unwrap(), b"");
        assert!(b64_decode(b"Y").is_none());
        assert!(b64_decode(b"YW=h").is_none());
        assert!(b64_decode(b"Y!Fh").is_none());
    }

    #[test]
    fn basenames() {
        assert_eq!(basename(b"/home/ubuntu/hello.txt"), b"hello.txt");
        assert_eq!(basename(b"/"), b"");
        assert_eq!(basename(b"/hello/"), b"");
        assert_eq!(basename(b"hello"), b"hello");
        assert_eq!(basename(b""), b"");
    }

    fn argv(words: &[&str]) -> Vec<Vec<u8>> {
        words.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    fn list(v: Option<Value<'_>>) -> Vec<String> {
        match v {
            Some(Value::List(items)) => items
                .iter()
                .map(|i| match i {
                    Value::Str(s) => String::from_utf8_lossy(s).into_owned(),
                    other => panic!("{other:?}"),
                })
                .collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn getopt_lists() {
        assert_eq!(
            list(getopt(&argv(&["-nt", "hello"]), b"nt:", None)),
            ["n", "t", "hello"]
        );
        assert_eq!(
            list(getopt(&argv(&["-thello"]), b"t:", None)),
            ["t", "hello"]
        );
        assert_eq!(list(getopt(&argv(&["-x", "-n"]), b"n", None)), ["?", "n"]);
        assert_eq!(
            list(getopt(&argv(&["-n", "--", "-t"]), b"nt:", None)),
            ["n"]
        );
        assert_eq!(list(getopt(&argv(&["-t"]), b"t:", None)), [""]);
        assert_eq!(list(getopt(&argv(&["-t"]), b":t:", None)), [""]);
        assert_eq!(list(getopt(&argv(&["--exec", "-n"]), b"n", None)), ["n"]);
        assert_eq!(
            list(getopt(&argv(&["arg", "-n"]), b"n", None)),
            Vec::<String>::new()
        );
        assert_eq!(
            list(getopt(&argv(&["-", "-n"]), b"n", None)),
            Vec::<String>::new()
        );
        assert_eq!(
            list(getopt(&argv(&["-lpe", "/bin/sh"]), b"lpe:", None)),
            ["l", "p", "e", "/bin/sh"]
        );
    }

    #[test]
    fn getopt_selector() {
        let s = |words: &[&str], opts: &[u8], c: u8| {
            getopt(&argv(words), opts, Some(c)).map(|v| match v {
                Value::Str(s) => String::from_utf8_lossy(&s).into_owned(),
                other => panic!("{other:?}"),
            })
        };
        assert_eq!(
            s(&["-n", "-t", "hello"], b"nt:", b't').as_deref(),
            Some("hello")
        );
        assert_eq!(
            s(&["-n", "-t", "hello"], b"nt:", b'n').as_deref(),
            Some("n")
        );
        assert_eq!(
            s(&["-t", "v1", "-t", "v2"], b"t:", b't').as_deref(),
            Some("v2")
        );
        assert_eq!(s(&["-t", "v1", "-t"], b"t:", b't').as_deref(), Some(""));
        assert_eq!(s(&["-n"], b"nt:", b't'), None);
    }
}
