//! Inventory's own types and rules: the labels it stores, and first-expiry-first-out
//! allocation of a quantity across the lots in hand.

use hmis_platform::amount::Amount;
use hmis_platform::labels;
use hmis_platform::types::ParseError;
use uuid::Uuid;

labels!(ItemClass {
    Medicine => "medicine",
    Parapharmaceutical => "parapharmaceutical",
    Auxiliary => "auxiliary",
    Food => "food",
});
labels!(WarehouseKind {
    CentralPharmacy => "central_pharmacy",
    Ward => "ward",
    OperatingBlock => "operating_block",
    Other => "other",
});
labels!(Provenance { Purchase => "purchase", Donation => "donation", StateProgramme => "state_programme" });
labels!(MovementKind {
    Receipt => "receipt",
    Transfer => "transfer",
    IssuePatient => "issue_patient",
    IssueWard => "issue_ward",
    Return => "return",
    WriteOff => "write_off",
    Adjustment => "adjustment",
});
labels!(WriteOffReason {
    Expired => "expired",
    Broken => "broken",
    Spoiled => "spoiled",
    Recalled => "recalled",
    Lost => "lost",
});

pub use hmis_platform::types::parse_date;

/// A short unit name: tablet, ampoule, ml, piece, box.
pub fn parse_unit(value: &str) -> Result<String, ParseError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > 20 || value.chars().any(char::is_control) {
        return Err(ParseError::new(
            "must be a unit name of 1-20 characters (tablet, box)",
        ));
    }
    Ok(value.to_owned())
}

/// A lot in hand, as allocation sees it (already locked, soonest expiry first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InHand {
    pub lot_id: Uuid,
    pub quantity: Amount,
}

/// Too little in hand: what was asked and what there is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shortage {
    pub requested: Amount,
    /// `None` when nothing is in hand.
    pub available: Option<Amount>,
}

/// Takes `requested` from the lots in the order given (soonest expiry first): each lot is
/// emptied before the next is touched.
pub fn allocate(requested: Amount, lots: &[InHand]) -> Result<Vec<(Uuid, Amount)>, Shortage> {
    let mut remaining = requested.scaled();
    let mut taken = Vec::new();
    for lot in lots {
        if remaining == 0 {
            break;
        }
        let take = remaining.min(lot.quantity.scaled());
        if let Some(amount) = Amount::from_scaled_positive(take) {
            taken.push((lot.lot_id, amount));
            remaining -= take;
        }
    }
    if remaining > 0 {
        let available = lots.iter().map(|lot| lot.quantity.scaled()).sum::<i64>();
        return Err(Shortage {
            requested,
            available: Amount::from_scaled_positive(available),
        });
    }
    Ok(taken)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(value: &str) -> Amount {
        Amount::parse(value).expect("amount")
    }

    #[test]
    fn the_soonest_expiring_lot_is_emptied_first() {
        let (first, second) = (Uuid::now_v7(), Uuid::now_v7());
        let lots = [
            InHand {
                lot_id: first,
                quantity: amount("3"),
            },
            InHand {
                lot_id: second,
                quantity: amount("10"),
            },
        ];
        assert_eq!(
            allocate(amount("5"), &lots),
            Ok(vec![(first, amount("3")), (second, amount("2"))])
        );
        assert_eq!(allocate(amount("2"), &lots), Ok(vec![(first, amount("2"))]));
        assert_eq!(
            allocate(amount("14"), &lots),
            Err(Shortage {
                requested: amount("14"),
                available: Some(amount("13"))
            })
        );
        assert_eq!(
            allocate(amount("1"), &[]),
            Err(Shortage {
                requested: amount("1"),
                available: None
            })
        );
    }
}
