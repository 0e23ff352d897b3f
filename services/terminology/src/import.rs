//! Reading code systems from the formats they are published in: ClaML (the XML of WHO's
//! ICD-10 and of many national classifications) and CSV (ATC, LOINC extracts, national lists).
//! Parsing is pure; [`crate::TerminologyModule::import`] stores what it returns.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use crate::domain::{ImportedConcept, ImportedMapping, MapRelation, normalize_code};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("reading the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("not well-formed XML: {0}")]
    Xml(#[from] roxmltree::Error),
    #[error("not ClaML: {0}")]
    NotClaml(String),
    #[error("CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("line {line}: {reason}")]
    Line { line: u64, reason: String },
    #[error("code {code}: {reason}")]
    Concept { code: String, reason: String },
}

/// What a ClaML file holds: its title, version and classes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClamlDocument {
    /// `<Title name=".." version="..">text</Title>`.
    pub name: String,
    pub version: String,
    pub title: String,
    pub concepts: Vec<ImportedConcept>,
}

/// Classes of these kinds group codes; one does not diagnose with a chapter.
const GROUPING_KINDS: &[&str] = &["chapter", "block"];

/// Reads a ClaML document. Each `<Class>` becomes a concept: its code, its `kind`, its first
/// `<SuperClass>` as parent, its `preferred` rubric's label as display. A class is
/// selectable when it has no `<SubClass>` and is not a chapter or block (a three-character
/// ICD-10 category with four-character subdivisions is coded at the fourth character).
/// Modifiers (`<Modifier>`, `<ModifiedBy>`) are not expanded.
pub fn parse_claml(xml: &str) -> Result<ClamlDocument, ImportError> {
    let document = roxmltree::Document::parse_with_options(
        xml,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )?;
    let root = document.root_element();
    if root.tag_name().name() != "ClaML" {
        return Err(ImportError::NotClaml(format!(
            "the root element is <{}>, not <ClaML>",
            root.tag_name().name()
        )));
    }
    let title = root
        .children()
        .find(|node| node.has_tag_name("Title"))
        .ok_or_else(|| ImportError::NotClaml("no <Title>".to_owned()))?;
    let mut concepts = Vec::new();
    for class in root.children().filter(|node| node.has_tag_name("Class")) {
        let code = class
            .attribute("code")
            .ok_or_else(|| ImportError::NotClaml("a <Class> without a code".to_owned()))?;
        let code = normalize_code(code).map_err(|error| ImportError::Concept {
            code: code.to_owned(),
            reason: error.to_string(),
        })?;
        let kind = class.attribute("kind").unwrap_or_default().to_owned();
        let parent_code = class
            .children()
            .find(|node| node.has_tag_name("SuperClass"))
            .and_then(|node| node.attribute("code"))
            .map(normalize_code)
            .transpose()
            .map_err(|error| ImportError::Concept {
                code: code.clone(),
                reason: format!("superclass: {error}"),
            })?;
        let has_subclasses = class.children().any(|node| node.has_tag_name("SubClass"));
        let display = class
            .children()
            .filter(|node| node.has_tag_name("Rubric"))
            .find(|rubric| rubric.attribute("kind") == Some("preferred"))
            .and_then(|rubric| rubric.children().find(|node| node.has_tag_name("Label")))
            .map(|label| label_text(&label))
            .filter(|text| !text.is_empty())
            .ok_or_else(|| ImportError::Concept {
                code: code.clone(),
                reason: "no preferred label".to_owned(),
            })?;
        concepts.push(ImportedConcept {
            selectable: !has_subclasses && !GROUPING_KINDS.contains(&kind.as_str()),
            code,
            display,
            kind,
            parent_code,
        });
    }
    check_hierarchy(&concepts)?;
    Ok(ClamlDocument {
        name: title.attribute("name").unwrap_or_default().to_owned(),
        version: title.attribute("version").unwrap_or_default().to_owned(),
        title: label_text(&title),
        concepts,
    })
}

/// The text of a label with its mixed content (references, fragments) flattened, and
/// whitespace collapsed.
fn label_text(node: &roxmltree::Node<'_, '_>) -> String {
    let text: String = node
        .descendants()
        .filter(|descendant| descendant.is_text())
        .filter_map(|descendant| descendant.text())
        .collect::<Vec<_>>()
        .join(" ");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Reads concepts from CSV with a header naming its columns: `code` and `display` (required),
/// `parent_code`, `kind` and `selectable` (optional). Without a `parent_code` column, a code's
/// parent is the longest other code it starts with (ATC: `N02BE01` under `N02BE`). Without
/// `selectable`, the codes without children are selectable.
pub fn parse_concepts_csv(reader: impl Read) -> Result<Vec<ImportedConcept>, ImportError> {
    let mut csv = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(reader);
    let headers = csv.headers()?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|header| header.eq_ignore_ascii_case(name))
    };
    let (Some(code_column), Some(display_column)) = (column("code"), column("display")) else {
        return Err(ImportError::Line {
            line: 1,
            reason: "the header must name the columns `code` and `display`".to_owned(),
        });
    };
    let parent_column = column("parent_code");
    let kind_column = column("kind");
    let selectable_column = column("selectable");
    let mut concepts = Vec::new();
    let mut selectable_given = Vec::new();
    for record in csv.records() {
        let record = record?;
        let line = record
            .position()
            .map(|position| position.line())
            .unwrap_or(0);
        let field = |index: Option<usize>| {
            index
                .and_then(|index| record.get(index))
                .unwrap_or_default()
                .to_owned()
        };
        let code =
            normalize_code(&field(Some(code_column))).map_err(|error| ImportError::Line {
                line,
                reason: format!("code {error}"),
            })?;
        let display = field(Some(display_column));
        if display.is_empty() {
            return Err(ImportError::Line {
                line,
                reason: "display must not be empty".to_owned(),
            });
        }
        let parent = field(parent_column);
        let parent_code = if parent.is_empty() {
            None
        } else {
            Some(normalize_code(&parent).map_err(|error| ImportError::Line {
                line,
                reason: format!("parent_code {error}"),
            })?)
        };
        let selectable = match field(selectable_column).to_ascii_lowercase().as_str() {
            "" => None,
            "true" | "yes" | "1" | "y" => Some(true),
            "false" | "no" | "0" | "n" => Some(false),
            other => {
                return Err(ImportError::Line {
                    line,
                    reason: format!("selectable `{other}` is not true or false"),
                });
            }
        };
        selectable_given.push(selectable);
        concepts.push(ImportedConcept {
            code,
            display,
            kind: field(kind_column),
            parent_code,
            selectable: true,
        });
    }
    if parent_column.is_none() {
        infer_parents_by_prefix(&mut concepts);
    }
    let parents: HashSet<String> = concepts
        .iter()
        .filter_map(|concept| concept.parent_code.clone())
        .collect();
    for (concept, given) in concepts.iter_mut().zip(selectable_given) {
        concept.selectable = given.unwrap_or_else(|| !parents.contains(&concept.code));
    }
    check_hierarchy(&concepts)?;
    Ok(concepts)
}

/// Reads a map between two versions: columns `from_code`, `to_code` and, optionally,
/// `relation` (equivalent when absent).
pub fn parse_map_csv(reader: impl Read) -> Result<Vec<ImportedMapping>, ImportError> {
    let mut csv = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(reader);
    let headers = csv.headers()?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|header| header.eq_ignore_ascii_case(name))
    };
    let (Some(from_column), Some(to_column)) = (column("from_code"), column("to_code")) else {
        return Err(ImportError::Line {
            line: 1,
            reason: "the header must name the columns `from_code` and `to_code`".to_owned(),
        });
    };
    let relation_column = column("relation");
    let mut mappings = Vec::new();
    for record in csv.records() {
        let record = record?;
        let line = record
            .position()
            .map(|position| position.line())
            .unwrap_or(0);
        let field = |index: usize| record.get(index).unwrap_or_default();
        let invalid = |what: &str, error: &dyn std::fmt::Display| ImportError::Line {
            line,
            reason: format!("{what} {error}"),
        };
        mappings.push(ImportedMapping {
            from_code: normalize_code(field(from_column))
                .map_err(|error| invalid("from_code", &error))?,
            to_code: normalize_code(field(to_column))
                .map_err(|error| invalid("to_code", &error))?,
            relation: MapRelation::parse(relation_column.map(field).unwrap_or_default())
                .map_err(|error| invalid("relation", &error))?,
        });
    }
    Ok(mappings)
}

fn infer_parents_by_prefix(concepts: &mut [ImportedConcept]) {
    let codes: HashSet<String> = concepts
        .iter()
        .map(|concept| concept.code.clone())
        .collect();
    for concept in concepts.iter_mut() {
        concept.parent_code = (1..concept.code.len())
            .rev()
            .filter(|end| concept.code.is_char_boundary(*end))
            .map(|end| &concept.code[..end])
            .find(|prefix| codes.contains(*prefix))
            .map(str::to_owned);
    }
}

/// Codes are unique, parents exist, and no code is its own ancestor.
fn check_hierarchy(concepts: &[ImportedConcept]) -> Result<(), ImportError> {
    let mut parents: HashMap<&str, Option<&str>> = HashMap::with_capacity(concepts.len());
    for concept in concepts {
        if parents
            .insert(&concept.code, concept.parent_code.as_deref())
            .is_some()
        {
            return Err(ImportError::Concept {
                code: concept.code.clone(),
                reason: "appears twice".to_owned(),
            });
        }
    }
    for concept in concepts {
        let mut current = concept.parent_code.as_deref();
        let mut steps = 0;
        while let Some(parent) = current {
            let Some(next) = parents.get(parent) else {
                return Err(ImportError::Concept {
                    code: concept.code.clone(),
                    reason: format!("its parent {parent} is not in the file"),
                });
            };
            steps += 1;
            if parent == concept.code || steps > parents.len() {
                return Err(ImportError::Concept {
                    code: concept.code.clone(),
                    reason: "is its own ancestor".to_owned(),
                });
            }
            current = *next;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLAML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE ClaML SYSTEM "ClaML.dtd">
<ClaML version="2.0.0">
  <Title name="ICD-10" version="2019">International Classification of Diseases</Title>
  <Class code="X" kind="chapter">
    <SubClass code="J09-J18"/>
    <Rubric kind="preferred"><Label xml:lang="en">Diseases of the respiratory system</Label></Rubric>
  </Class>
  <Class code="J09-J18" kind="block">
    <SuperClass code="X"/>
    <SubClass code="J18"/>
    <Rubric kind="preferred"><Label xml:lang="en">Influenza and pneumonia</Label></Rubric>
  </Class>
  <Class code="J18" kind="category">
    <SuperClass code="J09-J18"/>
    <SubClass code="J18.1"/>
    <Rubric kind="preferred"><Label xml:lang="en">Pneumonia, organism unspecified</Label></Rubric>
    <Rubric kind="exclusion"><Label xml:lang="en">lung abscess (<Reference>J85.1</Reference>)</Label></Rubric>
  </Class>
  <Class code="J18.1" kind="category">
    <SuperClass code="J18"/>
    <Rubric kind="preferred"><Label xml:lang="en">Lobar pneumonia,
      unspecified &amp; <Fragment>other</Fragment></Label></Rubric>
  </Class>
</ClaML>"#;

    #[test]
    fn claml_classes_become_concepts_with_their_hierarchy() {
        let document = parse_claml(CLAML).expect("valid ClaML");
        assert_eq!(document.name, "ICD-10");
        assert_eq!(document.version, "2019");
        let codes: Vec<(&str, Option<&str>, bool)> = document
            .concepts
            .iter()
            .map(|c| (c.code.as_str(), c.parent_code.as_deref(), c.selectable))
            .collect();
        assert_eq!(
            codes,
            vec![
                ("X", None, false),
                ("J09-J18", Some("X"), false),
                ("J18", Some("J09-J18"), false),
                ("J18.1", Some("J18"), true),
            ]
        );
        assert_eq!(
            document.concepts[3].display,
            "Lobar pneumonia, unspecified & other"
        );
    }

    #[test]
    fn claml_with_a_missing_parent_is_refused() {
        let broken = CLAML.replace(r#"<SuperClass code="J18"/>"#, r#"<SuperClass code="J99"/>"#);
        assert!(matches!(
            parse_claml(&broken),
            Err(ImportError::Concept { code, .. }) if code == "J18.1"
        ));
    }

    #[test]
    fn csv_without_parents_infers_them_from_code_prefixes() {
        let csv = "code,display\nN,Nervous system\nN02,Analgesics\nN02B,Other analgesics\n\
                   N02BE,Anilides\nN02BE01,Paracetamol\n";
        let concepts = parse_concepts_csv(csv.as_bytes()).expect("valid CSV");
        let paracetamol = concepts.last().expect("five concepts");
        assert_eq!(paracetamol.parent_code.as_deref(), Some("N02BE"));
        assert!(paracetamol.selectable);
        assert!(!concepts[0].selectable, "a group with children");
    }

    #[test]
    fn csv_errors_name_the_line() {
        let csv = "code,display,parent_code\nA,Alpha,\nB,,A\n";
        match parse_concepts_csv(csv.as_bytes()) {
            Err(ImportError::Line { line, .. }) => assert_eq!(line, 3),
            other => panic!("expected a line error, got {other:?}"),
        }
    }

    #[test]
    fn maps_default_to_equivalent() {
        let csv = "from_code,to_code,relation\nA00,A00,\nB01,B01.9,narrower\n";
        let mappings = parse_map_csv(csv.as_bytes()).expect("valid map");
        assert_eq!(mappings[0].relation, MapRelation::Equivalent);
        assert_eq!(mappings[1].relation, MapRelation::Narrower);
    }
}
