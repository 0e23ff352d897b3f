//! Issuing: a document printed from the record as it is now (the module that owns the data
//! reads it on behalf of the caller and lays it out), rendered as PDF under the facility's
//! letterhead, archived as issued (those bytes are what every later download gives) and signed
//! by the caller and by the facility; and checking those signatures against the stored
//! content or a copy someone brings.

use chrono::{DateTime, SubsecRound, Utc};
use hmis_core_api::CoreClient;
use hmis_encounters_api::EncountersPrinter;
use hmis_iam_api::IamClient;
use hmis_inventory_api::InventoryPrinter;
use hmis_patients_api::{PatientsClient, Sex};
use hmis_platform::idempotency::RequestKey;
use hmis_platform::{Failure, RequestContext};
use hmis_print::{Field, Issue, Letterhead, Printed};
use hmis_proto::openhmis::documents::v1 as pb;
use hmis_statistics_api::StatisticsPrinter;
use uuid::Uuid;

use super::{Archive, READ, WRITE, document_target, method, patients, refused, shown, target};
use crate::content::{PART, Written};
use crate::convert;
use crate::domain::{Printout, SignerKind, digest, retain_until};
use crate::error::{Error, Result};
use crate::signing::{Signer, Statement};
use crate::store::{self, DocumentRow, SignatureRow, VersionRow};

/// The kind issued documents are filed under (made when a tenant lacks it).
const ISSUED: &str = "ISSUED";
/// What to print, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    MedicalExtract(Uuid),
    Certificate(Uuid),
    Prescriptions(Uuid),
    PatientSlip(Uuid),
    WardMedicationOrder {
        department: Uuid,
        start_date: String,
        days: i32,
    },
    Form16 {
        facility: Uuid,
        from: String,
        to: String,
    },
}

impl Source {
    fn printout(&self) -> Printout {
        match self {
            Source::MedicalExtract(_) => Printout::MedicalExtract,
            Source::Certificate(_) => Printout::Certificate,
            Source::Prescriptions(_) => Printout::Prescriptions,
            Source::PatientSlip(_) => Printout::PatientSlip,
            Source::WardMedicationOrder { .. } => Printout::WardMedicationOrder,
            Source::Form16 { .. } => Printout::Form16,
        }
    }
}

/// The other modules a printed document's data comes from, each read on behalf of the
/// caller (the owner authorizes and audits its read).
#[derive(Debug, Clone)]
pub(crate) struct Printers {
    pub encounters: EncountersPrinter,
    pub inventory: InventoryPrinter,
    pub statistics: StatisticsPrinter,
    pub patients: PatientsClient,
    pub core: CoreClient,
    pub iam: IamClient,
}

fn failed(error: impl Into<Failure>) -> Error {
    Error::Failure(error.into())
}

fn sex(sex: Sex) -> &'static str {
    match sex {
        Sex::Male => "male",
        Sex::Female => "female",
        Sex::Unknown => "not known",
    }
}

/// The name as printed: family name, then given names.
fn full_name(facts: &hmis_patients_api::PatientFacts) -> String {
    format!("{} {}", facts.family_name, facts.given_names)
}

impl Printers {
    /// The document's body as its owner lays it out.
    async fn body(&self, context: &RequestContext, source: &Source) -> Result<Printed> {
        Ok(match source {
            Source::MedicalExtract(id) => self
                .encounters
                .medical_extract(context, *id)
                .await
                .map_err(failed)?,
            Source::Certificate(id) => self
                .encounters
                .certificate(context, *id)
                .await
                .map_err(failed)?,
            Source::Prescriptions(id) => self
                .encounters
                .prescriptions(context, *id)
                .await
                .map_err(failed)?,
            Source::PatientSlip(id) => {
                let place = self
                    .encounters
                    .encounter(context, *id)
                    .await
                    .map_err(failed)?;
                let printable = self
                    .inventory
                    .patient_slip(
                        context,
                        place.patient_id,
                        (&place.first_day, &place.last_day),
                    )
                    .await
                    .map_err(failed)?;
                place.printed(printable, id.to_string())
            }
            Source::WardMedicationOrder {
                department,
                start_date,
                days,
            } => {
                let order = self
                    .encounters
                    .ward_medication_order(context, *department, (start_date, *days))
                    .await
                    .map_err(failed)?;
                let mut names = std::collections::HashMap::new();
                for patient in order.patient_ids().map_err(failed)? {
                    let facts = self
                        .patients
                        .facts(context, patient)
                        .await
                        .map_err(failed)?;
                    names.insert(patient, full_name(&facts));
                }
                order.printed(&names)
            }
            Source::Form16 { facility, from, to } => self
                .statistics
                .form16(context, *facility, (from, to))
                .await
                .map_err(failed)?,
        })
    }
}

/// The document as laid out and rendered, before it is archived.
struct Rendered {
    printed: Printed,
    facility_id: Uuid,
    facility_name: String,
    issuer: hmis_iam_api::Me,
    pdf: Vec<u8>,
}

impl Archive {
    fn signer(&self) -> Result<&Signer> {
        self.signer.as_ref().ok_or_else(|| {
            Error::precondition(
                "the deployment's document-signing key is unreadable; documents are not issued \
                 or verified until it is (see the server's log)",
            )
        })
    }

    fn printers(&self) -> Result<&Printers> {
        self.printers
            .as_ref()
            .ok_or_else(|| Error::precondition("this process prints no documents"))
    }

    /// Reads, lays out and renders the document (nothing is stored yet).
    async fn render(
        &self,
        context: &RequestContext,
        source: &Source,
        (id, now): (Uuid, DateTime<Utc>),
    ) -> Result<Rendered> {
        let printers = self.printers()?;
        let mut printed = printers.body(context, source).await?;
        let department = match printed.department_id {
            Some(department) => Some(
                printers
                    .core
                    .department(context, department)
                    .await
                    .map_err(failed)?,
            ),
            None => None,
        };
        let facility_id = printed
            .facility_id
            .or(department.as_ref().map(|department| department.facility_id))
            .ok_or(Failure::CorruptRow("printed document's facility"))?;
        printed.facility_id = Some(facility_id);
        let facility = printers
            .core
            .facility(context, facility_id)
            .await
            .map_err(failed)?;
        if let Some(patient) = printed.patient_id {
            let facts = printers
                .patients
                .facts(context, patient)
                .await
                .map_err(failed)?;
            let mut patient_fields = vec![
                Field::new("Patient", full_name(&facts)),
                Field::new("Sex", sex(facts.sex)),
            ];
            if let Some(born) = facts.birth_date {
                patient_fields.push(Field::new("Born", born.to_string()));
            }
            printed
                .printable
                .blocks
                .insert(0, hmis_print::Block::Fields(patient_fields));
        }
        let issuer = printers.iam.me(context).await.map_err(failed)?;
        let issued_at = match facility.zone() {
            Some(zone) => now
                .with_timezone(&zone)
                .format("%Y-%m-%d %H:%M %Z")
                .to_string(),
            None => now.format("%Y-%m-%d %H:%M UTC").to_string(),
        };
        let letterhead = Letterhead {
            facility: facility.name.clone(),
            address: facility.address.clone(),
            department: department
                .map(|department| department.name)
                .unwrap_or_default(),
        };
        let issue = Issue {
            issued_by: issuer.display_name.clone(),
            issued_at,
            document: id.to_string(),
        };
        let printable = printed.printable.clone();
        let pdf = tokio::task::spawn_blocking(move || {
            hmis_print::render(&letterhead, &printable, &issue)
        })
        .await
        .map_err(|error| error.to_string())
        .and_then(|rendered| rendered.map_err(|error| error.to_string()))
        .map_err(|error| {
            tracing::error!(error = %error, "rendering a document failed");
            Failure::CorruptRow("printed document")
        })?;
        Ok(Rendered {
            printed,
            facility_id,
            facility_name: facility.name,
            issuer,
            pdf,
        })
    }

    /// Prints, archives and signs the document `source` names.
    pub(crate) async fn issue(
        &self,
        context: &RequestContext,
        request: &pb::IssueDocumentRequest,
        (key, source): (RequestKey, Source),
    ) -> Result<pb::IssueDocumentResponse> {
        context.authorize_any(WRITE)?;
        let signer = self.signer()?;
        // Signatures name the second; the stored time is the signed one.
        let now = self.calls.now().trunc_subsecs(0);
        let id = Uuid::now_v7();
        let rendered = self.render(context, &source, (id, now)).await?;
        let printout = source.printout();
        let written = Written::default();
        let answer = (self.calls)
            .write(
                context,
                &method("IssueDocument"),
                &key,
                request,
                async |tx| {
                    let printed = &rendered.printed;
                    context
                        .authorize(WRITE, &target(rendered.facility_id, printed.department_id))
                        .map_err(refused(printed.patient_id.into_iter().collect()))?;
                    let starter = crate::starter::kinds();
                    if let Some(kind) = starter.iter().find(|kind| kind.code == ISSUED) {
                        store::ensure_kind(tx, kind).await?;
                    }
                    let kind = store::get_kind(tx, ISSUED).await?;
                    let document = DocumentRow {
                        id,
                        kind_code: kind.code.clone(),
                        patient_id: printed.patient_id,
                        facility_id: rendered.facility_id,
                        department_id: printed.department_id,
                        admission_id: printed.admission_id,
                        encounter_id: printed.encounter_id,
                        title: printed.printable.title.clone(),
                        current_version: 1,
                        created_by: context.user_id(),
                        created_at: now,
                        retain_until: retain_until(now, kind.retention_years),
                        legal_hold: false,
                        legal_hold_reason: String::new(),
                        deleted_at: None,
                        deleted_by: None,
                        delete_reason: String::new(),
                        printout: Some(printout),
                        source_id: printed.source_id.clone(),
                    };
                    store::insert_document(tx, &document).await?;
                    let mut writer = self.content.writer(tx.tenant_id(), (id, 1)).await?;
                    for part in rendered.pdf.chunks(PART) {
                        writer.write(tx, part).await?;
                    }
                    let stored = writer.finish().await?;
                    written.note(&stored);
                    let (_, sha256) = digest([rendered.pdf.as_slice()]);
                    store::insert_version(
                        tx,
                        &VersionRow {
                            document_id: id,
                            number: 1,
                            content_type: "application/pdf".to_owned(),
                            size_bytes: i64::try_from(rendered.pdf.len()).unwrap_or(i64::MAX),
                            sha256: sha256.clone(),
                            chunks: stored.parts,
                            file_name: format!("{}-{id}.pdf", printout.as_db()),
                            added_by: context.user_id(),
                            added_at: now,
                            object_key: stored.object_key,
                        },
                    )
                    .await?;
                    let tenant = tx.tenant_id().as_uuid();
                    for (signer_kind, signer_id, signer_name) in [
                        (
                            SignerKind::Clinician,
                            rendered.issuer.user_id,
                            &rendered.issuer.display_name,
                        ),
                        (
                            SignerKind::Facility,
                            rendered.facility_id,
                            &rendered.facility_name,
                        ),
                    ] {
                        let statement = Statement {
                            document_id: id,
                            version: 1,
                            sha256: sha256.clone(),
                            signer_kind,
                            signer_id,
                            signed_at: now,
                        };
                        let signed = signer.sign(tenant, &statement);
                        store::insert_signature(
                            tx,
                            &SignatureRow {
                                document_id: id,
                                version: 1,
                                signer_kind,
                                signer_id,
                                signer_name: signer_name.clone(),
                                sha256: sha256.clone(),
                                signed_at: now,
                                public_key: signed.public_key.to_vec(),
                                signature: signed.signature.to_vec(),
                                key_id: signed.key_id,
                            },
                        )
                        .await?;
                    }
                    let view = self.stored(tx, context, &document, now).await?;
                    Ok(pb::IssueDocumentResponse {
                        document: Some(view),
                    })
                },
            )
            .await;
        written.settle(&self.content, answer).await
    }

    /// Checks the signatures of a version (the current one by default) against its stored
    /// content, or against `copy` when one is presented.
    pub(crate) async fn verify_document(
        &self,
        context: &RequestContext,
        (id, number): (Uuid, Option<i32>),
        copy: Option<Vec<u8>>,
    ) -> Result<pb::VerifyDocumentResponse> {
        let signer = self.signer()?;
        self.calls
            .read(context, async |tx| {
                let document = store::get_document(tx, id, false).await?;
                let access = context
                    .authorize_patient(READ, &document_target(&document))
                    .map_err(refused(patients(&document)))?;
                let number = number.unwrap_or(document.current_version);
                let versions = store::versions_of(tx, &[id]).await?;
                let version = versions
                    .iter()
                    .find(|version| version.number == number)
                    .ok_or(Error::NotFound("version"))?;
                let sha256 = match &copy {
                    Some(bytes) => digest([bytes.as_slice()]).1,
                    None => {
                        if document.deleted_at.is_some() {
                            return Err(Error::precondition(
                                "the document's content was deleted at the end of its retention",
                            ));
                        }
                        let (_, sha256) =
                            self.content.rehash(tx, version).await?.ok_or_else(|| {
                                Error::precondition(
                                    "the content is missing a part; run the archive's verify \
                                     command",
                                )
                            })?;
                        sha256
                    }
                };
                let tenant = tx.tenant_id().as_uuid();
                let signatures: Vec<SignatureRow> = store::signatures_of(tx, &[id])
                    .await?
                    .into_iter()
                    .filter(|signature| signature.version == number)
                    .collect();
                let checks: Vec<pb::SignatureCheck> = signatures
                    .iter()
                    .map(|signature| {
                        let statement = Statement {
                            document_id: id,
                            version: number,
                            sha256: sha256.clone(),
                            signer_kind: signature.signer_kind,
                            signer_id: signature.signer_id,
                            signed_at: signature.signed_at,
                        };
                        pb::SignatureCheck {
                            signature: Some(convert::signature_to_pb(signature)),
                            valid: signer.verify(
                                tenant,
                                &statement,
                                (&signature.signature, &signature.key_id),
                            ),
                        }
                    })
                    .collect();
                let unchanged = sha256 == version.sha256;
                let verified = unchanged && !checks.is_empty() && checks.iter().all(|c| c.valid);
                Ok((
                    pb::VerifyDocumentResponse {
                        sha256,
                        unchanged,
                        signatures: checks,
                        verified,
                    },
                    shown(&document, &access),
                ))
            })
            .await
    }
}
