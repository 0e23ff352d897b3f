//! The tonic adapter of nutrition: authorize by permission, parse the request (every wrong
//! field named, `parse.rs`), call the use case (`crate::app`), answer. Authorization against
//! the ward, the kitchen or the patient's ward happens in the use case.

mod parse;

use std::sync::Arc;

use hmis_platform::RequestContext;
use hmis_proto::openhmis::nutrition::v1 as pb;
use pb::nutrition_service_server::NutritionService;
use tonic::{Request, Response, Status};

use crate::app::{KITCHEN, MANAGE, Nutrition, ORDER, READ};

#[derive(Debug, Clone)]
pub struct NutritionApi {
    pub(crate) nutrition: Arc<Nutrition>,
}

#[tonic::async_trait]
impl NutritionService for NutritionApi {
    #[tracing::instrument(skip_all)]
    async fn create_diet(
        &self,
        request: Request<pb::CreateDietRequest>,
    ) -> Result<Response<pb::CreateDietResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let answer = {
            let command = parse::create_diet(&message)?;
            self.nutrition
                .create_diet(&context, &message, command)
                .await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn list_diets(
        &self,
        request: Request<pb::ListDietsRequest>,
    ) -> Result<Response<pb::ListDietsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let answer = self.nutrition.list_diets(&context).await;
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn set_ward_diet(
        &self,
        request: Request<pb::SetWardDietRequest>,
    ) -> Result<Response<pb::SetWardDietResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let answer = {
            let command = parse::set_ward_diet(&message)?;
            self.nutrition
                .set_ward_diet(&context, &message, command)
                .await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn set_kitchen(
        &self,
        request: Request<pb::SetKitchenRequest>,
    ) -> Result<Response<pb::SetKitchenResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let answer = {
            let command = parse::set_kitchen(&message)?;
            self.nutrition
                .set_kitchen(&context, &message, command)
                .await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn get_kitchen(
        &self,
        request: Request<pb::GetKitchenRequest>,
    ) -> Result<Response<pb::GetKitchenResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let answer = {
            let facility_id = parse::id("facility_id", &message.facility_id)?;
            self.nutrition.get_kitchen(&context, facility_id).await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn record_restriction(
        &self,
        request: Request<pb::RecordRestrictionRequest>,
    ) -> Result<Response<pb::RecordRestrictionResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(ORDER)?;
        let message = request.into_inner();
        let answer = {
            let command = parse::record_restriction(&message)?;
            self.nutrition
                .record_restriction(&context, &message, command)
                .await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn end_restriction(
        &self,
        request: Request<pb::EndRestrictionRequest>,
    ) -> Result<Response<pb::EndRestrictionResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(ORDER)?;
        let message = request.into_inner();
        let answer = {
            let command = parse::end_restriction(&message)?;
            self.nutrition
                .end_restriction(&context, &message, command)
                .await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn list_restrictions(
        &self,
        request: Request<pb::ListRestrictionsRequest>,
    ) -> Result<Response<pb::ListRestrictionsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let answer = {
            let patient_id = parse::id("patient_id", &message.patient_id)?;
            self.nutrition.list_restrictions(&context, patient_id).await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn order_diet(
        &self,
        request: Request<pb::OrderDietRequest>,
    ) -> Result<Response<pb::OrderDietResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(ORDER)?;
        let message = request.into_inner();
        let answer = {
            let command = parse::order_diet(&message)?;
            self.nutrition.order_diet(&context, &message, command).await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn list_diet_orders(
        &self,
        request: Request<pb::ListDietOrdersRequest>,
    ) -> Result<Response<pb::ListDietOrdersResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let answer = {
            let patient_id = parse::id("patient_id", &message.patient_id)?;
            self.nutrition.list_diet_orders(&context, patient_id).await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn get_meal_order(
        &self,
        request: Request<pb::GetMealOrderRequest>,
    ) -> Result<Response<pb::GetMealOrderResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let answer = {
            let query = parse::get_meal_order(&message)?;
            self.nutrition.get_meal_order(&context, query).await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn adjust_meal_order(
        &self,
        request: Request<pb::AdjustMealOrderRequest>,
    ) -> Result<Response<pb::AdjustMealOrderResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(ORDER)?;
        let message = request.into_inner();
        let answer = {
            let command = parse::adjust_meal_order(&message)?;
            self.nutrition
                .adjust_meal_order(&context, &message, command)
                .await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn get_distribution_list(
        &self,
        request: Request<pb::GetDistributionListRequest>,
    ) -> Result<Response<pb::GetDistributionListResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let answer = {
            let query = parse::get_distribution_list(&message)?;
            self.nutrition.get_distribution_list(&context, query).await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn register_ingredient(
        &self,
        request: Request<pb::RegisterIngredientRequest>,
    ) -> Result<Response<pb::RegisterIngredientResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(KITCHEN)?;
        let message = request.into_inner();
        let answer = {
            let command = parse::register_ingredient(&message)?;
            self.nutrition
                .register_ingredient(&context, &message, command)
                .await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn list_ingredients(
        &self,
        request: Request<pb::ListIngredientsRequest>,
    ) -> Result<Response<pb::ListIngredientsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let answer = self.nutrition.list_ingredients(&context).await;
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn create_recipe(
        &self,
        request: Request<pb::CreateRecipeRequest>,
    ) -> Result<Response<pb::CreateRecipeResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(KITCHEN)?;
        let message = request.into_inner();
        let answer = {
            let command = parse::create_recipe(&message)?;
            self.nutrition
                .create_recipe(&context, &message, command)
                .await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn list_recipes(
        &self,
        request: Request<pb::ListRecipesRequest>,
    ) -> Result<Response<pb::ListRecipesResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let answer = self.nutrition.list_recipes(&context).await;
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn set_menu(
        &self,
        request: Request<pb::SetMenuRequest>,
    ) -> Result<Response<pb::SetMenuResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(KITCHEN)?;
        let message = request.into_inner();
        let answer = {
            let command = parse::set_menu(&message)?;
            self.nutrition.set_menu(&context, &message, command).await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn get_menu(
        &self,
        request: Request<pb::GetMenuRequest>,
    ) -> Result<Response<pb::GetMenuResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let answer = {
            let query = parse::get_menu(&message)?;
            self.nutrition.get_menu(&context, query).await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn get_production_sheet(
        &self,
        request: Request<pb::GetProductionSheetRequest>,
    ) -> Result<Response<pb::GetProductionSheetResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(KITCHEN)?;
        let message = request.into_inner();
        let answer = {
            let query = parse::facility_day(&message.facility_id, &message.day)?;
            self.nutrition.get_production_sheet(&context, query).await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn issue_ingredients(
        &self,
        request: Request<pb::IssueIngredientsRequest>,
    ) -> Result<Response<pb::IssueIngredientsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(KITCHEN)?;
        let message = request.into_inner();
        let answer = {
            let command = parse::issue_ingredients(&message)?;
            self.nutrition
                .issue_ingredients(&context, &message, command)
                .await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn get_nutrition_report(
        &self,
        request: Request<pb::GetNutritionReportRequest>,
    ) -> Result<Response<pb::GetNutritionReportResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(KITCHEN)?;
        let message = request.into_inner();
        let answer = {
            let query = parse::report(&message)?;
            self.nutrition.get_report(&context, query).await
        };
        Ok(Response::new(answer?))
    }
}
