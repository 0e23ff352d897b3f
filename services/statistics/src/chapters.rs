//! The chapters of ICD-10 (WHO 2019), by the code ranges they span: national reports group
//! diagnoses by chapter.

/// (first code, last code, roman numeral, title); codes compare on their first three
/// characters.
const CHAPTERS: &[(&str, &str, &str, &str)] = &[
    (
        "A00",
        "B99",
        "I",
        "Certain infectious and parasitic diseases",
    ),
    ("C00", "D48", "II", "Neoplasms"),
    (
        "D50",
        "D89",
        "III",
        "Diseases of the blood and immune mechanism",
    ),
    (
        "E00",
        "E90",
        "IV",
        "Endocrine, nutritional and metabolic diseases",
    ),
    ("F00", "F99", "V", "Mental and behavioural disorders"),
    ("G00", "G99", "VI", "Diseases of the nervous system"),
    ("H00", "H59", "VII", "Diseases of the eye and adnexa"),
    (
        "H60",
        "H95",
        "VIII",
        "Diseases of the ear and mastoid process",
    ),
    ("I00", "I99", "IX", "Diseases of the circulatory system"),
    ("J00", "J99", "X", "Diseases of the respiratory system"),
    ("K00", "K93", "XI", "Diseases of the digestive system"),
    (
        "L00",
        "L99",
        "XII",
        "Diseases of the skin and subcutaneous tissue",
    ),
    (
        "M00",
        "M99",
        "XIII",
        "Diseases of the musculoskeletal system",
    ),
    ("N00", "N99", "XIV", "Diseases of the genitourinary system"),
    (
        "O00",
        "O99",
        "XV",
        "Pregnancy, childbirth and the puerperium",
    ),
    (
        "P00",
        "P96",
        "XVI",
        "Certain conditions originating in the perinatal period",
    ),
    (
        "Q00",
        "Q99",
        "XVII",
        "Congenital malformations and chromosomal abnormalities",
    ),
    (
        "R00",
        "R99",
        "XVIII",
        "Symptoms, signs and abnormal findings",
    ),
    (
        "S00",
        "T98",
        "XIX",
        "Injury, poisoning and other consequences of external causes",
    ),
    (
        "V01",
        "Y98",
        "XX",
        "External causes of morbidity and mortality",
    ),
    ("Z00", "Z99", "XXI", "Factors influencing health status"),
    ("U00", "U85", "XXII", "Codes for special purposes"),
];

/// The chapter (numeral, title) an ICD-10 code belongs to, if any.
pub fn chapter_of(code: &str) -> Option<(&'static str, &'static str)> {
    let key: String = code.trim().to_uppercase().chars().take(3).collect();
    if key.len() < 3 {
        return None;
    }
    CHAPTERS
        .iter()
        .find(|(first, last, _, _)| key.as_str() >= *first && key.as_str() <= *last)
        .map(|(_, _, numeral, title)| (*numeral, *title))
}

#[cfg(test)]
mod tests {
    use super::chapter_of;

    #[test]
    fn codes_fall_into_their_chapters() {
        assert_eq!(chapter_of("I21.0").map(|c| c.0), Some("IX"));
        assert_eq!(chapter_of("j18.9").map(|c| c.0), Some("X"));
        assert_eq!(chapter_of("D50").map(|c| c.0), Some("III"));
        assert_eq!(chapter_of("D48.9").map(|c| c.0), Some("II"));
        assert_eq!(chapter_of("T36.0").map(|c| c.0), Some("XIX"));
        assert_eq!(chapter_of("H60").map(|c| c.0), Some("VIII"));
        assert_eq!(chapter_of(""), None);
        assert_eq!(chapter_of("9"), None);
    }
}
