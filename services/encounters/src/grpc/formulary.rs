//! The formulary service's adapter: medicines and interaction rules. Prescribers read the
//! formulary; its managers change it.

use std::sync::Arc;

use hmis_platform::amount::Amount;
use hmis_platform::paging::{PageSize, decode_token};
use hmis_platform::types::{Code, Line, ParseError, Text};
use hmis_platform::{RequestContext, Violations};
use hmis_proto::openhmis::encounters::v1 as pb;
use pb::formulary_service_server::FormularyService;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::Answer;
use crate::app::{FORMULARY_MANAGE, NewInteractionRule, NewMedicine, READ, Ward};
use crate::convert::{parse_restriction, parse_warning_severity};
use crate::domain::parse_atc;
use crate::error::Result;

#[derive(Debug, Clone)]
pub struct FormularyApi {
    pub(crate) ward: Arc<Ward>,
}

/// Whoever prescribes or manages the formulary reads it.
fn authorize_read(context: &RequestContext) -> std::result::Result<(), Status> {
    if context.authorize_any(READ).is_ok() {
        return Ok(());
    }
    context.authorize_any(FORMULARY_MANAGE).map(|_| ())
}

#[tonic::async_trait]
impl FormularyService for FormularyApi {
    #[tracing::instrument(skip_all)]
    async fn create_medicine(
        &self,
        request: Request<pb::CreateMedicineRequest>,
    ) -> Answer<pb::CreateMedicineResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(FORMULARY_MANAGE)?;
        let message = request.into_inner();
        let command = medicine(&message)?;
        Ok(Response::new(
            self.ward
                .create_medicine(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_medicines(
        &self,
        request: Request<pb::ListMedicinesRequest>,
    ) -> Answer<pb::ListMedicinesResponse> {
        let context = RequestContext::of(&request);
        authorize_read(&context)?;
        let message = request.into_inner();
        let command = medicines_page(&message)?;
        Ok(Response::new(
            self.ward
                .list_medicines(&context, command.0, command.1)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn create_interaction_rule(
        &self,
        request: Request<pb::CreateInteractionRuleRequest>,
    ) -> Answer<pb::CreateInteractionRuleResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(FORMULARY_MANAGE)?;
        let message = request.into_inner();
        let command = rule(&message)?;
        Ok(Response::new(
            self.ward
                .create_interaction_rule(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_interaction_rules(
        &self,
        request: Request<pb::ListInteractionRulesRequest>,
    ) -> Answer<pb::ListInteractionRulesResponse> {
        let context = RequestContext::of(&request);
        authorize_read(&context)?;
        Ok(Response::new(
            self.ward.list_interaction_rules(&context).await?,
        ))
    }
}

/// A short unit name: tablet, capsule, mg, ml, IU.
fn parse_unit(value: &str) -> std::result::Result<String, ParseError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > 20 || value.chars().any(char::is_control) {
        return Err(ParseError::new(
            "must be a unit name of 1-20 characters (tablet, mg)",
        ));
    }
    Ok(value.to_owned())
}

fn medicine(message: &pb::CreateMedicineRequest) -> Result<NewMedicine> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    if message.medicine.is_none() {
        violations.add("medicine", "is required");
    }
    let medicine = message.medicine.clone().unwrap_or_default();
    let code = violations.check("medicine.code", Code::parse(&medicine.code));
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
    Ok(violations.finish(|| {
        Some(NewMedicine {
            key: key?,
            code: code?,
            name: name?,
            atc: atc?,
            form_unit: form_unit?,
            strength: strength?,
            strength_unit: strength_unit?,
            max_daily_dose: max_daily_dose?,
            restriction: restriction?,
        })
    })?)
}

/// The name prefix (none when empty), the page size and where the page starts.
type MedicinesPage = (Option<String>, (PageSize, Option<(String, Uuid)>));

fn medicines_page(message: &pb::ListMedicinesRequest) -> Result<MedicinesPage> {
    let mut violations = Violations::default();
    let size = violations.check("page_size", PageSize::parse(message.page_size));
    let after = violations.check("page_token", decode_token(&message.page_token));
    let query = violations.check("query", Line::parse(&message.query));
    Ok(violations.finish(|| {
        let query = query?;
        let prefix = (!query.is_empty()).then(|| query.as_str().to_owned());
        Some((prefix, (size?, after?)))
    })?)
}

fn rule(message: &pb::CreateInteractionRuleRequest) -> Result<NewInteractionRule> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    if message.rule.is_none() {
        violations.add("rule", "is required");
    }
    let rule = message.rule.clone().unwrap_or_default();
    let a = violations.check("rule.atc_code_a", parse_atc(&rule.atc_code_a));
    let b = violations.check("rule.atc_code_b", parse_atc(&rule.atc_code_b));
    let severity = violations.check("rule.severity", parse_warning_severity(rule.severity));
    let description = violations.check("rule.description", Text::parse_required(&rule.description));
    Ok(violations.finish(|| {
        Some(NewInteractionRule {
            key: key?,
            a: a?,
            b: b?,
            severity: severity?,
            description: description?,
        })
    })?)
}
