//! "Did you mean" suggestions for misspelled keys and values.

/// The candidate closest to `word`, if it is close enough to be a plausible typo.
///
/// Comparison ignores ASCII case. The allowed distance grows with the word's length so that
/// short words only match a single slip while longer ones tolerate two or three.
pub(crate) fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = match word.chars().count() {
        0..=3 => 1,
        4..=8 => 2,
        _ => 3,
    };
    closest_within(word, candidates, limit)
}

/// The candidate closest to `word` within `limit` edits (ignoring ASCII case).
pub(crate) fn closest_within<'a>(
    word: &str,
    candidates: &[&'a str],
    limit: usize,
) -> Option<&'a str> {
    let word = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (strsim::osa_distance(&word, &c.to_ascii_lowercase()), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_are_found() {
        assert_eq!(
            closest("condtion", &["condition", "output"]),
            Some("condition")
        );
        assert_eq!(closest("outptu", &["condition", "output"]), Some("output"));
        assert_eq!(closest("WARNNG", &["warning", "error"]), Some("warning"));
        assert_eq!(closest("severity", &["rule", "priority", "desc"]), None);
    }
}
