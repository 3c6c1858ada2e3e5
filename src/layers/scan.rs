//! Reads a source file for the modules it names: every `crate::…` and
//! `super::…` path outside comments, strings and character literals, with
//! its line, resolved to the top-level module it reaches (through inline
//! `mod … { }` blocks too). A reader for the layer test, not a Rust parser:
//! it knows just enough of the lexer not to mistake a doc comment or an SQL
//! string for an import.

use std::path::Path;

/// One module a file names: the top-level module and where it is named.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Reference {
    pub line: usize,
    /// The top-level module the path reaches.
    pub target: String,
    /// The path as written, for the failure message (`crate::patients`).
    pub text: String,
}

/// A source file's top-level module and its module path: `db/schema.rs` is
/// in `db` at `db::schema`, `db/mod.rs` at `db`; `lib.rs` and `main.rs` are
/// crate roots (empty path).
pub(super) fn module_of(relative: &Path) -> (String, Vec<String>) {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.last_mut() {
        if let Some(stem) = last.strip_suffix(".rs") {
            *last = stem.to_owned();
        }
    }
    if parts.last().is_some_and(|last| last == "mod") {
        parts.pop();
    }
    let top = parts.first().cloned().unwrap_or_default();
    if parts.len() == 1 && (top == "lib" || top == "main") {
        return (top, Vec::new());
    }
    (top, parts)
}

/// `source` with comments, strings and character literals blanked out
/// (newlines kept, so line numbers stay right): a path in a doc comment
/// or an SQL string is not an import.
fn strip(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let blank = |out: &mut String, from: usize, to: usize| {
        for c in &chars[from..to.min(chars.len())] {
            out.push(if *c == '\n' { '\n' } else { ' ' });
        }
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let after_ident = i > 0 && is_ident(chars[i - 1]);
        let end = if c == '/' && next == Some('/') {
            chars[i..]
                .iter()
                .position(|c| *c == '\n')
                .map_or(chars.len(), |n| i + n)
        } else if c == '/' && next == Some('*') {
            block_comment_end(&chars, i)
        } else if c == '"' {
            string_end(&chars, i)
        } else if c == '\'' {
            char_end(&chars, i).unwrap_or(i)
        } else if !after_ident {
            prefixed_literal_end(&chars, i).unwrap_or(i)
        } else {
            i
        };
        if end > i {
            blank(&mut out, i, end);
            i = end;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Past a (nested) `/* … */` starting at `start`.
fn block_comment_end(chars: &[char], start: usize) -> usize {
    let mut depth = 0;
    let mut i = start;
    while i < chars.len() {
        match (chars[i], chars.get(i + 1)) {
            ('/', Some('*')) => {
                depth += 1;
                i += 2;
            }
            ('*', Some('/')) => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    chars.len()
}

/// Past the `"…"` whose opening quote is at `start`.
fn string_end(chars: &[char], start: usize) -> usize {
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    chars.len()
}

/// Past a character literal at `start` (`'a'`, `'{'`, `'\''`); `None` for
/// a lifetime (`'a`, `'static`).
fn char_end(chars: &[char], start: usize) -> Option<usize> {
    if chars.get(start + 1) == Some(&'\\') {
        let close = chars[start + 3..].iter().position(|c| *c == '\'')?;
        return Some(start + 3 + close + 1);
    }
    (chars.get(start + 2) == Some(&'\'')).then_some(start + 3)
}

/// Past a raw, byte or C string (`r#"…"#`, `b"…"`, `br"…"`, `c"…"`) or a
/// byte character (`b'x'`) starting at `start`.
fn prefixed_literal_end(chars: &[char], start: usize) -> Option<usize> {
    let mut i = start;
    let prefixed = matches!(chars.get(i), Some('b' | 'c'));
    if prefixed {
        i += 1;
    }
    match chars.get(i) {
        Some('r') => {
            let hashes = chars[i + 1..].iter().take_while(|c| **c == '#').count();
            let open = i + 1 + hashes;
            if chars.get(open) != Some(&'"') {
                return None;
            }
            let mut j = open + 1;
            while j < chars.len() {
                let closes = chars[j] == '"'
                    && chars[j + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|c| **c == '#')
                        .count()
                        == hashes;
                if closes {
                    return Some(j + 1 + hashes);
                }
                j += 1;
            }
            Some(chars.len())
        }
        Some('"') if prefixed => Some(string_end(chars, i)),
        Some('\'') if chars[start] == 'b' => char_end(chars, i),
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Ident(String),
    Colons,
    Open,
    Close,
    Other(char),
}

fn tokens(code: &str) -> Vec<(usize, Token)> {
    let chars: Vec<char> = code.chars().collect();
    let mut tokens = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if is_ident(c) {
            let len = chars[i..].iter().take_while(|c| is_ident(**c)).count();
            tokens.push((line, Token::Ident(chars[i..i + len].iter().collect())));
            i += len;
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            tokens.push((line, Token::Colons));
            i += 2;
        } else {
            let token = match c {
                '{' => Token::Open,
                '}' => Token::Close,
                other => Token::Other(other),
            };
            tokens.push((line, token));
            i += 1;
        }
    }
    tokens
}

fn is_ident_token(token: Option<&(usize, Token)>, name: &str) -> bool {
    matches!(token, Some((_, Token::Ident(ident))) if ident == name)
}

/// The first names of the path starting at `tokens[i]`: one name, or each
/// entry of a `{…}` group.
fn first_names(tokens: &[(usize, Token)], i: usize) -> Vec<String> {
    match tokens.get(i) {
        Some((_, Token::Ident(name))) => vec![name.clone()],
        Some((_, Token::Open)) => {
            let mut names = Vec::new();
            let mut depth = 0;
            let mut expecting = true;
            for (_, token) in &tokens[i..] {
                match token {
                    Token::Open => {
                        depth += 1;
                        expecting = depth == 1;
                    }
                    Token::Close => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    Token::Other(',') if depth == 1 => expecting = true,
                    Token::Ident(name) if expecting && depth == 1 => {
                        names.push(name.clone());
                        expecting = false;
                    }
                    _ => expecting = false,
                }
            }
            names
        }
        // `crate::*` or something stranger: named as is, so it is unknown.
        Some((_, token)) => vec![format!("{token:?}")],
        None => Vec::new(),
    }
}

/// Every top-level module that the file at `module` (its module path)
/// names through `crate::` or `super::`, its own included.
pub(super) fn references(source: &str, module: &[String]) -> Vec<Reference> {
    let tokens = tokens(&strip(source));
    let mut found = Vec::new();
    let mut depth = 0;
    // Inline `mod name { … }` blocks around the current token, with the
    // brace depth inside each.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let (line, token) = &tokens[i];
        let previous = i.checked_sub(1).map(|p| &tokens[p].1);
        let starts_path = !matches!(previous, Some(Token::Colons | Token::Other('$')));
        match token {
            Token::Open => depth += 1,
            Token::Close => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth -= 1;
            }
            Token::Ident(word)
                if word == "mod" && matches!(tokens.get(i + 2), Some((_, Token::Open))) =>
            {
                if let Some((_, Token::Ident(name))) = tokens.get(i + 1) {
                    inline.push((name.clone(), depth + 1));
                }
            }
            Token::Ident(word)
                if word == "crate"
                    && starts_path
                    && matches!(tokens.get(i + 1), Some((_, Token::Colons))) =>
            {
                for target in first_names(&tokens, i + 2) {
                    let text = format!("crate::{target}");
                    found.push(Reference {
                        line: *line,
                        target,
                        text,
                    });
                }
            }
            Token::Ident(word) if word == "super" && starts_path => {
                let mut ups = 0;
                let mut j = i;
                while is_ident_token(tokens.get(j), "super")
                    && matches!(tokens.get(j + 1), Some((_, Token::Colons)))
                {
                    ups += 1;
                    j += 2;
                }
                let mut here: Vec<String> = module.to_vec();
                here.extend(inline.iter().map(|(name, _)| name.clone()));
                let text = "super::".repeat(ups);
                if ups > 0 && ups >= here.len() {
                    // Up to the crate root: the next name is a top-level module.
                    for target in first_names(&tokens, j) {
                        let text = format!("{text}{target}");
                        found.push(Reference {
                            line: *line,
                            target,
                            text,
                        });
                    }
                } else if ups > 0 {
                    found.push(Reference {
                        line: *line,
                        target: here[0].clone(),
                        text,
                    });
                }
                i = j.max(i + 1);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_supers_and_inline_modules_resolve_to_the_module_they_name() {
        let module = |path: &str| module_of(Path::new(path)).1;
        let targets = |source: &str, at: &[String]| -> Vec<String> {
            references(source, at)
                .into_iter()
                .map(|r| r.target)
                .collect()
        };
        assert_eq!(
            targets("use crate::{auth::{Caller, Role}, db};", &module("http.rs")),
            ["auth", "db"]
        );
        assert_eq!(
            targets(
                "use super::super::patients::Patient;",
                &module("db/schema.rs")
            ),
            ["patients"]
        );
        assert_eq!(
            targets("use super::users;", &module("db/mod.rs")),
            ["users"]
        );
        assert_eq!(
            targets(
                "mod tests { use super::Paging; mod deeper { use super::super::Page; } }",
                &module("http.rs")
            ),
            ["http", "http"]
        );
        assert_eq!(
            targets("pub(crate) fn f() { $crate::x!(); }", &module("http.rs")),
            Vec::<String>::new()
        );
    }

    #[test]
    fn paths_in_comments_strings_and_characters_are_not_imports() {
        let source = [
            "//! See `crate::patients`.",
            "/* crate::doctors /* nested crate::users */ crate::mappings */",
            r#"const SQL: &str = "crate::settings";"#,
            "const RAW: &str = r#\"crate::backup \"quoted\"\"#;",
            r#"const BYTES: &[u8] = b"crate::setup";"#,
            "const BRACE: char = '{';",
            "fn f<'a>(x: &'a str) -> &'a str { x }",
            "use crate::db::Db;",
        ]
        .join("\n");
        let found = references(&source, &module_of(Path::new("http.rs")).1);
        assert_eq!(
            found,
            [Reference {
                line: 8,
                target: "db".into(),
                text: "crate::db".into()
            }]
        );
    }
}
