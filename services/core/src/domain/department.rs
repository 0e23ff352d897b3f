/// What a department is for; wards hold rooms and beds for inpatients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepartmentKind {
    Ward,
    Emergency,
    Outpatient,
    IntensiveCare,
    OperatingBlock,
    Pharmacy,
    Laboratory,
    Imaging,
    Administrative,
}

impl DepartmentKind {
    pub fn as_db(&self) -> &'static str {
        match self {
            Self::Ward => "ward",
            Self::Emergency => "emergency",
            Self::Outpatient => "outpatient",
            Self::IntensiveCare => "intensive_care",
            Self::OperatingBlock => "operating_block",
            Self::Pharmacy => "pharmacy",
            Self::Laboratory => "laboratory",
            Self::Imaging => "imaging",
            Self::Administrative => "administrative",
        }
    }

    pub fn from_db(value: &str) -> Option<Self> {
        [
            Self::Ward,
            Self::Emergency,
            Self::Outpatient,
            Self::IntensiveCare,
            Self::OperatingBlock,
            Self::Pharmacy,
            Self::Laboratory,
            Self::Imaging,
            Self::Administrative,
        ]
        .into_iter()
        .find(|kind| kind.as_db() == value)
    }
}
