//! The tonic adapter of inventory: authorize by permission, parse the request (every wrong
//! field named, `parse.rs`), call the use case (`crate::app`), answer. Authorization against
//! the warehouse's facility and ward happens in the use case.

mod parse;

use std::sync::Arc;

use hmis_platform::RequestContext;
use hmis_proto::openhmis::inventory::v1 as pb;
use pb::inventory_service_server::InventoryService;
use tonic::{Request, Response, Status};

use crate::app::{ADMINISTER, DISPENSE, MANAGE, READ, RETURN, Stores};

#[derive(Debug, Clone)]
pub struct InventoryApi {
    pub(crate) stores: Arc<Stores>,
}

#[tonic::async_trait]
impl InventoryService for InventoryApi {
    #[tracing::instrument(skip_all)]
    async fn create_item(
        &self,
        request: Request<pb::CreateItemRequest>,
    ) -> Result<Response<pb::CreateItemResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let command = parse::create_item(&message)?;
        Ok(Response::new(
            self.stores.create_item(&context, &message, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_items(
        &self,
        request: Request<pb::ListItemsRequest>,
    ) -> Result<Response<pb::ListItemsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let command = parse::list_items(&message)?;
        Ok(Response::new(
            self.stores.list_items(&context, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn create_warehouse(
        &self,
        request: Request<pb::CreateWarehouseRequest>,
    ) -> Result<Response<pb::CreateWarehouseResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let command = parse::create_warehouse(&message)?;
        Ok(Response::new(
            self.stores
                .create_warehouse(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_warehouses(
        &self,
        request: Request<pb::ListWarehousesRequest>,
    ) -> Result<Response<pb::ListWarehousesResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        Ok(Response::new(self.stores.list_warehouses(&context).await?))
    }

    #[tracing::instrument(skip_all)]
    async fn set_reorder_point(
        &self,
        request: Request<pb::SetReorderPointRequest>,
    ) -> Result<Response<pb::SetReorderPointResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let command = parse::set_reorder_point(&message)?;
        Ok(Response::new(
            self.stores
                .set_reorder_point(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_purchase_suggestions(
        &self,
        request: Request<pb::ListPurchaseSuggestionsRequest>,
    ) -> Result<Response<pb::ListPurchaseSuggestionsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let command = parse::id("warehouse_id", &message.warehouse_id)?;
        Ok(Response::new(
            self.stores
                .list_purchase_suggestions(&context, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn receive_stock(
        &self,
        request: Request<pb::ReceiveStockRequest>,
    ) -> Result<Response<pb::ReceiveStockResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let command = parse::receive_stock(&message, self.stores.calls.now())?;
        Ok(Response::new(
            self.stores
                .receive_stock(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn transfer_stock(
        &self,
        request: Request<pb::TransferStockRequest>,
    ) -> Result<Response<pb::TransferStockResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let command = parse::transfer_stock(&message)?;
        Ok(Response::new(
            self.stores
                .transfer_stock(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn issue_stock(
        &self,
        request: Request<pb::IssueStockRequest>,
    ) -> Result<Response<pb::IssueStockResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(DISPENSE)?;
        let message = request.into_inner();
        let command = parse::issue_stock(&message)?;
        Ok(Response::new(
            self.stores.issue_stock(&context, &message, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn return_stock(
        &self,
        request: Request<pb::ReturnStockRequest>,
    ) -> Result<Response<pb::ReturnStockResponse>, Status> {
        let context = RequestContext::of(&request);
        if context.authorize_any(MANAGE).is_err() {
            context.authorize_any(RETURN)?;
        }
        let message = request.into_inner();
        let command = parse::return_stock(&message)?;
        Ok(Response::new(
            self.stores
                .return_stock(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn write_off_stock(
        &self,
        request: Request<pb::WriteOffStockRequest>,
    ) -> Result<Response<pb::WriteOffStockResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let command = parse::write_off_stock(&message)?;
        Ok(Response::new(
            self.stores
                .write_off_stock(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_stock(
        &self,
        request: Request<pb::GetStockRequest>,
    ) -> Result<Response<pb::GetStockResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let command = parse::warehouse_item(&message.warehouse_id, &message.item_id)?;
        Ok(Response::new(
            self.stores
                .get_stock(&context, command.0, command.1)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn start_stocktaking(
        &self,
        request: Request<pb::StartStocktakingRequest>,
    ) -> Result<Response<pb::StartStocktakingResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let command = parse::start_stocktaking(&message)?;
        Ok(Response::new(
            self.stores
                .start_stocktaking(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn record_counts(
        &self,
        request: Request<pb::RecordCountsRequest>,
    ) -> Result<Response<pb::RecordCountsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let command = parse::record_counts(&message)?;
        Ok(Response::new(
            self.stores
                .record_counts(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_stocktaking(
        &self,
        request: Request<pb::GetStocktakingRequest>,
    ) -> Result<Response<pb::GetStocktakingResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let command = parse::id("id", &message.id)?;
        Ok(Response::new(
            self.stores.get_stocktaking(&context, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn close_stocktaking(
        &self,
        request: Request<pb::CloseStocktakingRequest>,
    ) -> Result<Response<pb::CloseStocktakingResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let command = parse::close_stocktaking(&message)?;
        Ok(Response::new(
            self.stores
                .close_stocktaking(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_stock_report(
        &self,
        request: Request<pb::GetStockReportRequest>,
    ) -> Result<Response<pb::GetStockReportResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let command = parse::stock_report(&message)?;
        Ok(Response::new(
            self.stores
                .stock_report(&context, command.0, command.1)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn create_requisition(
        &self,
        request: Request<pb::CreateRequisitionRequest>,
    ) -> Result<Response<pb::CreateRequisitionResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(ADMINISTER)?;
        let message = request.into_inner();
        let command = parse::requisition(&message)?;
        Ok(Response::new(
            self.stores
                .create_requisition(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn requisition_ward_medication_order(
        &self,
        request: Request<pb::RequisitionWardMedicationOrderRequest>,
    ) -> Result<Response<pb::RequisitionWardMedicationOrderResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(ADMINISTER)?;
        let message = request.into_inner();
        let command = parse::ward_order(&message)?;
        Ok(Response::new(
            self.stores
                .requisition_ward_order(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn fulfill_requisition(
        &self,
        request: Request<pb::FulfillRequisitionRequest>,
    ) -> Result<Response<pb::FulfillRequisitionResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(DISPENSE)?;
        let message = request.into_inner();
        let command = parse::fulfilment(&message)?;
        Ok(Response::new(
            self.stores
                .fulfill_requisition(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_requisition(
        &self,
        request: Request<pb::GetRequisitionRequest>,
    ) -> Result<Response<pb::GetRequisitionResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.into_inner();
        let command = parse::id("id", &message.id)?;
        Ok(Response::new(
            self.stores.get_requisition(&context, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_open_requisitions(
        &self,
        request: Request<pb::ListOpenRequisitionsRequest>,
    ) -> Result<Response<pb::ListOpenRequisitionsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let command = parse::id("supplier_id", &message.supplier_id)?;
        Ok(Response::new(
            self.stores
                .list_open_requisitions(&context, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_patient_slip(
        &self,
        request: Request<pb::GetPatientSlipRequest>,
    ) -> Result<Response<pb::GetPatientSlipResponse>, Status> {
        let context = RequestContext::of(&request);
        // Nurses print the slips of their ward's patients too.
        if context.authorize_any(READ).is_err() {
            context.authorize_any(ADMINISTER)?;
        }
        let message = request.into_inner();
        let command = parse::patient_slip(&message)?;
        Ok(Response::new(
            self.stores.patient_slip(&context, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_ward_stock_analysis(
        &self,
        request: Request<pb::GetWardStockAnalysisRequest>,
    ) -> Result<Response<pb::GetWardStockAnalysisResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let command =
            parse::ward_period(&message.warehouse_id, &message.from_date, &message.to_date)?;
        Ok(Response::new(
            self.stores.ward_stock_analysis(&context, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_controlled_register(
        &self,
        request: Request<pb::ListControlledRegisterRequest>,
    ) -> Result<Response<pb::ListControlledRegisterResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let command =
            parse::ward_period(&message.warehouse_id, &message.from_date, &message.to_date)?;
        Ok(Response::new(
            self.stores
                .controlled_register(&context, command.warehouse_id, (command.from, command.to))
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_movements(
        &self,
        request: Request<pb::ListMovementsRequest>,
    ) -> Result<Response<pb::ListMovementsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let command = parse::list_movements(&message)?;
        Ok(Response::new(
            self.stores.list_movements(&context, command).await?,
        ))
    }
}
