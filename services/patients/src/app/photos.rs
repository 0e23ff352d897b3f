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
    /// The patient's photo becomes `document` (a patient the registry does not hold is left
    /// alone: the archive does not check whom a document names).
    pub(crate) async fn set_photo(
        &self,
        context: &RequestContext,
        patient_id: Uuid,
        document: Uuid,
    ) -> Result<(), Error> {
        known(
            self.change_followed(context, patient_id, async |tx, now| {
                store::set_photo(tx, patient_id, document, now).await
            })
            .await,
        )
    }

    /// The patient's photo was `document`, deleted at the end of its retention.
    pub(crate) async fn clear_photo(
        &self,
        context: &RequestContext,
        patient_id: Uuid,
        document: Uuid,
    ) -> Result<(), Error> {
        known(
            self.change_followed(context, patient_id, async |tx, now| {
                store::clear_photo(tx, patient_id, document, now).await
            })
            .await,
        )
    }
}

fn known(changed: Result<(), Error>) -> Result<(), Error> {
    match changed {
        Err(Error::NotFound(_)) => Ok(()),
        other => other,
    }
}
