//! The laboratory's rules as plain values: priorities and statuses, where an order stands
//! given its tests, specimens grouped by tube, accession numbers, and reference ranges with
//! the flags they give (`ranges`). No transport, no database.

mod ranges;

pub use ranges::*;

use std::collections::BTreeMap;

hmis_platform::labels!(
    /// How urgent an order is (the referral's urgency).
    Priority {
        Routine => "routine",
        Urgent => "urgent",
        Emergency => "emergency",
    }
);

impl Priority {
    /// The priority of the physician's urgency.
    pub fn of(urgency: hmis_encounters_api::Urgency) -> Self {
        match urgency {
            hmis_encounters_api::Urgency::Routine => Priority::Routine,
            hmis_encounters_api::Urgency::Urgent => Priority::Urgent,
            hmis_encounters_api::Urgency::Emergency => Priority::Emergency,
        }
    }
}

hmis_platform::labels!(
    /// Where an order stands; derived from its tests by [`order_status`] after every change.
    OrderStatus {
        Ordered => "ordered",
        Collected => "collected",
        Received => "received",
        InProgress => "in_progress",
        Preliminary => "preliminary",
        Final => "final",
        Cancelled => "cancelled",
    }
);

hmis_platform::labels!(
    SpecimenStatus {
        Collected => "collected",
        Received => "received",
        Rejected => "rejected",
    }
);

hmis_platform::labels!(
    RejectionReason {
        Haemolysed => "haemolysed",
        Insufficient => "insufficient",
        Clotted => "clotted",
        WrongContainer => "wrong_container",
        Unlabelled => "unlabelled",
        Delayed => "delayed",
    }
);

hmis_platform::labels!(
    ResultKind {
        Numeric => "numeric",
        Text => "text",
        Coded => "coded",
        Panel => "panel",
    }
);

hmis_platform::labels!(
    /// A result's life: entered, technically validated (preliminary), medically validated
    /// (final); a later value for the same test supersedes it.
    ResultStatus {
        Entered => "entered",
        Preliminary => "preliminary",
        Final => "final",
        Superseded => "superseded",
    }
);

hmis_platform::labels!(
    ValidationStage {
        Technical => "technical",
        Medical => "medical",
    }
);

impl ValidationStage {
    /// The status a result must have to pass this stage, and the one it gets.
    pub fn moves(self) -> (ResultStatus, ResultStatus) {
        match self {
            ValidationStage::Technical => (ResultStatus::Entered, ResultStatus::Preliminary),
            ValidationStage::Medical => (ResultStatus::Preliminary, ResultStatus::Final),
        }
    }
}

/// What one test of an order has reached: its specimen's state and its result's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestProgress {
    pub specimen: Option<SpecimenStatus>,
    pub result: Option<ResultStatus>,
}

impl TestProgress {
    /// The status of this one test, as the requester sees it.
    pub fn status(self) -> OrderStatus {
        match (self.result, self.specimen) {
            (Some(ResultStatus::Final), _) => OrderStatus::Final,
            (Some(ResultStatus::Preliminary), _) => OrderStatus::Preliminary,
            (Some(ResultStatus::Entered), _) => OrderStatus::InProgress,
            (_, Some(SpecimenStatus::Received)) => OrderStatus::Received,
            (_, Some(SpecimenStatus::Collected)) => OrderStatus::Collected,
            _ => OrderStatus::Ordered,
        }
    }
}

/// Where an order stands given its tests: final once every test is final; preliminary once
/// one result is validated; in progress once one is entered; received or collected once every
/// specimen is; else ordered. A cancelled order stays cancelled.
pub fn order_status(cancelled: bool, tests: &[TestProgress]) -> OrderStatus {
    if cancelled {
        return OrderStatus::Cancelled;
    }
    let statuses: Vec<OrderStatus> = tests.iter().map(|test| test.status()).collect();
    let all = |wanted: &[OrderStatus]| {
        !statuses.is_empty() && statuses.iter().all(|status| wanted.contains(status))
    };
    let any = |wanted: OrderStatus| statuses.contains(&wanted);
    use OrderStatus::*;
    if all(&[Final]) {
        Final
    } else if any(Preliminary) || any(Final) {
        Preliminary
    } else if any(InProgress) {
        InProgress
    } else if all(&[Received]) {
        Received
    } else if all(&[Received, Collected]) {
        Collected
    } else {
        Ordered
    }
}

/// A test as collection sees it: which tube it goes in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tube {
    pub specimen_type: String,
    pub container: String,
}

/// The tests to collect grouped by tube, in the order their tubes first appear: the tests of
/// one order that share a specimen type and a container share one specimen.
pub fn tubes<'a>(tests: impl IntoIterator<Item = (&'a str, Tube)>) -> Vec<(Tube, Vec<String>)> {
    let mut order: Vec<(Tube, Vec<String>)> = Vec::new();
    let mut index: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (code, tube) in tests {
        let key = (tube.specimen_type.clone(), tube.container.clone());
        match index.get(&key) {
            Some(&at) => order[at].1.push(code.to_owned()),
            None => {
                index.insert(key, order.len());
                order.push((tube, vec![code.to_owned()]));
            }
        }
    }
    order
}

/// An accession number: the year's two digits and the number drawn, seven digits at least
/// ("260000042"). Digits only, so every scanner reads it and Code 128 packs it densely.
pub fn accession(year: i32, number: i64) -> String {
    format!("{:02}{:07}", year.rem_euclid(100), number)
}

/// Whether `value` has the shape of an accession number (what a scanner sends).
pub fn is_accession(value: &str) -> bool {
    (9..=16).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(specimen: Option<SpecimenStatus>, result: Option<ResultStatus>) -> TestProgress {
        TestProgress { specimen, result }
    }

    #[test]
    fn an_order_moves_with_its_least_advanced_test_until_results_come() {
        use ResultStatus as R;
        use SpecimenStatus as S;
        assert_eq!(order_status(false, &[]), OrderStatus::Ordered);
        assert_eq!(
            order_status(
                false,
                &[progress(Some(S::Collected), None), progress(None, None)]
            ),
            OrderStatus::Ordered
        );
        assert_eq!(
            order_status(
                false,
                &[
                    progress(Some(S::Collected), None),
                    progress(Some(S::Received), None)
                ]
            ),
            OrderStatus::Collected
        );
        assert_eq!(
            order_status(false, &[progress(Some(S::Received), None)]),
            OrderStatus::Received
        );
        assert_eq!(
            order_status(
                false,
                &[
                    progress(Some(S::Received), Some(R::Entered)),
                    progress(Some(S::Collected), None)
                ]
            ),
            OrderStatus::InProgress
        );
        assert_eq!(
            order_status(
                false,
                &[
                    progress(Some(S::Received), Some(R::Final)),
                    progress(Some(S::Received), Some(R::Entered))
                ]
            ),
            OrderStatus::Preliminary
        );
        assert_eq!(
            order_status(false, &[progress(Some(S::Received), Some(R::Final))]),
            OrderStatus::Final
        );
        assert_eq!(
            order_status(true, &[progress(Some(S::Received), Some(R::Final))]),
            OrderStatus::Cancelled
        );
        // A rejected specimen sends its test back to be collected.
        assert_eq!(
            order_status(false, &[progress(Some(S::Rejected), None)]),
            OrderStatus::Ordered
        );
    }

    #[test]
    fn tests_sharing_a_tube_share_a_specimen() {
        let serum = || Tube {
            specimen_type: "serum".into(),
            container: "gold top".into(),
        };
        let blood = || Tube {
            specimen_type: "whole blood".into(),
            container: "lavender top".into(),
        };
        let grouped = tubes([("2823-3", serum()), ("718-7", blood()), ("2951-2", serum())]);
        assert_eq!(grouped.len(), 2);
        assert_eq!(grouped[0].0, serum());
        assert_eq!(grouped[0].1, vec!["2823-3", "2951-2"]);
        assert_eq!(grouped[1].1, vec!["718-7"]);
    }

    #[test]
    fn accession_numbers_are_digits_led_by_the_year() {
        assert_eq!(accession(2026, 42), "260000042");
        assert_eq!(accession(2026, 123_456_789), "26123456789");
        assert!(is_accession("260000042"));
        assert!(!is_accession("26-000042"));
        assert!(!is_accession("2600"));
    }
}
