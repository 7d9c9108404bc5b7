//! `glob`, `iglob` and `pmatch`: glibc's `fnmatch` with flags 0 (or `FNM_CASEFOLD`), written
//! out so that the verdict does not depend on the C library or the locale.
//!
//! Falco runs in the C locale, so matching is byte-wise: `?` is one byte, which is also what
//! makes `proc.name glob "bad?"` match a name ending in an invalid UTF-8 byte. Without
//! `FNM_PATHNAME` and `FNM_PERIOD`, `*` crosses `/` and a leading `.` is an ordinary byte.

/// What one pattern element does with one text byte.
enum Step {
    /// The byte matches; the next element starts at this pattern offset.
    Match(usize),
    NoMatch,
    /// The element can never match (a trailing backslash): glibc fails the whole match.
    Never,
}

/// ASCII lower case, the only folding the C locale knows.
fn fold(b: u8, casefold: bool) -> u8 {
    if casefold { b.to_ascii_lowercase() } else { b }
}

/// `fnmatch(pattern, text, casefold ? FNM_CASEFOLD : 0) == 0`.
///
/// `*` is the only element that matches a variable number of bytes, so a single remembered
/// star position is enough to backtrack (the classic linear-space matcher): on a mismatch, the
/// last star swallows one more byte and matching resumes after it.
pub fn fnmatch(pattern: &[u8], text: &[u8], casefold: bool) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    // (pattern offset after the last star, text offset that star currently stops at)
    let mut star: Option<(usize, usize)> = None;
    loop {
        match pattern.get(p) {
            Some(b'*') => {
                p += 1;
                star = Some((p, t));
                continue;
            }
            Some(_) => {
                if let Some(&tc) = text.get(t) {
                    match step(pattern, p, tc, casefold) {
                        Step::Match(next) => {
                            p = next;
                            t += 1;
                            continue;
                        }
                        Step::NoMatch => {}
                        Step::Never => return false,
                    }
                }
            }
            None if t == text.len() => return true,
            None => {}
        }
        // Mismatch: let the last star take one more byte, if there is one to take.
        match star {
            Some((sp, st)) if st < text.len() => {
                star = Some((sp, st + 1));
                p = sp;
                t = st + 1;
            }
            _ => return false,
        }
    }
}

/// Matches the single-byte pattern element at `p` (anything but `*`) against `tc`.
fn step(pattern: &[u8], p: usize, tc: u8, casefold: bool) -> Step {
    let Some(&pc) = pattern.get(p) else {
        return Step::NoMatch;
    };
    match pc {
        b'?' => Step::Match(p + 1),
        b'\\' => match pattern.get(p + 1) {
            Some(&lit) if fold(lit, casefold) == fold(tc, casefold) => Step::Match(p + 2),
            Some(_) => Step::NoMatch,
            None => Step::Never,
        },
        b'[' => match bracket(pattern, p, tc, casefold) {
            Some((true, next)) => Step::Match(next),
            Some((false, _)) => Step::NoMatch,
            // An unterminated bracket is an ordinary `[`.
            None if tc == b'[' => Step::Match(p + 1),
            None => Step::NoMatch,
        },
        _ if fold(pc, casefold) == fold(tc, casefold) => Step::Match(p + 1),
        _ => Step::NoMatch,
    }
}

/// Evaluates the bracket expression starting at `pattern[open] == '['` against `tc`.
/// Returns whether it matches and the offset after its closing `]`, or `None` if the bracket
/// is not terminated (then glibc treats the `[` literally).
fn bracket(pattern: &[u8], open: usize, tc: u8, casefold: bool) -> Option<(bool, usize)> {
    let c = fold(tc, casefold);
    let mut i = open + 1;
    let negate = matches!(pattern.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let b = *pattern.get(i)?;
        if b == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        // A character class `[:name:]`.
        if b == b'['
            && pattern.get(i + 1) == Some(&b':')
            && let Some(len) = pattern
                .get(i + 2..)
                .and_then(|rest| rest.windows(2).position(|w| w == b":]"))
        {
            let name = pattern.get(i + 2..i + 2 + len)?;
            matched |= in_class(name, tc);
            i += 2 + len + 2;
            continue;
        }
        // One byte, possibly escaped, possibly the start of a range.
        let (lo, after) = if b == b'\\' {
            (*pattern.get(i + 1)?, i + 2)
        } else {
            (b, i + 1)
        };
        i = after;
        if pattern.get(i) == Some(&b'-') && pattern.get(i + 1).is_some_and(|&n| n != b']') {
            let hi_raw = *pattern.get(i + 1)?;
            let (hi, after) = if hi_raw == b'\\' {
                (*pattern.get(i + 2)?, i + 3)
            } else {
                (hi_raw, i + 2)
            };
            i = after;
            let (lo, hi) = (fold(lo, casefold), fold(hi, casefold));
            matched |= lo <= c && c <= hi;
        } else {
            matched |= fold(lo, casefold) == c;
        }
    }
}

/// The POSIX character classes in the C locale. An unknown class name matches nothing.
fn in_class(name: &[u8], b: u8) -> bool {
    match name {
        b"alnum" => b.is_ascii_alphanumeric(),
        b"alpha" => b.is_ascii_alphabetic(),
        b"blank" => b == b' ' || b == b'\t',
        b"cntrl" => b.is_ascii_control(),
        b"digit" => b.is_ascii_digit(),
        b"graph" => b.is_ascii_graphic(),
        b"lower" => b.is_ascii_lowercase(),
        b"print" => b.is_ascii_graphic() || b == b' ',
        b"punct" => b.is_ascii_punctuation(),
        b"space" => matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c),
        b"upper" => b.is_ascii_uppercase(),
        b"xdigit" => b.is_ascii_hexdigit(),
        _ => false,
    }
}

/// The non-empty `/`-separated components of a path: `/a//b/` and `a/b` both give `a`, `b`.
fn components(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    path.split(|&b| b == b'/').filter(|c| !c.is_empty())
}

/// `pmatch` for one pattern path: its components are a prefix of the value's components. A
/// pattern component with `?`, `*` or `[` is matched with [`fnmatch`] against one value
/// component; any other must be equal.
pub fn path_prefix_match(pattern: &[u8], value: &[u8]) -> bool {
    let mut value = components(value);
    for pc in components(pattern) {
        let Some(vc) = value.next() else {
            return false;
        };
        let wild = pc.iter().any(|b| matches!(b, b'?' | b'*' | b'['));
        let ok = if wild {
            fnmatch(pc, vc, false)
        } else {
            pc == vc
        };
        if !ok {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(p: &str, t: &str) -> bool {
        fnmatch(p.as_bytes(), t.as_bytes(), false)
    }

    #[test]
    fn stars_cross_slashes_and_dots_are_plain() {
        assert!(g("*", ""));
        assert!(g("*", "/a/b"));
        assert!(g("/tmp/*", "/tmp/a/b/c"));
        assert!(g("*.txt", ".hidden.txt"));
        assert!(g("a*b*c", "aXXbYYc"));
        assert!(g("a*b*c", "abcbc"));
        assert!(!g("a*b*c", "abcb"));
        assert!(g("**x", "x"));
        assert!(!g("", "x"));
        assert!(g("", ""));
    }

    #[test]
    fn question_marks_are_single_bytes() {
        assert!(g("?", "a"));
        assert!(!g("?", ""));
        assert!(!g("?", "ab"));
        assert!(fnmatch(b"bad?", b"bad\xff", false));
        // A two-byte UTF-8 character is two bytes in the C locale.
        assert!(g("??", "é"));
        assert!(!g("?", "é"));
    }

    #[test]
    fn brackets() {
        assert!(g("[abc]", "b"));
        assert!(!g("[abc]", "d"));
        assert!(g("[!abc]", "d"));
        assert!(g("[^abc]", "d"));
        assert!(!g("[!abc]", "a"));
        assert!(g("[a-c]x", "bx"));
        assert!(!g("[a-c]x", "dx"));
        assert!(g("[]]", "]"));
        assert!(g("[!]]", "a"));
        assert!(!g("[!]]", "]"));
        assert!(g("[a-]", "-"));
        assert!(g("[[:digit:]]", "7"));
        assert!(!g("[[:digit:]]", "x"));
        assert!(g("[[:alpha:][:digit:]]", "x"));
        assert!(!g("[[:nosuch:]]", "x"));
        assert!(g("[\\]]", "]"));
        // Unterminated: the `[` is literal.
        assert!(g("[ab", "[ab"));
        assert!(!g("[ab", "a"));
        assert!(g("[/]", "/"));
    }

    #[test]
    fn escapes() {
        assert!(g("\\*", "*"));
        assert!(!g("\\*", "a"));
        assert!(g("a\\?", "a?"));
        assert!(!g("a\\", "a\\"));
        assert!(!g("a\\", "a"));
    }

    #[test]
    fn casefold_is_ascii() {
        assert!(fnmatch(b"MY*", b"myexe", true));
        assert!(!fnmatch(b"MY*", b"myexe", false));
        assert!(fnmatch(b"[A-C]", b"b", true));
        assert!(fnmatch(b"[a-c]", b"B", true));
        assert!(!fnmatch("É".as_bytes(), "é".as_bytes(), true));
    }

    #[test]
    fn pmatch_by_components() {
        let v = b"/opt/dir/subdir/file.txt";
        assert!(path_prefix_match(b"/opt/dir", v));
        assert!(path_prefix_match(b"/opt/dir/subdir", v));
        assert!(!path_prefix_match(b"/opt/dir2", v));
        assert!(!path_prefix_match(b"/opt/di", v));
        assert!(path_prefix_match(b"/opt/*/subdir", v));
        assert!(path_prefix_match(b"/opt/di[r]/subdir", v));
        assert!(!path_prefix_match(b"/opt/di[!r]/subdir", v));
        assert!(!path_prefix_match(b"/opt/*/*/subsubdir", v));
        assert!(path_prefix_match(b"opt//dir/", v));
        assert!(path_prefix_match(b"/", v));
        assert!(!path_prefix_match(b"/opt/dir/subdir/file.txt/x", v));
        assert!(path_prefix_match(b"/opt/dir/subdir/file.txt", v));
    }
}
