//! The demo's laboratory: the starter catalogue (sections, the common tests with their
//! reference ranges) and one chemistry analyser that sends its results over MLLP as
//! `COBAS` at `DRH-LAB`.

use hmis_core::CoreModule;
use hmis_laboratory::LaboratoryModule;
use hmis_platform::{RequestContext, TenantId};
use hmis_proto::openhmis::core::v1 as pb;
use hmis_proto::openhmis::laboratory::v1 as laboratory_pb;
use laboratory_pb::laboratory_service_server::LaboratoryService;
use pb::facility_service_server::FacilityService;
use tonic::{Code, Status};

use super::organisation::DemoWards;
use super::{missing, request};

pub async fn load_laboratory(
    core: &CoreModule,
    laboratory: &LaboratoryModule,
    tenant_id: TenantId,
    wards: &DemoWards,
) -> Result<(), Status> {
    laboratory
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
    let registered = laboratory
        .api()
        .register_analyser(request(
            tenant_id,
            laboratory_pb::RegisterAnalyserRequest {
                request_id: "demo-analyser-cobas".to_owned(),
                analyser: Some(laboratory_pb::Analyser {
                    code: "COBAS-1".to_owned(),
                    name: "Chemistry analyser 1".to_owned(),
                    sending_application: "COBAS".to_owned(),
                    sending_facility: "DRH-LAB".to_owned(),
                    facility_id,
                    section_code: "BIO".to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await;
    match registered {
        // Loading the demo again finds the analyser registered under another request.
        Err(status) if status.code() == Code::AlreadyExists => Ok(()),
        other => other.map(|_| ()),
    }
}
