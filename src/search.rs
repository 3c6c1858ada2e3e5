//! The `WHERE` clause of a list, built from the filters a request actually
//! gives.
//!
//! A catch-all clause such as `(:city IS NULL OR city = :city)` is one plan
//! for every request, and that plan cannot use an index; naming only the
//! filters present lets `SQLite` pick the index that fits each shape (the
//! live-record indexes, a user's own patients, the search index).
//! Free-text search goes through the table's trigram index
//! (`<table>_search`, migration 0008) for terms of three characters or more,
//! and scans `search_text` for shorter ones; both find the same rows.
//!
//! The index is joined rather than asked through `id IN (…)`: with the
//! subquery `SQLite` gathers every match before it can order them (a
//! common fragment such as "mar" is some 85,000 rows at 1,000,000
//! patients, ~20 ms), while the join walks the index in rowid order and
//! stops at the page's last row (~2 ms). [`Conditions::order_by`] orders by
//! that rowid.

use rusqlite::{Connection, ToSql};

use crate::db::{self, NamedValues};
use crate::error::ApiError;
use crate::http::Ordering;
use crate::validation;

/// A trigram index answers terms of at least this many characters.
const TRIGRAM: usize = 3;

/// The conditions of one list query and the values they bind.
pub struct Conditions<'a> {
    table: &'static str,
    /// The trigram index holds live records only: the archive is scanned.
    archived: bool,
    /// Whether the search joins the trigram index (see the module's note).
    joined: bool,
    clauses: Vec<String>,
    values: NamedValues<'a>,
}

impl<'a> Conditions<'a> {
    /// Live records of `table`, or only archived ones (an admin's
    /// `?archived=true`).
    pub fn new(table: &'static str, archived: bool) -> Self {
        let clause = if archived {
            "deleted_at IS NOT NULL"
        } else {
            "deleted_at IS NULL"
        };
        Self {
            archived,
            ..Self::with(table, clause)
        }
    }

    /// Rows of `table` (and whatever it is joined to) that meet `clause`, a
    /// condition without parameters.
    pub fn with(table: &'static str, clause: &str) -> Self {
        Self {
            table,
            archived: false,
            joined: false,
            clauses: vec![clause.to_owned()],
            values: Vec::new(),
        }
    }

    /// Adds `clause`, whose one parameter is `name`, when `value` is given.
    pub fn filter<T: ToSql + 'a>(
        &mut self,
        clause: &str,
        name: &'static str,
        value: Option<T>,
    ) -> &mut Self {
        if let Some(value) = value {
            self.clauses.push(clause.to_owned());
            self.values.push((name, Box::new(value)));
        }
        self
    }

    /// Literal substring search over `search_text` (which holds folded
    /// names and email, and phones with their digits, see
    /// [`crate::validation::search_text`]); the term is folded the same way
    /// ([`crate::validation::search_term`]).
    pub fn search(&mut self, term: Option<&str>) -> &mut Self {
        let Some(term) = term else {
            return self;
        };
        let term = validation::search_term(term);
        if indexed(&term) && !self.archived {
            self.joined = true;
            self.clauses
                .push(format!("{}_search MATCH :search", self.table));
            self.values.push((":search", Box::new(phrase(&term))));
        } else {
            self.clauses
                .push("search_text LIKE :search ESCAPE '\\'".to_owned());
            self.values
                .push((":search", Box::new(validation::like_pattern(&term))));
        }
        self
    }

    /// `WHERE …` (after the index's `JOIN` when a search uses it) for
    /// splicing after `FROM <table>`. Built only from the static clauses
    /// above: every value is a bound parameter.
    pub fn sql(&self) -> String {
        let table = self.table;
        let join = if self.joined {
            format!("JOIN {table}_search ON {table}_search.rowid = {table}.id ")
        } else {
            String::new()
        };
        format!("{join}WHERE {}", self.clauses.join(" AND "))
    }

    /// The `ORDER BY` body for `ordering`: by the joined index's rowid in
    /// place of the id when a search uses the index, so a page reads only
    /// as far as its last row.
    pub fn order_by(&self, ordering: Ordering) -> String {
        let table = self.table;
        if self.joined {
            ordering.sql_keyed(table, &format!("{table}_search.rowid"))
        } else {
            ordering.sql(table)
        }
    }

    /// Whether the search joins the trigram index (a page of it is read in
    /// the index's order already).
    pub fn joined(&self) -> bool {
        self.joined
    }

    /// The values, in the form rusqlite binds.
    pub fn values(&self) -> Vec<(&'static str, &dyn ToSql)> {
        db::bind(&self.values)
    }
}

/// How many live records of `table` match `term`, counted from the trigram
/// index alone (no row of the table is read); `None` for a term too short
/// for the index. Only for a search with no other condition.
pub fn count_matches(
    conn: &Connection,
    table: &'static str,
    term: &str,
) -> Result<Option<i64>, ApiError> {
    let term = validation::search_term(term);
    if !indexed(&term) {
        return Ok(None);
    }
    let count = conn
        .prepare_cached(&format!(
            "SELECT count(*) FROM {table}_search WHERE {table}_search MATCH ?1"
        ))?
        .query_row([phrase(&term)], |row| row.get(0))?;
    Ok(Some(count))
}

/// Whether the trigram index can answer `term` (lower-cased and trimmed).
fn indexed(term: &str) -> bool {
    term.chars().count() >= TRIGRAM
}

/// `term` as one FTS5 phrase: inside double quotes every character is
/// literal except `"`, which is doubled. A trigram phrase matches wherever
/// the term occurs as a substring.
fn phrase(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;

    #[test]
    fn phrases_double_their_quotes() {
        assert_eq!(phrase(r#"say "hi""#), r#""say ""hi""""#);
    }

    /// The index and the scan must find the same rows, for every kind of
    /// term: the search tests over HTTP only see one of them per term.
    #[test]
    fn the_trigram_index_and_the_scan_find_the_same_rows() {
        let conn = Connection::open_in_memory().expect("memory db");
        conn.execute_batch(
            "CREATE TABLE people (id INTEGER PRIMARY KEY, search_text TEXT NOT NULL, deleted_at TEXT);
             CREATE VIRTUAL TABLE people_search USING fts5(
                 search_text, content = 'people', content_rowid = 'id', tokenize = 'trigram');
             CREATE TRIGGER people_search_insert AFTER INSERT ON people BEGIN
                 INSERT INTO people_search (rowid, search_text) VALUES (new.id, new.search_text);
             END;",
        )
        .expect("schema");
        let texts = [
            "josé álvarez",
            "ada lovelace 555-0100 5550100",
            "o'brien \"the\" 100% under_score",
            "seán o'brien",
            "grace grace@navy.test",
        ];
        for text in texts {
            conn.execute(
                "INSERT INTO people (search_text) VALUES (?1)",
                [validation::fold(text)],
            )
            .expect("insert");
        }
        let mut ignored = crate::error::FieldErrors::default();
        let newest_first = Ordering::parse(Some("-id"), &[("id", "id")], &mut ignored);
        let ids_in = |conditions: &Conditions<'_>, order_by: &str| -> Vec<i64> {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT id FROM people {} ORDER BY {order_by}",
                    conditions.sql()
                ))
                .expect("prepare");
            stmt.query_map(conditions.values().as_slice(), |row| row.get(0))
                .expect("query")
                .collect::<Result<_, _>>()
                .expect("rows")
        };
        let ids = |conditions: &Conditions<'_>| ids_in(conditions, "id");
        for term in [
            "JOSÉ",
            "ÁLVAREZ",
            "ada lov",
            "555-0100",
            "navy.test",
            "o'brien",
            "\"the\"",
            "100%",
            "r_s",
            "der_",
            "e 555",
            "nobody",
        ] {
            let mut indexed = Conditions::new("people", false);
            indexed.search(Some(term));
            let mut scanned = Conditions::new("people", false);
            scanned
                .clauses
                .push("search_text LIKE :search ESCAPE '\\'".to_owned());
            scanned.values.push((
                ":search",
                Box::new(validation::like_pattern(&validation::search_term(term))),
            ));
            assert!(indexed.sql().contains("MATCH"), "{term:?} uses the index");
            let found = ids(&indexed);
            assert_eq!(found, ids(&scanned), "search {term:?}");
            let mut backwards = found.clone();
            backwards.reverse();
            assert_eq!(
                ids_in(&indexed, &indexed.order_by(newest_first)),
                backwards,
                "newest first by the index's rowid: {term:?}"
            );
            let counted = count_matches(&conn, "people", term).expect("count");
            assert_eq!(
                counted,
                i64::try_from(found.len()).ok(),
                "count of {term:?}"
            );
        }
        let expected_hits = [
            ("JOSÉ", vec![1]),
            ("o'brien", vec![3, 4]),
            ("nobody", vec![]),
        ];
        for (term, expected) in expected_hits {
            let mut indexed = Conditions::new("people", false);
            indexed.search(Some(term));
            assert_eq!(ids(&indexed), expected, "search {term:?}");
        }
    }
}
