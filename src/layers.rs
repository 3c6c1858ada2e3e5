//! The crate's layers and the one rule between them: a module imports only
//! from its own layer or a lower one (the README's Development section has
//! the picture). The tests below read every file under `src/`, collect the
//! modules each names through `crate::…` (or `super::…` past its own
//! top-level module), and fail naming the file, the line and the import
//! that points up. A new top-level module fails them too until it is given
//! a layer in `LAYERS`, so the list cannot fall behind the code.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

/// Lowest first: each may import from itself and those before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Layer {
    /// Knows nothing of clinics: configuration, storage, HTTP plumbing.
    Base,
    /// Who is calling (`Caller`, roles, tokens, passwords).
    Identity,
    /// The audit trail, which records who did what: it names callers, so
    /// it sits just above them ("identity and trail" is one layer in the
    /// README's picture, with the trail on top).
    Trail,
    /// The clinic's records and the endpoints that serve them.
    Resources,
    /// Wires everything together; nothing imports it.
    Assembly,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Base => "base",
            Self::Identity => "identity",
            Self::Trail => "trail",
            Self::Resources => "resources",
            Self::Assembly => "assembly",
        })
    }
}

/// Every top-level module (a file or folder under `src/`) and its layer.
const LAYERS: &[(&str, Layer)] = &[
    ("config", Layer::Base),
    ("db", Layer::Base),
    ("error", Layer::Base),
    ("http", Layer::Base),
    ("origin", Layer::Base),
    ("tls", Layer::Base),
    ("lock", Layer::Base),
    ("telemetry", Layer::Base),
    ("front", Layer::Base),
    // Field rules (names, phones, dates) hold no record and no role.
    ("validation", Layer::Base),
    // The clinic's time zone is a setting's value; the module only does
    // time-zone arithmetic with it.
    ("clinic_time", Layer::Base),
    // Builds a list's WHERE clause from the table it is given.
    ("search", Layer::Base),
    // Counts failed sign-ins per address and subject; it needs no account.
    ("throttle", Layer::Base),
    ("cors", Layer::Base),
    ("ui", Layer::Base),
    ("auth", Layer::Identity),
    ("audit", Layer::Trail),
    // Signing in, out and one's own account: it reads accounts (`users`)
    // and the registration setting, and writes the trail.
    ("account", Layer::Resources),
    ("patients", Layer::Resources),
    ("doctors", Layer::Resources),
    ("mappings", Layer::Resources),
    ("appointments", Layer::Resources),
    // Doctors' weekly hours and time off.
    ("schedule", Layer::Resources),
    ("users", Layer::Resources),
    ("settings", Layer::Resources),
    ("backup", Layer::Resources),
    ("setup", Layer::Resources),
    // The documented request and error bodies: resources' wire types,
    // which handlers name in their `#[utoipa::path]`.
    ("body_schemas", Layer::Resources),
    // An endpoint like the resources', and it probes the settings table.
    ("health", Layer::Resources),
    ("server", Layer::Assembly),
    ("openapi", Layer::Assembly),
    ("cli", Layer::Assembly),
    ("service", Layer::Assembly),
    // Opens the browser at start-up, for `server` and `cli`.
    ("desktop", Layer::Assembly),
    ("lib", Layer::Assembly),
    ("main", Layer::Assembly),
    ("layers", Layer::Assembly),
];

fn layer_of(module: &str) -> Option<Layer> {
    LAYERS
        .iter()
        .find(|(name, _)| *name == module)
        .map(|(_, layer)| *layer)
}

/// One module a file names: the top-level module and where it is named.
#[derive(Debug, PartialEq, Eq)]
struct Reference {
    line: usize,
    target: String,
    /// The path as written, for the failure message (`crate::patients`).
    text: String,
}

/// A source file's top-level module and its module path: `db/schema.rs` is
/// in `db` at `db::schema`, `db/mod.rs` at `db`; `lib.rs` and `main.rs` are
/// crate roots (empty path).
fn module_of(relative: &Path) -> (String, Vec<String>) {
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
fn references(source: &str, module: &[String]) -> Vec<Reference> {
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

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// What is wrong with the file at `relative` (under `src/`) holding `source`.
fn problems(relative: &Path, source: &str) -> Vec<String> {
    let shown = Path::new("src").join(relative).display().to_string();
    let (top, module) = module_of(relative);
    let Some(own) = layer_of(&top) else {
        return vec![format!(
            "{shown}: module `{top}` has no layer; add it to LAYERS in src/layers.rs"
        )];
    };
    let mut problems = Vec::new();
    for reference in references(source, &module) {
        if reference.target == top {
            continue;
        }
        let line = reference.line;
        match layer_of(&reference.target) {
            None => problems.push(format!(
                "{shown}:{line}: `{}` names `{}`, which has no layer; add it to LAYERS in src/layers.rs",
                reference.text, reference.target
            )),
            Some(theirs) if theirs > own => problems.push(format!(
                "{shown}:{line}: {top} ({own}) imports `{}` ({theirs}): imports only point down",
                reference.text
            )),
            Some(_) => {}
        }
    }
    problems
}

#[test]
fn no_module_imports_from_a_higher_layer_and_every_module_has_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = rust_files(&src);
    assert!(files.len() > 30, "src/ was read: {} files", files.len());
    let mut found = Vec::new();
    for file in files {
        let source = fs::read_to_string(&file).expect("a source file");
        let relative = file.strip_prefix(&src).expect("under src/");
        found.extend(problems(relative, &source));
    }
    assert!(found.is_empty(), "\n{}\n", found.join("\n"));
}

#[test]
fn an_upward_import_and_an_unknown_module_are_named_with_their_line() {
    let source = "//! The pool.\n\nuse crate::error::ApiError;\nuse crate::patients::Patient;\n";
    assert_eq!(
        problems(Path::new("db/mod.rs"), source),
        ["src/db/mod.rs:4: db (base) imports `crate::patients` (resources): imports only point down"]
    );
    assert_eq!(
        problems(Path::new("invoices.rs"), ""),
        ["src/invoices.rs: module `invoices` has no layer; add it to LAYERS in src/layers.rs"]
    );
    let named = problems(Path::new("http.rs"), "fn f() { crate::invoices::total() }");
    assert_eq!(named.len(), 1);
    assert!(named[0].starts_with("src/http.rs:1: `crate::invoices` names `invoices`"));
}

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
