//! Reading a row's columns by position.
//!
//! rusqlite finds a column given by name by walking the statement's columns
//! and comparing each name: a page of 50 patients read that way made some
//! 17,000 name comparisons, about 13 % of the server's time for the page.
//! By position it is an index. The reader still names every column, and a
//! debug build (every test) checks the name against the statement, so a
//! `SELECT` and the code that reads it cannot drift apart unnoticed.

use rusqlite::types::FromSql;
use rusqlite::Row;

/// The columns of one row, taken in the order the `SELECT` lists them.
pub struct Columns<'r, 's> {
    row: &'r Row<'s>,
    next: usize,
}

impl<'r, 's> Columns<'r, 's> {
    pub fn of(row: &'r Row<'s>) -> Self {
        Self { row, next: 0 }
    }

    /// The next column, which the `SELECT` names `name`.
    pub fn take<T: FromSql>(&mut self, name: &str) -> rusqlite::Result<T> {
        let index = self.next;
        self.next += 1;
        debug_assert_eq!(
            self.row.as_ref().column_name(index).ok(),
            Some(name),
            "column {index} of the SELECT is not the one the reader takes"
        );
        self.row.get(index)
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::Columns;

    #[test]
    fn columns_are_taken_in_the_order_the_select_lists_them() {
        let conn = Connection::open_in_memory().expect("memory database");
        let (a, b): (i64, String) = conn
            .query_row("SELECT 1 AS a, 'two' AS b", [], |row| {
                let mut columns = Columns::of(row);
                Ok((columns.take("a")?, columns.take("b")?))
            })
            .expect("row");
        assert_eq!((a, b), (1, "two".to_owned()));
    }

    #[test]
    #[should_panic(expected = "is not the one the reader takes")]
    #[cfg(debug_assertions)]
    fn a_reader_out_of_step_with_its_select_is_caught() {
        let conn = Connection::open_in_memory().expect("memory database");
        let _ = conn.query_row("SELECT 1 AS a, 2 AS b", [], |row| {
            let mut columns = Columns::of(row);
            columns.take::<i64>("b")
        });
    }
}
