//! Python's notion of whitespace, so that `split()` / `strip()` / `re.sub(r"\s+", …)` in
//! the reference scorers and our ports cut text at the same places.
//!
//! `str.isspace()` (and `\s` in `re` patterns on `str`) is Rust's `char::is_whitespace`
//! plus the four ASCII information separators U+001C..U+001F.

/// Whitespace as Python's `str.isspace()` sees it.
pub fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `s.split()`: runs of whitespace separate tokens, no empty tokens.
pub fn py_split(s: &str) -> impl Iterator<Item = &str> {
    s.split(is_py_space).filter(|t| !t.is_empty())
}

/// `s.strip()`.
pub fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// `' '.join(s.split())`: one space between tokens, none at the ends.
pub fn collapse_spaces(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for token in py_split(s) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(token);
    }
    out
}

/// `' '.join(list(s))`: every character becomes a token — the character level of the
/// CSL-Daily papers (TwoStream `bleu(level='char')`). Spaces in `s` stay characters, so
/// `"a b"` becomes `"a   b"` exactly as in Python.
pub fn char_level(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for (i, c) in s.chars().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_whitespace() {
        assert!(is_py_space('\u{1f}'));
        assert!(is_py_space('\u{3000}'));
        assert!(is_py_space('\u{85}'));
        assert!(!is_py_space('\u{200b}'));
        let tokens: Vec<&str> = py_split(" a\u{1c}b\t\u{3000}c \r\n").collect();
        assert_eq!(tokens, ["a", "b", "c"]);
        assert_eq!(py_strip("\u{a0} x y \u{2028}"), "x y");
    }

    #[test]
    fn char_level_keeps_spaces_as_characters() {
        assert_eq!(char_level("他今年"), "他 今 年");
        assert_eq!(char_level("a b"), "a   b");
        assert_eq!(char_level(""), "");
    }
}
