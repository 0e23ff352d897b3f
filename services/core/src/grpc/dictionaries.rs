//! `DictionaryService`: the tenant's dictionaries and their entries.

use std::sync::Arc;

use hmis_platform::RequestContext;
use hmis_platform::auth::Target;
use hmis_proto::openhmis::core::v1 as pb;
use pb::dictionary_service_server::DictionaryService;
use tonic::{Request, Response};

use super::{Answer, parse};
use crate::app::{Core, MANAGE, READ};

#[derive(Debug, Clone)]
pub struct DictionaryApi {
    pub(crate) core: Arc<Core>,
}

#[tonic::async_trait]
impl DictionaryService for DictionaryApi {
    #[tracing::instrument(skip_all)]
    async fn create_dictionary(
        &self,
        request: Request<pb::CreateDictionaryRequest>,
    ) -> Answer<pb::CreateDictionaryResponse> {
        let context = RequestContext::of(&request);
        context.authorize(MANAGE, &Target::TENANT)?;
        let message = request.into_inner();
        let command = parse::new_dictionary(&message)?;
        Ok(Response::new(
            self.core
                .create_dictionary(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_dictionaries(
        &self,
        request: Request<pb::ListDictionariesRequest>,
    ) -> Answer<pb::ListDictionariesResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let command = parse::page(message.page_size, &message.page_token)?;
        Ok(Response::new(
            self.core.list_dictionaries(&context, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn create_dictionary_entry(
        &self,
        request: Request<pb::CreateDictionaryEntryRequest>,
    ) -> Answer<pb::CreateDictionaryEntryResponse> {
        let context = RequestContext::of(&request);
        context.authorize(MANAGE, &Target::TENANT)?;
        let message = request.into_inner();
        let command = parse::new_entry(&message)?;
        Ok(Response::new(
            self.core
                .create_dictionary_entry(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_dictionary_entries(
        &self,
        request: Request<pb::ListDictionaryEntriesRequest>,
    ) -> Answer<pb::ListDictionaryEntriesResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let command = parse::entries_page(&message)?;
        Ok(Response::new(
            self.core.list_dictionary_entries(&context, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn update_dictionary_entry(
        &self,
        request: Request<pb::UpdateDictionaryEntryRequest>,
    ) -> Answer<pb::UpdateDictionaryEntryResponse> {
        let context = RequestContext::of(&request);
        context.authorize(MANAGE, &Target::TENANT)?;
        let message = request.into_inner();
        let command = parse::entry_update(&message)?;
        Ok(Response::new(
            self.core.update_dictionary_entry(&context, command).await?,
        ))
    }
}
