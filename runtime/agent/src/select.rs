//! Rule selection as Falco applies it after every rules file is loaded: the `rules:` entries of
//! the configuration (and `-o rules[]...`) in order, or the legacy `-D`/`-T`/`-t` flags, then the
//! `priority` threshold, which no selection can override.

use lanner_engine::ruleset::Priority;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectionOp {
    Enable,
    Disable,
}

/// One `rules:` operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    /// By name, Falco's wildcard pattern.
    Rule(SelectionOp, String),
    /// By tag, exact.
    Tag(SelectionOp, String),
}

/// The legacy command-line selection (`-D`, `-T`, `-t`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Legacy {
    /// `-D`: disable rules whose name contains the substring.
    pub disable_substrings: Vec<String>,
    /// `-T`: disable rules with the tag.
    pub disable_tags: Vec<String>,
    /// `-t`: disable everything, then enable rules with the tag.
    pub enable_tags: Vec<String>,
}

impl Legacy {
    pub fn is_empty(&self) -> bool {
        self.disable_substrings.is_empty()
            && self.disable_tags.is_empty()
            && self.enable_tags.is_empty()
    }
}

/// Why a selection cannot be applied; the wording is Falco's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    #[error("You can not specify both disabled (-D/-T) and enabled (-t) rules")]
    Mixed,
    #[error(
        "Specifying -D, -t, -T command line options together with \"rules:\" configuration or -o \"rules...\" is not supported."
    )]
    WithConfig,
}

/// Falco's priority names, case-insensitive, `info` included.
pub fn parse_priority(s: &str) -> Option<Priority> {
    Some(match s.to_ascii_lowercase().as_str() {
        "emergency" => Priority::Emergency,
        "alert" => Priority::Alert,
        "critical" => Priority::Critical,
        "error" => Priority::Error,
        "warning" => Priority::Warning,
        "notice" => Priority::Notice,
        "informational" | "info" => Priority::Informational,
        "debug" => Priority::Debug,
        _ => return None,
    })
}

/// Falco's `matches_wildcard`: only `*` is special, case-sensitive, a pattern without `*`
/// must be equal. Each literal piece is matched at its first occurrence without backtracking, so
/// `*ab` does not match `abab`.
pub fn matches_wildcard(pattern: &str, s: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == s;
    }
    let mut pos = 0usize;
    for (i, piece) in pattern.split('*').enumerate() {
        if piece.is_empty() {
            continue;
        }
        let Some(rest) = s.get(pos..) else {
            return false;
        };
        if i == 0 {
            if !rest.starts_with(piece) {
                return false;
            }
            pos += piece.len();
        } else {
            match rest.find(piece) {
                Some(k) => pos += k + piece.len(),
                None => return false,
            }
        }
    }
    pattern.ends_with('*') || pos == s.len()
}

/// A rule as selection sees it.
pub struct RuleView<'a> {
    pub name: &'a str,
    pub tags: &'a [String],
    pub priority: Priority,
    pub enabled: &'a mut bool,
}

/// What selection did, for the log lines Falco prints.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub messages: Vec<String>,
    /// Rules left out for being below the priority threshold.
    pub below_threshold: usize,
}

/// Applies `selections` (or the legacy flags) and then `threshold` to `rules`.
pub fn apply(
    rules: &mut [RuleView<'_>],
    selections: &[Selection],
    legacy: &Legacy,
    threshold: Priority,
) -> Result<Applied, SelectError> {
    let mut applied = Applied::default();
    if !legacy.is_empty() {
        if !selections.is_empty() {
            return Err(SelectError::WithConfig);
        }
        if !legacy.enable_tags.is_empty()
            && (!legacy.disable_substrings.is_empty() || !legacy.disable_tags.is_empty())
        {
            return Err(SelectError::Mixed);
        }
    }
    for s in &legacy.disable_substrings {
        applied
            .messages
            .push(format!("Disabling rules with name containing: {s}"));
        for r in rules.iter_mut() {
            if r.name.contains(s.as_str()) {
                *r.enabled = false;
            }
        }
    }
    for t in &legacy.disable_tags {
        applied
            .messages
            .push(format!("Disabling rules with tag: {t}"));
        for r in rules.iter_mut() {
            if r.tags.iter().any(|x| x == t) {
                *r.enabled = false;
            }
        }
    }
    if !legacy.enable_tags.is_empty() {
        // `-t`: everything off (the empty substring matches every name), then the tags on.
        for r in rules.iter_mut() {
            *r.enabled = false;
        }
        for t in &legacy.enable_tags {
            applied
                .messages
                .push(format!("Enabling rules with tag: {t}"));
            for r in rules.iter_mut() {
                if r.tags.iter().any(|x| x == t) {
                    *r.enabled = true;
                }
            }
        }
    }
    for s in selections {
        let (op, what, value) = match s {
            Selection::Rule(op, p) => (op, "name", p),
            Selection::Tag(op, t) => (op, "tag", t),
        };
        let verb = match op {
            SelectionOp::Enable => "Enabling",
            SelectionOp::Disable => "Disabling",
        };
        applied
            .messages
            .push(format!("{verb} rules with {what}: {value}"));
        for r in rules.iter_mut() {
            let hit = match s {
                Selection::Rule(_, p) => matches_wildcard(p, r.name),
                Selection::Tag(_, t) => r.tags.iter().any(|x| x == t),
            };
            if hit {
                *r.enabled = *op == SelectionOp::Enable;
            }
        }
    }
    // INVARIANT: a rule less severe than the threshold is never loaded, whatever enabled it.
    for r in rules.iter_mut() {
        if *r.enabled && r.priority > threshold {
            *r.enabled = false;
            applied.below_threshold += 1;
        }
    }
    Ok(applied)
}

/// Falco's priority numbers (0 = Emergency … 7 = Debug), in order.
const PRIORITIES: [Priority; 8] = [
    Priority::Emergency,
    Priority::Alert,
    Priority::Critical,
    Priority::Error,
    Priority::Warning,
    Priority::Notice,
    Priority::Informational,
    Priority::Debug,
];

/// The agent's one hook into rule loading: applies selection and threshold to the checked rules
/// before they are compiled, so deselected rules are never compiled in.
pub fn apply_to_checked(
    checked: &mut lanner_check::driver::Checked,
    selections: &[Selection],
    legacy: &Legacy,
    threshold: Priority,
) -> Result<Applied, SelectError> {
    let mut views: Vec<RuleView<'_>> = checked
        .resolved
        .rules
        .iter_mut()
        .map(|r| RuleView {
            name: &r.name,
            tags: &r.tags,
            priority: PRIORITIES
                .get(r.priority as usize)
                .copied()
                .unwrap_or(Priority::Debug),
            enabled: &mut r.enabled,
        })
        .collect();
    apply(&mut views, selections, legacy, threshold)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_as_falco() {
        for (p, s, want) in [
            ("*", "anything", true),
            ("abc", "abc", true),
            ("abc", "abcd", false),
            ("a*", "abc", true),
            ("*c", "abc", true),
            ("*b*", "abc", true),
            ("*ab", "abab", false),
            ("a*c", "abcbc", false),
            ("A*", "abc", false),
            ("a?c", "abc", false),
            ("Write below*", "Write below etc", true),
            ("*", "", true),
        ] {
            assert_eq!(matches_wildcard(p, s), want, "{p} on {s}");
        }
    }

    #[test]
    fn threshold_beats_enable() {
        let tags = vec!["t".to_string()];
        let mut a = false;
        let mut b = true;
        let mut rules = vec![
            RuleView {
                name: "a",
                tags: &tags,
                priority: Priority::Debug,
                enabled: &mut a,
            },
            RuleView {
                name: "b",
                tags: &[],
                priority: Priority::Error,
                enabled: &mut b,
            },
        ];
        let applied = apply(
            &mut rules,
            &[Selection::Tag(SelectionOp::Enable, "t".into())],
            &Legacy::default(),
            Priority::Warning,
        )
        .unwrap_or_default();
        assert_eq!(applied.below_threshold, 1);
        assert!(!a);
        assert!(b);
    }
}
