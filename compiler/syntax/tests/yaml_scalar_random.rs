//! Randomised source-map checks: random values are written in each scalar style (with random
//! escapes and line folding), loaded back, and every character of the decoded value must map to
//! exactly the file offset the writer put it at.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use lanner_syntax::yaml;

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// A document being written: the text, and for each value byte the file offset expected.
struct Writer {
    text: String,
    value: String,
    expected: Vec<usize>,
}

impl Writer {
    fn new(prefix: &str) -> Writer {
        Writer {
            text: prefix.to_string(),
            value: String::new(),
            expected: Vec::new(),
        }
    }
    /// Raw syntax that produces no value.
    fn raw(&mut self, s: &str) {
        self.text.push_str(s);
    }
    /// A value character produced by the text `s` written at the current position.
    fn produce(&mut self, c: char, s: &str) {
        let at = self.text.len();
        self.value.push(c);
        // Every byte of the character starts where its producing text starts; only the first
        // byte is checked.
        self.expected.push(at);
        for _ in 1..c.len_utf8() {
            self.expected.push(usize::MAX);
        }
        self.text.push_str(s);
    }
    /// A value character produced by text written earlier (a folded line break).
    fn produce_at(&mut self, c: char, at: usize) {
        self.value.push(c);
        self.expected.push(at);
    }
}

const WORDS: &[&str] = &[
    "evt.type",
    "=",
    "open",
    "proc.name",
    "in",
    "(a,",
    "b)",
    "é",
    "😀",
    "x#y",
    "a:b",
    "%f",
];

fn words(rng: &mut Rng, n: usize) -> Vec<&'static str> {
    (0..n).map(|_| WORDS[rng.below(WORDS.len())]).collect()
}

fn check(w: &Writer, style: &str) {
    let scalars = yaml::scalars(&w.text);
    let s = scalars
        .iter()
        .find(|s| s.value == w.value)
        .unwrap_or_else(|| {
            panic!(
                "{style}: value {:?} not found in {:?}\n{}",
                w.value,
                scalars.iter().map(|s| &s.value).collect::<Vec<_>>(),
                w.text
            )
        });
    for (off, &exp) in w.expected.iter().enumerate() {
        if exp == usize::MAX || !w.value.is_char_boundary(off) {
            continue;
        }
        assert_eq!(
            s.map.to_file(off),
            exp,
            "{style}: value offset {off} of {:?}\n{}",
            w.value,
            w.text
        );
    }
}

#[test]
fn plain_scalars() {
    let mut rng = Rng(0x1234_5678);
    for _ in 0..300 {
        let mut w = Writer::new("- k: ");
        let n = 1 + rng.below(8);
        let ws = words(&mut rng, n);
        for (i, word) in ws.iter().enumerate() {
            if i > 0 {
                if rng.chance(30) {
                    // Fold: trailing blanks, a break, maybe empty lines, indentation.
                    w.raw(if rng.chance(50) { "  " } else { "" });
                    let br = w.text.len();
                    w.raw("\n");
                    let empties = rng.below(3);
                    if empties == 0 {
                        w.produce_at(' ', br);
                    }
                    for _ in 0..empties {
                        w.raw("  ");
                        let at = w.text.len();
                        w.raw("\n");
                        w.produce_at('\n', at);
                    }
                    w.raw("    ");
                } else {
                    w.produce(' ', " ");
                }
            }
            // A plain scalar cannot start with `%`.
            let word = if i == 0 && word.starts_with('%') {
                "w"
            } else {
                word
            };
            for c in word.chars() {
                w.produce(c, &c.to_string());
            }
        }
        w.raw("\n");
        check(&w, "plain");
    }
}

fn random_text(rng: &mut Rng) -> Vec<char> {
    const CHARS: &[char] = &[
        'a', 'b', ' ', 'é', '😀', '\'', '"', '\\', '#', ':', '\t', '\n', 'z', ' ',
    ];
    (0..rng.below(30))
        .map(|_| CHARS[rng.below(CHARS.len())])
        .collect()
}

#[test]
fn double_quoted_scalars() {
    let mut rng = Rng(0x9e37_79b9);
    for _ in 0..400 {
        let chars = random_text(&mut rng);
        let mut w = Writer::new("- k: \"");
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            let prev = if i == 0 {
                None
            } else {
                chars.get(i - 1).copied()
            };
            let fold_ok = c == ' '
                && prev.is_some_and(|p| p != ' ' && p != '\t')
                && next.is_some_and(|n| n != ' ' && n != '\t' && n != '\n');
            if fold_ok && rng.chance(30) {
                let br = w.text.len();
                w.raw("\n    ");
                w.produce_at(' ', br);
                i += 1;
                continue;
            }
            // An escaped line break may go anywhere the next character is not a literal blank.
            if rng.chance(10) && !matches!(c, ' ' | '\t') {
                w.raw("\\\n      ");
            }
            match c {
                '"' => w.produce(c, "\\\""),
                '\\' => w.produce(c, "\\\\"),
                '\n' => w.produce(c, "\\n"),
                '\t' => w.produce(c, if rng.chance(50) { "\\t" } else { "\t" }),
                'é' if rng.chance(50) => {
                    w.produce(c, if rng.chance(50) { "\\u00e9" } else { "\\xe9" })
                }
                '😀' if rng.chance(50) => w.produce(c, "\\U0001F600"),
                ' ' if rng.chance(20) => w.produce(c, "\\ "),
                _ => w.produce(c, &c.to_string()),
            }
            i += 1;
        }
        w.raw("\"\n");
        // A literal tab or space right before an escaped break belongs to the value; one before
        // the closing quote too. Both are covered by the generator above.
        check(&w, "double-quoted");
    }
}

#[test]
fn single_quoted_scalars() {
    let mut rng = Rng(0xdead_beef);
    for _ in 0..400 {
        let chars: Vec<char> = random_text(&mut rng)
            .into_iter()
            .filter(|c| *c != '\t')
            .collect();
        let mut w = Writer::new("- k: '");
        for (i, &c) in chars.iter().enumerate() {
            let next = chars.get(i + 1).copied();
            let prev = if i == 0 {
                None
            } else {
                chars.get(i - 1).copied()
            };
            match c {
                '\'' => w.produce(c, "''"),
                '\n' => {
                    // A newline is written as an empty line; its break is the second one.
                    // Blanks around it would be stripped, so only use this between text.
                    if prev.is_some_and(|p| p != ' ') && next.is_some_and(|n| n != ' ' && n != '\n')
                    {
                        w.raw("\n");
                        let at = w.text.len();
                        w.raw("\n    ");
                        w.produce_at('\n', at);
                    } else {
                        w.produce('x', "x");
                    }
                }
                ' ' if prev.is_some_and(|p| p != ' ' && p != '\n')
                    && next.is_some_and(|n| n != ' ' && n != '\n')
                    && rng.chance(40) =>
                {
                    let br = w.text.len();
                    w.raw("\n    ");
                    w.produce_at(' ', br);
                }
                _ => w.produce(c, &c.to_string()),
            }
        }
        w.raw("'\n");
        check(&w, "single-quoted");
    }
}

#[test]
fn literal_block_scalars() {
    let mut rng = Rng(0x0bad_cafe);
    for _ in 0..300 {
        let chomp = ["", "-", "+"][rng.below(3)];
        let mut w = Writer::new(&format!("- k: |{chomp}\n"));
        let lines = 1 + rng.below(5);
        let mut pending: Vec<usize> = Vec::new();
        for l in 0..lines {
            let empty = l > 0 && rng.chance(25);
            if empty {
                let at = w.text.len();
                w.raw("\n");
                pending.push(at);
                continue;
            }
            for at in pending.drain(..) {
                w.produce_at('\n', at);
            }
            w.raw("    ");
            let extra = if l > 0 && rng.chance(30) { "  " } else { "" };
            for c in extra.chars() {
                w.produce(c, " ");
            }
            let n = 1 + rng.below(4);
            for (i, word) in words(&mut rng, n).iter().enumerate() {
                if i > 0 {
                    w.produce(' ', " ");
                }
                for c in word.chars() {
                    w.produce(c, &c.to_string());
                }
            }
            pending.push(w.text.len());
            w.raw("\n");
        }
        let trailing = rng.below(3);
        for _ in 0..trailing {
            pending.push(w.text.len());
            w.raw("\n");
        }
        match chomp {
            "-" => {}
            "+" => {
                for at in pending.drain(..) {
                    w.produce_at('\n', at);
                }
            }
            _ => {
                if let Some(&at) = pending.first() {
                    w.produce_at('\n', at);
                }
            }
        }
        w.raw("  next: x\n");
        check(&w, "literal");
    }
}

#[test]
fn folded_block_scalars() {
    let mut rng = Rng(0xf01d_ed00);
    for _ in 0..300 {
        let chomp = ["", "-", "+"][rng.below(3)];
        let mut w = Writer::new(&format!("- k: >{chomp}\n"));
        let lines = 1 + rng.below(6);
        // Breaks since the last text line: the one ending it, then one per empty line.
        let mut pending: Vec<usize> = Vec::new();
        let mut prev_spaced: Option<bool> = None;
        for l in 0..lines {
            if l > 0 && rng.chance(25) {
                let at = w.text.len();
                w.raw("\n");
                pending.push(at);
                continue;
            }
            let spaced = l > 0 && rng.chance(25);
            if prev_spaced == Some(false) && !spaced {
                // Folding: a lone break is a space, otherwise each empty line is a newline.
                if pending.len() == 1 {
                    w.produce_at(' ', pending[0]);
                } else {
                    for &at in &pending[1..] {
                        w.produce_at('\n', at);
                    }
                }
            } else {
                for &at in &pending {
                    w.produce_at('\n', at);
                }
            }
            pending.clear();
            w.raw("    ");
            if spaced {
                w.produce(' ', " ");
                w.produce(' ', " ");
            }
            let n = 1 + rng.below(4);
            for (i, word) in words(&mut rng, n).iter().enumerate() {
                if i > 0 {
                    w.produce(' ', " ");
                }
                for c in word.chars() {
                    w.produce(c, &c.to_string());
                }
            }
            pending.push(w.text.len());
            w.raw("\n");
            prev_spaced = Some(spaced);
        }
        for _ in 0..rng.below(3) {
            pending.push(w.text.len());
            w.raw("\n");
        }
        match chomp {
            "-" => {}
            "+" => {
                for at in pending.drain(..) {
                    w.produce_at('\n', at);
                }
            }
            _ => {
                if let Some(&at) = pending.first() {
                    w.produce_at('\n', at);
                }
            }
        }
        w.raw("  next: x\n");
        check(&w, "folded");
    }
}
