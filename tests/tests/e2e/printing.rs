//! Documents the hospital issues, over real gRPC: every printout rendered as a PDF from the
//! record of a patient whose name carries Romanian diacritics, its text read back (the name,
//! the diagnosis, the issuer), archived as issued (the download is the same bytes), signed by
//! the clinician and the facility; a tampered copy fails verification, a retry issues
//! nothing new. Each PDF is kept under `target/printouts/` (CI turns them into page images).

use crate::support;

use futures::StreamExt;
use hmis_platform::auth::Scope;
use hmis_proto::openhmis::documents::v1 as pb;
use hmis_proto::openhmis::encounters::v1 as encounters_pb;
use hmis_proto::openhmis::patients::v1 as patients_pb;
use pb::document_service_client::DocumentServiceClient;
use pb::download_document_response::Part as DownloadPart;
use sha2::{Digest, Sha256};
use support::{Session, TestApp, WardSpec, eventually, signed_in, violated_fields};
use tonic::Code;
use tonic::transport::Channel;

const FAMILY: &str = "Ștefănescu-Țîrdea";

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn documents(app: &TestApp) -> DocumentServiceClient<Channel> {
    DocumentServiceClient::new(app.channel.clone())
}

async fn download(app: &TestApp, session: &Session, id: &str) -> Vec<u8> {
    let mut stream = documents(app)
        .download_document(signed_in(
            session,
            pb::DownloadDocumentRequest {
                document_id: id.to_owned(),
                version: 0,
            },
        ))
        .await
        .expect("download")
        .into_inner();
    let mut content = Vec::new();
    while let Some(part) = stream.next().await {
        match part.expect("a part").part {
            Some(DownloadPart::Chunk(bytes)) => content.extend_from_slice(&bytes),
            Some(DownloadPart::Header(_)) | None => {}
        }
    }
    content
}

/// Keeps the PDF where CI picks it up, and returns its text.
fn kept(name: &str, pdf: &[u8]) -> String {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("printouts");
    std::fs::create_dir_all(&folder).expect("printouts folder");
    std::fs::write(folder.join(format!("{name}.pdf")), pdf).expect("keep the PDF");
    pdf_extract::extract_text_from_mem(pdf).expect("the PDF's text reads back")
}

struct Ward {
    app: TestApp,
    doctor: Session,
    nurse: Session,
    statistician: Session,
    facility_id: String,
    ward_id: String,
    encounter: encounters_pb::Encounter,
}

impl Ward {
    async fn open() -> Self {
        let app = TestApp::spawn().await;
        let admin = app.coded_tenant("PRN").await;
        let facility = app.create_facility(&admin, "MAIN").await;
        let ward = app
            .open_ward(
                &admin,
                &facility.id,
                WardSpec::ward("INT", "Secția Terapie").beds("R1", "Salon 1", 2),
            )
            .await;
        let facility_uuid: uuid::Uuid = facility.id.parse().expect("facility id");
        let ward_uuid: uuid::Uuid = ward.id.parse().expect("ward id");
        let desk = app
            .staff(
                &admin,
                "PRN",
                "desk",
                "registrar",
                Scope::Facility(facility_uuid),
            )
            .await;
        let doctor = app
            .staff(
                &admin,
                "PRN",
                "doctor",
                "physician",
                Scope::Department(ward_uuid),
            )
            .await;
        let nurse = app
            .staff(
                &admin,
                "PRN",
                "nurse",
                "nurse",
                Scope::Department(ward_uuid),
            )
            .await;
        let statistician = app
            .staff(&admin, "PRN", "statistician", "statistician", Scope::Tenant)
            .await;
        let encounter = app
            .admitted((&desk, &doctor), (&ward.id, &ward.beds[0]), FAMILY)
            .await;
        // The registry learns the patient's ward from the admission's event.
        eventually("the registry places the patient in the ward", || async {
            patients_pb::patient_service_client::PatientServiceClient::new(app.channel.clone())
                .get_patient(signed_in(
                    &nurse,
                    patients_pb::GetPatientRequest {
                        id: encounter.patient_id.clone(),
                    },
                ))
                .await
                .ok()
        })
        .await;
        encounters_pb::encounter_service_client::EncounterServiceClient::new(app.channel.clone())
            .record_diagnosis(signed_in(
                &doctor,
                encounters_pb::RecordDiagnosisRequest {
                    request_id: request_id(),
                    diagnosis: Some(encounters_pb::Diagnosis {
                        encounter_id: encounter.id.clone(),
                        code: "J18.9".to_owned(),
                        role: encounters_pb::DiagnosisRole::Principal.into(),
                        certainty: encounters_pb::DiagnosisCertainty::Confirmed.into(),
                        ..Default::default()
                    }),
                },
            ))
            .await
            .expect("diagnosis");
        Self {
            app,
            doctor,
            nurse,
            statistician,
            facility_id: facility.id,
            ward_id: ward.id,
            encounter,
        }
    }

    async fn issue(
        &self,
        request: pb::IssueDocumentRequest,
    ) -> Result<pb::Document, tonic::Status> {
        self.issue_as(&self.doctor, request).await
    }

    async fn issue_as(
        &self,
        session: &Session,
        request: pb::IssueDocumentRequest,
    ) -> Result<pb::Document, tonic::Status> {
        documents(&self.app)
            .issue_document(signed_in(session, request))
            .await
            .map(|answer| answer.into_inner().document.expect("document"))
    }

    async fn verify(&self, id: &str, content: Vec<u8>) -> pb::VerifyDocumentResponse {
        documents(&self.app)
            .verify_document(signed_in(
                &self.doctor,
                pb::VerifyDocumentRequest {
                    document_id: id.to_owned(),
                    version: 0,
                    content,
                },
            ))
            .await
            .expect("verify")
            .into_inner()
    }
}

#[tokio::test]
async fn every_printout_renders_is_archived_as_issued_and_signed() {
    let ward = Ward::open().await;
    let certify = |kind: encounters_pb::CertificateKind,
                   details: encounters_pb::certificate::Details| {
        let mut certificates =
            encounters_pb::certificate_service_client::CertificateServiceClient::new(
                ward.app.channel.clone(),
            );
        let request = signed_in(
            &ward.doctor,
            encounters_pb::IssueCertificateRequest {
                request_id: request_id(),
                certificate: Some(encounters_pb::Certificate {
                    kind: kind.into(),
                    encounter_id: ward.encounter.id.clone(),
                    details: Some(details),
                    ..Default::default()
                }),
            },
        );
        async move {
            certificates
                .issue_certificate(request)
                .await
                .unwrap_or_else(|status| panic!("{kind:?} certificate: {status}"))
                .into_inner()
                .certificate
                .expect("certificate")
        }
    };
    let certificate = certify(
        encounters_pb::CertificateKind::SickLeave,
        encounters_pb::certificate::Details::SickLeave(encounters_pb::SickLeave {
            period_start: "2026-11-10".to_owned(),
            period_end: "2026-11-19".to_owned(),
            diagnosis_code: "J18.9".to_owned(),
            employer: "Calea Ferată din Moldova".to_owned(),
            ..Default::default()
        }),
    )
    .await;
    let medical = certify(
        encounters_pb::CertificateKind::Medical,
        encounters_pb::certificate::Details::Medical(encounters_pb::MedicalCertificate {
            purpose: "permis de conducere".to_owned(),
            findings: "Aptă pentru conducerea autovehiculelor, categoria B".to_owned(),
        }),
    )
    .await;
    // The death certificate comes last: the registry marks her deceased as it follows it.
    let death = certify(
        encounters_pb::CertificateKind::Death,
        encounters_pb::certificate::Details::Death(encounters_pb::DeathCertificate {
            death_time: hmis_platform::wire::timestamp(chrono::Utc::now()),
            place_of_death: "spital".to_owned(),
            immediate_cause_code: "J18.9".to_owned(),
            underlying_cause_code: "J18.9".to_owned(),
            manner: "natural".to_owned(),
            ..Default::default()
        }),
    )
    .await;
    let of_certificate = |certificate: &encounters_pb::Certificate| pb::IssueDocumentRequest {
        request_id: request_id(),
        printout: pb::Printout::Certificate.into(),
        certificate_id: certificate.id.clone(),
        ..Default::default()
    };

    let on_encounter = |printout: pb::Printout| pb::IssueDocumentRequest {
        request_id: request_id(),
        printout: printout.into(),
        encounter_id: ward.encounter.id.clone(),
        ..Default::default()
    };
    // The slip is the nurses' (it lists what the ward issued to the patient).
    let printouts = [
        (
            "medical-extract",
            on_encounter(pb::Printout::MedicalExtract),
            true,
            (&ward.doctor, "doctor"),
        ),
        (
            "prescriptions",
            on_encounter(pb::Printout::Prescriptions),
            false,
            (&ward.doctor, "doctor"),
        ),
        (
            "patient-slip",
            on_encounter(pb::Printout::PatientSlip),
            false,
            (&ward.nurse, "nurse"),
        ),
        (
            "sick-leave",
            of_certificate(&certificate),
            true,
            (&ward.doctor, "doctor"),
        ),
        (
            "medical-certificate",
            of_certificate(&medical),
            false,
            (&ward.doctor, "doctor"),
        ),
        (
            "death-certificate",
            of_certificate(&death),
            true,
            (&ward.doctor, "doctor"),
        ),
    ];
    for (name, request, diagnosed, (issuer, issuer_name)) in printouts {
        let printout = request.printout;
        let document = ward
            .issue_as(issuer, request)
            .await
            .unwrap_or_else(|status| panic!("{name} issues: {status}"));
        assert_eq!(document.printout, printout);
        assert_eq!(document.patient_id, ward.encounter.patient_id, "{name}");
        assert_eq!(document.encounter_id, ward.encounter.id, "{name}");
        assert_eq!(document.kind_code, "ISSUED");
        let version = document.versions.last().expect("a version").clone();
        assert_eq!(version.content_type, "application/pdf");
        let pdf = download(&ward.app, &ward.doctor, &document.id).await;
        assert_eq!(
            hex::encode(Sha256::digest(&pdf)),
            version.sha256,
            "{name}: the download is the PDF as issued"
        );
        let text = kept(name, &pdf);
        for expected in [FAMILY, "Ana", issuer_name, "Secția Terapie", "page 1 of"] {
            assert!(
                text.contains(expected),
                "{name}: {expected:?} not in {text}"
            );
        }
        if diagnosed {
            assert!(text.contains("J18.9"), "{name}: the diagnosis in {text}");
        }

        let signers: Vec<(i32, &str)> = document
            .signatures
            .iter()
            .map(|signature| (signature.signer_kind, signature.signer_name.as_str()))
            .collect();
        assert_eq!(
            signers,
            [
                (pb::SignerKind::Clinician as i32, issuer_name),
                (pb::SignerKind::Facility as i32, "Facility MAIN"),
            ],
            "{name}"
        );
        assert!(
            document
                .signatures
                .iter()
                .all(|signature| signature.key_id.len() == 16
                    && signature.key_id == document.signatures[0].key_id),
            "{name}: both signed under the deployment secret's key id"
        );
        let stored = ward.verify(&document.id, Vec::new()).await;
        assert!(stored.verified && stored.unchanged, "{name}: {stored:?}");
        assert!(stored.signatures.iter().all(|check| check.valid));
        let same_copy = ward.verify(&document.id, pdf.clone()).await;
        assert!(same_copy.verified, "{name}: the patient's copy verifies");
        let mut tampered = pdf.clone();
        let middle = tampered.len() / 2;
        tampered[middle] ^= 0x01;
        let tampered = ward.verify(&document.id, tampered).await;
        assert!(!tampered.verified && !tampered.unchanged, "{name}");
        assert!(
            tampered.signatures.iter().all(|check| !check.valid),
            "{name}: no signature holds for a tampered copy"
        );
    }

    let order = ward
        .issue(pb::IssueDocumentRequest {
            request_id: request_id(),
            printout: pb::Printout::WardMedicationOrder.into(),
            department_id: ward.ward_id.clone(),
            days: 2,
            ..Default::default()
        })
        .await
        .expect("the ward's medication order");
    assert_eq!(order.patient_id, "", "a facility's document, of no patient");
    assert_eq!(order.department_id, ward.ward_id);
    let text = kept(
        "ward-medication-order",
        &download(&ward.app, &ward.doctor, &order.id).await,
    );
    assert!(text.contains("Ward medication order"), "{text}");
    assert!(ward.verify(&order.id, Vec::new()).await.verified);

    // The statistician files the facility's Form 16 for the month: a facility's document too.
    let today = chrono::Utc::now().date_naive();
    let form16 = ward
        .issue_as(
            &ward.statistician,
            pb::IssueDocumentRequest {
                request_id: request_id(),
                printout: pb::Printout::Form16.into(),
                facility_id: ward.facility_id.clone(),
                from_date: "2026-11-01".to_owned(),
                to_date: today.to_string(),
                ..Default::default()
            },
        )
        .await
        .expect("Form 16");
    assert_eq!(
        form16.patient_id, "",
        "a facility's document, of no patient"
    );
    let text = kept(
        "form16",
        &download(&ward.app, &ward.statistician, &form16.id).await,
    );
    assert!(text.contains("16"), "{text}");
    assert!(text.contains("statistician"), "the issuer: {text}");
    let checked = documents(&ward.app)
        .verify_document(signed_in(
            &ward.statistician,
            pb::VerifyDocumentRequest {
                document_id: form16.id.clone(),
                version: 0,
                content: Vec::new(),
            },
        ))
        .await
        .expect("verify")
        .into_inner();
    assert!(checked.verified, "{checked:?}");
}

#[tokio::test]
async fn a_retry_issues_nothing_new_and_bad_requests_name_their_field() {
    let ward = Ward::open().await;
    let request = pb::IssueDocumentRequest {
        request_id: request_id(),
        printout: pb::Printout::MedicalExtract.into(),
        encounter_id: ward.encounter.id.clone(),
        ..Default::default()
    };
    let first = ward.issue(request.clone()).await.expect("issued");
    let again = ward.issue(request).await.expect("answered again");
    assert_eq!(again.id, first.id);
    assert_eq!(again.versions, first.versions);

    let missing = ward
        .issue(pb::IssueDocumentRequest {
            request_id: request_id(),
            printout: pb::Printout::Certificate.into(),
            ..Default::default()
        })
        .await
        .expect_err("no certificate named");
    assert_eq!(violated_fields(&missing), ["certificate_id"]);
    let unspecified = ward
        .issue(pb::IssueDocumentRequest {
            request_id: request_id(),
            ..Default::default()
        })
        .await
        .expect_err("nothing to print");
    assert_eq!(violated_fields(&unspecified), ["printout"]);
    let unknown = ward
        .issue(pb::IssueDocumentRequest {
            request_id: request_id(),
            printout: pb::Printout::MedicalExtract.into(),
            encounter_id: uuid::Uuid::now_v7().to_string(),
            ..Default::default()
        })
        .await
        .expect_err("no such encounter");
    assert_eq!(unknown.code(), Code::NotFound);
}
