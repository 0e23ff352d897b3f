//! The kinds of documents a new hospital's archive begins with. Retention is the tenant's to
//! set (SetKind); these defaults keep clinical documents thirty years.

use crate::store::KindRow;

const SCANS: &[&str] = &["application/pdf", "image/jpeg", "image/png", "image/tiff"];
const PHOTOS: &[&str] = &["image/jpeg", "image/png", "image/webp"];
const MIB: i64 = 1024 * 1024;

/// (code, name, retention in years, content types taken, largest size)
const KINDS: &[(&str, &str, i32, &[&str], i64)] = &[
    ("CONSENT", "Consent form (scanned)", 30, SCANS, 50 * MIB),
    ("REFERRAL_LETTER", "Referral letter", 30, SCANS, 50 * MIB),
    (
        "EXTERNAL_RESULT",
        "Result from another provider",
        30,
        &[],
        512 * MIB,
    ),
    ("PHOTO", "Patient's photo", 30, PHOTOS, 20 * MIB),
    (
        "ISSUED",
        "Document issued by the hospital",
        30,
        &["application/pdf"],
        50 * MIB,
    ),
    ("OTHER", "Other document", 10, SCANS, 100 * MIB),
];

pub(crate) fn kinds() -> Vec<KindRow> {
    KINDS
        .iter()
        .map(|&(code, name, years, types, size)| KindRow {
            code: code.to_owned(),
            name: name.to_owned(),
            retention_years: years,
            content_types: types.iter().map(|t| (*t).to_owned()).collect(),
            max_size_bytes: size,
        })
        .collect()
}
