//! What other modules read of the stock, in domain words: the personal slip of medicines and
//! materials issued to a patient ([`InventoryPrinter::patient_slip`]), read through the
//! inventory's contract on behalf of the caller and laid out for printing. This crate is the
//! one place another module meets the inventory's wire types.

use hmis_platform::RequestContext;
use hmis_platform::channel::{CallError, ServiceChannel, forwarded};
use hmis_print::{Column, Field, Printable};
use hmis_proto::openhmis::inventory::v1 as pb;
use pb::inventory_service_client::InventoryServiceClient;
use uuid::Uuid;

/// A typed client of the inventory, for printing.
#[derive(Debug, Clone)]
pub struct InventoryPrinter {
    inventory: InventoryServiceClient<ServiceChannel>,
}

impl InventoryPrinter {
    /// `channel` serves `openhmis.inventory.v1.InventoryService`.
    pub fn new(channel: ServiceChannel) -> Self {
        Self {
            inventory: InventoryServiceClient::new(channel),
        }
    }

    /// What was issued to the patient from `first_day` to `last_day` ("YYYY-MM-DD", both
    /// inclusive; an empty end: to this day), net of returns, with its value.
    pub async fn patient_slip(
        &self,
        context: &RequestContext,
        patient_id: Uuid,
        (first_day, last_day): (&str, &str),
    ) -> Result<Printable, CallError> {
        let slip = self
            .inventory
            .clone()
            .get_patient_slip(forwarded(
                context,
                pb::GetPatientSlipRequest {
                    patient_id: patient_id.to_string(),
                    from_date: first_day.to_owned(),
                    to_date: last_day.to_owned(),
                },
            ))
            .await?
            .into_inner();
        let mut printable = Printable::new("Personal slip of medicines and materials");
        let period = match last_day {
            "" => format!("from {first_day}"),
            last => format!("{first_day} to {last}"),
        };
        printable
            .fields(vec![Field::new("Period", period)])
            .table(
                vec![
                    Column::new("Code", 1.4),
                    Column::new("Item", 4.0),
                    Column::new("Lot", 1.5),
                    Column::new("Quantity", 1.5),
                    Column::new("Unit cost", 1.3),
                    Column::new("Value", 1.3),
                ],
                slip.lines
                    .iter()
                    .map(|line| {
                        let item = line.item.clone().unwrap_or_default();
                        vec![
                            item.code,
                            item.name,
                            line.lot_number.clone(),
                            format!("{} {}", line.quantity, item.base_unit),
                            line.unit_cost.clone(),
                            line.value.clone(),
                        ]
                    })
                    .collect(),
            )
            .fields(vec![Field::new("Total value", slip.total_value)]);
        Ok(printable)
    }
}
