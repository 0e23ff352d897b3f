//! Printing: a document laid out on A4 pages under the facility's letterhead and rendered as a
//! PDF by krilla, with DejaVu Sans embedded (subset to the glyphs used), so Romanian diacritics
//! (ă, â, î, ș, ț) and Cyrillic print the same on every machine and a reader extracts the text.
//!
//! The modules that own the data say what a document holds ([`Printable`]: headings, fields,
//! paragraphs, tables); this crate decides where it goes on the page: lines broken at word
//! boundaries by the glyphs' advance widths, tables whose rows never split across pages and
//! whose header is repeated on each, and a footer on every page naming the issuer, the time,
//! the archive's document id and "page n of m". Rendering is pure: the same input gives the
//! same bytes.

mod layout;

use uuid::Uuid;

pub use layout::PAGE_SIZE;

/// Who issues: the facility's letterhead at the top of the first page.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Letterhead {
    /// The facility's name.
    pub facility: String,
    /// Its postal address; may be empty.
    pub address: String,
    /// The ward or department issuing, when one does; may be empty.
    pub department: String,
}

/// What a printed document holds, in reading order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Printable {
    /// The document's title, e.g. "Medical extract".
    pub title: String,
    /// Its number or reference under the title (e.g. "SL-2026 no. 14"); may be empty.
    pub reference: String,
    pub blocks: Vec<Block>,
}

/// One part of a document.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A section's heading.
    Heading(String),
    /// Labelled values, one a line ("Patient: ...").
    Fields(Vec<Field>),
    /// Running text; a newline starts a new line.
    Paragraph(String),
    /// Rows under titled columns.
    Table(Table),
}

/// A labelled value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub label: String,
    pub value: String,
}

impl Field {
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            value: value.into(),
        }
    }
}

/// A table: each row has a cell a column (missing cells print empty, extra ones are dropped).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<String>>,
}

/// A table's column: its title and its share of the width (relative to the other columns).
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub title: String,
    pub share: f32,
}

impl Column {
    pub fn new(title: impl Into<String>, share: f32) -> Self {
        Self {
            title: title.into(),
            share,
        }
    }
}

impl Printable {
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            ..Self::default()
        }
    }

    pub fn reference(mut self, reference: impl Into<String>) -> Self {
        self.reference = reference.into();
        self
    }

    pub fn heading(&mut self, text: impl Into<String>) -> &mut Self {
        self.blocks.push(Block::Heading(text.into()));
        self
    }

    pub fn fields(&mut self, fields: Vec<Field>) -> &mut Self {
        self.blocks.push(Block::Fields(fields));
        self
    }

    pub fn paragraph(&mut self, text: impl Into<String>) -> &mut Self {
        self.blocks.push(Block::Paragraph(text.into()));
        self
    }

    pub fn table(&mut self, columns: Vec<Column>, rows: Vec<Vec<String>>) -> &mut Self {
        self.blocks.push(Block::Table(Table { columns, rows }));
        self
    }
}

/// What every page's footer says of the issue.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Issue {
    /// The issuing person, as printed (name and registration number).
    pub issued_by: String,
    /// When, as printed (the facility's local time).
    pub issued_at: String,
    /// The archive's id of the document, so a reader can ask for its verification.
    pub document: String,
}

/// A document laid out by the module that owns its data, and where the archive files it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Printed {
    pub printable: Printable,
    /// The patient it is about; none for a facility's document (a ward's order, a report).
    pub patient_id: Option<Uuid>,
    /// The facility and ward whose staff reach it (the facility from the ward when unsaid).
    pub facility_id: Option<Uuid>,
    pub department_id: Option<Uuid>,
    pub admission_id: Option<Uuid>,
    pub encounter_id: Option<Uuid>,
    /// What it was printed from (an encounter's, a certificate's id; a ward and period).
    pub source_id: String,
}

/// Why a document could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    /// The PDF writer refused (a bug of ours or of the writer; never the content's fault).
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
}

/// Renders `printable` under `letterhead` as a PDF, every page footed with `issue`.
pub fn render(
    letterhead: &Letterhead,
    printable: &Printable,
    issue: &Issue,
) -> Result<Vec<u8>, PrintError> {
    layout::render(letterhead, printable, issue)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(rows: usize) -> Printable {
        let mut printable = Printable::new("Extras medical").reference("ME-2026 nr. 7");
        printable
            .fields(vec![
                Field::new("Pacient", "Ștefănescu Țuică Ioana-Mărioara"),
                Field::new("Диагноз", "J18.9 Пневмония, неуточнённая"),
            ])
            .heading("Tratament")
            .paragraph("Amoxicilină 500 mg de 3 ori pe zi.\nControl peste 7 zile.")
            .table(
                vec![
                    Column::new("Medicament", 3.0),
                    Column::new("Cantitate", 1.0),
                ],
                (0..rows)
                    .map(|row| vec![format!("Paracetamol comprimate {row}"), format!("{row}")])
                    .collect(),
            );
        printable
    }

    fn issue() -> Issue {
        Issue {
            issued_by: "Dr. Ion Bălan".to_owned(),
            issued_at: "2026-12-06 10:15".to_owned(),
            document: "0193-abcd".to_owned(),
        }
    }

    fn letterhead() -> Letterhead {
        Letterhead {
            facility: "Spitalul Clinic Republican „Timofei Moșneaga”".to_owned(),
            address: "str. Nicolae Testemițanu 29, Chișinău".to_owned(),
            department: "Secția Terapie".to_owned(),
        }
    }

    #[test]
    fn the_text_reads_back_with_its_diacritics_and_cyrillic() {
        let pdf = render(&letterhead(), &sample(3), &issue()).expect("renders");
        let text = pdf_extract::extract_text_from_mem(&pdf).expect("reads back");
        for expected in [
            "Ștefănescu Țuică Ioana-Mărioara",
            "J18.9 Пневмония",
            "Timofei Moșneaga",
            "Dr. Ion Bălan",
            "Control peste 7 zile.",
            "page 1 of 1",
        ] {
            assert!(text.contains(expected), "{expected:?} not in {text:?}");
        }
    }

    #[test]
    fn a_long_table_runs_onto_more_pages_with_its_header_and_the_count() {
        let pdf = render(&letterhead(), &sample(120), &issue()).expect("renders");
        let text = pdf_extract::extract_text_from_mem(&pdf).expect("reads back");
        assert!(text.contains("page 3 of 3"), "{text}");
        assert!(!text.contains("page 4"), "{text}");
        assert_eq!(
            text.matches("Medicament").count(),
            3,
            "the header on every page"
        );
        assert!(text.contains("Paracetamol comprimate 119"));
    }

    #[test]
    fn rendering_is_pure() {
        let once = render(&letterhead(), &sample(10), &issue()).expect("renders");
        let again = render(&letterhead(), &sample(10), &issue()).expect("renders");
        assert_eq!(once, again);
    }

    #[test]
    fn a_word_longer_than_the_line_is_broken_not_lost() {
        let mut printable = Printable::new("Note");
        let word = "x".repeat(400);
        printable.paragraph(word.clone());
        let pdf = render(&letterhead(), &printable, &issue()).expect("renders");
        let text = pdf_extract::extract_text_from_mem(&pdf).expect("reads back");
        let xs: usize = text.chars().filter(|c| *c == 'x').count();
        assert_eq!(xs, 400);
    }
}
