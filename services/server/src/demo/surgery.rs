//! The demo's operating block: its three rooms made theatres, the starter procedure grades,
//! the demo physician's privileges (grades up to 3), the block's warehouse with sutures and
//! gauze, and the packs of the common abdominal operations.

use hmis_iam::IamModule;
use hmis_inventory::InventoryApi;
use hmis_platform::TenantId;
use hmis_proto::openhmis::core::v1 as pb;
use hmis_proto::openhmis::iam::v1 as iam_pb;
use hmis_proto::openhmis::inventory::v1 as inventory_pb;
use hmis_proto::openhmis::surgery::v1 as surgery_pb;
use hmis_surgery::SurgeryApi;
use iam_pb::admin_service_server::AdminService;
use inventory_pb::inventory_service_server::InventoryService;
use pb::facility_service_server::FacilityService;
use surgery_pb::surgery_service_server::SurgeryService;
use tonic::Status;

use super::organisation::DemoWards;
use super::{missing, request};

/// Theatre supplies: code, name, base unit, quantity received, unit cost.
const SUPPLIES: &[(&str, &str, &str, &str, &str)] = &[
    ("SUT-30", "Absorbable suture 3-0", "piece", "200", "4.50"),
    (
        "GAUZE-10",
        "Sterile gauze swab 10x10",
        "piece",
        "1000",
        "0.35",
    ),
    (
        "DRAPE-L",
        "Sterile surgical drape, large",
        "piece",
        "100",
        "12.00",
    ),
];

/// The pack of a procedure: (procedure, [(supply, quantity)]).
const PACKS: &[(&str, &[(&str, &str)])] = &[
    (
        "30571-00",
        &[("SUT-30", "2"), ("GAUZE-10", "10"), ("DRAPE-L", "1")],
    ),
    (
        "30572-00",
        &[("SUT-30", "2"), ("GAUZE-10", "10"), ("DRAPE-L", "1")],
    ),
    (
        "30445-00",
        &[("SUT-30", "3"), ("GAUZE-10", "15"), ("DRAPE-L", "1")],
    ),
];

pub async fn load_surgery(
    surgery: &SurgeryApi,
    (core, iam, inventory): (&hmis_core::CoreModule, &IamModule, &InventoryApi),
    tenant_id: TenantId,
    wards: &DemoWards,
) -> Result<(), Status> {
    let block = wards.get("OR").ok_or_else(|| missing("operating block"))?;
    let facilities = core.facility_api();
    let rooms = facilities
        .list_rooms(request(
            tenant_id,
            pb::ListRoomsRequest {
                department_id: block.clone(),
                page_size: 50,
                page_token: String::new(),
            },
        ))
        .await?
        .into_inner()
        .rooms;
    for (number, room) in rooms.iter().enumerate() {
        surgery
            .create_theatre(request(
                tenant_id,
                surgery_pb::CreateTheatreRequest {
                    request_id: format!("demo-theatre-{}", room.code),
                    room_id: room.id.clone(),
                    code: format!("OR-{}", number + 1),
                    name: format!("Theatre {}", number + 1),
                    specialty_codes: vec!["general_surgery".to_owned()],
                    equipment: if number == 0 {
                        vec!["laparoscopy tower".to_owned()]
                    } else {
                        vec![]
                    },
                },
            ))
            .await?;
    }
    surgery
        .set_procedure_grades(request(
            tenant_id,
            surgery_pb::SetProcedureGradesRequest {
                request_id: "demo-procedure-grades".to_owned(),
                grades: (hmis_surgery::starter::grades().into_iter())
                    .map(|(code, grade)| surgery_pb::ProcedureGrade { code, grade })
                    .collect(),
            },
        ))
        .await?;
    let users = iam
        .admin_api()
        .list_users(request(
            tenant_id,
            iam_pb::ListUsersRequest {
                page_size: 500,
                page_token: String::new(),
            },
        ))
        .await?
        .into_inner()
        .users;
    let physician = users
        .iter()
        .find(|user| user.username == "physician")
        .ok_or_else(|| missing("demo physician"))?;
    surgery
        .grant_privilege(request(
            tenant_id,
            surgery_pb::GrantPrivilegeRequest {
                request_id: "demo-privilege-physician".to_owned(),
                surgeon_id: physician.id.clone(),
                extent: Some(surgery_pb::grant_privilege_request::Extent::MaxGrade(3)),
                valid_from: "2026-01-01".to_owned(),
                valid_until: "2030-12-31".to_owned(),
            },
        ))
        .await?;

    let facility_id = facilities
        .get_department(request(
            tenant_id,
            pb::GetDepartmentRequest { id: block.clone() },
        ))
        .await?
        .into_inner()
        .department
        .ok_or_else(|| missing("department"))?
        .facility_id;
    let warehouse = inventory
        .create_warehouse(request(
            tenant_id,
            inventory_pb::CreateWarehouseRequest {
                request_id: "demo-warehouse-OR".to_owned(),
                warehouse: Some(inventory_pb::Warehouse {
                    code: "OR-STOCK".to_owned(),
                    name: "Operating block stock".to_owned(),
                    kind: inventory_pb::WarehouseKind::OperatingBlock.into(),
                    facility_id,
                    department_id: block.clone(),
                    ..Default::default()
                }),
            },
        ))
        .await?
        .into_inner()
        .warehouse
        .ok_or_else(|| missing("warehouse"))?
        .id;
    let mut items = std::collections::HashMap::new();
    let mut lines = Vec::new();
    for (code, name, unit, quantity, cost) in SUPPLIES {
        let item = inventory
            .create_item(request(
                tenant_id,
                inventory_pb::CreateItemRequest {
                    request_id: format!("demo-item-{code}"),
                    item: Some(inventory_pb::Item {
                        code: (*code).to_owned(),
                        name: (*name).to_owned(),
                        item_class: inventory_pb::ItemClass::Auxiliary.into(),
                        base_unit: (*unit).to_owned(),
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
            lot_number: format!("{code}-2026"),
            expiry_date: "2029-12-31".to_owned(),
            quantity: (*quantity).to_owned(),
            unit: String::new(),
            unit_cost: (*cost).to_owned(),
            provenance: inventory_pb::Provenance::Purchase.into(),
        });
        items.insert(*code, item.id);
    }
    inventory
        .receive_stock(request(
            tenant_id,
            inventory_pb::ReceiveStockRequest {
                request_id: "demo-receipt-OR".to_owned(),
                warehouse_id: warehouse,
                supplier: "Medsupply SRL".to_owned(),
                invoice_number: "MS-2026-001".to_owned(),
                lines,
            },
        ))
        .await?;
    for (procedure, pack) in PACKS {
        surgery
            .set_procedure_pack(request(
                tenant_id,
                surgery_pb::SetProcedurePackRequest {
                    request_id: format!("demo-pack-{procedure}"),
                    procedure_code: (*procedure).to_owned(),
                    lines: (pack.iter())
                        .filter_map(|(supply, quantity)| {
                            Some(surgery_pb::ConsumedItem {
                                item_id: items.get(supply)?.clone(),
                                quantity: (*quantity).to_owned(),
                            })
                        })
                        .collect(),
                },
            ))
            .await?;
    }
    Ok(())
}
