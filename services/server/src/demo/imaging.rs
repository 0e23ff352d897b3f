//! The demo's imaging department: the starter catalogue of services and one room per
//! modality it offers (radiography, ultrasound, CT) in the demo facility.

use hmis_core::CoreModule;
use hmis_imaging::ImagingModule;
use hmis_platform::{RequestContext, TenantId};
use hmis_proto::openhmis::core::v1 as pb;
use hmis_proto::openhmis::imaging::v1 as imaging_pb;
use imaging_pb::imaging_service_server::ImagingService;
use pb::facility_service_server::FacilityService;
use tonic::Status;

use super::organisation::DemoWards;
use super::{missing, request};

const ROOMS: &[(&str, &str, imaging_pb::Modality, &str)] = &[
    (
        "RX-1",
        "Radiography room 1",
        imaging_pb::Modality::Xray,
        "DRH_DX1",
    ),
    (
        "US-1",
        "Ultrasound room 1",
        imaging_pb::Modality::Ultrasound,
        "DRH_US1",
    ),
    ("CT-1", "CT scanner", imaging_pb::Modality::Ct, "DRH_CT1"),
];

pub async fn load_imaging(
    core: &CoreModule,
    imaging: &ImagingModule,
    tenant_id: TenantId,
    wards: &DemoWards,
) -> Result<(), Status> {
    imaging
        .load_starter(&RequestContext::system(tenant_id))
        .await
        .map_err(Status::from)?;
    let ward = wards
        .get("CARD")
        .ok_or_else(|| missing("cardiology ward"))?;
    let facility_id = core
        .facility_api()
        .get_department(request(
            tenant_id,
            pb::GetDepartmentRequest { id: ward.clone() },
        ))
        .await?
        .into_inner()
        .department
        .ok_or_else(|| missing("department"))?
        .facility_id;
    let api = imaging.api();
    let existing = api
        .list_rooms(request(
            tenant_id,
            imaging_pb::ListRoomsRequest {
                facility_id: facility_id.clone(),
            },
        ))
        .await?
        .into_inner()
        .rooms;
    for (code, name, modality, ae_title) in ROOMS {
        if existing.iter().any(|room| room.code == *code) {
            continue;
        }
        api.set_room(request(
            tenant_id,
            imaging_pb::SetRoomRequest {
                request_id: format!("demo-room-{code}"),
                room: Some(imaging_pb::Room {
                    code: (*code).to_owned(),
                    name: (*name).to_owned(),
                    facility_id: facility_id.clone(),
                    modality: *modality as i32,
                    ae_title: (*ae_title).to_owned(),
                    active: true,
                    ..Default::default()
                }),
            },
        ))
        .await?;
    }
    Ok(())
}
