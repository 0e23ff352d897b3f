//! The starter catalogue a new hospital's laboratory begins with (`starter/` of this crate):
//! its sections with the LOINC classes they take, the common tests of the starter LOINC
//! subset, and reference ranges following commonly published adult and neonatal intervals
//! (e.g. the MSD Manual's normal laboratory values, WHO's haemoglobin thresholds) with common
//! critical limits. A hospital replaces them with its own laboratory's validated ranges.

use crate::app::NewTest;
use crate::domain::{Measure, RangeSex, ReferenceRange, ResultKind};
use crate::store::SectionRow;

const SECTIONS: &str = include_str!("../starter/sections.csv");
const TESTS: &str = include_str!("../starter/tests.csv");
const RANGES: &str = include_str!("../starter/ranges.csv");

fn split(value: &str) -> Vec<String> {
    value
        .split('|')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(str::to_owned)
        .collect()
}

fn rows(text: &str) -> impl Iterator<Item = Vec<String>> + '_ {
    text.lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.split(',').map(|cell| cell.trim().to_owned()).collect())
}

fn limit(value: &str) -> Option<Measure> {
    (!value.is_empty())
        .then(|| Measure::parse(value).ok())
        .flatten()
}

/// The starter's sections and tests (ranges attached), as the catalogue stores them.
pub fn catalogue() -> (Vec<SectionRow>, Vec<NewTest>) {
    let sections = rows(SECTIONS)
        .map(|cells| SectionRow {
            code: cells[0].clone(),
            name: cells[1].clone(),
            loinc_classes: split(&cells[2]),
        })
        .collect();
    let ranges: Vec<(String, ReferenceRange)> = rows(RANGES)
        .map(|cells| {
            let sex = match cells[1].as_str() {
                "male" => RangeSex::Male,
                "female" => RangeSex::Female,
                _ => RangeSex::Any,
            };
            (
                cells[0].clone(),
                ReferenceRange {
                    sex,
                    age_from_days: cells[2].parse().unwrap_or_default(),
                    age_to_days: cells[3].parse().unwrap_or_default(),
                    low: limit(&cells[4]),
                    high: limit(&cells[5]),
                    critical_low: limit(&cells[6]),
                    critical_high: limit(&cells[7]),
                },
            )
        })
        .collect();
    let tests = rows(TESTS)
        .map(|cells| NewTest {
            code: cells[0].clone(),
            name: cells[1].clone(),
            section_code: cells[2].clone(),
            loinc_class: cells[3].clone(),
            specimen_type: cells[4].clone(),
            container: cells[5].clone(),
            kind: ResultKind::from_db(&cells[6]).unwrap_or(ResultKind::Text),
            unit: cells[7].clone(),
            ranges: ranges
                .iter()
                .filter(|(code, _)| code == &cells[0])
                .map(|(_, range)| range.clone())
                .collect(),
            answers: split(&cells[8]),
            normal_answers: split(&cells[9]),
            member_codes: split(&cells[10]),
            active: true,
            version: None,
        })
        .collect();
    (sections, tests)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_reads_whole_and_its_ranges_are_consistent() {
        let (sections, tests) = catalogue();
        assert_eq!(sections.len(), 5);
        assert_eq!(tests.len(), 15);
        for test in &tests {
            assert!(
                sections.iter().any(|s| s.code == test.section_code),
                "{} has no section",
                test.code
            );
            for range in &test.ranges {
                assert!(range.is_consistent(), "{}: {range:?}", test.code);
            }
            if test.kind == ResultKind::Numeric {
                assert!(!test.unit.is_empty(), "{} has no unit", test.code);
            }
        }
        let potassium = tests
            .iter()
            .find(|t| t.code == "2823-3")
            .expect("potassium");
        assert_eq!(potassium.ranges[0].text(), "3.5-5.1");
        let culture = tests.iter().find(|t| t.code == "600-7").expect("culture");
        assert_eq!(culture.normal_answers, vec!["No growth"]);
    }
}
