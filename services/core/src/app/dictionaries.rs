//! The tenant's dictionaries (specialties, and whatever else the hospital keeps as codes) and
//! their entries.

use hmis_platform::idempotency::RequestKey;
use hmis_platform::paging::{PageSize, finish_page};
use hmis_platform::types::{Code, Name, Text, Version};
use hmis_platform::{RequestContext, Violations};
use hmis_proto::openhmis::core::v1 as pb;

use super::{Core, check_etag, method};
use crate::convert::{dictionary_to_pb, entry_to_pb};
use crate::domain::{Dictionary, DictionaryEntry, DictionaryEntryChanges};
use crate::error::{Error, Result};
use crate::store::{self, Lock};

const SERVICE: &str = "DictionaryService";

pub(crate) struct NewDictionary {
    pub(crate) key: RequestKey,
    pub(crate) code: Code,
    pub(crate) name: Name,
    pub(crate) description: Text,
}

pub(crate) struct NewEntry {
    pub(crate) key: RequestKey,
    pub(crate) dictionary_code: Code,
    pub(crate) code: Code,
    pub(crate) display: Name,
    pub(crate) sort_order: i32,
}

/// A dictionary's entries in their order, the inactive ones too when asked.
pub(crate) struct EntriesPage {
    pub(crate) dictionary_code: Code,
    pub(crate) include_inactive: bool,
    pub(crate) size: PageSize,
    pub(crate) after: Option<(i32, String)>,
}

/// An entry changed against the version the caller read.
pub(crate) struct EntryUpdate {
    pub(crate) dictionary_code: Code,
    pub(crate) code: Code,
    pub(crate) etag: Version,
    pub(crate) changes: DictionaryEntryChanges,
}

impl Core {
    pub(crate) async fn create_dictionary(
        &self,
        context: &RequestContext,
        message: &pb::CreateDictionaryRequest,
        new: NewDictionary,
    ) -> Result<pb::CreateDictionaryResponse> {
        let dictionary = Dictionary {
            code: new.code,
            name: new.name,
            description: new.description,
            created_at: self.calls.now(),
        };
        let method = method(SERVICE, "CreateDictionary");
        (self.calls)
            .write(context, &method, &new.key, message, async |tx| {
                store::insert_dictionary(tx, &dictionary).await?;
                Ok::<_, Error>(pb::CreateDictionaryResponse {
                    dictionary: Some(dictionary_to_pb(&dictionary)),
                })
            })
            .await
    }

    pub(crate) async fn list_dictionaries(
        &self,
        context: &RequestContext,
        (size, after): (PageSize, Option<String>),
    ) -> Result<pb::ListDictionariesResponse> {
        let rows = (self.calls)
            .transaction(context, async |tx| {
                store::list_dictionaries(tx, after.as_deref(), size.fetch_limit()).await
            })
            .await?;
        let (rows, next_page_token) = finish_page(rows, size, |d| d.code.to_string());
        Ok(pb::ListDictionariesResponse {
            dictionaries: rows.iter().map(dictionary_to_pb).collect(),
            next_page_token,
        })
    }

    pub(crate) async fn create_dictionary_entry(
        &self,
        context: &RequestContext,
        message: &pb::CreateDictionaryEntryRequest,
        new: NewEntry,
    ) -> Result<pb::CreateDictionaryEntryResponse> {
        let now = self.calls.now();
        let entry = DictionaryEntry {
            dictionary_code: new.dictionary_code,
            code: new.code,
            display: new.display,
            sort_order: new.sort_order,
            active: true,
            version: Version::FIRST,
            created_at: now,
            updated_at: now,
        };
        let method = method(SERVICE, "CreateDictionaryEntry");
        (self.calls)
            .write(context, &method, &new.key, message, async |tx| {
                if !store::dictionary_exists(tx, &entry.dictionary_code).await? {
                    let mut violations = Violations::default();
                    violations.add("entry.dictionary_code", "no such dictionary");
                    return Err(Error::from(violations));
                }
                store::insert_entry(tx, &entry).await?;
                Ok::<_, Error>(pb::CreateDictionaryEntryResponse {
                    dictionary_entry: Some(entry_to_pb(&entry)),
                })
            })
            .await
    }

    pub(crate) async fn list_dictionary_entries(
        &self,
        context: &RequestContext,
        page: EntriesPage,
    ) -> Result<pb::ListDictionaryEntriesResponse> {
        let EntriesPage {
            dictionary_code,
            include_inactive,
            size,
            after,
        } = page;
        let after = after
            .as_ref()
            .map(|(sort_order, code)| (*sort_order, code.as_str()));
        let rows = (self.calls)
            .transaction(context, async |tx| {
                if !store::dictionary_exists(tx, &dictionary_code).await? {
                    return Err(Error::NotFound {
                        what: "dictionary",
                        id: dictionary_code.to_string(),
                    });
                }
                let limit = size.fetch_limit();
                store::list_entries(tx, &dictionary_code, include_inactive, after, limit).await
            })
            .await?;
        let (rows, next_page_token) =
            finish_page(rows, size, |e| (e.sort_order, e.code.to_string()));
        Ok(pb::ListDictionaryEntriesResponse {
            entries: rows.iter().map(entry_to_pb).collect(),
            next_page_token,
        })
    }

    pub(crate) async fn update_dictionary_entry(
        &self,
        context: &RequestContext,
        update: EntryUpdate,
    ) -> Result<pb::UpdateDictionaryEntryResponse> {
        let now = self.calls.now();
        let entry = (self.calls)
            .transaction(context, async |tx| {
                let (dictionary, code) = (&update.dictionary_code, &update.code);
                let mut entry = store::get_entry(tx, dictionary, code, Lock::ForUpdate).await?;
                check_etag(entry.version, update.etag, "dictionary entry")?;
                entry.apply(update.changes);
                entry.updated_at = now;
                store::update_entry(tx, &mut entry).await?;
                Ok(entry)
            })
            .await?;
        Ok(pb::UpdateDictionaryEntryResponse {
            dictionary_entry: Some(entry_to_pb(&entry)),
        })
    }
}
