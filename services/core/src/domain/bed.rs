use std::fmt;

/// Which patients a bed may take by sex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BedSex {
    Any,
    Male,
    Female,
}

impl BedSex {
    pub fn as_db(&self) -> &'static str {
        match self {
            Self::Any => "any",
            Self::Male => "male",
            Self::Female => "female",
        }
    }

    pub fn from_db(value: &str) -> Option<Self> {
        match value {
            "any" => Some(Self::Any),
            "male" => Some(Self::Male),
            "female" => Some(Self::Female),
            _ => None,
        }
    }
}

/// The operational state of a bed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BedState {
    Free,
    Occupied,
    Reserved,
    /// Released by a patient; cleaned before it is free again.
    Cleaning,
    OutOfService,
}

impl BedState {
    /// The transitions ward staff and the ADT flow may make. A patient leaves a bed to
    /// cleaning, not straight to free (except when an admission is cancelled: it never was
    /// used); a bed under repair comes back through free or cleaning.
    pub fn can_become(&self, target: BedState) -> bool {
        use BedState::*;
        matches!(
            (self, target),
            (Free, Occupied | Reserved | Cleaning | OutOfService)
                | (Reserved, Occupied | Free | OutOfService)
                | (Occupied, Cleaning | Free)
                | (Cleaning, Free | OutOfService)
                | (OutOfService, Free | Cleaning)
        )
    }

    pub fn as_db(&self) -> &'static str {
        match self {
            Self::Free => "free",
            Self::Occupied => "occupied",
            Self::Reserved => "reserved",
            Self::Cleaning => "cleaning",
            Self::OutOfService => "out_of_service",
        }
    }

    pub fn from_db(value: &str) -> Option<Self> {
        match value {
            "free" => Some(Self::Free),
            "occupied" => Some(Self::Occupied),
            "reserved" => Some(Self::Reserved),
            "cleaning" => Some(Self::Cleaning),
            "out_of_service" => Some(Self::OutOfService),
            _ => None,
        }
    }
}

impl fmt::Display for BedState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_db().replace('_', " "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Bed, BedId, BedRuleError, DepartmentId, RoomId};
    use hmis_platform::types::{Code, Text, Version};

    fn bed(state: BedState) -> Bed {
        Bed {
            id: BedId::generate(),
            room_id: RoomId::generate(),
            department_id: DepartmentId::generate(),
            code: Code::parse("B1").expect("valid code"),
            sex: BedSex::Any,
            isolation: false,
            intensive_care: false,
            state,
            state_reason: String::new(),
            active: true,
            version: Version::FIRST,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn a_discharged_bed_is_cleaned_before_it_is_free() {
        let mut bed = bed(BedState::Occupied);
        let none = Text::default();
        assert!(bed.change_state(BedState::Reserved, &none).is_err());
        bed.change_state(BedState::Cleaning, &none)
            .expect("occupied -> cleaning");
        bed.change_state(BedState::Free, &none)
            .expect("cleaning -> free");
        assert_eq!(bed.state, BedState::Free);
    }

    #[test]
    fn out_of_service_needs_a_reason_and_same_state_is_refused() {
        let mut bed = bed(BedState::Free);
        assert_eq!(
            bed.change_state(BedState::OutOfService, &Text::default()),
            Err(BedRuleError::ReasonRequired)
        );
        let reason = Text::parse("oxygen outlet broken").expect("valid text");
        bed.change_state(BedState::OutOfService, &reason)
            .expect("free -> out of service");
        assert_eq!(bed.state_reason, "oxygen outlet broken");
        assert!(matches!(
            bed.change_state(BedState::OutOfService, &reason),
            Err(BedRuleError::Transition { .. })
        ));
    }

    #[test]
    fn inactive_beds_take_no_patients_and_busy_beds_stay_active() {
        let mut busy = bed(BedState::Occupied);
        let deactivate = crate::domain::BedChanges {
            active: Some(false),
            ..Default::default()
        };
        assert!(busy.apply(deactivate.clone()).is_err());
        let mut idle = bed(BedState::Free);
        idle.apply(deactivate).expect("free bed can be deactivated");
        assert_eq!(
            idle.change_state(BedState::Occupied, &Text::default()),
            Err(BedRuleError::Inactive)
        );
    }
}
