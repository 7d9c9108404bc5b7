//! The hand-written `fnmatch` against the C library's, on many generated patterns and texts.
//!
//! Falco calls glibc's `fnmatch(pattern, value, 0)` (or `FNM_CASEFOLD` for `iglob`) in the C
//! locale. A test process never calls `setlocale`, so it runs in the C locale too, and the
//! two implementations must agree byte for byte. Patterns and texts are drawn from a small
//! alphabet rich in special bytes, so that stars, classes, ranges, negations, escapes and
//! unterminated brackets meet often.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::ffi::CString;

use lanner_engine::glob::fnmatch;

/// glibc's verdict.
fn libc_fnmatch(pattern: &[u8], text: &[u8], casefold: bool) -> bool {
    let p = CString::new(pattern).unwrap();
    let t = CString::new(text).unwrap();
    let flags = if casefold { libc::FNM_CASEFOLD } else { 0 };
    // SAFETY: both pointers are valid NUL-terminated strings that outlive the call.
    unsafe { libc::fnmatch(p.as_ptr(), t.as_ptr(), flags) == 0 }
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn string(&mut self, alphabet: &[u8], max: usize) -> Vec<u8> {
        let len = self.below(max + 1);
        (0..len)
            .map(|_| alphabet[self.below(alphabet.len())])
            .collect()
    }
}

#[test]
fn agrees_with_glibc() {
    const PATTERN: &[u8] = b"ab/*?[]!^-\\.:Aa";
    const TEXT: &[u8] = b"abAB/.-]![\\:*?\xff";
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut disagreements = Vec::new();
    let mut matches = 0usize;
    for _ in 0..200_000 {
        let pattern = rng.string(PATTERN, 8);
        let text = rng.string(TEXT, 6);
        for casefold in [false, true] {
            let ours = fnmatch(&pattern, &text, casefold);
            let theirs = libc_fnmatch(&pattern, &text, casefold);
            matches += usize::from(theirs);
            if ours != theirs && disagreements.len() < 20 {
                disagreements.push(format!(
                    "pattern {:?} text {:?} casefold {casefold}: ours {ours}, glibc {theirs}",
                    String::from_utf8_lossy(&pattern),
                    String::from_utf8_lossy(&text)
                ));
            }
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    // The generator must produce matches often enough for the comparison to mean something.
    assert!(matches > 10_000, "only {matches} matches");
}

#[test]
fn agrees_with_glibc_on_classes() {
    let patterns: &[&[u8]] = &[
        b"[[:alpha:]]*",
        b"[[:digit:][:upper:]]?",
        b"[![:space:]]",
        b"[[:punct:]]",
        b"[[:alnum:]_]*",
        b"[[:nosuch:]]",
        b"[[:alpha:]",
        b"[[:alpha]]",
        b"[a-]",
        b"[]-a]",
        b"[z-a]",
        b"[\\]]",
        b"[\\\\]",
        b"[!]",
        b"[]",
        b"\\",
        b"a\\",
        b"[a\\",
    ];
    let texts: &[&[u8]] = &[
        b"a", b"Z", b"7", b" ", b"_", b"-", b"]", b"\\", b"!", b"[", b"x9", b"", b"\xff", b"a\\",
    ];
    for &p in patterns {
        for &t in texts {
            for casefold in [false, true] {
                assert_eq!(
                    fnmatch(p, t, casefold),
                    libc_fnmatch(p, t, casefold),
                    "pattern {:?} text {:?} casefold {casefold}",
                    String::from_utf8_lossy(p),
                    String::from_utf8_lossy(t)
                );
            }
        }
    }
}
