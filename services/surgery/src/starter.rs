//! The procedure grades a new hospital begins with, for the procedures of the terminology's
//! starter set (1 minor, 2 intermediate, 3 major, 4 major plus, 5 complex major, after the
//! schedule of procedures' complexity grades used for surgical privileges). A hospital
//! replaces them with its own catalogue through `SetProcedureGrades`.

/// `code,grade` lines, with a header.
const GRADES: &str = include_str!("../starter/grades.csv");

/// The starter grades as (code, grade).
pub fn grades() -> Vec<(String, i32)> {
    GRADES
        .lines()
        .skip(1)
        .filter_map(|line| {
            let (code, grade) = line.split_once(',')?;
            Some((code.trim().to_owned(), grade.trim().parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::domain::Grade;

    #[test]
    fn every_starter_grade_is_a_grade() {
        let grades = super::grades();
        assert!(grades.len() >= 10);
        for (code, grade) in grades {
            assert!(Grade::parse(grade).is_ok(), "{code}");
        }
    }
}
