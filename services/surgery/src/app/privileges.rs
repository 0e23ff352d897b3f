//! The catalogue's procedure grades, surgeons' privileges and the overrides recorded for the
//! medical office's review.

use hmis_platform::idempotency::RequestKey;
use hmis_platform::types::{Text, Version};
use hmis_proto::openhmis::surgery::v1 as pb;

use super::*;
use crate::convert::{override_to_pb, privilege_to_pb};
use crate::domain::{Grade, PrivilegeStatus, status_change_allowed};
use crate::store::{self, PrivilegeRow};

/// What a GrantPrivilege call asks for, parsed.
#[derive(Debug)]
pub(crate) struct Granting {
    pub(crate) key: RequestKey,
    pub(crate) surgeon_id: Uuid,
    /// A grade, or one procedure code (checked against the terminology here).
    pub(crate) extent: Result<Grade, String>,
    pub(crate) valid_from: Option<NaiveDate>,
    pub(crate) valid_until: Option<NaiveDate>,
}

/// What a ChangePrivilegeStatus call asks for, parsed.
#[derive(Debug)]
pub(crate) struct StatusChange {
    pub(crate) key: RequestKey,
    pub(crate) id: Uuid,
    pub(crate) status: PrivilegeStatus,
    pub(crate) reason: Text,
    pub(crate) etag: Option<Version>,
}

impl Surgery {
    pub(crate) async fn set_procedure_grades(
        &self,
        context: &RequestContext,
        message: &pb::SetProcedureGradesRequest,
        (key, grades): (RequestKey, Vec<(String, Grade)>),
    ) -> Result<pb::SetProcedureGradesResponse> {
        let method = method("SetProcedureGrades");
        if let Some(replayed) = self.calls.replay(context, &method, &key, message).await? {
            return Ok(replayed);
        }
        let codes: Vec<String> = grades.iter().map(|(code, _)| code.clone()).collect();
        for chunk in codes.chunks(1000) {
            self.directory.procedures(context, "grades", chunk).await?;
        }
        let rows: Vec<(String, i16)> = (grades.into_iter())
            .map(|(code, grade)| (code, grade.get()))
            .collect();
        let now = self.calls.now();
        self.calls
            .write(context, &method, &key, message, async |tx| {
                let written = store::upsert_grades(tx, &rows, now).await?;
                record(tx, context, &[], now).await?;
                Ok(pb::SetProcedureGradesResponse {
                    written: i32::try_from(written).unwrap_or(i32::MAX),
                })
            })
            .await
    }

    pub(crate) async fn list_procedure_grades(
        &self,
        context: &RequestContext,
        codes: Vec<String>,
    ) -> Result<pb::ListProcedureGradesResponse> {
        self.calls
            .transaction(context, async |tx| {
                let only = (!codes.is_empty()).then_some(codes.as_slice());
                let grades = store::grades(tx, only).await?;
                Ok(pb::ListProcedureGradesResponse {
                    grades: (grades.into_iter())
                        .map(|(code, grade)| pb::ProcedureGrade {
                            code,
                            grade: i32::from(grade),
                        })
                        .collect(),
                })
            })
            .await
    }

    pub(crate) async fn grant_privilege(
        &self,
        context: &RequestContext,
        message: &pb::GrantPrivilegeRequest,
        granting: Granting,
    ) -> Result<pb::GrantPrivilegeResponse> {
        let method = method("GrantPrivilege");
        if let Some(replayed) = self
            .calls
            .replay(context, &method, &granting.key, message)
            .await?
        {
            return Ok(replayed);
        }
        let (max_grade, procedure_code) = match &granting.extent {
            Ok(grade) => (Some(grade.get()), None),
            Err(code) => {
                let checked = self
                    .directory
                    .procedures(context, "procedure_code", std::slice::from_ref(code))
                    .await?;
                (
                    None,
                    checked.into_iter().next().map(|procedure| procedure.code),
                )
            }
        };
        let now = self.calls.now();
        let valid_from = granting.valid_from.unwrap_or(now.date_naive());
        if granting.valid_until.is_some_and(|until| until < valid_from) {
            return Err(Error::invalid(
                "valid_until",
                "must not be before valid_from",
            ));
        }
        let row = PrivilegeRow {
            id: Uuid::now_v7(),
            surgeon_id: granting.surgeon_id,
            max_grade,
            procedure_code,
            valid_from,
            valid_until: granting.valid_until,
            status: PrivilegeStatus::Active,
            status_reason: String::new(),
            granted_by: context.user_id(),
            granted_at: now,
            version: 1,
        };
        self.calls
            .write(context, &method, &granting.key, message, async |tx| {
                store::insert_privilege(tx, &row).await?;
                record(tx, context, &[], now).await?;
                Ok(pb::GrantPrivilegeResponse {
                    privilege: Some(privilege_to_pb(&row)),
                })
            })
            .await
    }

    pub(crate) async fn change_privilege_status(
        &self,
        context: &RequestContext,
        message: &pb::ChangePrivilegeStatusRequest,
        change: StatusChange,
    ) -> Result<pb::ChangePrivilegeStatusResponse> {
        let now = self.calls.now();
        self.calls
            .write(
                context,
                &method("ChangePrivilegeStatus"),
                &change.key,
                message,
                async |tx| {
                    let row = store::get_privilege_for_update(tx, change.id).await?;
                    if change
                        .etag
                        .is_some_and(|etag| etag != Version::from_db(row.version))
                    {
                        return Err(Error::Stale("privilege"));
                    }
                    if !status_change_allowed(row.status, change.status) {
                        return Err(Error::precondition(format!(
                            "a {} privilege cannot become {}",
                            row.status, change.status
                        )));
                    }
                    let reason = (change.status, change.reason.as_str());
                    let row =
                        store::change_privilege_status(tx, row.id, reason, context.user_id(), now)
                            .await?;
                    record(tx, context, &[], now).await?;
                    Ok(pb::ChangePrivilegeStatusResponse {
                        privilege: Some(privilege_to_pb(&row)),
                    })
                },
            )
            .await
    }

    pub(crate) async fn list_privileges(
        &self,
        context: &RequestContext,
        surgeon_id: Option<Uuid>,
    ) -> Result<pb::ListPrivilegesResponse> {
        self.calls
            .transaction(context, async |tx| {
                let rows = store::list_privileges(tx, surgeon_id).await?;
                Ok(pb::ListPrivilegesResponse {
                    privileges: rows.iter().map(privilege_to_pb).collect(),
                })
            })
            .await
    }

    pub(crate) async fn list_overrides(
        &self,
        context: &RequestContext,
        unreviewed_only: bool,
    ) -> Result<pb::ListPrivilegeOverridesResponse> {
        self.calls
            .transaction(context, async |tx| {
                let rows = store::list_overrides(tx, unreviewed_only).await?;
                Ok(pb::ListPrivilegeOverridesResponse {
                    overrides: rows.iter().map(override_to_pb).collect(),
                })
            })
            .await
    }

    pub(crate) async fn review_override(
        &self,
        context: &RequestContext,
        message: &pb::ReviewPrivilegeOverrideRequest,
        (key, id, note): (RequestKey, Uuid, Text),
    ) -> Result<pb::ReviewPrivilegeOverrideResponse> {
        let now = self.calls.now();
        self.calls
            .write(
                context,
                &method("ReviewPrivilegeOverride"),
                &key,
                message,
                async |tx| {
                    let row = store::review_override(tx, id, note.as_str(), context.user_id(), now)
                        .await?;
                    record(tx, context, &[], now).await?;
                    Ok(pb::ReviewPrivilegeOverrideResponse {
                        r#override: Some(override_to_pb(&row)),
                    })
                },
            )
            .await
    }
}
