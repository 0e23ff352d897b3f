//! The record's photo is the archive's: the newest `PHOTO` document stored (or replaced) for
//! the patient becomes `photo_ref` (its document id; its current version is the picture), and
//! a deleted one stops being it. Each change is a new version of the record, published and
//! audited under the system, following the archive's events.

use hmis_platform::RequestContext;
use uuid::Uuid;

use super::Registry;
use crate::error::Error;
use crate::store;

impl Registry {
    /// The patient's photo becomes `document` (`shown`), or stops being it (deleted at the end
    /// of its retention). A patient the registry does not hold is left alone: the archive
    /// does not check whom a document names.
    pub(crate) async fn follow_photo(
        &self,
        context: &RequestContext,
        patient_id: Uuid,
        (document, shown): (Uuid, bool),
    ) -> Result<(), Error> {
        let changed = self
            .change_followed(context, patient_id, async |tx, now| {
                store::follow_photo(tx, patient_id, (document, shown), now).await
            })
            .await;
        match changed {
            Err(Error::NotFound(_)) => Ok(()),
            other => other,
        }
    }
}
