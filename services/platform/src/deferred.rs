//! Writes a transaction holds back and sends in one statement before it commits.
//!
//! What every call writes beside its change (its audit record, its events, the answer its
//! idempotency key remembers) is never read back by the transaction that writes it, so it need
//! not cost a round trip each: [`crate::db::TenantTx::defer_insert`] and
//! [`crate::db::TenantTx::defer`] keep those writes, and the commit sends them as one statement
//! of data-modifying CTEs before `COMMIT` (or [`crate::db::TenantTx::flush`] sends them
//! earlier). PostgreSQL runs the CTEs of one statement in no defined order, so the rows for
//! one table go in one INSERT, in the order they were deferred (the outbox's identity, which
//! orders a transaction's events for their subscribers, follows it).

use sqlx::Arguments;
use sqlx::error::BoxDynError;
use sqlx::postgres::PgArguments;

/// PostgreSQL's limit on one statement's parameters.
const MAX_PARAMETERS: usize = u16::MAX as usize;

/// The values of one deferred write, bound to its placeholders `$1..$n` in order: a tuple of
/// owned values (`(tenant_id, record_id, at)`).
pub trait Binds: Send + 'static {
    /// How many values, so how many placeholders the write's text numbers.
    fn count(&self) -> usize;
    /// Adds the values to a statement's arguments.
    fn add_to(self: Box<Self>, arguments: &mut PgArguments) -> Result<(), BoxDynError>;
}

macro_rules! tuple_binds {
    ($count:literal; $($name:ident),+) => {
        impl<$($name),+> Binds for ($($name,)+)
        where
            $($name: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + 'static),+
        {
            fn count(&self) -> usize {
                $count
            }

            #[allow(non_snake_case)]
            fn add_to(self: Box<Self>, arguments: &mut PgArguments) -> Result<(), BoxDynError> {
                let ($($name,)+) = *self;
                $(arguments.add($name)?;)+
                Ok(())
            }
        }
    };
}

tuple_binds!(1; A);
tuple_binds!(2; A, B);
tuple_binds!(3; A, B, C);
tuple_binds!(4; A, B, C, D);
tuple_binds!(5; A, B, C, D, E);
tuple_binds!(6; A, B, C, D, E, F);
tuple_binds!(7; A, B, C, D, E, F, G);
tuple_binds!(8; A, B, C, D, E, F, G, H);
tuple_binds!(9; A, B, C, D, E, F, G, H, I);
tuple_binds!(10; A, B, C, D, E, F, G, H, I, J);
tuple_binds!(11; A, B, C, D, E, F, G, H, I, J, K);
tuple_binds!(12; A, B, C, D, E, F, G, H, I, J, K, L);

/// One row's `VALUES` tuple (placeholders from `$1`) and its values.
struct Row {
    text: &'static str,
    binds: Box<dyn Binds>,
}

/// A held-back write: rows for one table's INSERT, or a whole statement.
enum Held {
    Insert {
        /// `table (columns)`, which further rows for it name.
        into: String,
        rows: Vec<Row>,
    },
    Statement {
        /// Its text, placeholders from `$1`.
        text: String,
        binds: Box<dyn Binds>,
    },
}

/// The writes a transaction holds back, in the order they were deferred.
#[derive(Default)]
pub struct Deferred {
    held: Vec<Held>,
}

impl std::fmt::Debug for Deferred {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Deferred")
            .field("statements", &self.held.len())
            .finish()
    }
}

/// A statement to send, with its arguments.
pub(crate) struct Statement {
    pub(crate) text: String,
    pub(crate) arguments: PgArguments,
}

impl Deferred {
    /// Holds back one row for `INSERT INTO {into}`: `row` is its `VALUES` tuple, numbering its
    /// placeholders from `$1` (`"($1, $2, now())"`), bound to `binds` in order.
    pub fn insert(&mut self, into: &str, row: &'static str, binds: impl Binds) {
        let row = Row {
            text: row,
            binds: Box::new(binds),
        };
        let same_table =
            |held: &&mut Held| matches!(held, Held::Insert { into: table, .. } if table == into);
        match self.held.iter_mut().find(same_table) {
            Some(Held::Insert { rows, .. }) => rows.push(row),
            _ => self.held.push(Held::Insert {
                into: into.to_owned(),
                rows: vec![row],
            }),
        }
    }

    /// Holds back a whole statement (`UPDATE ...`), its placeholders from `$1`.
    pub fn statement(&mut self, text: &str, binds: impl Binds) {
        self.held.push(Held::Statement {
            text: text.to_owned(),
            binds: Box::new(binds),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// The held writes as statements to send in order (one, unless they bind more values than
    /// a statement takes), leaving nothing held.
    pub(crate) fn take(&mut self) -> Result<Vec<Statement>, sqlx::Error> {
        let mut out = Statements::default();
        for held in std::mem::take(&mut self.held) {
            match held {
                Held::Insert { into, rows } => {
                    let head = format!("INSERT INTO {into} VALUES ");
                    let mut values = String::new();
                    for row in rows {
                        if !out.has_room_for(row.binds.as_ref()) {
                            if !values.is_empty() {
                                out.pieces.push(format!("{head}{values}"));
                                values.clear();
                            }
                            out.cut();
                        }
                        if !values.is_empty() {
                            values.push_str(", ");
                        }
                        let offset = out.bind(row.binds)?;
                        renumber(row.text, offset, &mut values);
                    }
                    if !values.is_empty() {
                        out.pieces.push(format!("{head}{values}"));
                    }
                }
                Held::Statement { text, binds } => {
                    if !out.has_room_for(binds.as_ref()) {
                        out.cut();
                    }
                    let offset = out.bind(binds)?;
                    let mut piece = String::new();
                    renumber(&text, offset, &mut piece);
                    out.pieces.push(piece);
                }
            }
        }
        out.cut();
        Ok(out.statements)
    }
}

/// The statements [`Deferred::take`] makes: those complete, and the pieces and values of the
/// one being filled.
#[derive(Default)]
struct Statements {
    statements: Vec<Statement>,
    pieces: Vec<String>,
    arguments: PgArguments,
}

impl Statements {
    fn has_room_for(&self, binds: &dyn Binds) -> bool {
        self.arguments.len() + binds.count() <= MAX_PARAMETERS
    }

    /// Adds a write's values; answers how many came before them (its placeholders' offset).
    fn bind(&mut self, binds: Box<dyn Binds>) -> Result<usize, sqlx::Error> {
        let offset = self.arguments.len();
        binds
            .add_to(&mut self.arguments)
            .map_err(sqlx::Error::Encode)?;
        Ok(offset)
    }

    /// Ends the statement being filled, if it has anything.
    fn cut(&mut self) {
        if self.pieces.is_empty() {
            return;
        }
        self.statements.push(Statement {
            text: compose(&std::mem::take(&mut self.pieces)),
            arguments: std::mem::take(&mut self.arguments),
        });
    }
}

/// One statement of the pieces: the last is the main statement, the others its CTEs.
fn compose(pieces: &[String]) -> String {
    let Some((last, ctes)) = pieces.split_last() else {
        return String::new();
    };
    if ctes.is_empty() {
        return last.clone();
    }
    let mut text = String::from("WITH ");
    for (n, piece) in ctes.iter().enumerate() {
        if n > 0 {
            text.push_str(", ");
        }
        text.push_str(&format!("deferred_{n} AS ({piece})"));
    }
    text.push(' ');
    text.push_str(last);
    text
}

/// Copies `text` to `out` with every placeholder `$k` written as `$(k + offset)`. The texts
/// are the platform's own, with no `$` but in placeholders.
fn renumber(text: &str, offset: usize, out: &mut String) {
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..=dollar]);
        rest = &rest[dollar + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        match rest[..digits].parse::<usize>() {
            Ok(number) => out.push_str(&(number + offset).to_string()),
            Err(_) => out.push_str(&rest[..digits]),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_after_the_values_before_them() {
        let mut out = String::new();
        renumber("($1, $2, now(), $10)", 3, &mut out);
        assert_eq!(out, "($4, $5, now(), $13)");
    }

    #[test]
    fn rows_for_one_table_go_in_one_insert_in_order_and_statements_become_ctes() {
        let mut deferred = Deferred::default();
        deferred.insert("s.outbox (a, b)", "($1, $2)", (1_i32, 2_i32));
        deferred.statement(
            "UPDATE s.keys SET response = $2 WHERE id = $1",
            (7_i32, 8_i32),
        );
        deferred.insert("audit.records (a)", "($1)", (3_i32,));
        deferred.insert("s.outbox (a, b)", "($1, $2)", (4_i32, 5_i32));
        let statements = deferred.take().expect("the values encode");
        assert!(deferred.is_empty());
        assert_eq!(statements.len(), 1);
        assert_eq!(
            statements[0].text,
            "WITH deferred_0 AS (INSERT INTO s.outbox (a, b) VALUES ($1, $2), ($3, $4)), \
             deferred_1 AS (UPDATE s.keys SET response = $6 WHERE id = $5) \
             INSERT INTO audit.records (a) VALUES ($7)"
        );
        assert_eq!(statements[0].arguments.len(), 7);
    }

    #[test]
    fn more_values_than_a_statement_takes_go_in_several_statements() {
        let mut deferred = Deferred::default();
        let rows = MAX_PARAMETERS / 3 + 10;
        for n in 0..rows {
            deferred.insert(
                "s.outbox (a, b, c)",
                "($1, $2, $3)",
                (n as i64, 0_i64, 0_i64),
            );
        }
        let statements = deferred.take().expect("the values encode");
        assert_eq!(statements.len(), 2);
        assert_eq!(statements[0].arguments.len(), MAX_PARAMETERS / 3 * 3);
        assert_eq!(statements[1].arguments.len(), 30);
        assert!(
            statements[1]
                .text
                .starts_with("INSERT INTO s.outbox (a, b, c) VALUES ($1, $2, $3), ($4")
        );
    }
}
