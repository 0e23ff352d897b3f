//! What the demo's physicians recorded, and the demo's stock.

use admissions_pb::admission_service_server::AdmissionService;
use encounters_pb::encounter_service_server::EncounterService;
use encounters_pb::formulary_service_server::FormularyService;
use hmis_admissions::AdmissionApi;
use hmis_core::CoreModule;
use hmis_encounters::{EncounterApi, FormularyApi};
use hmis_inventory::InventoryApi;
use hmis_platform::TenantId;
use hmis_proto::openhmis::admissions::v1 as admissions_pb;
use hmis_proto::openhmis::core::v1 as pb;
use hmis_proto::openhmis::encounters::v1 as encounters_pb;
use hmis_proto::openhmis::inventory::v1 as inventory_pb;
use inventory_pb::inventory_service_server::InventoryService;
use pb::facility_service_server::FacilityService;
use tonic::Status;

use super::organisation::DemoWards;
use super::registry::DEMO_STAYS;
use super::{missing, request};

/// What the demo's physicians recorded for each demo patient in a ward: a principal diagnosis
/// (the admitting one, confirmed), an admission examination and a first prescription.
/// Loaded once per admission: a second load finds the diagnosis and records nothing more.
/// Only the demo's own patients (`patients`) are touched: on a hospital in use, whoever the
/// staff admitted into a demo ward is theirs.
pub async fn load_encounters(
    admissions: &AdmissionApi,
    encounters: &EncounterApi,
    formulary: &FormularyApi,
    tenant_id: TenantId,
    (wards, patients): (&DemoWards, &[String]),
) -> Result<(), Status> {
    let paracetamol = formulary
        .list_medicines(request(
            tenant_id,
            encounters_pb::ListMedicinesRequest {
                query: "PARA500".to_owned(),
                ..Default::default()
            },
        ))
        .await?
        .into_inner()
        .medicines
        .into_iter()
        .next()
        .ok_or_else(|| missing("paracetamol in the demo formulary"))?;
    for (code, _) in DEMO_STAYS {
        let ward = wards.get(code).ok_or_else(|| missing("demo ward"))?;
        let admitted = admissions
            .list_admissions(request(
                tenant_id,
                admissions_pb::ListAdmissionsRequest {
                    department_id: ward.clone(),
                    status: admissions_pb::AdmissionStatus::Admitted.into(),
                    page_size: 100,
                    ..Default::default()
                },
            ))
            .await?
            .into_inner()
            .admissions;
        let demo_patients = admitted
            .into_iter()
            .filter(|admission| patients.contains(&admission.patient_id));
        for admission in demo_patients {
            let encounter = encounters
                .open_encounter(request(
                    tenant_id,
                    encounters_pb::OpenEncounterRequest {
                        request_id: format!("demo-encounter-{}", admission.id),
                        admission_id: admission.id.clone(),
                        ..Default::default()
                    },
                ))
                .await?
                .into_inner()
                .encounter
                .ok_or_else(|| missing("encounter"))?;
            let diagnosed = encounters
                .record_diagnosis(request(
                    tenant_id,
                    encounters_pb::RecordDiagnosisRequest {
                        request_id: format!("demo-diagnosis-{}", admission.id),
                        diagnosis: Some(encounters_pb::Diagnosis {
                            encounter_id: encounter.id.clone(),
                            code: admission.admitting_diagnosis_code.clone(),
                            role: encounters_pb::DiagnosisRole::Principal.into(),
                            certainty: encounters_pb::DiagnosisCertainty::Confirmed.into(),
                            ..Default::default()
                        }),
                    },
                ))
                .await;
            match diagnosed {
                Ok(_) => {}
                // Recorded by an earlier load whose request ids were purged since.
                Err(status) if status.code() == tonic::Code::FailedPrecondition => continue,
                Err(status) => return Err(status),
            }
            encounters
                .add_note(request(
                    tenant_id,
                    encounters_pb::AddNoteRequest {
                        request_id: format!("demo-examination-{}", admission.id),
                        note: Some(encounters_pb::Note {
                            encounter_id: encounter.id.clone(),
                            kind: encounters_pb::NoteKind::Examination.into(),
                            text: format!(
                                "demo: admission examination ({}).",
                                admission.admitting_diagnosis_text
                            ),
                            ..Default::default()
                        }),
                    },
                ))
                .await?;
            let prescribed = encounters
                .create_prescription(request(
                    tenant_id,
                    encounters_pb::CreatePrescriptionRequest {
                        request_id: format!("demo-prescription-{}", admission.id),
                        prescription: Some(encounters_pb::Prescription {
                            encounter_id: encounter.id.clone(),
                            medicine_id: paracetamol.id.clone(),
                            dose: "1".to_owned(),
                            dose_unit: paracetamol.form_unit.clone(),
                            route: encounters_pb::Route::Oral.into(),
                            times_per_day: 3,
                            times_of_day: vec![
                                "08:00".to_owned(),
                                "14:00".to_owned(),
                                "20:00".to_owned(),
                            ],
                            instructions: "after meals".to_owned(),
                            ..Default::default()
                        }),
                        override_reason: String::new(),
                    },
                ))
                .await?
                .into_inner()
                .prescription
                .ok_or_else(|| missing("prescription"))?;
            // The ward's nurse verified it: it is on the round.
            encounters
                .verify_prescription(request(
                    tenant_id,
                    encounters_pb::VerifyPrescriptionRequest {
                        request_id: format!("demo-verification-{}", admission.id),
                        prescription_id: prescribed.id,
                        etag: String::new(),
                    },
                ))
                .await?;
        }
    }
    Ok(())
}

/// The demo's stock: a central pharmacy holding the formulary's medicines (one lot each,
/// bought in boxes), a stock in each ward with paracetamol and ibuprofen from it, and the
/// pharmacy's reorder points. Loaded once: a tenant whose pharmacy exists keeps its stock.
pub async fn load_inventory(
    inventory: &InventoryApi,
    formulary: &FormularyApi,
    core: &CoreModule,
    tenant_id: TenantId,
    wards: &DemoWards,
) -> Result<(), Status> {
    let existing = inventory
        .list_warehouses(request(tenant_id, inventory_pb::ListWarehousesRequest {}))
        .await?
        .into_inner()
        .warehouses;
    if existing.iter().any(|warehouse| warehouse.code == "PHARM") {
        return Ok(());
    }
    let ward_ids: Vec<(&str, &String)> = DEMO_STAYS
        .iter()
        .filter_map(|(code, _)| wards.get(code).map(|id| (*code, id)))
        .collect();
    let (_, first_ward) = ward_ids.first().ok_or_else(|| missing("demo ward"))?;
    let facility_id = core
        .facility_api()
        .get_department(request(
            tenant_id,
            pb::GetDepartmentRequest {
                id: (*first_ward).clone(),
            },
        ))
        .await?
        .into_inner()
        .department
        .ok_or_else(|| missing("department"))?
        .facility_id;
    let warehouse =
        |code: String, name: String, kind: inventory_pb::WarehouseKind, department: String| {
            inventory.create_warehouse(request(
                tenant_id,
                inventory_pb::CreateWarehouseRequest {
                    request_id: format!("demo-warehouse-{code}"),
                    warehouse: Some(inventory_pb::Warehouse {
                        code,
                        name,
                        kind: kind.into(),
                        facility_id: facility_id.clone(),
                        department_id: department,
                        ..Default::default()
                    }),
                },
            ))
        };
    let pharmacy = warehouse(
        "PHARM".to_owned(),
        "Central pharmacy".to_owned(),
        inventory_pb::WarehouseKind::CentralPharmacy,
        String::new(),
    )
    .await?
    .into_inner()
    .warehouse
    .ok_or_else(|| missing("warehouse"))?
    .id;
    let medicines = formulary
        .list_medicines(request(
            tenant_id,
            encounters_pb::ListMedicinesRequest {
                page_size: 100,
                ..Default::default()
            },
        ))
        .await?
        .into_inner()
        .medicines;
    let mut items = std::collections::HashMap::new();
    let mut lines = Vec::new();
    for (index, medicine) in medicines.iter().enumerate() {
        let per_box = if matches!(medicine.form_unit.as_str(), "tablet" | "capsule") {
            20
        } else {
            10
        };
        let item = inventory
            .create_item(request(
                tenant_id,
                inventory_pb::CreateItemRequest {
                    request_id: format!("demo-item-{}", medicine.code),
                    item: Some(inventory_pb::Item {
                        code: medicine.code.clone(),
                        name: medicine.name.clone(),
                        item_class: inventory_pb::ItemClass::Medicine.into(),
                        atc_code: medicine.atc_code.clone(),
                        preparation_group: if per_box == 20 {
                            "tablets and capsules".to_owned()
                        } else {
                            "injectables".to_owned()
                        },
                        base_unit: medicine.form_unit.clone(),
                        pack_units: vec![inventory_pb::PackUnit {
                            name: "box".to_owned(),
                            base_quantity: per_box.to_string(),
                        }],
                        controlled: medicine.restriction
                            == encounters_pb::Restriction::Controlled as i32,
                        ..Default::default()
                    }),
                },
            ))
            .await?
            .into_inner()
            .item
            .ok_or_else(|| missing("item"))?;
        lines.push(inventory_pb::ReceiptLine {
            item_id: item.id.clone(),
            lot_number: format!("DEMO-{:03}", index + 1),
            expiry_date: "2028-06-30".to_owned(),
            quantity: "10".to_owned(),
            unit: "box".to_owned(),
            unit_cost: format!("{}.{:02}", 5 + index % 7 * 3, index * 13 % 100),
            provenance: inventory_pb::Provenance::Purchase.into(),
        });
        items.insert(medicine.code.clone(), item.id);
    }
    inventory
        .receive_stock(request(
            tenant_id,
            inventory_pb::ReceiveStockRequest {
                request_id: "demo-receipt-1".to_owned(),
                warehouse_id: pharmacy.clone(),
                supplier: "Demo Pharma Distribution".to_owned(),
                invoice_number: "DEMO-INV-0001".to_owned(),
                lines,
            },
        ))
        .await?;
    for item in items.values() {
        inventory
            .set_reorder_point(request(
                tenant_id,
                inventory_pb::SetReorderPointRequest {
                    request_id: format!("demo-reorder-{item}"),
                    warehouse_id: pharmacy.clone(),
                    item_id: item.clone(),
                    quantity: "60".to_owned(),
                },
            ))
            .await?;
    }
    for (code, department) in ward_ids {
        let stock = warehouse(
            format!("{code}-STOCK"),
            format!("Ward stock {code}"),
            inventory_pb::WarehouseKind::Ward,
            department.clone(),
        )
        .await?
        .into_inner()
        .warehouse
        .ok_or_else(|| missing("warehouse"))?
        .id;
        let lines = ["PARA500", "IBU400"]
            .iter()
            .filter_map(|code| items.get(*code))
            .map(|item| inventory_pb::ItemQuantity {
                item_id: item.clone(),
                quantity: "40".to_owned(),
                ..Default::default()
            })
            .collect();
        inventory
            .transfer_stock(request(
                tenant_id,
                inventory_pb::TransferStockRequest {
                    request_id: format!("demo-transfer-{code}"),
                    from_warehouse_id: pharmacy.clone(),
                    to_warehouse_id: stock,
                    document_id: format!("DEMO-REQ-{code}"),
                    lines,
                },
            ))
            .await?;
    }
    Ok(())
}
