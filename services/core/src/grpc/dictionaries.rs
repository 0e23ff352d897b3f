//! `DictionaryService`: the tenant's dictionaries and their entries.

use super::*;

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
    ) -> std::result::Result<Response<pb::CreateDictionaryResponse>, Status> {
        let (_, context) = manager(&request)?;
        let message = request.into_inner();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let dictionary = required(message.dictionary.as_ref(), "dictionary", &mut violations);
        let code =
            dictionary.and_then(|d| violations.check("dictionary.code", Code::parse(&d.code)));
        let name =
            dictionary.and_then(|d| violations.check("dictionary.name", Name::parse(&d.name)));
        let description = dictionary
            .and_then(|d| violations.check("dictionary.description", Text::parse(&d.description)));
        let (Some(key), Some(code), Some(name), Some(description)) = (key, code, name, description)
        else {
            return Err(Error::from(violations).into());
        };
        let dictionary = Dictionary {
            code,
            name,
            description,
            created_at: self.core.calls.now(),
        };
        let response = self
            .core
            .calls
            .write(
                &context,
                "/openhmis.core.v1.DictionaryService/CreateDictionary",
                &key,
                &message,
                async |tx| {
                    store::insert_dictionary(tx, &dictionary).await?;
                    Ok::<_, Error>(pb::CreateDictionaryResponse {
                        dictionary: Some(dictionary_to_pb(&dictionary)),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn list_dictionaries(
        &self,
        request: Request<pb::ListDictionariesRequest>,
    ) -> std::result::Result<Response<pb::ListDictionariesResponse>, Status> {
        let (tenant_id, context) = reader(&request)?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let size = page_size(message.page_size, &mut violations);
        let after = violations
            .check("page_token", decode_token::<String>(&message.page_token))
            .flatten();
        violations.into_result().map_err(Error::from)?;
        let mut tx = self.core.read_tx(tenant_id, &context).await?;
        let rows = store::list_dictionaries(&mut tx, after.as_deref(), size.fetch_limit()).await?;
        let (rows, next_page_token) = finish_page(rows, size, |d| d.code.to_string());
        Ok(Response::new(pb::ListDictionariesResponse {
            dictionaries: rows.iter().map(dictionary_to_pb).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn create_dictionary_entry(
        &self,
        request: Request<pb::CreateDictionaryEntryRequest>,
    ) -> std::result::Result<Response<pb::CreateDictionaryEntryResponse>, Status> {
        let (_, context) = manager(&request)?;
        let message = request.into_inner();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let entry = required(message.entry.as_ref(), "entry", &mut violations);
        let dictionary_code = entry.and_then(|e| {
            violations.check("entry.dictionary_code", Code::parse(&e.dictionary_code))
        });
        let code = entry.and_then(|e| violations.check("entry.code", Code::parse(&e.code)));
        let display =
            entry.and_then(|e| violations.check("entry.display", Name::parse(&e.display)));
        let (Some(key), Some(dictionary_code), Some(code), Some(display), Some(entry)) =
            (key, dictionary_code, code, display, entry)
        else {
            return Err(Error::from(violations).into());
        };
        let now = self.core.calls.now();
        let entry = DictionaryEntry {
            dictionary_code,
            code,
            display,
            sort_order: entry.sort_order,
            active: true,
            version: Version::FIRST,
            created_at: now,
            updated_at: now,
        };
        let response = self
            .core
            .calls
            .write(
                &context,
                "/openhmis.core.v1.DictionaryService/CreateDictionaryEntry",
                &key,
                &message,
                async |tx| {
                    if !store::dictionary_exists(tx, &entry.dictionary_code).await? {
                        let mut violations = Violations::default();
                        violations.add("entry.dictionary_code", "no such dictionary");
                        return Err(Error::InvalidArgument(violations));
                    }
                    store::insert_entry(tx, &entry).await?;
                    Ok::<_, Error>(pb::CreateDictionaryEntryResponse {
                        dictionary_entry: Some(entry_to_pb(&entry)),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn list_dictionary_entries(
        &self,
        request: Request<pb::ListDictionaryEntriesRequest>,
    ) -> std::result::Result<Response<pb::ListDictionaryEntriesResponse>, Status> {
        let (tenant_id, context) = reader(&request)?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let dictionary_code =
            violations.check("dictionary_code", Code::parse(&message.dictionary_code));
        let size = page_size(message.page_size, &mut violations);
        let after = violations
            .check(
                "page_token",
                decode_token::<(i32, String)>(&message.page_token),
            )
            .flatten();
        let (Some(dictionary_code), true) = (dictionary_code, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.core.read_tx(tenant_id, &context).await?;
        if !store::dictionary_exists(&mut tx, &dictionary_code).await? {
            return Err(Error::NotFound {
                what: "dictionary",
                id: dictionary_code.to_string(),
            }
            .into());
        }
        let rows = store::list_entries(
            &mut tx,
            &dictionary_code,
            message.include_inactive,
            after
                .as_ref()
                .map(|(sort_order, code)| (*sort_order, code.as_str())),
            size.fetch_limit(),
        )
        .await?;
        let (rows, next_page_token) =
            finish_page(rows, size, |e| (e.sort_order, e.code.to_string()));
        Ok(Response::new(pb::ListDictionaryEntriesResponse {
            entries: rows.iter().map(entry_to_pb).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn update_dictionary_entry(
        &self,
        request: Request<pb::UpdateDictionaryEntryRequest>,
    ) -> std::result::Result<Response<pb::UpdateDictionaryEntryResponse>, Status> {
        let (tenant_id, context) = manager(&request)?;
        let message = request.into_inner();
        let mut violations = Violations::default();
        let paths = mask_paths(
            message.update_mask.as_ref(),
            &["display", "sort_order", "active"],
            &mut violations,
        );
        let Some(entry) = required(message.entry.as_ref(), "entry", &mut violations) else {
            return Err(Error::from(violations).into());
        };
        let dictionary_code =
            violations.check("entry.dictionary_code", Code::parse(&entry.dictionary_code));
        let code = violations.check("entry.code", Code::parse(&entry.code));
        let etag = violations.check("entry.etag", Version::parse_etag(&entry.etag));
        let mut changes = DictionaryEntryChanges::default();
        if masked(&paths, "display") {
            changes.display = violations.check("entry.display", Name::parse(&entry.display));
        }
        if masked(&paths, "sort_order") {
            changes.sort_order = Some(entry.sort_order);
        }
        if masked(&paths, "active") {
            changes.active = Some(entry.active);
        }
        let (Some(dictionary_code), Some(code), Some(etag), true) =
            (dictionary_code, code, etag, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.core.read_tx(tenant_id, &context).await?;
        let mut entry = store::get_entry(&mut tx, &dictionary_code, &code, Lock::ForUpdate).await?;
        check_etag(entry.version, etag, "dictionary entry")?;
        entry.apply(changes);
        entry.updated_at = self.core.calls.now();
        store::update_entry(&mut tx, &mut entry).await?;
        tx.commit().await.map_err(Error::from)?;
        Ok(Response::new(pb::UpdateDictionaryEntryResponse {
            dictionary_entry: Some(entry_to_pb(&entry)),
        }))
    }
}
