//! A table-driven DRG grouper after the logic of CMS's MS-DRG (v43, FY 2026): the principal
//! diagnosis gives the major diagnostic category (MDC) and a medical family; an
//! operating-room procedure of that MDC makes the case surgical (its family), one of another
//! MDC makes it "unrelated O.R."; the highest complication level among the secondary
//! diagnoses (MCC over CC over none; one of the principal's own category does not count)
//! picks the DRG within the family, with death, age and sex where a definition splits on
//! them. A case transferred to another facility before the DRG's geometric mean length of
//! stay less one day is weighted per diem (weight × (LOS + 1) / GMLOS), as CMS pays
//! transfers. The tables are the tenant's, imported from CSV files.

use std::collections::HashMap;

/// A complication level of a secondary diagnosis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    None,
    Cc,
    Mcc,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::None => "none",
            Severity::Cc => "cc",
            Severity::Mcc => "mcc",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        match value {
            "none" => Some(Severity::None),
            "cc" => Some(Severity::Cc),
            "mcc" => Some(Severity::Mcc),
            _ => None,
        }
    }
}

/// Ten-thousandths of a weight (or tenths of a day for a length of stay).
pub type Scaled = i64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    pub drg: String,
    pub mdc: String,
    pub family: String,
    /// Empty: any level.
    pub severities: Vec<Severity>,
    /// `None`: alive or not.
    pub expired: Option<bool>,
    pub min_age: Option<i32>,
    pub max_age: Option<i32>,
    /// 'M' or 'F'; `None` for either.
    pub sex: Option<char>,
    /// Ten-thousandths.
    pub weight: Scaled,
    /// Tenths of a day.
    pub gmlos: Scaled,
    pub title: String,
}

/// The grouper's tables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tables {
    /// (ICD-10 prefix, MDC, family), longest prefix first.
    diagnoses: Vec<(String, String, String)>,
    /// ACHI code → (MDC, family), operating-room procedures only.
    procedures: HashMap<String, (String, String)>,
    /// (ICD-10 prefix, level), longest prefix first.
    severity: Vec<(String, Severity)>,
    drgs: Vec<Definition>,
}

/// The family of cases with an operating-room procedure unrelated to the principal's MDC.
const UNRELATED_OR: &str = "UNRELATED_OR";
/// The DRG of a case that cannot be grouped (no principal diagnosis, or one the tables do
/// not place).
pub const UNGROUPABLE: &str = "999";

/// What is grouped.
#[derive(Debug, Clone, Default)]
pub struct Case {
    pub principal: Option<String>,
    pub secondaries: Vec<String>,
    pub procedures: Vec<String>,
    pub age: Option<i32>,
    /// 'M', 'F', or `None`.
    pub sex: Option<char>,
    pub expired: bool,
    pub transferred: bool,
    pub length_of_stay: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grouped {
    pub drg: String,
    pub mdc: String,
    pub title: String,
    pub relative_weight: Scaled,
    pub case_weight: Scaled,
    pub gmlos: Scaled,
    pub severity: Severity,
    pub surgical: bool,
}

fn records(text: &str, columns: usize, file: &str) -> Result<Vec<csv::StringRecord>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let line = index + 2;
        let record = record.map_err(|_| format!("{file}: line {line} is not valid CSV"))?;
        if record.len() != columns {
            return Err(format!(
                "{file}: line {line} does not have {columns} fields"
            ));
        }
        rows.push(record);
    }
    Ok(rows)
}

fn scaled(value: &str, scale: i64, file: &str, line: usize) -> Result<Scaled, String> {
    let invalid = || format!("{file}: line {line} has a number that is not one");
    let (integer, decimals) = value.split_once('.').unwrap_or((value, ""));
    let digits = scale.to_string().len() - 1;
    if integer.is_empty()
        || decimals.len() > digits
        || !integer.chars().all(|c| c.is_ascii_digit())
        || !decimals.chars().all(|c| c.is_ascii_digit())
    {
        return Err(invalid());
    }
    let integer: i64 = integer.parse().map_err(|_| invalid())?;
    let fraction: i64 = format!("{decimals:0<digits$}")
        .parse()
        .map_err(|_| invalid())?;
    integer
        .checked_mul(scale)
        .and_then(|whole| whole.checked_add(fraction))
        .ok_or_else(invalid)
}

fn code(value: &str, file: &str, line: usize) -> Result<String, String> {
    if value.is_empty()
        || value.len() > 40
        || !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return Err(format!("{file}: line {line} has a code that is not one"));
    }
    Ok(value.to_owned())
}

impl Tables {
    /// Reads the four tables; the first wrong line is named.
    pub fn from_csv(
        diagnoses: &str,
        procedures: &str,
        severity: &str,
        drgs: &str,
    ) -> Result<Self, String> {
        let mut tables = Tables::default();
        for (index, row) in records(diagnoses, 3, "diagnoses")?.iter().enumerate() {
            let line = index + 2;
            tables.diagnoses.push((
                code(&row[0], "diagnoses", line)?,
                code(&row[1], "diagnoses", line)?,
                code(&row[2], "diagnoses", line)?,
            ));
        }
        for (index, row) in records(procedures, 3, "procedures")?.iter().enumerate() {
            let line = index + 2;
            tables.procedures.insert(
                code(&row[0], "procedures", line)?,
                (
                    code(&row[1], "procedures", line)?,
                    code(&row[2], "procedures", line)?,
                ),
            );
        }
        for (index, row) in records(severity, 2, "severity")?.iter().enumerate() {
            let line = index + 2;
            let level = Severity::parse(&row[1])
                .filter(|level| *level != Severity::None)
                .ok_or_else(|| format!("severity: line {line} has a level other than cc or mcc"))?;
            tables
                .severity
                .push((code(&row[0], "severity", line)?, level));
        }
        for (index, row) in records(drgs, 11, "drgs")?.iter().enumerate() {
            let line = index + 2;
            let wrong = |what: &str| format!("drgs: line {line} has a wrong {what}");
            let severities = match &row[3] {
                "any" => Vec::new(),
                levels => (levels.split('|'))
                    .map(|level| Severity::parse(level.trim()).ok_or_else(|| wrong("severity")))
                    .collect::<Result<Vec<_>, _>>()?,
            };
            let expired = match &row[4] {
                "any" => None,
                "yes" => Some(true),
                "no" => Some(false),
                _ => return Err(wrong("expired")),
            };
            let age = |value: &str| -> Result<Option<i32>, String> {
                if value.is_empty() {
                    return Ok(None);
                }
                value.parse().map(Some).map_err(|_| wrong("age"))
            };
            let sex = match &row[7] {
                "" => None,
                "M" => Some('M'),
                "F" => Some('F'),
                _ => return Err(wrong("sex")),
            };
            let mdc = if row[1].is_empty() {
                String::new()
            } else {
                code(&row[1], "drgs", line)?
            };
            let title = row[10].to_owned();
            if title.is_empty() || title.len() > 200 {
                return Err(wrong("title"));
            }
            tables.drgs.push(Definition {
                drg: code(&row[0], "drgs", line)?,
                mdc,
                family: code(&row[2], "drgs", line)?,
                severities,
                expired,
                min_age: age(&row[5])?,
                max_age: age(&row[6])?,
                sex,
                weight: scaled(&row[8], 10_000, "drgs", line)?,
                gmlos: scaled(&row[9], 10, "drgs", line)?,
                title,
            });
        }
        tables
            .diagnoses
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        tables
            .severity
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        Ok(tables)
    }

    /// (diagnoses, procedures, severity levels, DRGs) read.
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        (
            self.diagnoses.len(),
            self.procedures.len(),
            self.severity.len(),
            self.drgs.len(),
        )
    }

    fn placed(&self, diagnosis: &str) -> Option<(&str, &str)> {
        (self.diagnoses.iter())
            .find(|(prefix, _, _)| diagnosis.starts_with(prefix.as_str()))
            .map(|(_, mdc, family)| (mdc.as_str(), family.as_str()))
    }

    fn level(&self, diagnosis: &str) -> Severity {
        (self.severity.iter())
            .find(|(prefix, _)| diagnosis.starts_with(prefix.as_str()))
            .map_or(Severity::None, |(_, level)| *level)
    }

    fn ungroupable(&self) -> Grouped {
        Grouped {
            drg: UNGROUPABLE.to_owned(),
            mdc: String::new(),
            title: "Ungroupable".to_owned(),
            relative_weight: 0,
            case_weight: 0,
            gmlos: 0,
            severity: Severity::None,
            surgical: false,
        }
    }

    /// Groups one case.
    pub fn group(&self, case: &Case) -> Grouped {
        let Some(principal) = case.principal.as_deref() else {
            return self.ungroupable();
        };
        let Some((mdc, medical)) = self.placed(principal) else {
            return self.ungroupable();
        };
        let category = |code: &str| code.chars().take(3).collect::<String>();
        let severity = (case.secondaries.iter())
            .filter(|secondary| category(secondary) != category(principal))
            .map(|secondary| self.level(secondary))
            .max()
            .unwrap_or(Severity::None);
        let operating: Vec<&(String, String)> = (case.procedures.iter())
            .filter_map(|procedure| self.procedures.get(procedure))
            .collect();
        let (family, surgical) = match operating.iter().find(|(of, _)| of == mdc) {
            Some((_, family)) => (family.as_str(), true),
            None if !operating.is_empty() => (UNRELATED_OR, true),
            None => (medical, false),
        };
        let fits = |definition: &&Definition| {
            definition.family == family
                && (definition.severities.is_empty() || definition.severities.contains(&severity))
                && definition
                    .expired
                    .is_none_or(|expired| expired == case.expired)
                && definition
                    .min_age
                    .is_none_or(|min| case.age.is_some_and(|age| age >= min))
                && definition
                    .max_age
                    .is_none_or(|max| case.age.is_some_and(|age| age <= max))
                && definition.sex.is_none_or(|sex| case.sex == Some(sex))
        };
        let Some(definition) = self.drgs.iter().find(fits) else {
            return self.ungroupable();
        };
        // A transfer before the mean stay less a day is paid per diem: (LOS + 1) / GMLOS.
        let days_paid_tenths = (case.length_of_stay + 1) * 10;
        let case_weight =
            if case.transferred && definition.gmlos > 0 && days_paid_tenths < definition.gmlos {
                (definition.weight * days_paid_tenths + definition.gmlos / 2) / definition.gmlos
            } else {
                definition.weight
            };
        Grouped {
            drg: definition.drg.clone(),
            mdc: if definition.mdc.is_empty() {
                mdc.to_owned()
            } else {
                definition.mdc.clone()
            },
            title: definition.title.clone(),
            relative_weight: definition.weight,
            case_weight,
            gmlos: definition.gmlos,
            severity,
            surgical,
        }
    }
}

/// A weight as the database or a table writes it ("1.5136") in ten-thousandths.
pub fn scaled_weight(text: &str) -> Option<Scaled> {
    scaled(text, 10_000, "weight", 0).ok()
}

/// "1.1447": a weight in ten-thousandths as the tables write it.
pub fn weight_text(weight: Scaled) -> String {
    format!("{}.{:04}", weight / 10_000, weight % 10_000)
}

/// "4.8": a length of stay in tenths of a day.
pub fn days_text(tenths: Scaled) -> String {
    format!("{}.{}", tenths / 10, tenths % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn starter() -> Tables {
        Tables::from_csv(
            include_str!("../../starter/drg/diagnoses.csv"),
            include_str!("../../starter/drg/procedures.csv"),
            include_str!("../../starter/drg/severity.csv"),
            include_str!("../../starter/drg/drgs.csv"),
        )
        .expect("the starter tables read")
    }

    fn case(principal: &str, secondaries: &[&str], procedures: &[&str]) -> Case {
        Case {
            principal: Some(principal.to_owned()),
            secondaries: secondaries.iter().map(|s| (*s).to_owned()).collect(),
            procedures: procedures.iter().map(|s| (*s).to_owned()).collect(),
            age: Some(54),
            sex: Some('M'),
            length_of_stay: 4,
            ..Case::default()
        }
    }

    /// (DRG, case weight) of a case, as the cases below expect them.
    fn grouped(tables: &Tables, case: &Case) -> (String, String) {
        let grouped = tables.group(case);
        (grouped.drg, weight_text(grouped.case_weight))
    }

    #[test]
    fn cases_group_as_ms_drg_does_for_these_codes() {
        let tables = starter();
        let expect = |case: Case, drg: &str, weight: &str| {
            assert_eq!(
                grouped(&tables, &case),
                (drg.to_owned(), weight.to_owned()),
                "{case:?}"
            );
        };
        // An appendicectomy: surgical in MDC 06, by the secondary diagnoses' highest level.
        expect(case("K35.8", &[], &["30571-00"]), "399", "1.1447");
        expect(case("K35.8", &["N39.0"], &["30571-00"]), "398", "1.5136");
        expect(
            case("K35.8", &["N39.0", "J18.9"], &["30571-00"]),
            "397",
            "2.3949",
        );
        // Without the operation the same stay is medical.
        expect(case("K35.8", &["N39.0"], &[]), "394", "0.9357");
        // Heart failure; hypertensive heart disease with heart failure is heart failure too.
        expect(case("I50.9", &["J44.1"], &["38497-00"]), "292", "0.8490");
        expect(case("I11.0", &[], &[]), "293", "0.5660");
        // Acute infarction: discharged alive or expired.
        let mut died = case("I21.0", &["A41.9"], &[]);
        expect(died.clone(), "280", "1.6041");
        died.expired = true;
        expect(died, "283", "1.9808");
        // "Without MCC" takes CC and none alike.
        expect(case("I10", &["I20.0"], &[]), "305", "0.7551");
        // A secondary diagnosis of the principal's own category is no complication.
        expect(case("J18.9", &["J18.1"], &[]), "195", "0.6285");
        // An operation of another MDC is an unrelated O.R. procedure.
        expect(case("J18.9", &[], &["30445-00"]), "983", "1.7140");
        // Nothing groups without a placed principal diagnosis.
        expect(case("Z88.0", &[], &[]), "999", "0.0000");
        expect(Case::default(), "999", "0.0000");
    }

    #[test]
    fn sex_splits_and_short_transfers_are_weighted_per_diem() {
        let tables = starter();
        let mut section = case("O80.0", &[], &["16520-00"]);
        assert_eq!(grouped(&tables, &section).0, "999", "a caesarean of a man");
        section.sex = Some('F');
        assert_eq!(grouped(&tables, &section), ("788".into(), "0.9588".into()));
        // A hip replacement (GMLOS 1.9) transferred after 0 days: (0 + 1) / 1.9 of 1.9289.
        let mut hip = case("S72.0", &[], &["49318-00"]);
        hip.transferred = true;
        hip.length_of_stay = 0;
        assert_eq!(grouped(&tables, &hip), ("470".into(), "1.0152".into()));
        hip.length_of_stay = 1;
        assert_eq!(grouped(&tables, &hip), ("470".into(), "1.9289".into()));
    }

    #[test]
    fn a_wrong_line_is_named() {
        let wrong = Tables::from_csv(
            "icd10_prefix,mdc,family\nI50,05,HEART_FAILURE\n",
            "achi_code,mdc,family\n",
            "icd10_prefix,level\nI50.1,severe\n",
            "drg,mdc,family,severity,expired,min_age,max_age,sex,weight,gmlos,title\n",
        );
        assert_eq!(
            wrong,
            Err("severity: line 2 has a level other than cc or mcc".to_owned())
        );
        let short = Tables::from_csv("a,b,c\nI50,05\n", "a,b,c\n", "a,b\n", "a\n");
        assert!(short.is_err());
    }
}
