//! What nutrition reads of other modules, through their contracts and on behalf of the
//! caller: the register (a ward's facility, a facility's time zone, a ward's bed codes) and
//! the inventory (a food item by its code; the day's ingredients issued through the stock
//! ledger). Wire types of other modules stay in this file.

use std::collections::HashMap;

use hmis_core_api::{CoreClient, CoreError};
use hmis_platform::RequestContext;
use hmis_platform::channel::{ServiceChannel, forwarded};
use hmis_proto::openhmis::inventory::v1 as inventory_pb;
use inventory_pb::inventory_service_client::InventoryServiceClient;
use tonic::{Code, Status};
use uuid::Uuid;

use crate::error::{Error, Result};

/// How long a department or a facility read from the register is used again.
const REFERENCE_TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// The channels to the modules nutrition reads.
#[derive(Debug, Clone)]
pub struct Channels {
    pub core: ServiceChannel,
    pub inventory: ServiceChannel,
}

#[derive(Debug, Clone)]
pub struct Directory {
    core: CoreClient,
    inventory: InventoryServiceClient<ServiceChannel>,
}

/// A department of the register.
#[derive(Debug, Clone, Copy)]
pub struct Department {
    pub facility_id: Uuid,
    pub active: bool,
}

/// A food item of the inventory's catalogue.
#[derive(Debug, Clone)]
pub struct FoodItem {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub base_unit: String,
}

/// What the stock ledger moved for one item of an issue.
#[derive(Debug, Clone)]
pub struct Moved {
    pub movement_id: Uuid,
    pub item_id: Uuid,
    /// As decimals.
    pub quantity: String,
    pub unit_cost: String,
}

/// A NOT_FOUND from the other module, said in this call's words (which field named it).
fn not_found(field: &'static str) -> impl Fn(Status) -> Error {
    move |status| {
        if status.code() == Code::NotFound {
            Error::invalid(field, "was not found")
        } else {
            Error::from(status)
        }
    }
}

fn core_error(field: &'static str) -> impl Fn(CoreError) -> Error {
    move |error| match error {
        CoreError::Status(status) => not_found(field)(status),
        CoreError::Malformed(what) => Error::corrupt(what),
    }
}

impl Directory {
    pub fn new(channels: Channels) -> Self {
        Self {
            core: CoreClient::remembering(channels.core, REFERENCE_TTL),
            inventory: InventoryServiceClient::new(channels.inventory),
        }
    }

    /// The department `id` (named by `field`).
    pub async fn department(
        &self,
        context: &RequestContext,
        id: Uuid,
        field: &'static str,
    ) -> Result<Department> {
        let department = (self.core.department(context, id).await).map_err(core_error(field))?;
        Ok(Department {
            facility_id: department.facility_id,
            active: department.active,
        })
    }

    /// The IANA time zone of a facility (meal times are the facility's local times).
    pub async fn time_zone(&self, context: &RequestContext, facility_id: Uuid) -> Result<String> {
        let facility =
            (self.core.facility(context, facility_id).await).map_err(core_error("facility_id"))?;
        facility
            .zone()
            .ok_or(Error::corrupt("facility time zone"))?;
        Ok(facility.time_zone)
    }

    /// The labels of a ward's beds ("room/bed", as a tray is labelled), by id.
    pub async fn bed_codes(
        &self,
        context: &RequestContext,
        department_id: Uuid,
    ) -> Result<HashMap<Uuid, String>> {
        let beds = (self.core.beds_of(context, department_id).await)
            .map_err(core_error("department_id"))?;
        let rooms = (self.core.room_codes(context, department_id).await)
            .map_err(core_error("department_id"))?;
        Ok(beds
            .into_iter()
            .map(|bed| {
                let label = match rooms.get(&bed.room_id) {
                    Some(room) => format!("{room}/{}", bed.code),
                    None => bed.code,
                };
                (bed.id, label)
            })
            .collect())
    }

    /// The food item with code `code` (named by `field`).
    pub async fn food_item(
        &self,
        context: &RequestContext,
        code: &str,
        field: &'static str,
    ) -> Result<FoodItem> {
        let items = self
            .inventory
            .clone()
            .list_items(forwarded(
                context,
                inventory_pb::ListItemsRequest {
                    query: code.to_owned(),
                    page_size: 50,
                    page_token: String::new(),
                },
            ))
            .await?
            .into_inner()
            .items;
        let item = items
            .into_iter()
            .find(|item| item.code == code)
            .ok_or_else(|| Error::invalid(field, "is not an item of the inventory"))?;
        if inventory_pb::ItemClass::try_from(item.item_class) != Ok(inventory_pb::ItemClass::Food) {
            return Err(Error::invalid(field, "is not a food item"));
        }
        Ok(FoodItem {
            id: Uuid::parse_str(&item.id).map_err(|_| Error::corrupt("item id"))?,
            code: item.code,
            name: item.name,
            base_unit: item.base_unit,
        })
    }

    /// Issues `lines` (item, quantity as a decimal) from the food warehouse to the kitchen's
    /// department against the day's production sheet; `request_id` makes a retry find the
    /// movements already made.
    pub async fn issue(
        &self,
        context: &RequestContext,
        request_id: String,
        (warehouse_id, department_id): (Uuid, Uuid),
        document_id: String,
        lines: Vec<(Uuid, String)>,
    ) -> Result<Vec<Moved>> {
        let movements = self
            .inventory
            .clone()
            .issue_stock(forwarded(
                context,
                inventory_pb::IssueStockRequest {
                    request_id,
                    warehouse_id: warehouse_id.to_string(),
                    patient_id: String::new(),
                    department_id: department_id.to_string(),
                    document_type: "production-sheet".to_owned(),
                    document_id,
                    lines: lines
                        .into_iter()
                        .map(|(item_id, quantity)| inventory_pb::ItemQuantity {
                            item_id: item_id.to_string(),
                            quantity,
                            lot_id: String::new(),
                        })
                        .collect(),
                },
            ))
            .await?
            .into_inner()
            .movements;
        movements
            .into_iter()
            .map(|movement| {
                let id =
                    |value: &str| Uuid::parse_str(value).map_err(|_| Error::corrupt("movement"));
                Ok(Moved {
                    movement_id: id(&movement.id)?,
                    item_id: id(&movement.item_id)?,
                    quantity: movement.quantity,
                    unit_cost: movement.unit_cost,
                })
            })
            .collect()
    }
}
