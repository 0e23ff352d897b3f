//! The archive's rules as plain values: which content types it recognises (from the bytes,
//! never from the name or the client's word), when a document may be deleted, and how an
//! upload's content is checked as it arrives. No transport, no database.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sha2::{Digest, Sha256};

/// The content types the archive recognises from their first bytes: documents and images
/// (scans, photos) and DICOM files.
pub const RECOGNISED: &[&str] = &[
    "application/pdf",
    "image/jpeg",
    "image/png",
    "image/tiff",
    "image/webp",
    "image/gif",
    "application/dicom",
];

/// Bytes looked at to recognise a content type.
pub const HEAD: usize = 8192;

/// What the content's first bytes say it is, among [`RECOGNISED`].
pub fn recognise(head: &[u8]) -> Option<&'static str> {
    let found = infer::get(head)?.mime_type();
    RECOGNISED.iter().copied().find(|known| *known == found)
}

/// The day from which a document added at `added` may be deleted.
pub fn retain_until(added: DateTime<Utc>, years: i32) -> NaiveDate {
    let day = added.date_naive();
    let year = day.year() + years;
    // 29 February of a year that has none: the first of March.
    NaiveDate::from_ymd_opt(year, day.month(), day.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, 3, 1))
        .unwrap_or(NaiveDate::MAX)
}

/// Why an upload's content is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentError {
    Empty,
    TooLarge(u64),
    Unrecognised,
    NotTaken(&'static str),
    TypeDisagrees {
        declared: String,
        found: &'static str,
    },
    HashDisagrees,
    /// The content ended at another size than declared (short: the client went away).
    SizeDisagrees {
        declared: u64,
        received: u64,
    },
}

impl std::fmt::Display for ContentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ContentError::Empty => f.write_str("the content is empty"),
            ContentError::TooLarge(limit) => {
                write!(f, "the content is larger than {limit} bytes")
            }
            ContentError::Unrecognised => f.write_str(
                "the content is of no type the archive recognises (PDF, JPEG, PNG, TIFF, WebP, GIF, DICOM)",
            ),
            ContentError::NotTaken(found) => {
                write!(f, "the kind of document does not take {found}")
            }
            ContentError::TypeDisagrees { found, .. } => {
                write!(f, "the bytes are {found}, not the type declared")
            }
            ContentError::HashDisagrees => {
                f.write_str("the content's SHA-256 is not the one declared")
            }
            ContentError::SizeDisagrees { declared, received } => {
                write!(f, "the content ended after {received} of the {declared} bytes declared")
            }
        }
    }
}

/// What the client said of the content it sends (each checked when given).
#[derive(Debug, Clone, Copy, Default)]
pub struct Declared<'a> {
    pub content_type: Option<&'a str>,
    pub sha256: Option<&'a str>,
    pub size: Option<u64>,
}

/// An upload's content as it arrives: its size within the limit, its hash, its head.
#[derive(Debug)]
pub struct Incoming {
    limit: u64,
    size: u64,
    hasher: Sha256,
    head: Vec<u8>,
}

/// What was received, once the content ended whole and passed its checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub content_type: &'static str,
    pub size: u64,
    pub sha256: String,
}

impl Incoming {
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            size: 0,
            hasher: Sha256::new(),
            head: Vec::with_capacity(HEAD),
        }
    }

    /// Takes the next chunk; refused as soon as the content passes the limit.
    pub fn take(&mut self, chunk: &[u8]) -> Result<(), ContentError> {
        self.size = self.size.saturating_add(chunk.len() as u64);
        if self.size > self.limit {
            return Err(ContentError::TooLarge(self.limit));
        }
        self.hasher.update(chunk);
        if self.head.len() < HEAD {
            let wanted = (HEAD - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..wanted]);
        }
        Ok(())
    }

    /// The content as received, checked: not empty, of a recognised type the kind takes
    /// (`taken` empty: any recognised), of the declared type, size and hash (each when
    /// declared).
    pub fn finish(
        self,
        taken: &[String],
        declared: Declared<'_>,
    ) -> Result<Received, ContentError> {
        let Declared {
            content_type: declared_type,
            sha256: declared_sha256,
            size: declared_size,
        } = declared;
        if self.size == 0 {
            return Err(ContentError::Empty);
        }
        if let Some(declared) = declared_size
            && declared != self.size
        {
            return Err(ContentError::SizeDisagrees {
                declared,
                received: self.size,
            });
        }
        let found = recognise(&self.head).ok_or(ContentError::Unrecognised)?;
        if let Some(declared) = declared_type
            && !declared.eq_ignore_ascii_case(found)
        {
            return Err(ContentError::TypeDisagrees {
                declared: declared.to_owned(),
                found,
            });
        }
        if !taken.is_empty() && !taken.iter().any(|taken| taken == found) {
            return Err(ContentError::NotTaken(found));
        }
        let sha256 = hex::encode(self.hasher.finalize());
        if declared_sha256.is_some_and(|declared| !declared.eq_ignore_ascii_case(&sha256)) {
            return Err(ContentError::HashDisagrees);
        }
        Ok(Received {
            content_type: found,
            size: self.size,
            sha256,
        })
    }
}

/// Content read back chunk by chunk, hashed again (the verify command).
#[derive(Debug, Default)]
pub struct Rehash {
    hasher: Sha256,
    size: u64,
}

impl Rehash {
    pub fn update(&mut self, chunk: &[u8]) {
        self.size += chunk.len() as u64;
        self.hasher.update(chunk);
    }

    /// The size and SHA-256 (hex) of what was read.
    pub fn finish(self) -> (u64, String) {
        (self.size, hex::encode(self.hasher.finalize()))
    }
}

/// The size and SHA-256 (hex) of content in chunks.
pub fn digest<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> (u64, String) {
    let mut rehash = Rehash::default();
    for chunk in chunks {
        rehash.update(chunk);
    }
    rehash.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n";
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";

    fn received(content: &[u8], chunk: usize) -> Incoming {
        let mut incoming = Incoming::new(1024);
        for part in content.chunks(chunk) {
            incoming.take(part).expect("within the limit");
        }
        incoming
    }

    #[test]
    fn the_type_comes_from_the_bytes() {
        assert_eq!(recognise(PDF), Some("application/pdf"));
        assert_eq!(recognise(PNG), Some("image/png"));
        assert_eq!(recognise(b"MZ\x90\0 an executable"), None);
        assert_eq!(recognise(b"plain words"), None);
    }

    #[test]
    fn content_is_checked_whole_whatever_its_chunks() {
        let one = received(PDF, 1)
            .finish(&[], Declared::default())
            .expect("a PDF");
        let many = received(PDF, 7)
            .finish(&[], Declared::default())
            .expect("a PDF");
        assert_eq!(
            (one.content_type, one.size, &one.sha256),
            (many.content_type, many.size, &many.sha256)
        );
        assert_eq!(one.size, PDF.len() as u64);
        assert_eq!(one.sha256, digest([PDF]).1);
        assert_eq!(
            received(PDF, 7).finish(
                &[],
                Declared {
                    content_type: Some("image/png"),
                    ..Declared::default()
                }
            ),
            Err(ContentError::TypeDisagrees {
                declared: "image/png".into(),
                found: "application/pdf"
            })
        );
        assert_eq!(
            received(PNG, 3).finish(&["application/pdf".into()], Declared::default()),
            Err(ContentError::NotTaken("image/png"))
        );
        assert_eq!(
            received(PDF, 7).finish(
                &[],
                Declared {
                    sha256: Some(&"0".repeat(64)),
                    ..Declared::default()
                }
            ),
            Err(ContentError::HashDisagrees)
        );
        assert_eq!(
            Incoming::new(10).finish(&[], Declared::default()),
            Err(ContentError::Empty)
        );
        let mut small = Incoming::new(10);
        assert_eq!(small.take(PDF), Err(ContentError::TooLarge(10)));
    }

    #[test]
    fn retention_counts_whole_years() {
        let added = Utc
            .with_ymd_and_hms(2024, 2, 29, 10, 0, 0)
            .single()
            .expect("a time");
        assert_eq!(
            retain_until(added, 1),
            NaiveDate::from_ymd_opt(2025, 3, 1).expect("a date")
        );
        assert_eq!(
            retain_until(added, 4),
            NaiveDate::from_ymd_opt(2028, 2, 29).expect("a date")
        );
    }
}

hmis_platform::labels!(
    /// What the hospital prints from the record.
    Printout {
        MedicalExtract => "medical_extract",
        Certificate => "certificate",
        Prescriptions => "prescriptions",
        PatientSlip => "patient_slip",
        WardMedicationOrder => "ward_medication_order",
        Form16 => "form16",
    }
);

hmis_platform::labels!(
    /// Who signs an issued document.
    SignerKind {
        Clinician => "clinician",
        Facility => "facility",
    }
);
