//! The catalogue and the warehouses: items with their units, warehouses with their ward,
//! reorder points and what to buy.

use hmis_platform::RequestContext;
use hmis_platform::amount::Amount;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::paging::{PageSize, finish_page};
use hmis_platform::types::{Code, Line};
use hmis_proto::openhmis::inventory::v1 as pb;
use uuid::Uuid;

use super::{MANAGE, READ, Stores, method, target_of};
use crate::convert::{item_to_pb, trim_decimal, warehouse_to_pb};
use crate::domain::{ItemClass, WarehouseKind};
use crate::error::{Error, Result};
use crate::store::{self, ItemRow, WarehouseRow};

/// A new item of the catalogue.
pub(crate) struct NewItem {
    pub(crate) key: RequestKey,
    pub(crate) code: Code,
    pub(crate) name: Line,
    pub(crate) class: ItemClass,
    pub(crate) atc_code: String,
    pub(crate) preparation_group: Line,
    pub(crate) base_unit: String,
    pub(crate) controlled: bool,
    /// Each pack's unit and how many base units it holds.
    pub(crate) packs: Vec<(String, Amount)>,
}

/// A new warehouse: the central pharmacy, a ward's stock, the operating block's.
pub(crate) struct NewWarehouse {
    pub(crate) key: RequestKey,
    pub(crate) code: Code,
    pub(crate) name: Line,
    pub(crate) kind: WarehouseKind,
    pub(crate) facility_id: Uuid,
    pub(crate) department_id: Option<Uuid>,
}

/// The stock below which a warehouse buys an item again; `None` clears it.
pub(crate) struct ReorderPoint {
    pub(crate) key: RequestKey,
    pub(crate) warehouse_id: Uuid,
    pub(crate) item_id: Uuid,
    pub(crate) quantity: Option<Amount>,
}

/// A page of the catalogue by name: those starting with `prefix` when one is given.
pub(crate) struct ItemPage {
    pub(crate) prefix: Option<String>,
    pub(crate) size: PageSize,
    pub(crate) after: Option<(String, Uuid)>,
}

impl Stores {
    pub(crate) async fn create_item(
        &self,
        context: &RequestContext,
        message: &pb::CreateItemRequest,
        item: NewItem,
    ) -> Result<pb::CreateItemResponse> {
        let now = self.calls.now();
        let row = ItemRow {
            id: Uuid::now_v7(),
            code: item.code.as_str().to_owned(),
            name: item.name.as_str().to_owned(),
            item_class: item.class.as_db().to_owned(),
            atc_code: item.atc_code,
            preparation_group: item.preparation_group.as_str().to_owned(),
            base_unit: item.base_unit,
            controlled: item.controlled,
            version: 1,
            pack_units: sqlx::types::Json(
                item.packs
                    .into_iter()
                    .map(|(unit, quantity)| (unit, quantity.to_string()))
                    .collect(),
            ),
        };
        let method = method("CreateItem");
        (self.calls)
            .write(context, &method, &item.key, message, async |tx| {
                store::insert_item(tx, &row, now).await?;
                Ok(pb::CreateItemResponse {
                    item: Some(item_to_pb(&row)),
                })
            })
            .await
    }

    pub(crate) async fn list_items(
        &self,
        context: &RequestContext,
        page: ItemPage,
    ) -> Result<pb::ListItemsResponse> {
        let ItemPage {
            prefix,
            size,
            after,
        } = page;
        let prefix = prefix.map(|query| query.to_lowercase().replace(['%', '_', '\\'], ""));
        let rows = (self.calls)
            .transaction(context, async |tx| {
                store::list_items(tx, prefix.as_deref(), after, size.fetch_limit()).await
            })
            .await?;
        let (rows, next_page_token) = finish_page(rows, size, |row| (row.name.clone(), row.id));
        Ok(pb::ListItemsResponse {
            items: rows.iter().map(item_to_pb).collect(),
            next_page_token,
        })
    }

    pub(crate) async fn create_warehouse(
        &self,
        context: &RequestContext,
        message: &pb::CreateWarehouseRequest,
        warehouse: NewWarehouse,
    ) -> Result<pb::CreateWarehouseResponse> {
        let now = self.calls.now();
        let row = WarehouseRow {
            id: Uuid::now_v7(),
            code: warehouse.code.as_str().to_owned(),
            name: warehouse.name.as_str().to_owned(),
            kind: warehouse.kind.as_db().to_owned(),
            facility_id: warehouse.facility_id,
            department_id: warehouse.department_id,
        };
        context
            .authorize(MANAGE, &target_of(&row))
            .map_err(Error::from)?;
        let method = method("CreateWarehouse");
        (self.calls)
            .write(context, &method, &warehouse.key, message, async |tx| {
                store::insert_warehouse(tx, &row, now).await?;
                Ok(pb::CreateWarehouseResponse {
                    warehouse: Some(warehouse_to_pb(&row)),
                })
            })
            .await
    }

    /// The warehouses the caller may read.
    pub(crate) async fn list_warehouses(
        &self,
        context: &RequestContext,
    ) -> Result<pb::ListWarehousesResponse> {
        let principal = context.principal()?;
        let rows = (self.calls)
            .transaction(context, async |tx| store::list_warehouses(tx).await)
            .await?;
        Ok(pb::ListWarehousesResponse {
            warehouses: rows
                .iter()
                .filter(|row| principal.is_allowed(READ, &target_of(row)))
                .map(warehouse_to_pb)
                .collect(),
        })
    }

    pub(crate) async fn set_reorder_point(
        &self,
        context: &RequestContext,
        message: &pb::SetReorderPointRequest,
        point: ReorderPoint,
    ) -> Result<pb::SetReorderPointResponse> {
        let method = method("SetReorderPoint");
        (self.calls)
            .write(context, &method, &point.key, message, async |tx| {
                Self::warehouse_for(tx, context, point.warehouse_id, MANAGE).await?;
                store::get_item(tx, point.item_id).await?;
                let quantity = point.quantity.map(|quantity| quantity.to_string());
                store::set_reorder_point(
                    tx,
                    point.warehouse_id,
                    point.item_id,
                    quantity.as_deref(),
                )
                .await?;
                Ok(pb::SetReorderPointResponse {})
            })
            .await
    }

    /// What a warehouse holds below its reorder points, and how much to buy to hold twice
    /// the point again.
    pub(crate) async fn list_purchase_suggestions(
        &self,
        context: &RequestContext,
        warehouse_id: Uuid,
    ) -> Result<pb::ListPurchaseSuggestionsResponse> {
        let suggestions = (self.calls)
            .transaction(context, async |tx| {
                Self::warehouse_for(tx, context, warehouse_id, READ).await?;
                let mut suggestions = Vec::new();
                for (item_id, in_stock, reorder_point) in
                    store::below_reorder_point(tx, warehouse_id).await?
                {
                    let item = store::get_item(tx, item_id).await?;
                    let point = Amount::from_db(&reorder_point)
                        .map_err(|_| Error::corrupt("reorder point"))?;
                    let held = Amount::from_db(&in_stock).map(Amount::scaled).unwrap_or(0);
                    let suggested = Amount::from_scaled_positive(2 * point.scaled() - held)
                        .map(|amount| amount.to_string())
                        .unwrap_or_default();
                    suggestions.push(pb::PurchaseSuggestion {
                        item: Some(item_to_pb(&item)),
                        in_stock: trim_decimal(&in_stock),
                        reorder_point: point.to_string(),
                        suggested_quantity: suggested,
                    });
                }
                Ok(suggestions)
            })
            .await?;
        Ok(pb::ListPurchaseSuggestionsResponse { suggestions })
    }
}
