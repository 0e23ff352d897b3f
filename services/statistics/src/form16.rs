//! Form 16, temporary work incapacity: the sick-leave certificates of a period grouped by the
//! ICD-10 chapter of the episode's diagnosis, the patient's sex and age group. A case is an
//! episode (a first certificate and its extensions) begun in the period; days are counted
//! within the period over every certificate.

/// The age groups of the form.
pub fn age_group(age: Option<i32>) -> &'static str {
    match age {
        None => "unknown",
        Some(age) if age < 20 => "under 20",
        Some(age) if age < 30 => "20-29",
        Some(age) if age < 40 => "30-39",
        Some(age) if age < 50 => "40-49",
        Some(age) if age < 60 => "50-59",
        Some(_) => "60 and over",
    }
}

#[cfg(test)]
mod tests {
    use super::age_group;

    #[test]
    fn ages_fall_into_the_forms_groups() {
        assert_eq!(age_group(Some(19)), "under 20");
        assert_eq!(age_group(Some(20)), "20-29");
        assert_eq!(age_group(Some(59)), "50-59");
        assert_eq!(age_group(Some(60)), "60 and over");
        assert_eq!(age_group(None), "unknown");
    }
}
