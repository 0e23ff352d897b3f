//! The procedure grades a new hospital begins with, for the procedures of the terminology's
//! starter set (1 minor, 2 intermediate, 3 major, 4 major plus, 5 complex major, after the
//! schedule of procedures' complexity grades used for surgical privileges). A hospital
//! replaces them with its own catalogue through `SetProcedureGrades`.

/// `code,grade` lines, with a header.
const GRADES: &str = include_str!("../starter/grades.csv");

/// The starter grades as (code, grade).
pub fn grades() -> Vec<(String, i32)> {
    parse_grades(GRADES).unwrap_or_default()
}

/// A grades catalogue file: CSV `code,grade` with a header line; the line of the first
/// malformed row is named. Grades themselves are checked by `SetProcedureGrades`.
pub fn parse_grades(text: &str) -> Result<Vec<(String, i32)>, String> {
    let mut grades = Vec::new();
    for (index, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let parsed = line
            .split_once(',')
            .and_then(|(code, grade)| Some((code.trim().to_owned(), grade.trim().parse().ok()?)));
        match parsed {
            Some(row) => grades.push(row),
            None => return Err(format!("line {} is not `code,grade`", index + 1)),
        }
    }
    Ok(grades)
}

#[cfg(test)]
mod tests {
    use crate::domain::Grade;

    #[test]
    fn a_malformed_line_is_named() {
        assert_eq!(
            super::parse_grades("code,grade\n30571-00,2\n30572-00,three\n"),
            Err("line 3 is not `code,grade`".to_owned())
        );
    }

    #[test]
    fn every_starter_grade_is_a_grade() {
        let grades = super::grades();
        assert!(grades.len() >= 10);
        for (code, grade) in grades {
            assert!(Grade::parse(grade).is_ok(), "{code}");
        }
    }
}
