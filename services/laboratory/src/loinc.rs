//! Reading the official LOINC table file (`Loinc.csv` of the LOINC distribution): the active
//! terms of the classes the laboratory's sections take become tests of its catalogue, their
//! specimen and container told by the LOINC SYSTEM, their kind by SCALE_TYP and their unit by
//! EXAMPLE_UCUM_UNITS. Columns are found by their header's names, so releases that add
//! columns read the same. Ranges are the laboratory's own, set afterwards per test.

use std::io::Read;

use crate::app::NewTest;
use crate::domain::ResultKind;

#[derive(Debug, thiserror::Error)]
pub enum LoincError {
    #[error("CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("the file has no {0} column: is it LOINC's Loinc.csv?")]
    Column(&'static str),
    #[error("storing the tests: {0}")]
    Store(String),
}

/// The tube a LOINC SYSTEM is collected in.
fn tube(system: &str) -> (&'static str, &'static str) {
    match system {
        "Bld" | "Bld^Patient" => ("whole blood", "lavender top (EDTA)"),
        "Ser/Plas" | "Ser" | "Ser/Plas^Patient" => ("serum", "gold top (SST)"),
        "Plas" => ("plasma", "green top (heparin)"),
        "PPP" | "PPP^Patient" => ("citrated plasma", "light blue top (citrate)"),
        "Urine" | "Urine sed" => ("urine", "urine container"),
        "CSF" => ("cerebrospinal fluid", "sterile tube"),
        "Stool" => ("stool", "stool container"),
        "BldA" => ("arterial blood", "heparinised syringe"),
        _ => ("as the laboratory instructs", "as the laboratory instructs"),
    }
}

fn kind(scale: &str) -> Option<ResultKind> {
    match scale {
        "Qn" => Some(ResultKind::Numeric),
        "Ord" | "Nom" | "OrdQn" => Some(ResultKind::Coded),
        "Nar" | "Doc" => Some(ResultKind::Text),
        _ => None,
    }
}

/// The active tests of `classes` in a LOINC table file.
pub fn parse(file: impl Read, classes: &[String]) -> Result<Vec<NewTest>, LoincError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(file);
    let headers = reader.headers()?.clone();
    let column = |name: &'static str| {
        headers
            .iter()
            .position(|header| header == name)
            .ok_or(LoincError::Column(name))
    };
    let number = column("LOINC_NUM")?;
    let class = column("CLASS")?;
    let system = column("SYSTEM")?;
    let scale = column("SCALE_TYP")?;
    let status = column("STATUS")?;
    let name = column("LONG_COMMON_NAME")?;
    let unit = headers
        .iter()
        .position(|header| header == "EXAMPLE_UCUM_UNITS");
    let mut tests = Vec::new();
    for record in reader.records() {
        let record = record?;
        let field = |at: usize| record.get(at).unwrap_or_default().trim();
        if field(status) != "ACTIVE" || !classes.iter().any(|c| c == field(class)) {
            continue;
        }
        let Some(kind) = kind(field(scale)) else {
            continue;
        };
        let (specimen_type, container) = tube(field(system));
        let unit = unit
            .map(&field)
            .and_then(|units| units.split(';').next())
            .map(str::trim)
            .unwrap_or_default();
        let unit = match (kind, unit) {
            (ResultKind::Numeric, "") => "1".to_owned(),
            (ResultKind::Numeric, unit) => unit.to_owned(),
            _ => String::new(),
        };
        let long_name: String = field(name).chars().take(200).collect();
        tests.push(NewTest {
            code: field(number).to_owned(),
            name: long_name,
            section_code: String::new(),
            loinc_class: field(class).to_owned(),
            specimen_type: specimen_type.to_owned(),
            container: container.to_owned(),
            kind,
            unit,
            ranges: Vec::new(),
            member_codes: Vec::new(),
            answers: Vec::new(),
            normal_answers: Vec::new(),
            active: true,
            version: None,
        });
    }
    Ok(tests)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "\"LOINC_NUM\",\"COMPONENT\",\"PROPERTY\",\"TIME_ASPCT\",\"SYSTEM\",\"SCALE_TYP\",\"METHOD_TYP\",\"CLASS\",\"STATUS\",\"LONG_COMMON_NAME\",\"EXAMPLE_UCUM_UNITS\"
\"2823-3\",\"Potassium\",\"SCnc\",\"Pt\",\"Ser/Plas\",\"Qn\",\"\",\"CHEM\",\"ACTIVE\",\"Potassium [Moles/volume] in Serum or Plasma\",\"mmol/L\"
\"718-7\",\"Hemoglobin\",\"MCnc\",\"Pt\",\"Bld\",\"Qn\",\"\",\"HEM/BC\",\"ACTIVE\",\"Hemoglobin [Mass/volume] in Blood\",\"g/dL\"
\"1-8\",\"Acyclovir\",\"Susc\",\"Pt\",\"Isolate\",\"OrdQn\",\"\",\"ABXBACT\",\"ACTIVE\",\"Acyclovir [Susceptibility]\",\"\"
\"2000-0\",\"Calcium\",\"SCnc\",\"Pt\",\"Ser/Plas\",\"Qn\",\"\",\"CHEM\",\"DEPRECATED\",\"Calcium old\",\"mmol/L\"
\"5778-6\",\"Color\",\"Type\",\"Pt\",\"Urine\",\"Nom\",\"\",\"UA\",\"ACTIVE\",\"Color of Urine\",\"\"
";

    #[test]
    fn active_terms_of_the_sections_classes_become_tests() {
        let classes = vec!["CHEM".to_owned(), "UA".to_owned()];
        let tests = parse(TABLE.as_bytes(), &classes).expect("parses");
        let codes: Vec<&str> = tests.iter().map(|test| test.code.as_str()).collect();
        assert_eq!(codes, vec!["2823-3", "5778-6"]);
        assert_eq!(tests[0].unit, "mmol/L");
        assert_eq!(tests[0].kind, ResultKind::Numeric);
        assert_eq!(tests[0].specimen_type, "serum");
        assert_eq!(tests[1].kind, ResultKind::Coded);
        assert_eq!(tests[1].container, "urine container");
    }

    #[test]
    fn a_file_without_loinc_columns_is_refused() {
        let error = parse("code,name\n1,x\n".as_bytes(), &[]).expect_err("not LOINC");
        assert!(error.to_string().contains("LOINC_NUM"));
    }
}
