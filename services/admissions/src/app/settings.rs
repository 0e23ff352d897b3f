//! How a tenant runs its admissions: read by anyone who reads admissions, changed by holders of
//! `admissions.settings` across the tenant, idempotently by request id.

use hmis_platform::auth::Target;
use hmis_platform::idempotency::RequestKey;

use super::*;

/// The permission to change the tenant's admissions settings.
pub(crate) const SETTINGS: &str = "admissions.settings";

impl Adt {
    pub(crate) async fn get_settings(
        &self,
        context: &RequestContext,
    ) -> Result<pb::GetAdmissionSettingsResponse> {
        (self.calls)
            .transaction(context, async |tx| {
                Ok(pb::GetAdmissionSettingsResponse {
                    settings: Some(pb::AdmissionSettings {
                        discharge_requires_principal_diagnosis:
                            store::discharge_requires_principal_diagnosis(tx).await?,
                    }),
                })
            })
            .await
    }

    pub(crate) async fn update_settings(
        &self,
        context: &RequestContext,
        message: &pb::UpdateAdmissionSettingsRequest,
        (key, settings): (RequestKey, pb::AdmissionSettings),
    ) -> Result<pb::UpdateAdmissionSettingsResponse> {
        context.authorize(SETTINGS, &Target::TENANT)?;
        let now = self.calls.now();
        (self.calls)
            .write(
                context,
                &method("UpdateAdmissionSettings"),
                &key,
                message,
                async |tx| {
                    store::set_discharge_requires_principal_diagnosis(
                        tx,
                        settings.discharge_requires_principal_diagnosis,
                        now,
                    )
                    .await?;
                    Ok(pb::UpdateAdmissionSettingsResponse {
                        settings: Some(settings),
                    })
                },
            )
            .await
    }
}
