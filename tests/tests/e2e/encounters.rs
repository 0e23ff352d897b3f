//! The medical act over real gRPC: terminology import and lookups, encounters that follow
//! their admissions, diagnoses, procedures, allergies, prescribing with the medication safety
//! check (interactions, maximum daily dose, allergies, duplicate therapy), overrides and
//! prescribing privileges, the medical extract and certificates; and prescribers racing.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use hmis_platform::auth::Scope;
use hmis_platform::clock::SystemClock;
use hmis_proto::openhmis::admissions::v1 as admissions_pb;
use hmis_proto::openhmis::encounters::v1 as pb;
use hmis_proto::openhmis::patients::v1 as patients_pb;
use hmis_proto::openhmis::terminology::v1 as terminology_pb;
use hmis_terminology::TerminologyModule;
use pb::certificate_service_client::CertificateServiceClient;
use pb::encounter_service_client::EncounterServiceClient;
use pb::formulary_service_client::FormularyServiceClient;
use sqlx::{Connection, PgConnection};
use support::{Session, TestApp, USER_PASSWORD, WardSpec, signed_in, violated_fields};
use terminology_pb::terminology_service_client::TerminologyServiceClient;
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn encounters(app: &TestApp) -> EncounterServiceClient<Channel> {
    EncounterServiceClient::new(app.channel.clone())
}

fn formulary(app: &TestApp) -> FormularyServiceClient<Channel> {
    FormularyServiceClient::new(app.channel.clone())
}

fn terminology(app: &TestApp) -> TerminologyServiceClient<Channel> {
    TerminologyServiceClient::new(app.channel.clone())
}

async fn eventually<F, Fut>(what: &str, holds: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut poll = tokio::time::interval(Duration::from_millis(25));
    while tokio::time::Instant::now() < deadline {
        poll.tick().await;
        if holds().await {
            return;
        }
    }
    panic!("never happened: {what}");
}

/// A hospital with one ward of four beds, the starter code systems, a small formulary and
/// its staff: a desk, two physicians, a nurse who may also prescribe.
struct Ward {
    app: TestApp,
    admin: Session,
    desk: Session,
    doctor: Session,
    second_doctor: Session,
    nurse: Session,
    facility_id: String,
    ward_id: String,
    beds: Vec<String>,
    /// Medicine ids by formulary code.
    medicines: std::collections::HashMap<&'static str, String>,
}

/// (code, name, ATC, form unit, strength, strength unit, max daily dose, restriction)
type FormularyRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    pb::Restriction,
);

const FORMULARY: &[FormularyRow] = &[
    (
        "WARF5",
        "Warfarin 5 mg tablets",
        "B01AA03",
        "tablet",
        "5",
        "mg",
        "15",
        pb::Restriction::None,
    ),
    (
        "ASA100",
        "Aspirin 100 mg tablets",
        "B01AC06",
        "tablet",
        "100",
        "mg",
        "325",
        pb::Restriction::None,
    ),
    (
        "PARA500",
        "Paracetamol 500 mg tablets",
        "N02BE01",
        "tablet",
        "500",
        "mg",
        "4000",
        pb::Restriction::None,
    ),
    (
        "AMOX500",
        "Amoxicillin 500 mg capsules",
        "J01CA04",
        "capsule",
        "500",
        "mg",
        "6000",
        pb::Restriction::None,
    ),
    (
        "METO50",
        "Metoprolol 50 mg tablets",
        "C07AB02",
        "tablet",
        "50",
        "mg",
        "400",
        pb::Restriction::None,
    ),
    (
        "BISO5",
        "Bisoprolol 5 mg tablets",
        "C07AB07",
        "tablet",
        "5",
        "mg",
        "20",
        pb::Restriction::None,
    ),
    (
        "MERO1G",
        "Meropenem 1 g vials",
        "J01DH02",
        "vial",
        "1000",
        "mg",
        "6000",
        pb::Restriction::ReserveAntibiotic,
    ),
];

impl Ward {
    async fn open() -> Self {
        let app = TestApp::spawn().await;
        let admin = app.coded_tenant("MED").await;
        let facility = app.create_facility(&admin, "MAIN").await;
        let ward = app
            .open_ward(
                &admin,
                &facility.id,
                WardSpec::ward("INT", "Internal medicine").beds("R1", "Room 1", 6),
            )
            .await;
        let (ward_id, beds) = (ward.id, ward.beds);
        let facility_uuid: uuid::Uuid = facility.id.parse().expect("facility id");
        let ward_uuid: uuid::Uuid = ward_id.parse().expect("ward id");
        let tenant = admin.tenant_id;
        app.add_user(tenant, "desk", "registrar", Scope::Facility(facility_uuid))
            .await;
        for doctor in ["doctor", "doctor2"] {
            app.add_user(tenant, doctor, "physician", Scope::Department(ward_uuid))
                .await;
        }
        app.add_user(tenant, "nurse", "nurse", Scope::Department(ward_uuid))
            .await;
        app.iam
            .grant_role(
                tenant,
                "nurse",
                "nurse_prescriber",
                Scope::Department(ward_uuid),
            )
            .await
            .expect("nurse prescriber");
        let login = |name: &'static str| {
            let app = &app;
            async move {
                app.login("MED", name, USER_PASSWORD)
                    .await
                    .expect("signs in")
            }
        };
        let (desk, doctor, second_doctor, nurse) = (
            login("desk").await,
            login("doctor").await,
            login("doctor2").await,
            login("nurse").await,
        );
        let mut medicines = std::collections::HashMap::new();
        for (code, name, atc, form, strength, unit, max, restriction) in FORMULARY {
            let medicine = formulary(&app)
                .create_medicine(signed_in(
                    &admin,
                    pb::CreateMedicineRequest {
                        request_id: request_id(),
                        medicine: Some(pb::Medicine {
                            code: (*code).to_owned(),
                            name: (*name).to_owned(),
                            atc_code: (*atc).to_owned(),
                            form_unit: (*form).to_owned(),
                            strength: (*strength).to_owned(),
                            strength_unit: (*unit).to_owned(),
                            max_daily_dose: (*max).to_owned(),
                            restriction: (*restriction).into(),
                            ..Default::default()
                        }),
                    },
                ))
                .await
                .expect("create medicine")
                .into_inner()
                .medicine
                .expect("medicine");
            medicines.insert(*code, medicine.id);
        }
        formulary(&app)
            .create_interaction_rule(signed_in(
                &admin,
                pb::CreateInteractionRuleRequest {
                    request_id: request_id(),
                    rule: Some(pb::InteractionRule {
                        atc_code_a: "B01AC".to_owned(),
                        atc_code_b: "B01AA".to_owned(),
                        severity: pb::WarningSeverity::Severe.into(),
                        description: "bleeding risk".to_owned(),
                        ..Default::default()
                    }),
                },
            ))
            .await
            .expect("interaction rule");
        Self {
            app,
            admin,
            desk,
            doctor,
            second_doctor,
            nurse,
            facility_id: facility.id,
            ward_id,
            beds,
            medicines,
        }
    }

    async fn register(&self, family: &str) -> String {
        patients_pb::patient_service_client::PatientServiceClient::new(self.app.channel.clone())
            .register_patient(signed_in(
                &self.desk,
                patients_pb::RegisterPatientRequest {
                    request_id: request_id(),
                    patient: Some(patients_pb::Patient {
                        family_name: family.to_owned(),
                        given_names: "Ana".to_owned(),
                        sex: patients_pb::Sex::Female.into(),
                        birth_date: "1961-05-17".to_owned(),
                        ..Default::default()
                    }),
                    confirm_new_patient: true,
                },
            ))
            .await
            .expect("register")
            .into_inner()
            .patient
            .expect("patient")
            .id
    }

    /// Registers and admits a patient into bed `bed`, and opens the admission's encounter.
    async fn admitted(
        &self,
        family: &str,
        bed: usize,
    ) -> (admissions_pb::Admission, pb::Encounter) {
        let patient_id = self.register(family).await;
        let admission = admissions_pb::admission_service_client::AdmissionServiceClient::new(
            self.app.channel.clone(),
        )
        .admit_patient(signed_in(
            &self.desk,
            admissions_pb::AdmitPatientRequest {
                request_id: request_id(),
                admission: Some(admissions_pb::Admission {
                    patient_id,
                    department_id: self.ward_id.clone(),
                    bed_id: self.beds[bed].clone(),
                    r#type: admissions_pb::AdmissionType::Emergency.into(),
                    admitting_diagnosis_code: "J18.9".to_owned(),
                    admitting_diagnosis_text: "Pneumonia".to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("admit")
        .into_inner()
        .admission
        .expect("admission");
        let encounter = encounters(&self.app)
            .open_encounter(signed_in(
                &self.doctor,
                pb::OpenEncounterRequest {
                    request_id: request_id(),
                    admission_id: admission.id.clone(),
                    ..Default::default()
                },
            ))
            .await
            .expect("open the admission's encounter")
            .into_inner()
            .encounter
            .expect("encounter");
        (admission, encounter)
    }

    fn order(
        &self,
        encounter: &pb::Encounter,
        medicine: &str,
        dose: &str,
        times: i32,
    ) -> pb::Prescription {
        pb::Prescription {
            encounter_id: encounter.id.clone(),
            medicine_id: self.medicines[medicine].clone(),
            dose: dose.to_owned(),
            dose_unit: "tablet".to_owned(),
            route: pb::Route::Oral.into(),
            times_per_day: times,
            ..Default::default()
        }
    }

    async fn prescribe(
        &self,
        who: &Session,
        prescription: pb::Prescription,
        override_reason: &str,
    ) -> Result<pb::CreatePrescriptionResponse, tonic::Status> {
        self.prescribe_as(who, &request_id(), prescription, override_reason)
            .await
    }

    /// The physician records `code` as the encounter's confirmed principal diagnosis.
    async fn record_principal(&self, encounter: &pb::Encounter, code: &str) {
        encounters(&self.app)
            .record_diagnosis(signed_in(
                &self.doctor,
                pb::RecordDiagnosisRequest {
                    request_id: request_id(),
                    diagnosis: Some(pb::Diagnosis {
                        encounter_id: encounter.id.clone(),
                        code: code.to_owned(),
                        role: pb::DiagnosisRole::Principal.into(),
                        certainty: pb::DiagnosisCertainty::Confirmed.into(),
                        ..Default::default()
                    }),
                },
            ))
            .await
            .expect("the principal diagnosis");
    }

    /// The ward's nurse records a dose of `prescription_id` as given now (an as-needed one).
    async fn give(&self, prescription_id: &str) -> Result<pb::Administration, tonic::Status> {
        encounters(&self.app)
            .record_administration(signed_in(
                &self.nurse,
                pb::RecordAdministrationRequest {
                    request_id: request_id(),
                    administration: Some(pb::Administration {
                        prescription_id: prescription_id.to_owned(),
                        status: pb::AdministrationStatus::Given.into(),
                        ..Default::default()
                    }),
                },
            ))
            .await
            .map(|response| {
                response
                    .into_inner()
                    .administration
                    .expect("administration")
            })
    }

    /// Prescribed by the physician and verified by the ward's nurse: on the round.
    async fn prescribe_verified(&self, prescription: pb::Prescription) -> pb::Prescription {
        let prescribed = self
            .prescribe(&self.doctor, prescription, "")
            .await
            .expect("prescribed")
            .prescription
            .expect("prescription");
        assert_eq!(
            prescribed.verification,
            i32::from(pb::VerificationStatus::Pending)
        );
        self.verify(&self.nurse, &prescribed.id)
            .await
            .expect("verified")
    }

    async fn verify(
        &self,
        who: &Session,
        prescription_id: &str,
    ) -> Result<pb::Prescription, tonic::Status> {
        encounters(&self.app)
            .verify_prescription(signed_in(
                who,
                pb::VerifyPrescriptionRequest {
                    request_id: request_id(),
                    prescription_id: prescription_id.to_owned(),
                    etag: String::new(),
                },
            ))
            .await
            .map(|response| response.into_inner().prescription.expect("prescription"))
    }

    async fn prescribe_as(
        &self,
        who: &Session,
        request_id: &str,
        prescription: pb::Prescription,
        override_reason: &str,
    ) -> Result<pb::CreatePrescriptionResponse, tonic::Status> {
        encounters(&self.app)
            .create_prescription(signed_in(
                who,
                pb::CreatePrescriptionRequest {
                    request_id: request_id.to_owned(),
                    prescription: Some(prescription),
                    override_reason: override_reason.to_owned(),
                },
            ))
            .await
            .map(tonic::Response::into_inner)
    }

    async fn owner(&self) -> PgConnection {
        PgConnection::connect_with(&self.app.db.owner_options())
            .await
            .expect("owner connection")
    }
}

/// The kinds (as their wire names) of the precondition violations a blocked prescription
/// carries.
fn blocked_kinds(status: &tonic::Status) -> Vec<String> {
    status
        .get_details_precondition_failure()
        .map(|failure| {
            failure
                .violations
                .into_iter()
                .map(|violation| violation.r#type)
                .collect()
        })
        .unwrap_or_default()
}

/// The facility's pharmacist and her inventory client, for the tests that reach the pharmacy.
struct Pharmacist {
    session: Session,
    stock: hmis_proto::openhmis::inventory::v1::inventory_service_client::InventoryServiceClient<
        Channel,
    >,
}

impl Pharmacist {
    /// Adds the facility's pharmacist to `ward`'s tenant and signs her in.
    async fn join(ward: &Ward) -> Self {
        let facility_uuid: uuid::Uuid = ward.facility_id.parse().expect("facility id");
        ward.app
            .add_user(
                ward.admin.tenant_id,
                "pharmacist",
                "pharmacist",
                Scope::Facility(facility_uuid),
            )
            .await;
        let session = ward
            .app
            .login("MED", "pharmacist", USER_PASSWORD)
            .await
            .expect("pharmacist signs in");
        Self {
            session,
            stock: hmis_proto::openhmis::inventory::v1::inventory_service_client::InventoryServiceClient::new(
                ward.app.channel.clone(),
            ),
        }
    }

    /// A warehouse of `ward`'s facility (`department_id` empty for one of no ward); its id.
    async fn warehouse(
        &mut self,
        ward: &Ward,
        (code, name): (&str, &str),
        kind: hmis_proto::openhmis::inventory::v1::WarehouseKind,
        department_id: &str,
    ) -> String {
        use hmis_proto::openhmis::inventory::v1 as inventory_pb;
        self.stock
            .create_warehouse(signed_in(
                &self.session,
                inventory_pb::CreateWarehouseRequest {
                    request_id: request_id(),
                    warehouse: Some(inventory_pb::Warehouse {
                        code: code.to_owned(),
                        name: name.to_owned(),
                        kind: kind.into(),
                        facility_id: ward.facility_id.clone(),
                        department_id: department_id.to_owned(),
                        ..Default::default()
                    }),
                },
            ))
            .await
            .expect("warehouse")
            .into_inner()
            .warehouse
            .expect("warehouse")
            .id
    }

    /// `ward`'s own stock holding ten paracetamol tablets (one lot): the stock's and the
    /// item's ids.
    async fn stocked_ward(&mut self, ward: &Ward, invoice: &str) -> (String, String) {
        use hmis_proto::openhmis::inventory::v1 as inventory_pb;
        let ward_stock = self
            .warehouse(
                ward,
                ("W-STOCK", "Ward stock"),
                inventory_pb::WarehouseKind::Ward,
                &ward.ward_id,
            )
            .await;
        let tablets = self
            .tablets("PARA500", "Paracetamol 500 mg tablets", "N02BE01")
            .await;
        self.stock
            .receive_stock(signed_in(
                &self.session,
                inventory_pb::ReceiveStockRequest {
                    request_id: request_id(),
                    warehouse_id: ward_stock.clone(),
                    supplier: "Farmaco SA".to_owned(),
                    invoice_number: invoice.to_owned(),
                    lines: vec![inventory_pb::ReceiptLine {
                        item_id: tablets.clone(),
                        lot_number: "L1".to_owned(),
                        expiry_date: "2031-01-31".to_owned(),
                        quantity: "10".to_owned(),
                        unit_cost: "0.10".to_owned(),
                        provenance: inventory_pb::Provenance::Purchase.into(),
                        ..Default::default()
                    }],
                },
            ))
            .await
            .expect("stock the ward");
        (ward_stock, tablets)
    }

    /// What `warehouse` holds of `item`, lot by lot.
    async fn on_hand(&self, warehouse: &str, item: &str) -> Vec<String> {
        use hmis_proto::openhmis::inventory::v1 as inventory_pb;
        self.stock
            .clone()
            .get_stock(signed_in(
                &self.session,
                inventory_pb::GetStockRequest {
                    warehouse_id: warehouse.to_owned(),
                    item_id: item.to_owned(),
                },
            ))
            .await
            .expect("stock")
            .into_inner()
            .lines
            .iter()
            .map(|line| line.quantity.clone())
            .collect()
    }

    /// A medicine of the catalogue counted in tablets; its id.
    async fn tablets(&mut self, code: &str, name: &str, atc: &str) -> String {
        use hmis_proto::openhmis::inventory::v1 as inventory_pb;
        self.stock
            .create_item(signed_in(
                &self.session,
                inventory_pb::CreateItemRequest {
                    request_id: request_id(),
                    item: Some(inventory_pb::Item {
                        code: code.to_owned(),
                        name: name.to_owned(),
                        item_class: inventory_pb::ItemClass::Medicine.into(),
                        atc_code: atc.to_owned(),
                        base_unit: "tablet".to_owned(),
                        ..Default::default()
                    }),
                },
            ))
            .await
            .expect("item")
            .into_inner()
            .item
            .expect("item")
            .id
    }
}

#[tokio::test]
async fn a_claml_import_yields_the_concepts_their_hierarchy_and_version_maps() {
    let app = TestApp::spawn().await;
    let admin = app.create_tenant("CODES").await;
    let module = TerminologyModule::new(app.db.database.clone(), Arc::new(SystemClock));
    let xml = include_str!("../../fixtures/icd10-mini.claml.xml");
    let document = hmis_terminology::import::parse_claml(xml).expect("fixture is ClaML");
    assert_eq!(document.version, "2019");
    let progress = std::sync::Mutex::new(Vec::new());
    let written = module
        .import(
            admin.tenant_id,
            &hmis_terminology::CodeSystemImport {
                system: hmis_terminology::domain::SystemName::parse("icd10").expect("name"),
                version: hmis_terminology::domain::VersionName::parse(&document.version)
                    .expect("version"),
                title: document.title.clone(),
                source: "icd10-mini.claml.xml".to_owned(),
                make_default: false,
                concepts: document.concepts.clone(),
            },
            &|written| progress.lock().expect("progress").push(written),
        )
        .await
        .expect("import");
    assert_eq!(written, 13, "every class of the fixture");
    assert_eq!(progress.lock().expect("progress").last(), Some(&13));

    let mut codes = terminology(&app);
    let looked_up = codes
        .lookup_concept(signed_in(
            &admin,
            terminology_pb::LookupConceptRequest {
                system: "icd10".to_owned(),
                code: "i21.9".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect("lookup")
        .into_inner();
    let concept = looked_up.concept.expect("concept");
    assert_eq!(concept.display, "Acute myocardial infarction, unspecified");
    assert_eq!(concept.version, "2019");
    assert!(concept.selectable);
    let ancestors: Vec<&str> = looked_up
        .ancestors
        .iter()
        .map(|c| c.code.as_str())
        .collect();
    assert_eq!(ancestors, ["IX", "I20-I25", "I21"]);
    let block = codes
        .lookup_concept(signed_in(
            &admin,
            terminology_pb::LookupConceptRequest {
                system: "icd10".to_owned(),
                code: "I20-I25".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect("lookup block")
        .into_inner();
    let children: Vec<&str> = block.children.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(children, ["I20", "I21"], "in the classification's order");
    assert_eq!(block.concept.expect("block").kind, "block");

    let search = |query: &str, selectable_only: bool| {
        let mut codes = codes.clone();
        let admin = admin.clone();
        let query = query.to_owned();
        async move {
            codes
                .search_concepts(signed_in(
                    &admin,
                    terminology_pb::SearchConceptsRequest {
                        system: "icd10".to_owned(),
                        query,
                        selectable_only,
                        ..Default::default()
                    },
                ))
                .await
                .expect("search")
                .into_inner()
                .concepts
                .into_iter()
                .map(|concept| concept.code)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(search("J18", false).await, ["J18", "J18.1", "J18.9"]);
    assert_eq!(search("J18", true).await, ["J18.1", "J18.9"]);
    assert_eq!(search("lobar PNEUMONIA", false).await, ["J18.1"]);
    assert_eq!(search("angina", true).await, ["I20.0", "I20.9"]);

    let validated = codes
        .validate_codes(signed_in(
            &admin,
            terminology_pb::ValidateCodesRequest {
                system: "icd10".to_owned(),
                codes: vec!["J18.9".to_owned(), "J18".to_owned(), "Z99.9".to_owned()],
                ..Default::default()
            },
        ))
        .await
        .expect("validate")
        .into_inner()
        .results;
    let verdicts: Vec<(bool, bool)> = validated.iter().map(|r| (r.exists, r.valid)).collect();
    assert_eq!(verdicts, [(true, true), (true, false), (false, false)]);
    assert!(validated[1].message.contains("groups codes"));

    // A 2016 release where J18.9 did not exist yet, mapped onto 2019.
    let csv = "code,display,parent_code\nJ18,\"Pneumonia, organism unspecified\",\n\
               J18.8,\"Other pneumonia, organism unspecified\",J18\n";
    module
        .import(
            admin.tenant_id,
            &hmis_terminology::CodeSystemImport {
                system: hmis_terminology::domain::SystemName::parse("icd10").expect("name"),
                version: hmis_terminology::domain::VersionName::parse("2016").expect("version"),
                title: "ICD-10 2016 (test)".to_owned(),
                source: "inline".to_owned(),
                make_default: false,
                concepts: hmis_terminology::import::parse_concepts_csv(csv.as_bytes())
                    .expect("csv"),
            },
            &|_| {},
        )
        .await
        .expect("import 2016");
    let map = "from_code,to_code,relation\nJ18.8,J18.1,narrower\nJ18.8,J18.9,related\n";
    module
        .import_map(
            admin.tenant_id,
            &hmis_terminology::domain::SystemName::parse("icd10").expect("name"),
            &hmis_terminology::domain::VersionName::parse("2016").expect("version"),
            &hmis_terminology::domain::VersionName::parse("2019").expect("version"),
            &hmis_terminology::import::parse_map_csv(map.as_bytes()).expect("map"),
        )
        .await
        .expect("import map");
    let systems = codes
        .list_code_systems(signed_in(
            &admin,
            terminology_pb::ListCodeSystemsRequest::default(),
        ))
        .await
        .expect("list systems")
        .into_inner()
        .code_systems;
    let default: Vec<&str> = systems
        .iter()
        .filter(|system| system.is_default)
        .map(|system| system.version.as_str())
        .collect();
    assert_eq!(default, ["2019"], "the first import stays the default");
    let translate = |code: &str| {
        let mut codes = codes.clone();
        let admin = admin.clone();
        let code = code.to_owned();
        async move {
            codes
                .translate_code(signed_in(
                    &admin,
                    terminology_pb::TranslateCodeRequest {
                        system: "icd10".to_owned(),
                        from_version: "2016".to_owned(),
                        code,
                        to_version: "2019".to_owned(),
                    },
                ))
                .await
                .expect("translate")
                .into_inner()
                .translations
                .into_iter()
                .map(|t| {
                    (
                        t.concept.expect("concept").code,
                        terminology_pb::MapRelation::try_from(t.relation).expect("relation"),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        translate("J18.8").await,
        [
            ("J18.1".to_owned(), terminology_pb::MapRelation::Narrower),
            ("J18.9".to_owned(), terminology_pb::MapRelation::Related)
        ]
    );
    assert_eq!(
        translate("J18").await,
        [("J18".to_owned(), terminology_pb::MapRelation::Equivalent)],
        "unchanged codes translate to themselves"
    );

    // Bad input names its field; a registrar without terminology.read is refused.
    let bad = codes
        .search_concepts(signed_in(
            &admin,
            terminology_pb::SearchConceptsRequest {
                system: "ICD 10".to_owned(),
                query: " ".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect_err("bad search");
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&bad), ["system", "query"]);
    app.stop().await;
}

#[tokio::test]
async fn prescribing_warns_blocks_severe_findings_and_only_a_physician_overrides() {
    let ward = Ward::open().await;
    let (_, encounter) = ward.admitted("Rusu", 0).await;
    let mut api = encounters(&ward.app);

    // A penicillin allergy, recorded against the ATC group.
    api.record_allergy(signed_in(
        &ward.doctor,
        pb::RecordAllergyRequest {
            request_id: request_id(),
            allergy: Some(pb::Allergy {
                patient_id: encounter.patient_id.clone(),
                category: pb::AllergyCategory::Medication.into(),
                kind: pb::ReactionKind::Allergy.into(),
                substance_atc_code: "J01C".to_owned(),
                substance_text: "penicillins".to_owned(),
                severity: pb::ReactionSeverity::Severe.into(),
                reaction: "anaphylaxis in 2019".to_owned(),
                ..Default::default()
            }),
        },
    ))
    .await
    .expect("record allergy");

    // Warfarin, half a tablet twice a day: no finding.
    let warfarin = ward
        .prescribe(&ward.doctor, ward.order(&encounter, "WARF5", "1/2", 2), "")
        .await
        .expect("warfarin");
    assert!(warfarin.warnings.is_empty());
    let warfarin = warfarin.prescription.expect("prescription");
    assert_eq!(warfarin.dose, "0.5");
    assert_eq!(warfarin.daily_amount, "5 mg");

    // Aspirin interacts with warfarin: severe, blocked, and said in the status details.
    let aspirin = ward.order(&encounter, "ASA100", "1", 1);
    let checked = api
        .check_prescription(signed_in(
            &ward.doctor,
            pb::CheckPrescriptionRequest {
                prescription: Some(aspirin.clone()),
            },
        ))
        .await
        .expect("check")
        .into_inner();
    assert!(checked.blocked);
    assert_eq!(checked.warnings.len(), 1);
    assert_eq!(
        checked.warnings[0].kind,
        pb::WarningKind::Interaction as i32
    );
    assert_eq!(checked.warnings[0].related_prescription_id, warfarin.id);
    let blocked = ward
        .prescribe(&ward.doctor, aspirin.clone(), "")
        .await
        .expect_err("interaction blocks");
    assert_eq!(blocked.code(), Code::FailedPrecondition);
    assert_eq!(blocked_kinds(&blocked), ["INTERACTION"]);

    // Nine paracetamol tablets a day is 4500 mg, over the 4000 mg maximum.
    let over = ward
        .prescribe(&ward.doctor, ward.order(&encounter, "PARA500", "3", 3), "")
        .await
        .expect_err("over the maximum");
    assert_eq!(blocked_kinds(&over), ["MAX_DAILY_DOSE"]);
    assert!(over.message().contains("severe"), "{}", over.message());
    // Eight tablets (4000 mg) is the maximum itself: allowed.
    ward.prescribe(&ward.doctor, ward.order(&encounter, "PARA500", "2", 4), "")
        .await
        .expect("at the maximum");

    // Amoxicillin is a penicillin.
    let mut amoxicillin = ward.order(&encounter, "AMOX500", "1", 3);
    amoxicillin.dose_unit = "capsule".to_owned();
    let allergic = ward
        .prescribe(&ward.doctor, amoxicillin.clone(), "")
        .await
        .expect_err("allergy blocks");
    assert_eq!(blocked_kinds(&allergic), ["ALLERGY"]);

    // The nurse prescriber may prescribe, but her override is refused, with or without a
    // reason; the physician's override goes through and is kept with the prescription.
    let nurse_plain = ward
        .prescribe(&ward.nurse, aspirin.clone(), "")
        .await
        .expect_err("blocked for the nurse too");
    assert_eq!(nurse_plain.code(), Code::FailedPrecondition);
    let nurse_override = ward
        .prescribe(&ward.nurse, aspirin.clone(), "cardiology asked for both")
        .await
        .expect_err("a nurse cannot override");
    assert_eq!(nurse_override.code(), Code::PermissionDenied);
    let override_id = request_id();
    let overridden = ward
        .prescribe_as(
            &ward.doctor,
            &override_id,
            aspirin.clone(),
            "stent last week; INR monitored daily",
        )
        .await
        .expect("physician overrides")
        .prescription
        .expect("prescription");
    assert_eq!(
        overridden.override_reason,
        "stent last week; INR monitored daily"
    );
    assert!(!overridden.overridden_by.is_empty());
    assert_eq!(overridden.warnings.len(), 1);
    // A retry of the same request answers the same prescription and prescribes nothing new.
    let retried = ward
        .prescribe_as(
            &ward.doctor,
            &override_id,
            aspirin.clone(),
            "stent last week; INR monitored daily",
        )
        .await
        .expect("retry")
        .prescription
        .expect("prescription");
    assert_eq!(retried.id, overridden.id);

    // Metoprolol then bisoprolol: the same therapeutic group, a moderate warning that does
    // not block.
    ward.prescribe(&ward.doctor, ward.order(&encounter, "METO50", "1", 2), "")
        .await
        .expect("metoprolol");
    let duplicate = ward
        .prescribe(&ward.doctor, ward.order(&encounter, "BISO5", "1", 1), "")
        .await
        .expect("a moderate warning does not block");
    assert_eq!(duplicate.warnings.len(), 1);
    assert_eq!(
        duplicate.warnings[0].kind,
        pb::WarningKind::DuplicateTherapy as i32
    );
    assert_eq!(
        duplicate.warnings[0].severity,
        pb::WarningSeverity::Moderate as i32
    );

    // Discontinuing needs a reason and ends the interaction with later prescriptions.
    let listed = api
        .list_prescriptions(signed_in(
            &ward.nurse,
            pb::ListPrescriptionsRequest {
                encounter_id: encounter.id.clone(),
                active_only: true,
                ..Default::default()
            },
        ))
        .await
        .expect("nurse lists")
        .into_inner()
        .prescriptions;
    assert_eq!(
        listed.len(),
        5,
        "warfarin, paracetamol, aspirin, metoprolol, bisoprolol"
    );
    let no_reason = api
        .discontinue_prescription(signed_in(
            &ward.doctor,
            pb::DiscontinuePrescriptionRequest {
                request_id: request_id(),
                id: warfarin.id.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect_err("reason required");
    assert_eq!(violated_fields(&no_reason), ["reason"]);
    let stopped = api
        .discontinue_prescription(signed_in(
            &ward.doctor,
            pb::DiscontinuePrescriptionRequest {
                request_id: request_id(),
                id: warfarin.id.clone(),
                reason: "bleeding gums".to_owned(),
                etag: warfarin.etag.clone(),
            },
        ))
        .await
        .expect("discontinue")
        .into_inner()
        .prescription
        .expect("prescription");
    assert_eq!(stopped.status, pb::PrescriptionStatus::Discontinued as i32);
    let sheet = api
        .print_prescriptions(signed_in(
            &ward.nurse,
            pb::PrintPrescriptionsRequest {
                encounter_id: encounter.id.clone(),
            },
        ))
        .await
        .expect("print")
        .into_inner();
    assert!(
        sheet
            .content
            .contains("Warfarin 5 mg tablets — 0.5 tablet oral 2×/day")
    );
    assert!(sheet.content.contains("[discontinued: bleeding gums]"));
    assert!(sheet.content.contains("warnings overridden by"));

    // On record: the override (with the prescription), the nurse's refusal, the blocks.
    let mut owner = ward.owner().await;
    let outcomes: Vec<(String, String, Vec<String>)> = sqlx::query_as(
        "SELECT username, outcome, resource_ids FROM audit.records \
         WHERE method = '/openhmis.encounters.v1.EncounterService/CreatePrescription' \
           AND $1 = ANY(patient_ids) ORDER BY occurred_at, record_id",
    )
    .bind(uuid::Uuid::parse_str(&encounter.patient_id).expect("patient id"))
    .fetch_all(&mut owner)
    .await
    .expect("audit records");
    assert!(outcomes.contains(&(
        "doctor".to_owned(),
        "OK".to_owned(),
        vec![overridden.id.clone()]
    )));
    assert!(outcomes.contains(&("nurse".to_owned(), "PERMISSION_DENIED".to_owned(), vec![])));
    let blocks = outcomes
        .iter()
        .filter(|(_, outcome, _)| outcome == "FAILED_PRECONDITION")
        .count();
    assert_eq!(
        blocks, 4,
        "interaction, maximum dose, allergy, the nurse's plain attempt"
    );
    let events: Vec<String> = sqlx::query_scalar(
        "SELECT event_type FROM encounters.outbox WHERE aggregate_id = $1 ORDER BY txid, id",
    )
    .bind(&encounter.id)
    .fetch_all(&mut owner)
    .await
    .expect("outbox");
    assert_eq!(
        events
            .iter()
            .filter(|event| event.ends_with("PrescriptionCreated"))
            .count(),
        5
    );
    assert_eq!(
        events.last().map(String::as_str),
        Some("openhmis.encounters.v1.PrescriptionDiscontinued")
    );
    ward.app.stop().await;
}

#[tokio::test]
async fn a_restricted_medicine_needs_the_prescribers_privilege() {
    let ward = Ward::open().await;
    let (_, encounter) = ward.admitted("Ciobanu", 1).await;
    let mut meropenem = ward.order(&encounter, "MERO1G", "1", 3);
    meropenem.dose_unit = "vial".to_owned();
    meropenem.route = pb::Route::Intravenous.into();
    let refused = ward
        .prescribe(&ward.doctor, meropenem.clone(), "")
        .await
        .expect_err("no privilege");
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert!(refused.message().contains("encounters.prescribe.reserve"));
    // The dry run is refused the same way.
    let checked = encounters(&ward.app)
        .check_prescription(signed_in(
            &ward.doctor,
            pb::CheckPrescriptionRequest {
                prescription: Some(meropenem.clone()),
            },
        ))
        .await
        .expect_err("no privilege to check either");
    assert_eq!(checked.code(), Code::PermissionDenied);

    // The infection-control committee grants the second physician the privilege.
    let ward_uuid: uuid::Uuid = ward.ward_id.parse().expect("ward id");
    ward.app
        .iam
        .grant_role(
            ward.admin.tenant_id,
            "doctor2",
            "reserve_prescriber",
            Scope::Department(ward_uuid),
        )
        .await
        .expect("grant privilege");
    let doctor2 = ward
        .app
        .login("MED", "doctor2", USER_PASSWORD)
        .await
        .expect("signs in again with the privilege");
    let prescribed = ward
        .prescribe(&doctor2, meropenem, "")
        .await
        .expect("privileged prescriber")
        .prescription
        .expect("prescription");
    assert_eq!(prescribed.daily_amount, "3000 mg");
    ward.app.stop().await;
}

#[tokio::test]
async fn the_medical_extract_holds_the_stays_diagnoses_procedures_prescriptions_and_discharge() {
    let ward = Ward::open().await;
    let (admission, encounter) = ward.admitted("Lungu", 2).await;
    let mut api = encounters(&ward.app);
    let diagnoses = api.clone();
    let diagnose = |code: &str, role: pb::DiagnosisRole| {
        let mut api = diagnoses.clone();
        let doctor = ward.doctor.clone();
        let encounter_id = encounter.id.clone();
        let code = code.to_owned();
        async move {
            api.record_diagnosis(signed_in(
                &doctor,
                pb::RecordDiagnosisRequest {
                    request_id: request_id(),
                    diagnosis: Some(pb::Diagnosis {
                        encounter_id,
                        code,
                        role: role.into(),
                        certainty: pb::DiagnosisCertainty::Confirmed.into(),
                        ..Default::default()
                    }),
                },
            ))
            .await
        }
    };
    diagnose("J18.9", pb::DiagnosisRole::Admitting)
        .await
        .expect("admitting");
    let principal = diagnose("j18.1", pb::DiagnosisRole::Principal)
        .await
        .expect("principal")
        .into_inner()
        .diagnosis
        .expect("diagnosis");
    assert_eq!(principal.code, "J18.1");
    assert_eq!(principal.display, "Lobar pneumonia, unspecified");
    diagnose("E11.9", pb::DiagnosisRole::Secondary)
        .await
        .expect("secondary");
    let second_principal = diagnose("I10", pb::DiagnosisRole::Principal)
        .await
        .expect_err("one principal diagnosis");
    assert_eq!(second_principal.code(), Code::FailedPrecondition);
    let chapter = diagnose("X", pb::DiagnosisRole::Secondary)
        .await
        .expect_err("a chapter is not a diagnosis");
    assert_eq!(violated_fields(&chapter), ["diagnosis.code"]);
    let unknown = diagnose("Q99.99", pb::DiagnosisRole::Secondary)
        .await
        .expect_err("not a code");
    assert_eq!(violated_fields(&unknown), ["diagnosis.code"]);

    api.record_procedure(signed_in(
        &ward.doctor,
        pb::RecordProcedureRequest {
            request_id: request_id(),
            procedure: Some(pb::Procedure {
                encounter_id: encounter.id.clone(),
                code: "58500-00".to_owned(),
                note: "bilateral infiltrates".to_owned(),
                ..Default::default()
            }),
        },
    ))
    .await
    .expect("procedure");
    ward.prescribe(&ward.doctor, ward.order(&encounter, "PARA500", "1", 3), "")
        .await
        .expect("paracetamol");
    for (kind, text) in [
        (
            pb::NoteKind::Examination,
            "Fever 39.1 C, crackles right lower lobe.",
        ),
        (
            pb::NoteKind::DischargeSummary,
            "Afebrile since day 4; infiltrate resolving.",
        ),
        (
            pb::NoteKind::Recommendation,
            "Chest X-ray in 6 weeks at the family doctor.",
        ),
    ] {
        api.add_note(signed_in(
            &ward.doctor,
            pb::AddNoteRequest {
                request_id: request_id(),
                note: Some(pb::Note {
                    encounter_id: encounter.id.clone(),
                    kind: kind.into(),
                    text: text.to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("note");
    }
    api.create_referral(signed_in(
        &ward.doctor,
        pb::CreateReferralRequest {
            request_id: request_id(),
            referral: Some(pb::Referral {
                encounter_id: encounter.id.clone(),
                kind: pb::ReferralKind::Laboratory.into(),
                investigation_codes: vec!["718-7".to_owned(), "1988-5".to_owned()],
                reason: "follow the inflammation".to_owned(),
                urgency: pb::Urgency::Routine.into(),
                ..Default::default()
            }),
        },
    ))
    .await
    .expect("referral");

    admissions_pb::admission_service_client::AdmissionServiceClient::new(ward.app.channel.clone())
        .discharge_patient(signed_in(
            &ward.desk,
            admissions_pb::DischargePatientRequest {
                request_id: request_id(),
                admission_id: admission.id.clone(),
                r#type: admissions_pb::DischargeType::Recovered.into(),
                destination: "home".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect("discharge");
    // The encounter follows the discharge event.
    eventually("the encounter closes with its discharge", || async {
        api.clone()
            .get_encounter(signed_in(
                &ward.doctor,
                pb::GetEncounterRequest {
                    id: encounter.id.clone(),
                },
            ))
            .await
            .expect("get encounter")
            .into_inner()
            .encounter
            .is_some_and(|encounter| encounter.status == pb::EncounterStatus::Closed as i32)
    })
    .await;
    // Orders need an open encounter; coding may go on after discharge.
    let late = ward
        .prescribe(&ward.doctor, ward.order(&encounter, "PARA500", "1", 1), "")
        .await
        .expect_err("closed encounter");
    assert_eq!(late.code(), Code::FailedPrecondition);
    diagnose("I10", pb::DiagnosisRole::Secondary)
        .await
        .expect("coding after discharge");

    let extract = api
        .get_medical_extract(signed_in(
            &ward.doctor,
            pb::GetMedicalExtractRequest {
                encounter_id: encounter.id.clone(),
            },
        ))
        .await
        .expect("extract")
        .into_inner()
        .extract
        .expect("extract");
    let codes: Vec<&str> = extract.diagnoses.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(codes, ["J18.1", "J18.9", "E11.9", "I10"], "principal first");
    assert_eq!(extract.procedures.len(), 1);
    assert_eq!(extract.procedures[0].display, "Radiography of chest");
    assert_eq!(extract.prescriptions.len(), 1);
    assert_eq!(
        extract.referrals[0].investigation_codes,
        ["718-7", "1988-5"]
    );
    assert_eq!(extract.notes.len(), 2);
    assert_eq!(extract.recommendations.len(), 1);
    let discharge = extract
        .encounter
        .as_ref()
        .and_then(|encounter| encounter.admission.as_ref())
        .and_then(|admission| admission.discharge.as_ref())
        .expect("the discharge data");
    assert_eq!(discharge.destination, "home");
    for expected in [
        &format!("Admission no. {}", admission.admission_number),
        "recovered, to home",
        "principal: J18.1 Lobar pneumonia, unspecified",
        "58500-00 Radiography of chest",
        "Paracetamol 500 mg tablets — 1 tablet oral 3×/day",
        "Chest X-ray in 6 weeks",
    ] {
        assert!(
            extract.text.contains(expected),
            "extract text lacks {expected:?}:\n{}",
            extract.text
        );
    }

    // The events statistics will count.
    let mut owner = ward.owner().await;
    let events: Vec<String> = sqlx::query_scalar(
        "SELECT event_type FROM encounters.outbox WHERE aggregate_id = $1 ORDER BY txid, id",
    )
    .bind(&encounter.id)
    .fetch_all(&mut owner)
    .await
    .expect("outbox");
    let count = |name: &str| events.iter().filter(|event| event.ends_with(name)).count();
    assert_eq!(count("DiagnosisRecorded"), 4);
    assert_eq!(count("ProcedureRecorded"), 1);
    assert_eq!(count("PrescriptionCreated"), 1);
    assert_eq!(count("ReferralCreated"), 1);
    ward.app.stop().await;
}

#[tokio::test]
async fn sick_leave_certificates_are_numbered_per_facility_and_extensions_chain() {
    let ward = Ward::open().await;
    let (_, encounter) = ward.admitted("Moraru", 3).await;
    let mut certificates = CertificateServiceClient::new(ward.app.channel.clone());
    let issue = |start: &str, end: &str, previous: &str| pb::IssueCertificateRequest {
        request_id: request_id(),
        certificate: Some(pb::Certificate {
            encounter_id: encounter.id.clone(),
            details: Some(pb::certificate::Details::SickLeave(pb::SickLeave {
                period_start: start.to_owned(),
                period_end: end.to_owned(),
                diagnosis_code: "J18.9".to_owned(),
                previous_certificate_id: previous.to_owned(),
                employer: "Moldova Railways".to_owned(),
                ..Default::default()
            })),
            ..Default::default()
        }),
    };
    let sick_leave = |certificate: &pb::Certificate| match &certificate.details {
        Some(pb::certificate::Details::SickLeave(leave)) => leave.clone(),
        other => panic!("not a sick leave: {other:?}"),
    };
    let first = certificates
        .issue_certificate(signed_in(
            &ward.doctor,
            issue("2026-11-10", "2026-11-19", ""),
        ))
        .await
        .expect("first certificate")
        .into_inner()
        .certificate
        .expect("certificate");
    let year = chrono::Utc::now().format("%Y").to_string();
    assert_eq!(first.series, format!("SL-{year}"));
    assert_eq!(first.number, 1);
    assert_eq!(sick_leave(&first).days, 10);
    assert_eq!(sick_leave(&first).first_certificate_id, first.id);
    assert_eq!(
        sick_leave(&first).diagnosis_display,
        "Pneumonia, unspecified"
    );

    let gap = certificates
        .issue_certificate(signed_in(
            &ward.doctor,
            issue("2026-11-22", "2026-11-25", &first.id),
        ))
        .await
        .expect_err("an extension continues the day after");
    assert_eq!(
        violated_fields(&gap),
        ["certificate.sick_leave.period_start"]
    );
    let extension = certificates
        .issue_certificate(signed_in(
            &ward.doctor,
            issue("2026-11-20", "2026-11-24", &first.id),
        ))
        .await
        .expect("extension")
        .into_inner()
        .certificate
        .expect("certificate");
    assert_eq!(extension.number, 2);
    assert_eq!(sick_leave(&extension).first_certificate_id, first.id);
    assert_eq!(sick_leave(&extension).chain_days, 15);
    let fork = certificates
        .issue_certificate(signed_in(
            &ward.second_doctor,
            issue("2026-11-20", "2026-11-21", &first.id),
        ))
        .await
        .expect_err("a certificate is extended once");
    assert_eq!(fork.code(), Code::FailedPrecondition);

    // The nurse may not certify; bad input names its fields.
    let nurse = certificates
        .issue_certificate(signed_in(
            &ward.nurse,
            issue("2026-11-25", "2026-11-26", &extension.id),
        ))
        .await
        .expect_err("nurses do not certify");
    assert_eq!(nurse.code(), Code::PermissionDenied);
    let bad = certificates
        .issue_certificate(signed_in(
            &ward.doctor,
            issue("2026-11-30", "2026-11-25", "not-an-id"),
        ))
        .await
        .expect_err("bad input");
    assert_eq!(
        violated_fields(&bad),
        [
            "certificate.sick_leave.period_end",
            "certificate.sick_leave.previous_certificate_id"
        ]
    );

    let death = certificates
        .issue_certificate(signed_in(
            &ward.doctor,
            pb::IssueCertificateRequest {
                request_id: request_id(),
                certificate: Some(pb::Certificate {
                    encounter_id: encounter.id.clone(),
                    details: Some(pb::certificate::Details::Death(pb::DeathCertificate {
                        death_time: hmis_platform::wire::timestamp(chrono::Utc::now()),
                        place_of_death: "hospital".to_owned(),
                        immediate_cause_code: "J18.1".to_owned(),
                        underlying_cause_code: "I21.0".to_owned(),
                        manner: "natural".to_owned(),
                        ..Default::default()
                    })),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("death certificate")
        .into_inner()
        .certificate
        .expect("certificate");
    assert_eq!(
        (death.series.as_str(), death.number),
        (format!("DC-{year}").as_str(), 1)
    );
    let listed = certificates
        .list_certificates(signed_in(
            &ward.doctor,
            pb::ListCertificatesRequest {
                patient_id: encounter.patient_id.clone(),
            },
        ))
        .await
        .expect("list")
        .into_inner()
        .certificates;
    assert_eq!(listed.len(), 3);
    // The death certificate marks the patient deceased in the registry, at its time of death.
    let registry =
        patients_pb::patient_service_client::PatientServiceClient::new(ward.app.channel.clone());
    let read = || {
        let mut registry = registry.clone();
        let request = signed_in(
            &ward.doctor,
            patients_pb::GetPatientRequest {
                id: encounter.patient_id.clone(),
            },
        );
        // The ward's physician reaches the record once the registry has placed the patient
        // in the ward (it follows the admission's events).
        async move {
            registry
                .get_patient(request)
                .await
                .ok()
                .and_then(|response| response.into_inner().patient)
        }
    };
    eventually("the registry records the death", || async {
        read().await.is_some_and(|patient| patient.deceased)
    })
    .await;
    let certified = death.details.as_ref().and_then(|details| match details {
        pb::certificate::Details::Death(death) => death.death_time,
        _ => None,
    });
    // To the microsecond, the database's precision.
    let micros = |at: Option<prost_types::Timestamp>| at.map(|at| (at.seconds, at.nanos / 1000));
    let recorded = read().await.expect("the record").death_time;
    assert_eq!(micros(recorded), micros(certified));
    let _ = &ward.facility_id;
    ward.app.stop().await;
}

#[tokio::test]
async fn racing_prescribers_cannot_both_miss_an_interaction_and_one_principal_diagnosis_wins() {
    let ward = Ward::open().await;
    for (round, bed) in [(0, 4), (1, 5)] {
        let (_, encounter) = ward.admitted(&format!("Race{round}"), bed).await;
        // Warfarin and aspirin at the same moment, by two physicians: whichever commits
        // second sees the first, so exactly one of them is prescribed.
        let (a, b) = tokio::join!(
            ward.prescribe(&ward.doctor, ward.order(&encounter, "WARF5", "1", 1), ""),
            ward.prescribe(
                &ward.second_doctor,
                ward.order(&encounter, "ASA100", "1", 1),
                ""
            ),
        );
        let outcomes = [a.is_ok(), b.is_ok()];
        assert_eq!(
            outcomes.iter().filter(|ok| **ok).count(),
            1,
            "round {round}: {outcomes:?}"
        );
        let refused = a.err().or(b.err()).expect("one refused");
        assert_eq!(blocked_kinds(&refused), ["INTERACTION"]);

        let attempts = (0..8).map(|n| {
            let mut api = encounters(&ward.app);
            let doctor = if n % 2 == 0 {
                ward.doctor.clone()
            } else {
                ward.second_doctor.clone()
            };
            let encounter_id = encounter.id.clone();
            async move {
                api.record_diagnosis(signed_in(
                    &doctor,
                    pb::RecordDiagnosisRequest {
                        request_id: request_id(),
                        diagnosis: Some(pb::Diagnosis {
                            encounter_id,
                            code: "J18.9".to_owned(),
                            role: pb::DiagnosisRole::Principal.into(),
                            certainty: pb::DiagnosisCertainty::Provisional.into(),
                            ..Default::default()
                        }),
                    },
                ))
                .await
            }
        });
        let results = futures::future::join_all(attempts).await;
        let won = results.iter().filter(|result| result.is_ok()).count();
        assert_eq!(won, 1);
        assert!(
            results
                .iter()
                .filter_map(|result| result.as_ref().err())
                .all(|status| status.code() == Code::FailedPrecondition)
        );
    }
    ward.app.stop().await;
}

#[tokio::test]
async fn bad_requests_name_the_wrong_fields_and_foreign_wards_are_refused() {
    let ward = Ward::open().await;
    let (_, encounter) = ward.admitted("Popa", 0).await;
    let mut bad = ward.order(&encounter, "PARA500", "1/3", 25);
    bad.times_of_day = vec!["8:00".to_owned(), "25:00".to_owned()];
    bad.route = 0;
    let status = ward
        .prescribe(&ward.doctor, bad, "")
        .await
        .expect_err("bad prescription");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&status),
        [
            "prescription.dose",
            "prescription.route",
            "prescription.times_per_day",
            "prescription.times_of_day[1]"
        ]
    );
    let mut wrong_unit = ward.order(&encounter, "PARA500", "1", 1);
    wrong_unit.dose_unit = "ml".to_owned();
    let status = ward
        .prescribe(&ward.doctor, wrong_unit, "")
        .await
        .expect_err("ml of a tablet");
    assert_eq!(violated_fields(&status), ["prescription.dose_unit"]);

    let open = encounters(&ward.app)
        .open_encounter(signed_in(
            &ward.doctor,
            pb::OpenEncounterRequest {
                request_id: "".to_owned(),
                admission_id: "x".to_owned(),
                patient_id: "y".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect_err("bad open");
    assert_eq!(
        violated_fields(&open),
        ["request_id", "admission_id", "patient_id", "admission_id"],
        "malformed ids, and an admission's encounter given a patient too"
    );

    // A physician of another ward sees nothing of this patient's encounter.
    let other_ward = uuid::Uuid::new_v4();
    ward.app
        .add_user(
            ward.admin.tenant_id,
            "surgeon",
            "physician",
            Scope::Department(other_ward),
        )
        .await;
    let surgeon = ward
        .app
        .login("MED", "surgeon", USER_PASSWORD)
        .await
        .expect("signs in");
    let denied = encounters(&ward.app)
        .get_medical_extract(signed_in(
            &surgeon,
            pb::GetMedicalExtractRequest {
                encounter_id: encounter.id.clone(),
            },
        ))
        .await
        .expect_err("other ward");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let denied = ward
        .prescribe(&surgeon, ward.order(&encounter, "PARA500", "1", 1), "")
        .await
        .expect_err("other ward prescribes");
    assert_eq!(denied.code(), Code::PermissionDenied);
    ward.app.stop().await;
}

#[tokio::test]
async fn the_ward_medication_order_holds_every_prescribed_dose_of_the_period() {
    let ward = Ward::open().await;
    let (_, first) = ward.admitted("Ursu", 0).await;
    let (_, second) = ward.admitted("Vlas", 1).await;
    // The order covers the two days after tomorrow, from the facility's midnight.
    let start = (chrono::Utc::now() + chrono::Duration::days(2)).date_naive();
    let order = |days: i32| {
        let mut api = encounters(&ward.app);
        let nurse = ward.nurse.clone();
        let department_id = ward.ward_id.clone();
        async move {
            api.get_ward_medication_order(signed_in(
                &nurse,
                pb::GetWardMedicationOrderRequest {
                    department_id,
                    start_date: start.to_string(),
                    days,
                },
            ))
            .await
            .expect("ward order")
            .into_inner()
            .order
            .expect("order")
        }
    };
    let empty = order(2).await;
    assert!(empty.medications.is_empty() && empty.totals.is_empty());
    let period_start = empty.period_start.expect("period start");
    let midnight = chrono::DateTime::from_timestamp(period_start.seconds, 0).expect("instant");

    // Half a warfarin tablet at 08:00 and 20:00, stopping at noon of the second day.
    let mut warfarin = ward.order(&first, "WARF5", "1/2", 2);
    warfarin.times_of_day = vec!["08:00".to_owned(), "20:00".to_owned()];
    warfarin.stop_time = hmis_platform::wire::timestamp(midnight + chrono::Duration::hours(36));
    ward.prescribe_verified(warfarin).await;
    // Paracetamol 500 mg three times a day on the standard schedule.
    let mut paracetamol = ward.order(&first, "PARA500", "500", 3);
    paracetamol.dose_unit = "mg".to_owned();
    ward.prescribe_verified(paracetamol).await;
    // The second patient: one tablet when needed, at most twice a day.
    let mut as_needed = ward.order(&second, "PARA500", "1", 2);
    as_needed.as_needed = true;
    as_needed.as_needed_reason = "pain".to_owned();
    ward.prescribe_verified(as_needed).await;

    let order = order(2).await;
    let by_prescription: Vec<(&str, i32, &str, bool)> = order
        .medications
        .iter()
        .map(|m| {
            (
                m.medicine_code.as_str(),
                m.doses,
                m.quantity.as_str(),
                m.as_needed,
            )
        })
        .collect();
    let mut expected = vec![
        ("WARF5", 3, "1.5", false),
        ("PARA500", 6, "6", false),
        ("PARA500", 4, "4", true),
    ];
    let mut found = by_prescription.clone();
    found.sort();
    expected.sort();
    assert_eq!(found, expected);
    let warfarin_times: Vec<i64> = order
        .medications
        .iter()
        .find(|m| m.medicine_code == "WARF5")
        .expect("warfarin")
        .dose_times
        .iter()
        .map(|at| (at.seconds - period_start.seconds) / 3600)
        .collect();
    assert_eq!(
        warfarin_times,
        [8, 20, 32],
        "08:00 and 20:00 local, until the stop"
    );
    let totals: Vec<(&str, &str, i64)> = order
        .totals
        .iter()
        .map(|t| (t.medicine_code.as_str(), t.quantity.as_str(), t.whole_units))
        .collect();
    let mut totals = totals;
    totals.sort();
    assert_eq!(totals, [("PARA500", "10", 10), ("WARF5", "1.5", 2)]);

    // The nurse sends the order to the pharmacy without re-keying it: paracetamol is in the
    // catalogue (in tablets), warfarin is not, and is named.
    use hmis_proto::openhmis::inventory::v1 as inventory_pb;
    let mut pharmacy_desk = Pharmacist::join(&ward).await;
    let pharmacy = (pharmacy_desk)
        .warehouse(
            &ward,
            ("PHARM", "PHARM"),
            inventory_pb::WarehouseKind::CentralPharmacy,
            "",
        )
        .await;
    let ward_stock = (pharmacy_desk)
        .warehouse(
            &ward,
            ("W-STOCK", "W-STOCK"),
            inventory_pb::WarehouseKind::Ward,
            &ward.ward_id,
        )
        .await;
    let tablets = (pharmacy_desk)
        .tablets("PARA500", "Paracetamol 500 mg tablets", "N02BE01")
        .await;
    let mut stock = pharmacy_desk.stock.clone();
    let requested = stock
        .requisition_ward_medication_order(signed_in(
            &ward.nurse,
            inventory_pb::RequisitionWardMedicationOrderRequest {
                request_id: request_id(),
                ward_stock_id: ward_stock.clone(),
                supplier_id: pharmacy.clone(),
                start_date: start.to_string(),
                days: 2,
            },
        ))
        .await
        .expect("the order becomes a requisition")
        .into_inner();
    let requisition = requested.requisition.expect("requisition");
    let lines: Vec<(&str, &str)> = requisition
        .lines
        .iter()
        .map(|line| (line.item_id.as_str(), line.requested.as_str()))
        .collect();
    assert_eq!(lines, [(tablets.as_str(), "10")]);
    assert_eq!(requested.unmatched.len(), 1);
    assert!(
        requested.unmatched[0].starts_with("WARF5"),
        "{:?}",
        requested.unmatched
    );
    // Naming no supplier asks the ward's facility's central pharmacy: the nurse need not
    // know the pharmacy's id.
    let defaulted = stock
        .requisition_ward_medication_order(signed_in(
            &ward.nurse,
            inventory_pb::RequisitionWardMedicationOrderRequest {
                request_id: request_id(),
                ward_stock_id: ward_stock.clone(),
                supplier_id: String::new(),
                start_date: start.to_string(),
                days: 1,
            },
        ))
        .await
        .expect("the order goes to the central pharmacy")
        .into_inner()
        .requisition
        .expect("requisition");
    assert_eq!(defaulted.supplier_id, pharmacy);
    ward.app.stop().await;
}

#[tokio::test]
async fn each_scheduled_dose_is_recorded_once_and_as_needed_doses_stop_at_the_maximum() {
    let ward = Ward::open().await;
    let (_, encounter) = ward.admitted("Zaharia", 2).await;
    let now = chrono::Utc::now();
    // A dose at the top of the current hour (Chisinau is a whole number of hours from UTC).
    let this_hour = chrono::DateTime::from_timestamp(now.timestamp() - now.timestamp() % 3600, 0)
        .expect("the top of the hour");
    let zone: chrono_tz::Tz = "Europe/Chisinau".parse().expect("zone");
    let local_hour = this_hour.with_timezone(&zone).format("%H:00").to_string();
    let mut scheduled = ward.order(&encounter, "PARA500", "1", 1);
    scheduled.times_of_day = vec![local_hour];
    scheduled.start_time = hmis_platform::wire::timestamp(now - chrono::Duration::hours(2));
    let scheduled = ward.prescribe_verified(scheduled).await;
    let mut as_needed = ward.order(&encounter, "METO50", "1", 2);
    as_needed.as_needed = true;
    as_needed.as_needed_reason = "palpitations".to_owned();
    let as_needed = ward.prescribe_verified(as_needed).await;

    let record = |prescription: &str,
                  at: Option<chrono::DateTime<chrono::Utc>>,
                  status: pb::AdministrationStatus,
                  reason: &str| {
        let mut api = encounters(&ward.app);
        let nurse = ward.nurse.clone();
        let administration = pb::Administration {
            prescription_id: prescription.to_owned(),
            scheduled_time: at.and_then(hmis_platform::wire::timestamp),
            status: status.into(),
            reason: reason.to_owned(),
            ..Default::default()
        };
        async move {
            api.record_administration(signed_in(
                &nurse,
                pb::RecordAdministrationRequest {
                    request_id: request_id(),
                    administration: Some(administration),
                },
            ))
            .await
        }
    };
    use pb::AdministrationStatus::{Given, Refused};
    record(&scheduled.id, Some(this_hour), Given, "")
        .await
        .expect("the dose is given");
    let twice = record(&scheduled.id, Some(this_hour), Given, "")
        .await
        .expect_err("the same dose again");
    assert_eq!(twice.code(), Code::FailedPrecondition);
    let off_schedule = record(
        &scheduled.id,
        Some(this_hour + chrono::Duration::minutes(30)),
        Given,
        "",
    )
    .await
    .expect_err("not a dose time");
    assert_eq!(
        violated_fields(&off_schedule),
        ["administration.scheduled_time"]
    );
    let no_reason = record(&scheduled.id, Some(this_hour), Refused, "")
        .await
        .expect_err("a refusal needs its reason");
    assert_eq!(violated_fields(&no_reason), ["administration.reason"]);

    record(&as_needed.id, None, Given, "")
        .await
        .expect("first as-needed dose");
    record(&as_needed.id, None, Given, "")
        .await
        .expect("second as-needed dose");
    let third = record(&as_needed.id, None, Given, "")
        .await
        .expect_err("over the daily maximum");
    assert_eq!(third.code(), Code::FailedPrecondition);
    // A physician does not record administrations.
    let doctor = encounters(&ward.app)
        .record_administration(signed_in(
            &ward.doctor,
            pb::RecordAdministrationRequest {
                request_id: request_id(),
                administration: Some(pb::Administration {
                    prescription_id: as_needed.id.clone(),
                    status: Given.into(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect_err("nursing.administer");
    assert_eq!(doctor.code(), Code::PermissionDenied);

    let record = encounters(&ward.app)
        .list_administrations(signed_in(
            &ward.nurse,
            pb::ListAdministrationsRequest {
                encounter_id: encounter.id.clone(),
            },
        ))
        .await
        .expect("the administration record")
        .into_inner()
        .administrations;
    assert_eq!(record.len(), 3);
    ward.app.stop().await;
}

#[tokio::test]
async fn the_pharmacy_dispenses_what_a_prescription_names_to_its_patient_while_it_runs() {
    use hmis_proto::openhmis::inventory::v1 as inventory_pb;
    let ward = Ward::open().await;
    let (_, encounter) = ward.admitted("Lupu", 3).await;
    let (_, other) = ward.admitted("Mocanu", 4).await;
    let mut pharmacy_desk = Pharmacist::join(&ward).await;
    let pharmacy = (pharmacy_desk)
        .warehouse(
            &ward,
            ("PHARM", "Central pharmacy"),
            inventory_pb::WarehouseKind::CentralPharmacy,
            "",
        )
        .await;
    let (pharmacist, mut stock) = (pharmacy_desk.session.clone(), pharmacy_desk.stock.clone());
    let mut items = std::collections::HashMap::new();
    for (code, atc) in [("PARA500", "N02BE01"), ("AMOX500", "J01CA04")] {
        let item = (pharmacy_desk)
            .tablets(code, &format!("{code} (catalog)"), atc)
            .await;
        stock
            .receive_stock(signed_in(
                &pharmacist,
                inventory_pb::ReceiveStockRequest {
                    request_id: request_id(),
                    warehouse_id: pharmacy.clone(),
                    supplier: "Farmaco SA".to_owned(),
                    invoice_number: format!("INV-{code}"),
                    lines: vec![inventory_pb::ReceiptLine {
                        item_id: item.clone(),
                        lot_number: "L1".to_owned(),
                        expiry_date: "2031-01-31".to_owned(),
                        quantity: "100".to_owned(),
                        unit_cost: "0.10".to_owned(),
                        provenance: inventory_pb::Provenance::Purchase.into(),
                        ..Default::default()
                    }],
                },
            ))
            .await
            .expect("receive");
        items.insert(code, item);
    }
    let prescription = ward
        .prescribe(&ward.doctor, ward.order(&encounter, "PARA500", "1", 3), "")
        .await
        .expect("paracetamol")
        .prescription
        .expect("prescription");
    let dispense = |patient: &str, item: &str, request_id: String| {
        let mut stock = stock.clone();
        let pharmacist = pharmacist.clone();
        let request = inventory_pb::IssueStockRequest {
            request_id,
            warehouse_id: pharmacy.clone(),
            patient_id: patient.to_owned(),
            document_type: "prescription".to_owned(),
            document_id: prescription.id.clone(),
            lines: vec![inventory_pb::ItemQuantity {
                item_id: items[item].clone(),
                quantity: "3".to_owned(),
                ..Default::default()
            }],
            ..Default::default()
        };
        async move { stock.issue_stock(signed_in(&pharmacist, request)).await }
    };
    dispense(&encounter.patient_id, "PARA500", request_id())
        .await
        .expect("the prescribed medicine to its patient");
    // One tablet three times a day, open-ended: today's and tomorrow's, six tablets in all.
    let allowed = encounters(&ward.app)
        .get_prescription(signed_in(
            &ward.doctor,
            pb::GetPrescriptionRequest {
                id: prescription.id.clone(),
            },
        ))
        .await
        .expect("get the prescription")
        .into_inner()
        .prescription
        .expect("prescription");
    assert_eq!(
        (
            allowed.dispensable_quantity.as_str(),
            allowed.form_unit.as_str()
        ),
        ("6", "tablet")
    );
    // Eight pharmacists at once, three tablets each: only one more fits.
    let racing: Vec<_> = (0..8)
        .map(|_| tokio::spawn(dispense(&encounter.patient_id, "PARA500", request_id())))
        .collect();
    let mut filled = 0;
    for outcome in racing {
        match outcome.await.expect("task") {
            Ok(_) => filled += 1,
            Err(status) => {
                assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
                assert!(
                    status.message().contains("more than was prescribed"),
                    "{status:?}"
                );
            }
        }
    }
    assert_eq!(filled, 1, "six tablets prescribed, six dispensed");
    let wrong_medicine = dispense(&encounter.patient_id, "AMOX500", request_id())
        .await
        .expect_err("not what was prescribed");
    assert_eq!(violated_fields(&wrong_medicine), ["lines[0].item_id"]);
    let wrong_patient = dispense(&other.patient_id, "PARA500", request_id())
        .await
        .expect_err("another patient");
    assert_eq!(violated_fields(&wrong_patient), ["patient_id"]);
    encounters(&ward.app)
        .discontinue_prescription(signed_in(
            &ward.doctor,
            pb::DiscontinuePrescriptionRequest {
                request_id: request_id(),
                id: prescription.id.clone(),
                reason: "afebrile".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect("discontinue");
    let stopped = dispense(&encounter.patient_id, "PARA500", request_id())
        .await
        .expect_err("discontinued");
    assert_eq!(stopped.code(), Code::FailedPrecondition);
    ward.app.stop().await;
}

/// Orders end with the stay: when the patient is discharged, the stay's prescriptions are
/// discontinued (so nothing more is given or dispensed on them), saying why; undoing the
/// discharge resumes them as they were.
#[tokio::test]
async fn prescriptions_end_with_the_stay_and_resume_when_the_discharge_is_undone() {
    let ward = Ward::open().await;
    let (admission, encounter) = ward.admitted("Rotaru", 2).await;
    let prescription = ward
        .prescribe(&ward.doctor, ward.order(&encounter, "PARA500", "1", 3), "")
        .await
        .expect("paracetamol")
        .prescription
        .expect("prescription");
    admissions_pb::admission_service_client::AdmissionServiceClient::new(ward.app.channel.clone())
        .discharge_patient(signed_in(
            &ward.desk,
            admissions_pb::DischargePatientRequest {
                request_id: request_id(),
                admission_id: admission.id.clone(),
                r#type: admissions_pb::DischargeType::Recovered.into(),
                destination: "home".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect("discharge");
    let api = encounters(&ward.app);
    eventually("the stay's prescription ends with it", || async {
        api.clone()
            .get_prescription(signed_in(
                &ward.doctor,
                pb::GetPrescriptionRequest {
                    id: prescription.id.clone(),
                },
            ))
            .await
            .expect("get the prescription")
            .into_inner()
            .prescription
            .is_some_and(|prescription| {
                prescription.status == pb::PrescriptionStatus::Discontinued as i32
                    && prescription.discontinue_reason.contains("stay ended")
            })
    })
    .await;

    let records = ward
        .app
        .staff(
            &ward.admin,
            &ward.admin.tenant_code,
            "records",
            "records",
            hmis_platform::auth::Scope::Tenant,
        )
        .await;
    admissions_pb::admission_service_client::AdmissionServiceClient::new(ward.app.channel.clone())
        .undo_discharge(signed_in(
            &records,
            admissions_pb::UndoDischargeRequest {
                request_id: request_id(),
                admission_id: admission.id.clone(),
                reason: "discharged by mistake".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect("undo the discharge");
    eventually("the prescription resumes with the stay", || async {
        api.clone()
            .get_prescription(signed_in(
                &ward.doctor,
                pb::GetPrescriptionRequest {
                    id: prescription.id.clone(),
                },
            ))
            .await
            .expect("get the prescription")
            .into_inner()
            .prescription
            .is_some_and(|resumed| {
                resumed.status == pb::PrescriptionStatus::Active as i32
                    && resumed.discontinue_reason.is_empty()
                    && resumed.stop_time == prescription.stop_time
            })
    })
    .await;
}

/// A tenant may require a principal diagnosis before a discharge: refused until the physician
/// records one in the stay's encounter, then accepted.
#[tokio::test]
async fn a_tenant_that_requires_it_discharges_only_with_a_principal_diagnosis() {
    let ward = Ward::open().await;
    let (admission, encounter) = ward.admitted("Bejan", 2).await;
    let mut adt = admissions_pb::admission_service_client::AdmissionServiceClient::new(
        ward.app.channel.clone(),
    );
    let refused_setting = adt
        .update_admission_settings(signed_in(
            &ward.desk,
            admissions_pb::UpdateAdmissionSettingsRequest {
                request_id: request_id(),
                settings: Some(admissions_pb::AdmissionSettings {
                    discharge_requires_principal_diagnosis: true,
                }),
            },
        ))
        .await
        .expect_err("the desk does not set the rules");
    assert_eq!(refused_setting.code(), Code::PermissionDenied);
    adt.update_admission_settings(signed_in(
        &ward.admin,
        admissions_pb::UpdateAdmissionSettingsRequest {
            request_id: request_id(),
            settings: Some(admissions_pb::AdmissionSettings {
                discharge_requires_principal_diagnosis: true,
            }),
        },
    ))
    .await
    .expect("the administrator requires a principal diagnosis");
    let discharge = || {
        let mut adt = adt.clone();
        let request = signed_in(
            &ward.desk,
            admissions_pb::DischargePatientRequest {
                request_id: request_id(),
                admission_id: admission.id.clone(),
                r#type: admissions_pb::DischargeType::Recovered.into(),
                destination: "home".to_owned(),
                ..Default::default()
            },
        );
        async move { adt.discharge_patient(request).await }
    };
    let refused = discharge().await.expect_err("no principal diagnosis yet");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused.message().contains("principal diagnosis"),
        "{refused:?}"
    );

    ward.record_principal(&encounter, "J18.9").await;
    eventually(
        "the discharge goes through once admissions knows",
        || async {
            match discharge().await {
                Ok(_) => true,
                Err(status) => {
                    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
                    false
                }
            }
        },
    )
    .await;
    ward.app.stop().await;
}

/// A dose recorded as given draws on the ward's stock through the ledger (an issue to the
/// patient, its document the administration); one that cannot be drawn (no catalogue item) is
/// kept for the ward to reconcile, and the doses after it are still drawn.
#[tokio::test]
async fn a_dose_given_draws_on_the_wards_stock_through_the_ledger() {
    let ward = Ward::open().await;
    let (_, encounter) = ward.admitted("Cazacu", 2).await;
    let mut pharmacy_desk = Pharmacist::join(&ward).await;
    let (ward_stock, tablets) = pharmacy_desk.stocked_ward(&ward, "INV-W1").await;

    // Paracetamol 1000 mg when needed: two tablets of 500 mg each time.
    let mut paracetamol = ward.order(&encounter, "PARA500", "1000", 3);
    paracetamol.dose_unit = "mg".to_owned();
    paracetamol.as_needed = true;
    paracetamol.as_needed_reason = "fever".to_owned();
    let paracetamol = ward.prescribe_verified(paracetamol).await;
    // Warfarin has no catalogue item: its dose cannot be drawn.
    let mut warfarin = ward.order(&encounter, "WARF5", "1", 1);
    warfarin.as_needed = true;
    warfarin.as_needed_reason = "as told".to_owned();
    let warfarin = ward.prescribe_verified(warfarin).await;
    let unbooked = ward.give(&warfarin.id).await.expect("the dose is given");
    ward.give(&paracetamol.id).await.expect("the dose is given");

    eventually("the dose given comes out of the ward's stock", || async {
        pharmacy_desk.on_hand(&ward_stock, &tablets).await == ["8"]
    })
    .await;
    let mut owner = PgConnection::connect_with(&ward.app.db.owner_options())
        .await
        .expect("owner");
    let kept: Vec<(uuid::Uuid, String)> =
        sqlx::query_as("SELECT administration_id, medicine_code FROM inventory.unbooked_doses")
            .fetch_all(&mut owner)
            .await
            .expect("unbooked doses");
    assert_eq!(
        kept,
        [(unbooked.id.parse().expect("uuid"), "WARF5".to_owned())]
    );
    ward.app.stop().await;
}

/// Nothing clinical is opened for a patient the registry records as deceased: an outpatient
/// encounter is refused, as admission and the emergency unit are.
#[tokio::test]
async fn no_encounter_is_opened_for_a_deceased_patient() {
    let ward = Ward::open().await;
    let patient_id = ward.register("Ungureanu").await;
    let mut registry =
        patients_pb::patient_service_client::PatientServiceClient::new(ward.app.channel.clone());
    let patient = registry
        .get_patient(signed_in(
            &ward.desk,
            patients_pb::GetPatientRequest {
                id: patient_id.clone(),
            },
        ))
        .await
        .expect("read")
        .into_inner()
        .patient
        .expect("patient");
    // A physician of the facility's clinics (a patient in no ward is within her reach).
    let facility: uuid::Uuid = ward.facility_id.parse().expect("facility id");
    let clinician = ward
        .app
        .staff(
            &ward.admin,
            "MED",
            "clinician",
            "physician",
            Scope::Facility(facility),
        )
        .await;
    let open = || {
        let mut api = encounters(&ward.app);
        let request = signed_in(
            &clinician,
            pb::OpenEncounterRequest {
                request_id: request_id(),
                patient_id: patient_id.clone(),
                department_id: ward.ward_id.clone(),
                ..Default::default()
            },
        );
        async move { api.open_encounter(request).await }
    };
    open()
        .await
        .expect("an outpatient visit for a living patient");
    registry
        .update_patient(signed_in(
            &ward.desk,
            patients_pb::UpdatePatientRequest {
                request_id: request_id(),
                patient: Some(patients_pb::Patient {
                    deceased: true,
                    death_date: chrono::Utc::now().date_naive().to_string(),
                    ..patient
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["deceased".to_owned(), "death_date".to_owned()],
                }),
            },
        ))
        .await
        .expect("record the death");
    let refused = open().await.expect_err("not for a deceased patient");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(refused.message().contains("deceased"), "{refused:?}");
    ward.app.stop().await;
}

#[tokio::test]
async fn pre_discharge_needs_the_principal_diagnosis_and_stops_new_orders_until_withdrawn() {
    let ward = Ward::open().await;
    let (admission, encounter) = ward.admitted("Vasile", 0).await;
    let api = encounters(&ward.app);
    let adt = admissions_pb::admission_service_client::AdmissionServiceClient::new(
        ward.app.channel.clone(),
    );
    ward.prescribe(&ward.doctor, ward.order(&encounter, "PARA500", "1", 3), "")
        .await
        .expect("an order during the stay");
    let announce = |discharge: Option<admissions_pb::PlannedDischarge>| {
        let mut adt = adt.clone();
        let doctor = ward.doctor.clone();
        let admission_id = admission.id.clone();
        async move {
            adt.announce_discharge(signed_in(
                &doctor,
                admissions_pb::AnnounceDischargeRequest {
                    request_id: request_id(),
                    admission_id,
                    discharge,
                    ..Default::default()
                },
            ))
            .await
        }
    };
    let home = || {
        Some(admissions_pb::PlannedDischarge {
            r#type: admissions_pb::DischargeType::Improved.into(),
            planned_time: Some(prost_types::Timestamp {
                seconds: chrono::Utc::now().timestamp() + 3 * 3600,
                nanos: 0,
            }),
            destination: "home".to_owned(),
            ..Default::default()
        })
    };

    // Wrong input is named; without a principal diagnosis the discharge cannot be announced.
    let missing = announce(None).await.expect_err("no discharge");
    assert_eq!(violated_fields(&missing), ["discharge"]);
    let untyped = announce(Some(admissions_pb::PlannedDischarge::default()))
        .await
        .expect_err("no type");
    assert_eq!(violated_fields(&untyped), ["discharge.type"]);
    let undiagnosed = announce(home()).await.expect_err("no principal diagnosis");
    assert_eq!(undiagnosed.code(), Code::FailedPrecondition);
    assert!(undiagnosed.message().contains("principal diagnosis"));

    // The principal diagnosis recorded, the announcement goes through once admissions knows.
    ward.record_principal(&encounter, "J18.9").await;
    let announced = std::sync::Mutex::new(None);
    eventually(
        "the discharge is announced once the diagnosis is known",
        || async {
            match announce(home()).await {
                Ok(answer) => {
                    *announced.lock().expect("lock") = answer.into_inner().admission;
                    true
                }
                Err(status) => {
                    assert_eq!(status.code(), Code::FailedPrecondition, "{status}");
                    false
                }
            }
        },
    )
    .await;
    let announced = announced.into_inner().expect("lock").expect("admission");
    let planned = announced
        .planned_discharge
        .clone()
        .expect("planned discharge");
    assert_eq!(
        planned.r#type,
        i32::from(admissions_pb::DischargeType::Improved)
    );
    assert_eq!(planned.destination, "home");
    assert!(!planned.announced_by.is_empty());
    let again = announce(home()).await.expect_err("announced once");
    assert_eq!(again.code(), Code::FailedPrecondition);

    // The ward's encounter follows: new orders, investigations and procedures are refused;
    // a procedure performed before the announcement may still be recorded.
    let follows = |announced: bool| {
        let mut api = api.clone();
        let doctor = ward.doctor.clone();
        let id = encounter.id.clone();
        async move {
            let seen = api
                .get_encounter(signed_in(&doctor, pb::GetEncounterRequest { id }))
                .await
                .expect("encounter")
                .into_inner()
                .encounter
                .and_then(|encounter| encounter.admission)
                .and_then(|admission| admission.planned_discharge);
            seen.is_some() == announced
        }
    };
    eventually("the encounter learns of the announcement", || follows(true)).await;
    let refused = ward
        .prescribe(&ward.doctor, ward.order(&encounter, "METO50", "1", 2), "")
        .await
        .expect_err("no new order after pre-discharge");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused.message().contains("discharge is announced"),
        "{refused}"
    );
    let referral = encounters(&ward.app)
        .create_referral(signed_in(
            &ward.doctor,
            pb::CreateReferralRequest {
                request_id: request_id(),
                referral: Some(pb::Referral {
                    encounter_id: encounter.id.clone(),
                    kind: pb::ReferralKind::Laboratory.into(),
                    investigation_codes: vec!["718-7".to_owned()],
                    reason: "one more count".to_owned(),
                    urgency: pb::Urgency::Routine.into(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect_err("no new investigation after pre-discharge");
    assert_eq!(referral.code(), Code::FailedPrecondition);
    // `None`: performed now.
    let procedure = |performed: Option<prost_types::Timestamp>| {
        let mut api = api.clone();
        let doctor = ward.doctor.clone();
        let encounter_id = encounter.id.clone();
        async move {
            api.record_procedure(signed_in(
                &doctor,
                pb::RecordProcedureRequest {
                    request_id: request_id(),
                    procedure: Some(pb::Procedure {
                        encounter_id,
                        code: "58500-00".to_owned(),
                        performed_time: performed,
                        ..Default::default()
                    }),
                },
            ))
            .await
        }
    };
    let late = procedure(None)
        .await
        .expect_err("a procedure after pre-discharge");
    assert_eq!(late.code(), Code::FailedPrecondition);
    // At the stay's start, before the announcement.
    procedure(encounter.start_time)
        .await
        .expect("a procedure performed before the announcement");

    // Withdrawn with a reason, orders are possible again.
    let no_reason = adt
        .clone()
        .withdraw_discharge(signed_in(
            &ward.doctor,
            admissions_pb::WithdrawDischargeRequest {
                request_id: request_id(),
                admission_id: admission.id.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect_err("a reason is required");
    assert_eq!(violated_fields(&no_reason), ["reason"]);
    let withdrawn = adt
        .clone()
        .withdraw_discharge(signed_in(
            &ward.doctor,
            admissions_pb::WithdrawDischargeRequest {
                request_id: request_id(),
                admission_id: admission.id.clone(),
                reason: "fever again".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect("withdrawn")
        .into_inner()
        .admission
        .expect("admission");
    assert!(withdrawn.planned_discharge.is_none());
    eventually("the encounter learns of the withdrawal", || follows(false)).await;
    ward.prescribe(&ward.doctor, ward.order(&encounter, "METO50", "1", 2), "")
        .await
        .expect("an order once the discharge is withdrawn");
}

/// One stay through the ward's workflow (issue 19): the physician's order waits for the
/// nurse's verification, her query is answered, the round gives it, a leftover goes back to
/// the ward's stock through the ledger, the nurses keep their record; pre-discharge is refused
/// without the principal diagnosis and then stops new orders; the discharge desk finds her on
/// its worklist and completes the discharge; the record is handed over to medical records.
#[tokio::test]
async fn a_stay_goes_from_a_verified_order_to_the_discharge_desk_and_medical_records() {
    use hmis_proto::openhmis::inventory::v1 as inventory_pb;
    let ward = Ward::open().await;
    let (admission, encounter) = ward.admitted("Whole", 0).await;
    let mut api = encounters(&ward.app);
    let mut adt = admissions_pb::admission_service_client::AdmissionServiceClient::new(
        ward.app.channel.clone(),
    );
    let facility: uuid::Uuid = ward.facility_id.parse().expect("facility id");
    let desk = ward
        .app
        .staff(
            &ward.admin,
            "MED",
            "clerk",
            "discharge_desk",
            Scope::Facility(facility),
        )
        .await;
    let records = ward
        .app
        .staff(
            &ward.admin,
            "MED",
            "archivist",
            "records",
            Scope::Facility(facility),
        )
        .await;
    let mut pharmacy_desk = Pharmacist::join(&ward).await;
    let (ward_stock, tablets) = pharmacy_desk.stocked_ward(&ward, "INV-W2").await;
    let (pharmacist, stock) = (pharmacy_desk.session.clone(), pharmacy_desk.stock.clone());

    // The physician orders paracetamol 1 g when needed: it waits for the ward's nurse.
    let mut order = ward.order(&encounter, "PARA500", "1000", 3);
    order.dose_unit = "mg".to_owned();
    order.as_needed = true;
    order.as_needed_reason = "fever".to_owned();
    let prescribed = ward
        .prescribe(&ward.doctor, order, "")
        .await
        .expect("prescribed")
        .prescription
        .expect("prescription");
    assert_eq!(
        prescribed.verification,
        i32::from(pb::VerificationStatus::Pending)
    );
    let unverified = ward
        .give(&prescribed.id)
        .await
        .expect_err("not on the round yet");
    assert_eq!(unverified.code(), Code::FailedPrecondition);
    let round = api
        .get_ward_medication_order(signed_in(
            &ward.nurse,
            pb::GetWardMedicationOrderRequest {
                department_id: ward.ward_id.clone(),
                start_date: String::new(),
                days: 1,
            },
        ))
        .await
        .expect("round")
        .into_inner()
        .order
        .expect("order");
    assert!(round.medications.is_empty(), "{:?}", round.medications);
    // The physician is not the one who verifies.
    let by_doctor = ward
        .verify(&ward.doctor, &prescribed.id)
        .await
        .expect_err("a physician does not verify");
    assert_eq!(by_doctor.code(), Code::PermissionDenied);

    // The nurse questions the dose; until it is answered it cannot be verified.
    let queried = api
        .query_prescription(signed_in(
            &ward.nurse,
            pb::QueryPrescriptionRequest {
                request_id: request_id(),
                prescription_id: prescribed.id.clone(),
                question: "1 g for a 48 kg patient: confirm?".to_owned(),
            },
        ))
        .await
        .expect("queried")
        .into_inner();
    let query = queried.query.expect("query");
    assert_eq!(
        queried.prescription.expect("prescription").verification,
        i32::from(pb::VerificationStatus::Queried)
    );
    let early = ward
        .verify(&ward.nurse, &prescribed.id)
        .await
        .expect_err("the query is open");
    assert_eq!(early.code(), Code::FailedPrecondition);
    let waiting = api
        .list_prescription_queries(signed_in(
            &ward.doctor,
            pb::ListPrescriptionQueriesRequest {
                department_id: ward.ward_id.clone(),
                encounter_id: String::new(),
            },
        ))
        .await
        .expect("the ward's waiting prescriptions")
        .into_inner();
    assert_eq!(waiting.prescriptions.len(), 1);
    assert_eq!(waiting.queries.len(), 1);
    assert_eq!(
        waiting.queries[0].question,
        "1 g for a 48 kg patient: confirm?"
    );
    let nurse_answers = api
        .answer_prescription_query(signed_in(
            &ward.desk,
            pb::AnswerPrescriptionQueryRequest {
                request_id: request_id(),
                query_id: query.id.clone(),
                answer: "yes".to_owned(),
            },
        ))
        .await
        .expect_err("the desk does not prescribe");
    assert_eq!(nurse_answers.code(), Code::PermissionDenied);
    let answered = api
        .answer_prescription_query(signed_in(
            &ward.doctor,
            pb::AnswerPrescriptionQueryRequest {
                request_id: request_id(),
                query_id: query.id.clone(),
                answer: "Confirmed: 1 g, at most 3 g a day.".to_owned(),
            },
        ))
        .await
        .expect("answered")
        .into_inner();
    assert_eq!(
        answered.prescription.expect("prescription").verification,
        i32::from(pb::VerificationStatus::Pending)
    );
    let verified = ward
        .verify(&ward.nurse, &prescribed.id)
        .await
        .expect("verified");
    assert_eq!(
        verified.verification,
        i32::from(pb::VerificationStatus::Verified)
    );
    assert!(!verified.verified_by.is_empty());
    let history = api
        .list_prescription_queries(signed_in(
            &ward.doctor,
            pb::ListPrescriptionQueriesRequest {
                department_id: String::new(),
                encounter_id: encounter.id.clone(),
            },
        ))
        .await
        .expect("the encounter's queries")
        .into_inner()
        .queries;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].answer, "Confirmed: 1 g, at most 3 g a day.");

    // The dose is given (two tablets out of the ward's stock); one comes back unused.
    let dose = ward.give(&prescribed.id).await.expect("given");
    eventually("the dose comes out of the ward's stock", || async {
        pharmacy_desk.on_hand(&ward_stock, &tablets).await == ["8"]
    })
    .await;
    let issue = stock
        .clone()
        .list_movements(signed_in(
            &pharmacist,
            inventory_pb::ListMovementsRequest {
                warehouse_id: ward_stock.clone(),
                item_id: tablets.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("movements")
        .into_inner()
        .movements
        .into_iter()
        .find(|movement| movement.document_id == dose.id)
        .expect("the dose's issue");
    let leftover = |quantity: &str| {
        let mut stock = stock.clone();
        let nurse = ward.nurse.clone();
        let request = inventory_pb::ReturnStockRequest {
            request_id: request_id(),
            warehouse_id: ward_stock.clone(),
            movement_id: issue.id.clone(),
            quantity: quantity.to_owned(),
            reason: "the patient took one tablet".to_owned(),
        };
        async move { stock.return_stock(signed_in(&nurse, request)).await }
    };
    let too_much = leftover("3").await.expect_err("more than was issued");
    assert_eq!(too_much.code(), Code::FailedPrecondition);
    leftover("1").await.expect("the nurse returns the leftover");
    assert_eq!(pharmacy_desk.on_hand(&ward_stock, &tablets).await, ["9"]);

    // The nursing record: vital signs coded, in their units; only nurses write it.
    let vitals = |signs: Vec<(&str, &str)>, who: &Session| {
        let mut api = encounters(&ward.app);
        let who = who.clone();
        let request = pb::RecordVitalSignsRequest {
            request_id: request_id(),
            encounter_id: encounter.id.clone(),
            vital_signs: signs
                .into_iter()
                .map(|(code, value)| pb::VitalSign {
                    code: code.to_owned(),
                    value: value.to_owned(),
                    ..Default::default()
                })
                .collect(),
            observe_time: None,
        };
        async move { api.record_vital_signs(signed_in(&who, request)).await }
    };
    let implausible = vitals(vec![("8310-5", "98.6"), ("0000-0", "1")], &ward.nurse)
        .await
        .expect_err("Fahrenheit and an unknown code");
    assert_eq!(
        violated_fields(&implausible),
        ["vital_signs[0].value", "vital_signs[1].code"]
    );
    let by_doctor = vitals(vec![("8867-4", "96")], &ward.doctor)
        .await
        .expect_err("a physician does not write the nursing record");
    assert_eq!(by_doctor.code(), Code::PermissionDenied);
    let charted = vitals(vec![("8310-5", "38,2"), ("8867-4", "96")], &ward.nurse)
        .await
        .expect("charted")
        .into_inner()
        .entry
        .expect("entry");
    assert_eq!(charted.vital_signs[0].value, "38.2");
    assert_eq!(charted.vital_signs[0].unit, "Cel");
    api.add_nursing_entry(signed_in(
        &ward.nurse,
        pb::AddNursingEntryRequest {
            request_id: request_id(),
            entry: Some(pb::NursingEntry {
                encounter_id: encounter.id.clone(),
                kind: pb::NursingEntryKind::Care.into(),
                text: "Cooling measures, fluids encouraged.".to_owned(),
                ..Default::default()
            }),
        },
    ))
    .await
    .expect("care recorded");
    let record = api
        .get_nursing_record(signed_in(
            &ward.doctor,
            pb::GetNursingRecordRequest {
                encounter_id: encounter.id.clone(),
            },
        ))
        .await
        .expect("the physician reads it")
        .into_inner();
    let kinds: Vec<i32> = record.entries.iter().map(|entry| entry.kind).collect();
    assert_eq!(
        kinds,
        [
            i32::from(pb::NursingEntryKind::Care),
            i32::from(pb::NursingEntryKind::VitalSigns)
        ]
    );
    assert!(record.vital_sign_kinds.len() >= 8);

    // Pre-discharge: refused without the principal diagnosis, then announced.
    let announce = || {
        let mut adt = admissions_pb::admission_service_client::AdmissionServiceClient::new(
            ward.app.channel.clone(),
        );
        let doctor = ward.doctor.clone();
        let admission_id = admission.id.clone();
        async move {
            adt.announce_discharge(signed_in(
                &doctor,
                admissions_pb::AnnounceDischargeRequest {
                    request_id: request_id(),
                    admission_id,
                    discharge: Some(admissions_pb::PlannedDischarge {
                        r#type: admissions_pb::DischargeType::Improved.into(),
                        planned_time: Some(prost_types::Timestamp {
                            seconds: chrono::Utc::now().timestamp() + 3600,
                            nanos: 0,
                        }),
                        destination: "home".to_owned(),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            ))
            .await
        }
    };
    let undiagnosed = announce().await.expect_err("no principal diagnosis");
    assert_eq!(undiagnosed.code(), Code::FailedPrecondition);
    ward.record_principal(&encounter, "J18.9").await;
    eventually(
        "the discharge is announced once the diagnosis is known",
        || async { announce().await.is_ok() },
    )
    .await;
    eventually("an order after the announcement is refused", || async {
        let after = ward
            .prescribe(&ward.doctor, ward.order(&encounter, "PARA500", "1", 2), "")
            .await;
        matches!(after, Err(status) if status.code() == Code::FailedPrecondition)
    })
    .await;
    // The list she leaves with is written all the same: off the round, not given on the ward.
    let mut take_home = ward.order(&encounter, "PARA500", "1", 3);
    take_home.take_home = true;
    take_home.stop_time =
        hmis_platform::wire::timestamp(chrono::Utc::now() + chrono::Duration::days(5));
    let take_home = ward
        .prescribe(&ward.doctor, take_home, "")
        .await
        .expect("take-home medication")
        .prescription
        .expect("prescription");
    assert!(take_home.take_home);
    assert_eq!(
        take_home.verification,
        i32::from(pb::VerificationStatus::NotRequired)
    );
    let on_the_ward = ward
        .give(&take_home.id)
        .await
        .expect_err("not given on the ward");
    assert_eq!(on_the_ward.code(), Code::FailedPrecondition);

    // The discharge desk: she is on its worklist, nothing unknown to it; the records office
    // (no laboratory reads) is told what it cannot see.
    let worklist = |who: &Session| {
        let mut adt = admissions_pb::admission_service_client::AdmissionServiceClient::new(
            ward.app.channel.clone(),
        );
        let who = who.clone();
        let facility_id = ward.facility_id.clone();
        async move {
            adt.list_discharge_worklist(signed_in(
                &who,
                admissions_pb::ListDischargeWorklistRequest { facility_id },
            ))
            .await
            .expect("worklist")
            .into_inner()
            .entries
        }
    };
    let ready = worklist(&desk).await;
    assert_eq!(ready.len(), 1);
    let entry = &ready[0];
    let waiting = entry.admission.as_ref().expect("admission");
    assert_eq!(waiting.id, admission.id);
    assert!(
        entry
            .holds
            .iter()
            .all(|hold| hold.kind != i32::from(admissions_pb::DischargeHoldKind::Unknown)),
        "{:?}",
        entry.holds
    );
    let unseen = worklist(&records).await;
    assert!(
        unseen[0].holds.iter().any(|hold| {
            hold.kind == i32::from(admissions_pb::DischargeHoldKind::Unknown)
                && hold.detail == "laboratory: not visible to you"
        }),
        "{:?}",
        unseen[0].holds
    );
    let summary_missing = |holds: &[admissions_pb::DischargeHold]| {
        holds
            .iter()
            .any(|hold| hold.kind == i32::from(admissions_pb::DischargeHoldKind::DischargeSummary))
    };
    assert!(summary_missing(&entry.holds), "{:?}", entry.holds);
    // The physician writes the discharge summary; the desk sees it is there.
    api.add_note(signed_in(
        &ward.doctor,
        pb::AddNoteRequest {
            request_id: request_id(),
            note: Some(pb::Note {
                encounter_id: encounter.id.clone(),
                kind: pb::NoteKind::DischargeSummary.into(),
                text: "Community-acquired pneumonia, improved on oral treatment.".to_owned(),
                ..Default::default()
            }),
        },
    ))
    .await
    .expect("the discharge summary");
    eventually("the desk sees the discharge summary written", || async {
        let ready = worklist(&desk).await;
        ready.len() == 1 && !summary_missing(&ready[0].holds)
    })
    .await;
    let planned = waiting.planned_discharge.clone().expect("planned");
    adt.discharge_patient(signed_in(
        &desk,
        admissions_pb::DischargePatientRequest {
            request_id: request_id(),
            admission_id: admission.id.clone(),
            r#type: planned.r#type,
            destination: planned.destination.clone(),
            ..Default::default()
        },
    ))
    .await
    .expect("the desk completes the discharge");
    assert!(worklist(&desk).await.is_empty());
    // The ward's orders ended with the stay; the take-home list did not.
    eventually("the stay's orders end with the discharge", || async {
        let listed = encounters(&ward.app)
            .list_prescriptions(signed_in(
                &ward.doctor,
                pb::ListPrescriptionsRequest {
                    encounter_id: encounter.id.clone(),
                    ..Default::default()
                },
            ))
            .await
            .expect("prescriptions")
            .into_inner()
            .prescriptions;
        let active = |id: &str| {
            listed
                .iter()
                .any(|p| p.id == id && p.status == i32::from(pb::PrescriptionStatus::Active))
        };
        !active(&prescribed.id) && active(&take_home.id)
    })
    .await;

    // The record goes to medical records, who receive it.
    let handed = adt
        .hand_over_record(signed_in(
            &desk,
            admissions_pb::HandOverRecordRequest {
                request_id: request_id(),
                admission_id: admission.id.clone(),
                paper_file_location: "Internal medicine, clerk's office".to_owned(),
                note: String::new(),
            },
        ))
        .await
        .expect("handed over")
        .into_inner()
        .handover
        .expect("hand-over");
    adt.receive_record(signed_in(
        &records,
        admissions_pb::ReceiveRecordRequest {
            request_id: request_id(),
            handover_id: handed.id.clone(),
            paper_file_location: "Archive, shelf 12".to_owned(),
        },
    ))
    .await
    .expect("received");
    ward.app.stop().await;
}
