//! The starter set the demo loads and a new hospital can begin with: the parts of ICD-10
//! (WHO 2019), ACHI, ATC and LOINC a general hospital codes most, in this crate's `starter/`
//! folder. A hospital imports the full releases with `openhmis terminology import`.

use crate::CodeSystemImport;
use crate::domain::{SystemName, VersionName};
use crate::error::Error;
use crate::import::{ImportError, parse_concepts_csv};

/// (system, version, title, file name, contents)
const STARTER: &[(&str, &str, &str, &str, &str)] = &[
    (
        "icd10",
        "2019",
        "ICD-10 (WHO 2019), starter subset",
        "starter/icd10.csv",
        include_str!("../starter/icd10.csv"),
    ),
    (
        "achi",
        "11",
        "ACHI 11th edition, starter subset",
        "starter/achi.csv",
        include_str!("../starter/achi.csv"),
    ),
    (
        "atc",
        "2026",
        "ATC (WHO) 2026, starter subset",
        "starter/atc.csv",
        include_str!("../starter/atc.csv"),
    ),
    (
        "loinc",
        "2.80",
        "LOINC 2.80, starter subset",
        "starter/loinc.csv",
        include_str!("../starter/loinc.csv"),
    ),
];

/// The starter code systems, parsed.
pub fn code_systems() -> Result<Vec<CodeSystemImport>, Error> {
    STARTER
        .iter()
        .map(|(system, version, title, file, contents)| {
            let invalid = |what: &str| {
                Error::Import(ImportError::Concept {
                    code: (*file).to_owned(),
                    reason: format!("{what} is not valid"),
                })
            };
            Ok(CodeSystemImport {
                system: SystemName::parse(system).map_err(|_| invalid("the system name"))?,
                version: VersionName::parse(version).map_err(|_| invalid("the version"))?,
                title: (*title).to_owned(),
                source: (*file).to_owned(),
                make_default: false,
                concepts: parse_concepts_csv(contents.as_bytes())?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_starter_set_parses_and_holds_the_demo_codes() {
        let systems = super::code_systems().expect("starter set parses");
        let icd10 = &systems[0];
        for code in ["I21.0", "I50.0", "J18.9", "K35.8", "E11.9", "I63.9"] {
            let concept = icd10
                .concepts
                .iter()
                .find(|concept| concept.code == code)
                .expect("demo diagnosis in the starter set");
            assert!(concept.selectable, "{code} is a leaf");
        }
        let atc = &systems[2];
        let amoxicillin = atc
            .concepts
            .iter()
            .find(|concept| concept.code == "J01CA04")
            .expect("amoxicillin");
        assert_eq!(amoxicillin.parent_code.as_deref(), Some("J01CA"));
    }
}
