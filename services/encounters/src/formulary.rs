//! The formulary service: the medicines prescribers choose from (with their strength,
//! maximum daily dose and restriction class) and the interaction rules the safety check
//! applies. Reference data, not patient data: changes are idempotent, reads are not audited.

use std::sync::Arc;

use hmis_platform::idempotency::RequestKey;
use hmis_platform::paging::{PageSize, decode_token, finish_page};
use hmis_platform::types::{Code as ItemCode, Line, Text};
use hmis_platform::{RequestContext, Violations};
use hmis_proto::openhmis::encounters::v1 as pb;
use pb::formulary_service_server::FormularyService;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::convert::{medicine_to_pb, parse_restriction, parse_warning_severity, rule_to_pb};
use crate::domain::{Amount, parse_atc};
use crate::error::{Error, Result};
use crate::grpc::{MEDICINES, READ, Ward};
use crate::store::{self, MedicineRow, RuleRow};

const MANAGE: &str = "encounters.formulary.manage";

#[derive(Debug, Clone)]
pub struct FormularyApi {
    pub(crate) ward: Arc<Ward>,
}

/// A short unit name: tablet, capsule, mg, ml, IU.
fn parse_unit(value: &str) -> std::result::Result<String, hmis_platform::types::ParseError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > 20 || value.chars().any(char::is_control) {
        return Err(hmis_platform::types::ParseError::new(
            "must be a unit name of 1-20 characters (tablet, mg)",
        ));
    }
    Ok(value.to_owned())
}

impl FormularyApi {
    fn authorize_read(context: &RequestContext) -> Result<(), Status> {
        if context.authorize_any(READ).is_ok() {
            return Ok(());
        }
        context.authorize_any(MANAGE).map(|_| ())
    }
}

#[tonic::async_trait]
impl FormularyService for FormularyApi {
    #[tracing::instrument(skip_all)]
    async fn create_medicine(
        &self,
        request: Request<pb::CreateMedicineRequest>,
    ) -> Result<Response<pb::CreateMedicineResponse>, Status> {
        let context = RequestContext::of(&request);
        let ward = &self.ward;
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let now = ward.calls.now();
        let medicine = message.medicine.clone().unwrap_or_default();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        if message.medicine.is_none() {
            violations.add("medicine", "is required");
        }
        let code = violations.check("medicine.code", ItemCode::parse(&medicine.code));
        let name = violations.check("medicine.name", Line::parse(&medicine.name));
        if name.as_ref().is_some_and(Line::is_empty) {
            violations.add("medicine.name", "is required");
        }
        let atc = violations.check("medicine.atc_code", parse_atc(&medicine.atc_code));
        if atc.as_ref().is_some_and(|atc| atc.len() != 7) {
            violations.add(
                "medicine.atc_code",
                "must name the substance (seven characters, e.g. J01CA04)",
            );
        }
        let form_unit = violations.check("medicine.form_unit", parse_unit(&medicine.form_unit));
        let strength = violations.check("medicine.strength", Amount::parse(&medicine.strength));
        let strength_unit = violations.check(
            "medicine.strength_unit",
            parse_unit(&medicine.strength_unit),
        );
        let max_daily_dose = if medicine.max_daily_dose.trim().is_empty() {
            Some(None)
        } else {
            violations
                .check(
                    "medicine.max_daily_dose",
                    Amount::parse(&medicine.max_daily_dose),
                )
                .map(Some)
        };
        let restriction = violations.check(
            "medicine.restriction",
            parse_restriction(medicine.restriction),
        );
        let (
            Some(key),
            Some(code),
            Some(name),
            Some(atc),
            Some(form_unit),
            Some(strength),
            Some(strength_unit),
            Some(max_daily_dose),
            Some(restriction),
            true,
        ) = (
            key,
            code,
            name,
            atc,
            form_unit,
            strength,
            strength_unit,
            max_daily_dose,
            restriction,
            violations.is_empty(),
        )
        else {
            return Err(Error::from(violations).into());
        };
        ward.directory
            .check_codes(
                &context,
                MEDICINES,
                "medicine.atc_code",
                std::slice::from_ref(&atc),
                false,
            )
            .await?;
        let response = ward
            .calls
            .write(
                &context,
                &Ward::method_of("FormularyService", "CreateMedicine"),
                &key,
                &message,
                async |tx| {
                    let row = store::insert_medicine(
                        tx,
                        &MedicineRow {
                            id: Uuid::now_v7(),
                            code: code.as_str().to_owned(),
                            name: name.as_str().to_owned(),
                            atc_code: atc,
                            form_unit,
                            strength: strength.to_string(),
                            strength_unit,
                            max_daily_dose: max_daily_dose.map(|max| max.to_string()),
                            restriction: restriction.as_db().to_owned(),
                            version: 1,
                        },
                        now,
                    )
                    .await?;
                    Ok::<_, Error>(pb::CreateMedicineResponse {
                        medicine: Some(medicine_to_pb(&row)),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn list_medicines(
        &self,
        request: Request<pb::ListMedicinesRequest>,
    ) -> Result<Response<pb::ListMedicinesResponse>, Status> {
        let context = RequestContext::of(&request);
        Self::authorize_read(&context)?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let size = violations.check("page_size", PageSize::parse(message.page_size));
        let after = violations
            .check(
                "page_token",
                decode_token::<(String, Uuid)>(&message.page_token),
            )
            .flatten();
        let query = violations.check("query", Line::parse(&message.query));
        let (Some(size), Some(query), true) = (size, query, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        let prefix = (!query.is_empty())
            .then(|| query.as_str().to_lowercase().replace(['%', '_', '\\'], ""));
        let mut tx = self.ward.read_tx(&context).await?;
        let rows =
            store::list_medicines(&mut tx, prefix.as_deref(), after, size.fetch_limit()).await?;
        tx.commit().await.map_err(Error::from)?;
        let (rows, next_page_token) = finish_page(rows, size, |row| (row.name.clone(), row.id));
        Ok(Response::new(pb::ListMedicinesResponse {
            medicines: rows.iter().map(medicine_to_pb).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn create_interaction_rule(
        &self,
        request: Request<pb::CreateInteractionRuleRequest>,
    ) -> Result<Response<pb::CreateInteractionRuleResponse>, Status> {
        let context = RequestContext::of(&request);
        let ward = &self.ward;
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let now = ward.calls.now();
        let rule = message.rule.clone().unwrap_or_default();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        if message.rule.is_none() {
            violations.add("rule", "is required");
        }
        let a = violations.check("rule.atc_code_a", parse_atc(&rule.atc_code_a));
        let b = violations.check("rule.atc_code_b", parse_atc(&rule.atc_code_b));
        let severity = violations.check("rule.severity", parse_warning_severity(rule.severity));
        let description =
            violations.check("rule.description", Text::parse_required(&rule.description));
        let (Some(key), Some(a), Some(b), Some(severity), Some(description), true) =
            (key, a, b, severity, description, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        for (field, code) in [("rule.atc_code_a", &a), ("rule.atc_code_b", &b)] {
            ward.directory
                .check_codes(&context, MEDICINES, field, std::slice::from_ref(code), true)
                .await?;
        }
        // One order for a pair, so (A, B) and (B, A) are the same rule to the unique index.
        let (a, b) = if a <= b { (a, b) } else { (b, a) };
        let response = ward
            .calls
            .write(
                &context,
                &Ward::method_of("FormularyService", "CreateInteractionRule"),
                &key,
                &message,
                async |tx| {
                    let row = RuleRow {
                        id: Uuid::now_v7(),
                        atc_code_a: a,
                        atc_code_b: b,
                        severity: severity.as_db().to_owned(),
                        description: description.as_str().to_owned(),
                    };
                    store::insert_rule(tx, &row, now).await?;
                    Ok::<_, Error>(pb::CreateInteractionRuleResponse {
                        rule: Some(rule_to_pb(&row)),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn list_interaction_rules(
        &self,
        request: Request<pb::ListInteractionRulesRequest>,
    ) -> Result<Response<pb::ListInteractionRulesResponse>, Status> {
        let context = RequestContext::of(&request);
        Self::authorize_read(&context)?;
        let mut tx = self.ward.read_tx(&context).await?;
        let rows = store::list_rules(&mut tx).await?;
        tx.commit().await.map_err(Error::from)?;
        Ok(Response::new(pb::ListInteractionRulesResponse {
            rules: rows.iter().map(rule_to_pb).collect(),
        }))
    }
}
