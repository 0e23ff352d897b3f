//! The formulary: the medicines prescribers choose from (with their strength, maximum daily
//! dose and restriction class) and the interaction rules the safety check applies. Reference
//! data, not patient data: changes are idempotent, reads are not audited.

use hmis_platform::RequestContext;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::paging::{PageSize, finish_page};
use hmis_platform::types::{Code, Line, Text};
use hmis_proto::openhmis::encounters::v1 as pb;
use uuid::Uuid;

use super::{MEDICINES, Ward};
use crate::convert::{medicine_to_pb, rule_to_pb};
use crate::domain::{Amount, Restriction, WarningSeverity};
use crate::error::{Error, Result};
use crate::store::{self, MedicineRow, RuleRow};

const SERVICE: &str = "FormularyService";

pub(crate) struct NewMedicine {
    pub(crate) key: RequestKey,
    pub(crate) code: Code,
    pub(crate) name: Line,
    /// The substance's seven-character ATC code.
    pub(crate) atc: String,
    pub(crate) form_unit: String,
    pub(crate) strength: Amount,
    pub(crate) strength_unit: String,
    pub(crate) max_daily_dose: Option<Amount>,
    pub(crate) restriction: Restriction,
}

/// A rule for a pair of ATC codes (groups allowed), in either order.
pub(crate) struct NewInteractionRule {
    pub(crate) key: RequestKey,
    pub(crate) a: String,
    pub(crate) b: String,
    pub(crate) severity: WarningSeverity,
    pub(crate) description: Text,
}

impl Ward {
    pub(crate) async fn create_medicine(
        &self,
        context: &RequestContext,
        message: &pb::CreateMedicineRequest,
        medicine: NewMedicine,
    ) -> Result<pb::CreateMedicineResponse> {
        let now = self.calls.now();
        let codes = std::slice::from_ref(&medicine.atc);
        (self.directory)
            .check_codes(context, MEDICINES, "medicine.atc_code", codes, false)
            .await?;
        let row = MedicineRow {
            id: Uuid::now_v7(),
            code: medicine.code.as_str().to_owned(),
            name: medicine.name.as_str().to_owned(),
            atc_code: medicine.atc,
            form_unit: medicine.form_unit,
            strength: medicine.strength.to_string(),
            strength_unit: medicine.strength_unit,
            max_daily_dose: medicine.max_daily_dose.map(|max| max.to_string()),
            restriction: medicine.restriction.as_db().to_owned(),
            version: 1,
        };
        let method = Ward::method_of(SERVICE, "CreateMedicine");
        (self.calls)
            .write(context, &method, &medicine.key, message, async |tx| {
                let row = store::insert_medicine(tx, &row, now).await?;
                Ok::<_, Error>(pb::CreateMedicineResponse {
                    medicine: Some(medicine_to_pb(&row)),
                })
            })
            .await
    }

    /// A page of the formulary by name, those starting with `prefix` when one is given.
    pub(crate) async fn list_medicines(
        &self,
        context: &RequestContext,
        prefix: Option<String>,
        (size, after): (PageSize, Option<(String, Uuid)>),
    ) -> Result<pb::ListMedicinesResponse> {
        let prefix = prefix.map(|query| query.to_lowercase().replace(['%', '_', '\\'], ""));
        let rows = (self.calls)
            .transaction(context, async |tx| {
                store::list_medicines(tx, prefix.as_deref(), after, size.fetch_limit()).await
            })
            .await?;
        let (rows, next_page_token) = finish_page(rows, size, |row| (row.name.clone(), row.id));
        Ok(pb::ListMedicinesResponse {
            medicines: rows.iter().map(medicine_to_pb).collect(),
            next_page_token,
        })
    }

    pub(crate) async fn create_interaction_rule(
        &self,
        context: &RequestContext,
        message: &pb::CreateInteractionRuleRequest,
        rule: NewInteractionRule,
    ) -> Result<pb::CreateInteractionRuleResponse> {
        let now = self.calls.now();
        for (field, code) in [("rule.atc_code_a", &rule.a), ("rule.atc_code_b", &rule.b)] {
            let codes = std::slice::from_ref(code);
            (self
                .directory
                .check_codes(context, MEDICINES, field, codes, true))
            .await?;
        }
        // One order for a pair, so (A, B) and (B, A) are the same rule to the unique index.
        let (a, b) = if rule.a <= rule.b {
            (rule.a, rule.b)
        } else {
            (rule.b, rule.a)
        };
        let row = RuleRow {
            id: Uuid::now_v7(),
            atc_code_a: a,
            atc_code_b: b,
            severity: rule.severity.as_db().to_owned(),
            description: rule.description.as_str().to_owned(),
        };
        let method = Ward::method_of(SERVICE, "CreateInteractionRule");
        (self.calls)
            .write(context, &method, &rule.key, message, async |tx| {
                store::insert_rule(tx, &row, now).await?;
                Ok::<_, Error>(pb::CreateInteractionRuleResponse {
                    rule: Some(rule_to_pb(&row)),
                })
            })
            .await
    }

    pub(crate) async fn list_interaction_rules(
        &self,
        context: &RequestContext,
    ) -> Result<pb::ListInteractionRulesResponse> {
        let rows = (self.calls)
            .transaction(context, async |tx| store::list_rules(tx).await)
            .await?;
        Ok(pb::ListInteractionRulesResponse {
            rules: rows.iter().map(rule_to_pb).collect(),
        })
    }
}
