//! The crate's layers and the one rule between them: a module imports only
//! from its own layer or a lower one (the README's Development section has
//! the picture). The tests below read every file under `src/`, collect the
//! modules each names through `crate::…` (or `super::…` past its own
//! top-level module), and fail naming the file, the line and the import
//! that points up. A new top-level module fails them too until it is given
//! a layer in `LAYERS`, so the list cannot fall behind the code. (The
//! reading of each file is `scan.rs`.)

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use self::scan::{module_of, references};

mod scan;

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
    ("standby", Layer::Base),
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
    // Loading a whole-clinic document's rows: checks and a problem list
    // every resource's import shares; it names no resource.
    ("records", Layer::Base),
    ("auth", Layer::Identity),
    ("audit", Layer::Trail),
    // Signing in, out and one's own account: it reads accounts (`users`)
    // and the registration setting, and writes the trail.
    ("account", Layer::Resources),
    ("patients", Layer::Resources),
    ("doctors", Layer::Resources),
    ("mappings", Layer::Resources),
    ("merge", Layer::Resources),
    ("appointments", Layer::Resources),
    // FHIR's view of patients, doctors and appointments, read through
    // their owners' root functions.
    ("fhir", Layer::Resources),
    // Doctors' weekly hours and time off.
    ("schedule", Layer::Resources),
    ("users", Layer::Resources),
    ("settings", Layer::Resources),
    ("backup", Layer::Resources),
    ("setup", Layer::Resources),
    // An endpoint like the resources', and it probes the settings table.
    ("health", Layer::Resources),
    // Names for the audit screen: asks patients, doctors and users, which
    // `audit` (below them) cannot.
    ("record_names", Layer::Resources),
    // The whole clinic out and back in: it asks every resource for its rows.
    ("exchange", Layer::Resources),
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
            "{shown}: module `{top}` has no layer; add it to LAYERS in src/layers/mod.rs"
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
                "{shown}:{line}: `{}` names `{}`, which has no layer; add it to LAYERS in src/layers/mod.rs",
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
        ["src/invoices.rs: module `invoices` has no layer; add it to LAYERS in src/layers/mod.rs"]
    );
    let named = problems(Path::new("http.rs"), "fn f() { crate::invoices::total() }");
    assert_eq!(named.len(), 1);
    assert!(named[0].starts_with("src/http.rs:1: `crate::invoices` names `invoices`"));
}
