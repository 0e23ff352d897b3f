//! Where everything goes: a first pass lays the document out into pages of drawing operations
//! (so the page count is known), a second draws them with krilla.

use std::sync::LazyLock;

use krilla::Document;
use krilla::geom::{PathBuilder, Point};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::text::{Font, TextDirection};
use krilla::{paint::Stroke, surface::Surface};
use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};

use crate::{Block, Issue, Letterhead, PrintError, Printable, Table};

static REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// A4 in points (width, height).
pub const PAGE_SIZE: (f32, f32) = (595.28, 841.89);
const MARGIN: f32 = 50.0;
const TOP: f32 = 50.0;
/// The body ends here; the footer sits below.
const BOTTOM: f32 = PAGE_SIZE.1 - 62.0;
const BODY: f32 = 10.0;
const LINE: f32 = 13.0;
const CELL_PAD: f32 = 3.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Weight {
    Regular,
    Bold,
}

/// A face: krilla's font to draw with, its advance widths (per unit of size) to measure with.
struct Face {
    font: Font,
    widths: Vec<(char, f32)>,
    fallback: f32,
    charmap: skrifa::charmap::Charmap<'static>,
    metrics: skrifa::metrics::GlyphMetrics<'static>,
}

impl Face {
    fn load(data: &'static [u8]) -> Option<Self> {
        let font = Font::new(data.into(), 0)?;
        let face = FontRef::new(data).ok()?;
        let charmap = face.charmap();
        let metrics = face.glyph_metrics(Size::new(1.0), LocationRef::default());
        let mut this = Self {
            font,
            widths: Vec::new(),
            fallback: 0.6,
            charmap,
            metrics,
        };
        this.fallback = this.advance('x').unwrap_or(0.6);
        this.widths = (' '..='~')
            .map(|c| (c, this.advance(c).unwrap_or(this.fallback)))
            .collect();
        Some(this)
    }

    fn advance(&self, c: char) -> Option<f32> {
        self.charmap
            .map(c)
            .and_then(|glyph| self.metrics.advance_width(glyph))
    }

    fn width(&self, text: &str, size: f32) -> f32 {
        text.chars()
            .map(|c| {
                self.widths
                    .binary_search_by(|(known, _)| known.cmp(&c))
                    .map(|at| self.widths[at].1)
                    .ok()
                    .or_else(|| self.advance(c))
                    .unwrap_or(self.fallback)
            })
            .sum::<f32>()
            * size
    }
}

struct Faces {
    regular: Face,
    bold: Face,
}

impl Faces {
    fn get(&self, weight: Weight) -> &Face {
        match weight {
            Weight::Regular => &self.regular,
            Weight::Bold => &self.bold,
        }
    }
}

/// Loaded once; `None` only if the embedded fonts were unreadable (a broken build).
static FACES: LazyLock<Option<Faces>> = LazyLock::new(|| {
    Some(Faces {
        regular: Face::load(REGULAR)?,
        bold: Face::load(BOLD)?,
    })
});

/// What is drawn on a page.
enum Op {
    Text {
        x: f32,
        baseline: f32,
        size: f32,
        weight: Weight,
        text: String,
    },
    Rule {
        y: f32,
        from: f32,
        to: f32,
    },
}

/// Text without control characters (a tab or a stray escape prints as a space).
fn printable_text(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `text` broken into lines no wider than `width`: at spaces where it can, inside a word
/// that is longer than a line by itself. Newlines start new lines; an empty line is kept.
fn wrap(face: &Face, size: f32, text: &str, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let paragraph = printable_text(paragraph);
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if face.width(&candidate, size) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            if face.width(word, size) <= width {
                line = word.to_owned();
                continue;
            }
            for c in word.chars() {
                let mut longer = line.clone();
                longer.push(c);
                if !line.is_empty() && face.width(&longer, size) > width {
                    lines.push(std::mem::take(&mut line));
                    line.push(c);
                } else {
                    line = longer;
                }
            }
        }
        lines.push(line);
    }
    lines
}

struct Pages<'a> {
    faces: &'a Faces,
    pages: Vec<Vec<Op>>,
    y: f32,
    /// The table being drawn, whose header a new page repeats.
    header: Option<(Vec<f32>, Vec<String>)>,
}

impl<'a> Pages<'a> {
    fn new(faces: &'a Faces) -> Self {
        Self {
            faces,
            pages: vec![Vec::new()],
            y: TOP,
            header: None,
        }
    }

    fn width() -> f32 {
        PAGE_SIZE.0 - 2.0 * MARGIN
    }

    fn push(&mut self, op: Op) {
        if let Some(page) = self.pages.last_mut() {
            page.push(op);
        }
    }

    fn text(&mut self, x: f32, size: f32, weight: Weight, text: &str) {
        let baseline = self.y + size;
        self.push(Op::Text {
            x,
            baseline,
            size,
            weight,
            text: text.to_owned(),
        });
    }

    fn rule(&mut self, from: f32, to: f32) {
        let y = self.y;
        self.push(Op::Rule { y, from, to });
    }

    /// Room for `height` more points, or a new page (with the table's header again).
    fn ensure(&mut self, height: f32) {
        if self.y + height <= BOTTOM || self.y <= TOP {
            return;
        }
        self.pages.push(Vec::new());
        self.y = TOP;
        if let Some((widths, titles)) = self.header.clone() {
            self.table_header(&widths, &titles);
        }
    }

    fn lines(&mut self, x: f32, size: f32, weight: Weight, lines: &[String]) {
        for line in lines {
            self.ensure(size * 1.3);
            self.text(x, size, weight, line);
            self.y += size * 1.3;
        }
    }

    fn letterhead(&mut self, letterhead: &Letterhead, printable: &Printable) {
        let width = Self::width();
        let bold = &self.faces.bold;
        let facility = wrap(bold, 13.0, &letterhead.facility, width);
        self.lines(MARGIN, 13.0, Weight::Bold, &facility);
        for extra in [&letterhead.address, &letterhead.department] {
            if !extra.is_empty() {
                let lines = wrap(&self.faces.regular, 9.0, extra, width);
                self.lines(MARGIN, 9.0, Weight::Regular, &lines);
            }
        }
        self.y += 4.0;
        self.rule(MARGIN, PAGE_SIZE.0 - MARGIN);
        self.y += 14.0;
        let title = wrap(&self.faces.bold, 16.0, &printable.title, width);
        self.lines(MARGIN, 16.0, Weight::Bold, &title);
        if !printable.reference.is_empty() {
            let lines = wrap(&self.faces.regular, BODY, &printable.reference, width);
            self.lines(MARGIN, BODY, Weight::Regular, &lines);
        }
        self.y += 8.0;
    }

    fn heading(&mut self, text: &str) {
        self.y += 6.0;
        let lines = wrap(&self.faces.bold, 11.5, text, Self::width());
        // A heading is never the last line of a page.
        self.ensure(lines.len() as f32 * 15.0 + 4.0 + LINE);
        self.lines(MARGIN, 11.5, Weight::Bold, &lines);
        self.rule(MARGIN, PAGE_SIZE.0 - MARGIN);
        self.y += 4.0;
    }

    fn fields(&mut self, fields: &[crate::Field]) {
        let width = Self::width();
        let bold = &self.faces.bold;
        let label_width = fields
            .iter()
            .map(|field| bold.width(&format!("{}: ", printable_text(&field.label)), BODY))
            .fold(0.0_f32, f32::max)
            .min(width * 0.4);
        for field in fields {
            let labels = wrap(bold, BODY, &format!("{}:", field.label), label_width);
            let values = wrap(
                &self.faces.regular,
                BODY,
                &field.value,
                width - label_width - 4.0,
            );
            let rows = labels.len().max(values.len());
            for row in 0..rows {
                self.ensure(LINE);
                if let Some(label) = labels.get(row) {
                    self.text(MARGIN, BODY, Weight::Bold, label);
                }
                if let Some(value) = values.get(row) {
                    self.text(MARGIN + label_width + 4.0, BODY, Weight::Regular, value);
                }
                self.y += LINE;
            }
        }
        self.y += 4.0;
    }

    fn paragraph(&mut self, text: &str) {
        let lines = wrap(&self.faces.regular, BODY, text, Self::width());
        self.lines(MARGIN, BODY, Weight::Regular, &lines);
        self.y += 4.0;
    }

    fn table_header(&mut self, widths: &[f32], titles: &[String]) {
        let cells: Vec<Vec<String>> = titles
            .iter()
            .zip(widths)
            .map(|(title, width)| wrap(&self.faces.bold, 9.0, title, width - 2.0 * CELL_PAD))
            .collect();
        let rows = cells.iter().map(Vec::len).max().unwrap_or(1);
        self.row_lines(widths, &cells, Weight::Bold, rows);
        self.rule(MARGIN, PAGE_SIZE.0 - MARGIN);
        self.y += 2.0;
    }

    fn row_lines(&mut self, widths: &[f32], cells: &[Vec<String>], weight: Weight, rows: usize) {
        for row in 0..rows {
            self.ensure(LINE);
            let mut x = MARGIN;
            for (cell, width) in cells.iter().zip(widths) {
                if let Some(line) = cell.get(row) {
                    self.text(x + CELL_PAD, 9.0, weight, line);
                }
                x += width;
            }
            self.y += 12.0;
        }
    }

    fn table(&mut self, table: &Table) {
        let total: f32 = table.columns.iter().map(|c| c.share.max(0.1)).sum();
        let widths: Vec<f32> = table
            .columns
            .iter()
            .map(|column| Self::width() * column.share.max(0.1) / total)
            .collect();
        let titles: Vec<String> = table.columns.iter().map(|c| c.title.clone()).collect();
        self.ensure(3.0 * LINE);
        self.table_header(&widths, &titles);
        self.header = Some((widths.clone(), titles));
        for row in &table.rows {
            let cells: Vec<Vec<String>> = widths
                .iter()
                .enumerate()
                .map(|(at, width)| {
                    let text = row.get(at).map(String::as_str).unwrap_or("");
                    wrap(&self.faces.regular, 9.0, text, width - 2.0 * CELL_PAD)
                })
                .collect();
            let rows = cells.iter().map(Vec::len).max().unwrap_or(1);
            let height = rows as f32 * 12.0 + 3.0;
            // A row that fits on a page is kept on one.
            if height <= BOTTOM - TOP {
                self.ensure(height);
            }
            self.row_lines(&widths, &cells, Weight::Regular, rows);
            self.y += 3.0;
        }
        self.header = None;
        self.y += 6.0;
    }

    fn footers(&mut self, issue: &Issue) {
        let count = self.pages.len();
        let regular = &self.faces.regular;
        for (at, page) in self.pages.iter_mut().enumerate() {
            let counter = format!("page {} of {count}", at + 1);
            let counter_width = regular.width(&counter, 8.0);
            let said = format!(
                "Issued by {} · {} · document {}",
                issue.issued_by, issue.issued_at, issue.document
            );
            let said = wrap(regular, 8.0, &said, Pages::width() - counter_width - 12.0);
            let top = BOTTOM + 14.0;
            page.push(Op::Rule {
                y: top,
                from: MARGIN,
                to: PAGE_SIZE.0 - MARGIN,
            });
            for (line, text) in said.into_iter().enumerate() {
                page.push(Op::Text {
                    x: MARGIN,
                    baseline: top + 12.0 + line as f32 * 10.0,
                    size: 8.0,
                    weight: Weight::Regular,
                    text,
                });
            }
            page.push(Op::Text {
                x: PAGE_SIZE.0 - MARGIN - counter_width,
                baseline: top + 12.0,
                size: 8.0,
                weight: Weight::Regular,
                text: counter,
            });
        }
    }
}

fn draw(surface: &mut Surface<'_>, faces: &Faces, ops: &[Op]) {
    for op in ops {
        match op {
            Op::Text {
                x,
                baseline,
                size,
                weight,
                text,
            } => surface.draw_text(
                Point::from_xy(*x, *baseline),
                faces.get(*weight).font.clone(),
                *size,
                text,
                false,
                TextDirection::Auto,
            ),
            Op::Rule { y, from, to } => {
                let mut path = PathBuilder::new();
                path.move_to(*from, *y);
                path.line_to(*to, *y);
                if let Some(path) = path.finish() {
                    surface.set_fill(None);
                    surface.set_stroke(Some(Stroke {
                        width: 0.6,
                        ..Stroke::default()
                    }));
                    surface.draw_path(&path);
                    surface.set_stroke(None);
                    surface.set_fill(Some(krilla::paint::Fill::default()));
                }
            }
        }
    }
}

pub(crate) fn render(
    letterhead: &Letterhead,
    printable: &Printable,
    issue: &Issue,
) -> Result<Vec<u8>, PrintError> {
    let faces = FACES
        .as_ref()
        .ok_or_else(|| PrintError::Pdf("the embedded fonts are unreadable".to_owned()))?;
    let mut pages = Pages::new(faces);
    pages.letterhead(letterhead, printable);
    for block in &printable.blocks {
        match block {
            Block::Heading(text) => pages.heading(text),
            Block::Fields(fields) => pages.fields(fields),
            Block::Paragraph(text) => pages.paragraph(text),
            Block::Table(table) => pages.table(table),
        }
    }
    pages.footers(issue);
    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(printable.title.clone())
            .creator("OpenHMIS".to_owned()),
    );
    let settings = PageSettings::from_wh(PAGE_SIZE.0, PAGE_SIZE.1)
        .ok_or_else(|| PrintError::Pdf("the page size".to_owned()))?;
    for ops in &pages.pages {
        let mut page = document.start_page_with(settings.clone());
        let mut surface = page.surface();
        draw(&mut surface, faces, ops);
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|error| PrintError::Pdf(format!("{error:?}")))
}
