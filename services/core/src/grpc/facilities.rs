//! `FacilityService`: facilities, departments (wards), rooms and beds.

use super::*;

#[derive(Debug, Clone)]
pub struct FacilityApi {
    pub(crate) core: Arc<Core>,
}

#[tonic::async_trait]
impl FacilityService for FacilityApi {
    #[tracing::instrument(skip_all)]
    async fn create_facility(
        &self,
        request: Request<pb::CreateFacilityRequest>,
    ) -> std::result::Result<Response<pb::CreateFacilityResponse>, Status> {
        let (_, context) = manager(&request)?;
        let message = request.into_inner();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let facility = required(message.facility.as_ref(), "facility", &mut violations);
        let code = facility.and_then(|f| violations.check("facility.code", Code::parse(&f.code)));
        let name = facility.and_then(|f| violations.check("facility.name", Name::parse(&f.name)));
        let time_zone = facility
            .and_then(|f| violations.check("facility.time_zone", parse_time_zone(&f.time_zone)));
        let address =
            facility.and_then(|f| violations.check("facility.address", Text::parse(&f.address)));
        let (Some(key), Some(code), Some(name), Some(time_zone), Some(address)) =
            (key, code, name, time_zone, address)
        else {
            return Err(Error::from(violations).into());
        };
        let now = self.core.calls.now();
        let facility = Facility {
            id: FacilityId::generate(),
            code,
            name,
            time_zone,
            address,
            active: true,
            version: Version::FIRST,
            created_at: now,
            updated_at: now,
        };
        let core = self.core.clone();
        let response = self
            .core
            .calls
            .write(
                &context,
                "/openhmis.core.v1.FacilityService/CreateFacility",
                &key,
                &message,
                async |tx| {
                    store::insert_facility(tx, &facility).await?;
                    events::facility_changed(&core, tx, &facility).await?;
                    Ok::<_, Error>(pb::CreateFacilityResponse {
                        facility: Some(facility_to_pb(&facility)),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn get_facility(
        &self,
        request: Request<pb::GetFacilityRequest>,
    ) -> std::result::Result<Response<pb::GetFacilityResponse>, Status> {
        let (tenant_id, context) = reader(&request)?;
        let mut violations = Violations::default();
        let id = violations.check("id", FacilityId::parse(&request.get_ref().id));
        let Some(id) = id else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.core.read_tx(tenant_id, &context).await?;
        let facility = store::get_facility(&mut tx, id, Lock::None).await?;
        Ok(Response::new(pb::GetFacilityResponse {
            facility: Some(facility_to_pb(&facility)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_facilities(
        &self,
        request: Request<pb::ListFacilitiesRequest>,
    ) -> std::result::Result<Response<pb::ListFacilitiesResponse>, Status> {
        let (tenant_id, context) = reader(&request)?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let size = page_size(message.page_size, &mut violations);
        let after = violations
            .check("page_token", decode_token::<String>(&message.page_token))
            .flatten();
        violations.into_result().map_err(Error::from)?;
        let mut tx = self.core.read_tx(tenant_id, &context).await?;
        let rows = store::list_facilities(&mut tx, after.as_deref(), size.fetch_limit()).await?;
        let (rows, next_page_token) = finish_page(rows, size, |f| f.code.to_string());
        Ok(Response::new(pb::ListFacilitiesResponse {
            facilities: rows.iter().map(facility_to_pb).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn update_facility(
        &self,
        request: Request<pb::UpdateFacilityRequest>,
    ) -> std::result::Result<Response<pb::UpdateFacilityResponse>, Status> {
        let (tenant_id, context) = manager(&request)?;
        let message = request.into_inner();
        let mut violations = Violations::default();
        let paths = mask_paths(
            message.update_mask.as_ref(),
            &["name", "time_zone", "address", "active"],
            &mut violations,
        );
        let Some(facility) = required(message.facility.as_ref(), "facility", &mut violations)
        else {
            return Err(Error::from(violations).into());
        };
        let id = violations.check("facility.id", FacilityId::parse(&facility.id));
        let etag = violations.check("facility.etag", Version::parse_etag(&facility.etag));
        let mut changes = FacilityChanges::default();
        if masked(&paths, "name") {
            changes.name = violations.check("facility.name", Name::parse(&facility.name));
        }
        if masked(&paths, "time_zone") {
            changes.time_zone =
                violations.check("facility.time_zone", parse_time_zone(&facility.time_zone));
        }
        if masked(&paths, "address") {
            changes.address = violations.check("facility.address", Text::parse(&facility.address));
        }
        if masked(&paths, "active") {
            changes.active = Some(facility.active);
        }
        let (Some(id), Some(etag), true) = (id, etag, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.core.read_tx(tenant_id, &context).await?;
        let mut facility = store::get_facility(&mut tx, id, Lock::ForUpdate).await?;
        check_etag(facility.version, etag, "facility")?;
        facility.apply(changes);
        facility.updated_at = self.core.calls.now();
        store::update_facility(&mut tx, &mut facility).await?;
        events::facility_changed(&self.core, &mut tx, &facility).await?;
        tx.commit().await.map_err(Error::from)?;
        Ok(Response::new(pb::UpdateFacilityResponse {
            facility: Some(facility_to_pb(&facility)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn create_department(
        &self,
        request: Request<pb::CreateDepartmentRequest>,
    ) -> std::result::Result<Response<pb::CreateDepartmentResponse>, Status> {
        let (_, context) = manager(&request)?;
        let message = request.into_inner();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let department = required(message.department.as_ref(), "department", &mut violations);
        let facility_id = department.and_then(|d| {
            violations.check("department.facility_id", FacilityId::parse(&d.facility_id))
        });
        let code =
            department.and_then(|d| violations.check("department.code", Code::parse(&d.code)));
        let name =
            department.and_then(|d| violations.check("department.name", Name::parse(&d.name)));
        let kind = department
            .and_then(|d| violations.check("department.kind", parse_department_kind(d.kind)));
        let specialty_code = department.and_then(|d| {
            violations.check(
                "department.specialty_code",
                optional_code(&d.specialty_code),
            )
        });
        let (
            Some(key),
            Some(facility_id),
            Some(code),
            Some(name),
            Some(kind),
            Some(specialty_code),
        ) = (key, facility_id, code, name, kind, specialty_code)
        else {
            return Err(Error::from(violations).into());
        };
        let now = self.core.calls.now();
        let department = Department {
            id: DepartmentId::generate(),
            facility_id,
            code,
            name,
            kind,
            specialty_code,
            active: true,
            version: Version::FIRST,
            created_at: now,
            updated_at: now,
        };
        let core = self.core.clone();
        let response = self
            .core
            .calls
            .write(
                &context,
                "/openhmis.core.v1.FacilityService/CreateDepartment",
                &key,
                &message,
                async |tx| {
                    // The facility must exist (and be this tenant's); lock it so it
                    // cannot be deactivated while its new department is being added.
                    let facility = store::get_facility(tx, department.facility_id, Lock::ForUpdate)
                        .await
                        .map_err(|error| refers_to(error, "department.facility_id"))?;
                    if !facility.active {
                        return Err(Error::FailedPrecondition(
                            "the facility is inactive".to_owned(),
                        ));
                    }
                    check_specialty(tx, department.specialty_code.as_ref()).await?;
                    store::insert_department(tx, &department).await?;
                    events::department_changed(&core, tx, &department).await?;
                    Ok::<_, Error>(pb::CreateDepartmentResponse {
                        department: Some(department_to_pb(&department)),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn get_department(
        &self,
        request: Request<pb::GetDepartmentRequest>,
    ) -> std::result::Result<Response<pb::GetDepartmentResponse>, Status> {
        let (tenant_id, context) = reader(&request)?;
        let mut violations = Violations::default();
        let Some(id) = violations.check("id", DepartmentId::parse(&request.get_ref().id)) else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.core.read_tx(tenant_id, &context).await?;
        let department = store::get_department(&mut tx, id, Lock::None).await?;
        Ok(Response::new(pb::GetDepartmentResponse {
            department: Some(department_to_pb(&department)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_departments(
        &self,
        request: Request<pb::ListDepartmentsRequest>,
    ) -> std::result::Result<Response<pb::ListDepartmentsResponse>, Status> {
        let (tenant_id, context) = reader(&request)?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let facility_id = violations.check("facility_id", FacilityId::parse(&message.facility_id));
        let kind = if message.kind == i32::from(pb::DepartmentKind::Unspecified) {
            None
        } else {
            violations.check("kind", parse_department_kind(message.kind))
        };
        let size = page_size(message.page_size, &mut violations);
        let after = violations
            .check("page_token", decode_token::<String>(&message.page_token))
            .flatten();
        let (Some(facility_id), true) = (facility_id, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.core.read_tx(tenant_id, &context).await?;
        let rows = store::list_departments(
            &mut tx,
            facility_id,
            kind,
            after.as_deref(),
            size.fetch_limit(),
        )
        .await?;
        let (rows, next_page_token) = finish_page(rows, size, |d| d.code.to_string());
        Ok(Response::new(pb::ListDepartmentsResponse {
            departments: rows.iter().map(department_to_pb).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn update_department(
        &self,
        request: Request<pb::UpdateDepartmentRequest>,
    ) -> std::result::Result<Response<pb::UpdateDepartmentResponse>, Status> {
        let (tenant_id, context) = manager(&request)?;
        let message = request.into_inner();
        let mut violations = Violations::default();
        let paths = mask_paths(
            message.update_mask.as_ref(),
            &["name", "kind", "specialty_code", "active"],
            &mut violations,
        );
        let Some(department) = required(message.department.as_ref(), "department", &mut violations)
        else {
            return Err(Error::from(violations).into());
        };
        let id = violations.check("department.id", DepartmentId::parse(&department.id));
        let etag = violations.check("department.etag", Version::parse_etag(&department.etag));
        let mut changes = DepartmentChanges::default();
        if masked(&paths, "name") {
            changes.name = violations.check("department.name", Name::parse(&department.name));
        }
        if masked(&paths, "kind") {
            changes.kind =
                violations.check("department.kind", parse_department_kind(department.kind));
        }
        if masked(&paths, "specialty_code") {
            changes.specialty_code = violations.check(
                "department.specialty_code",
                optional_code(&department.specialty_code),
            );
        }
        if masked(&paths, "active") {
            changes.active = Some(department.active);
        }
        let (Some(id), Some(etag), true) = (id, etag, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.core.read_tx(tenant_id, &context).await?;
        let mut department = store::get_department(&mut tx, id, Lock::ForUpdate).await?;
        check_etag(department.version, etag, "department")?;
        if let Some(specialty_code) = &changes.specialty_code {
            check_specialty(&mut tx, specialty_code.as_ref()).await?;
        }
        department.apply(changes);
        department.updated_at = self.core.calls.now();
        store::update_department(&mut tx, &mut department).await?;
        events::department_changed(&self.core, &mut tx, &department).await?;
        tx.commit().await.map_err(Error::from)?;
        Ok(Response::new(pb::UpdateDepartmentResponse {
            department: Some(department_to_pb(&department)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn create_room(
        &self,
        request: Request<pb::CreateRoomRequest>,
    ) -> std::result::Result<Response<pb::CreateRoomResponse>, Status> {
        let (_, context) = manager(&request)?;
        let message = request.into_inner();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let room = required(message.room.as_ref(), "room", &mut violations);
        let department_id = room.and_then(|r| {
            violations.check("room.department_id", DepartmentId::parse(&r.department_id))
        });
        let code = room.and_then(|r| violations.check("room.code", Code::parse(&r.code)));
        let name = room.and_then(|r| violations.check("room.name", Name::parse(&r.name)));
        let (Some(key), Some(department_id), Some(code), Some(name)) =
            (key, department_id, code, name)
        else {
            return Err(Error::from(violations).into());
        };
        let now = self.core.calls.now();
        let room = Room {
            id: RoomId::generate(),
            department_id,
            code,
            name,
            active: true,
            version: Version::FIRST,
            created_at: now,
            updated_at: now,
        };
        let response = self
            .core
            .calls
            .write(
                &context,
                "/openhmis.core.v1.FacilityService/CreateRoom",
                &key,
                &message,
                async |tx| {
                    let department = store::get_department(tx, room.department_id, Lock::ForUpdate)
                        .await
                        .map_err(|error| refers_to(error, "room.department_id"))?;
                    if !department.active {
                        return Err(Error::FailedPrecondition(
                            "the department is inactive".to_owned(),
                        ));
                    }
                    store::insert_room(tx, &room).await?;
                    Ok::<_, Error>(pb::CreateRoomResponse {
                        room: Some(room_to_pb(&room)),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn get_room(
        &self,
        request: Request<pb::GetRoomRequest>,
    ) -> std::result::Result<Response<pb::GetRoomResponse>, Status> {
        let (tenant_id, context) = reader(&request)?;
        let mut violations = Violations::default();
        let Some(id) = violations.check("id", RoomId::parse(&request.get_ref().id)) else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.core.read_tx(tenant_id, &context).await?;
        let room = store::get_room(&mut tx, id, Lock::None).await?;
        Ok(Response::new(pb::GetRoomResponse {
            room: Some(room_to_pb(&room)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_rooms(
        &self,
        request: Request<pb::ListRoomsRequest>,
    ) -> std::result::Result<Response<pb::ListRoomsResponse>, Status> {
        let (tenant_id, context) = reader(&request)?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let department_id =
            violations.check("department_id", DepartmentId::parse(&message.department_id));
        let size = page_size(message.page_size, &mut violations);
        let after = violations
            .check("page_token", decode_token::<String>(&message.page_token))
            .flatten();
        let (Some(department_id), true) = (department_id, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.core.read_tx(tenant_id, &context).await?;
        let rows =
            store::list_rooms(&mut tx, department_id, after.as_deref(), size.fetch_limit()).await?;
        let (rows, next_page_token) = finish_page(rows, size, |r| r.code.to_string());
        Ok(Response::new(pb::ListRoomsResponse {
            rooms: rows.iter().map(room_to_pb).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn update_room(
        &self,
        request: Request<pb::UpdateRoomRequest>,
    ) -> std::result::Result<Response<pb::UpdateRoomResponse>, Status> {
        let (tenant_id, context) = manager(&request)?;
        let message = request.into_inner();
        let mut violations = Violations::default();
        let paths = mask_paths(
            message.update_mask.as_ref(),
            &["name", "active"],
            &mut violations,
        );
        let Some(room) = required(message.room.as_ref(), "room", &mut violations) else {
            return Err(Error::from(violations).into());
        };
        let id = violations.check("room.id", RoomId::parse(&room.id));
        let etag = violations.check("room.etag", Version::parse_etag(&room.etag));
        let mut changes = RoomChanges::default();
        if masked(&paths, "name") {
            changes.name = violations.check("room.name", Name::parse(&room.name));
        }
        if masked(&paths, "active") {
            changes.active = Some(room.active);
        }
        let (Some(id), Some(etag), true) = (id, etag, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.core.read_tx(tenant_id, &context).await?;
        let mut room = store::get_room(&mut tx, id, Lock::ForUpdate).await?;
        check_etag(room.version, etag, "room")?;
        room.apply(changes);
        room.updated_at = self.core.calls.now();
        store::update_room(&mut tx, &mut room).await?;
        tx.commit().await.map_err(Error::from)?;
        Ok(Response::new(pb::UpdateRoomResponse {
            room: Some(room_to_pb(&room)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn create_bed(
        &self,
        request: Request<pb::CreateBedRequest>,
    ) -> std::result::Result<Response<pb::CreateBedResponse>, Status> {
        let (_, context) = manager(&request)?;
        let message = request.into_inner();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let bed = required(message.bed.as_ref(), "bed", &mut violations);
        let room_id = bed.and_then(|b| violations.check("bed.room_id", RoomId::parse(&b.room_id)));
        let code = bed.and_then(|b| violations.check("bed.code", Code::parse(&b.code)));
        let sex = bed.and_then(|b| violations.check("bed.sex", parse_bed_sex(b.sex)));
        let (Some(key), Some(room_id), Some(code), Some(sex), Some(bed)) =
            (key, room_id, code, sex, bed)
        else {
            return Err(Error::from(violations).into());
        };
        let now = self.core.calls.now();
        let (isolation, intensive_care) = (bed.isolation, bed.intensive_care);
        let core = self.core.clone();
        let response = self
            .core
            .calls
            .write(
                &context,
                "/openhmis.core.v1.FacilityService/CreateBed",
                &key,
                &message,
                async |tx| {
                    let room = store::get_room(tx, room_id, Lock::ForUpdate)
                        .await
                        .map_err(|error| refers_to(error, "bed.room_id"))?;
                    if !room.active {
                        return Err(Error::FailedPrecondition("the room is inactive".to_owned()));
                    }
                    let bed = Bed {
                        id: BedId::generate(),
                        room_id,
                        department_id: room.department_id,
                        code,
                        sex,
                        isolation,
                        intensive_care,
                        state: BedState::Free,
                        state_reason: String::new(),
                        active: true,
                        version: Version::FIRST,
                        created_at: now,
                        updated_at: now,
                    };
                    store::insert_bed(tx, &bed).await?;
                    events::bed_changed(&core, tx, &bed, None).await?;
                    Ok::<_, Error>(pb::CreateBedResponse {
                        bed: Some(bed_to_pb(&bed)),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn get_bed(
        &self,
        request: Request<pb::GetBedRequest>,
    ) -> std::result::Result<Response<pb::GetBedResponse>, Status> {
        let (tenant_id, context) = reader(&request)?;
        let mut violations = Violations::default();
        let Some(id) = violations.check("id", BedId::parse(&request.get_ref().id)) else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.core.read_tx(tenant_id, &context).await?;
        let bed = store::get_bed(&mut tx, id, Lock::None).await?;
        Ok(Response::new(pb::GetBedResponse {
            bed: Some(bed_to_pb(&bed)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_beds(
        &self,
        request: Request<pb::ListBedsRequest>,
    ) -> std::result::Result<Response<pb::ListBedsResponse>, Status> {
        let (tenant_id, context) = reader(&request)?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let scope = match (message.department_id.is_empty(), message.room_id.is_empty()) {
            (false, true) => violations
                .check("department_id", DepartmentId::parse(&message.department_id))
                .map(BedScope::Department),
            (true, false) => violations
                .check("room_id", RoomId::parse(&message.room_id))
                .map(BedScope::Room),
            _ => {
                violations.add(
                    "department_id",
                    "give exactly one of department_id or room_id",
                );
                None
            }
        };
        let state = violations
            .check("state", parse_bed_state(message.state))
            .flatten();
        let size = page_size(message.page_size, &mut violations);
        let after = violations
            .check(
                "page_token",
                decode_token::<(String, String)>(&message.page_token),
            )
            .flatten();
        let (Some(scope), true) = (scope, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.core.read_tx(tenant_id, &context).await?;
        let rows = store::list_beds(
            &mut tx,
            scope,
            state,
            after
                .as_ref()
                .map(|(room, bed)| (room.as_str(), bed.as_str())),
            size.fetch_limit(),
        )
        .await?;
        let (rows, next_page_token) = finish_page(rows, size, |(bed, room_code)| {
            (room_code.clone(), bed.code.to_string())
        });
        Ok(Response::new(pb::ListBedsResponse {
            beds: rows.iter().map(|(bed, _)| bed_to_pb(bed)).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn update_bed(
        &self,
        request: Request<pb::UpdateBedRequest>,
    ) -> std::result::Result<Response<pb::UpdateBedResponse>, Status> {
        let (tenant_id, context) = manager(&request)?;
        let message = request.into_inner();
        let mut violations = Violations::default();
        let paths = mask_paths(
            message.update_mask.as_ref(),
            &["sex", "isolation", "intensive_care", "active"],
            &mut violations,
        );
        let Some(bed) = required(message.bed.as_ref(), "bed", &mut violations) else {
            return Err(Error::from(violations).into());
        };
        let id = violations.check("bed.id", BedId::parse(&bed.id));
        let etag = violations.check("bed.etag", Version::parse_etag(&bed.etag));
        let mut changes = BedChanges::default();
        if masked(&paths, "sex") {
            changes.sex = violations.check("bed.sex", parse_bed_sex(bed.sex));
        }
        if masked(&paths, "isolation") {
            changes.isolation = Some(bed.isolation);
        }
        if masked(&paths, "intensive_care") {
            changes.intensive_care = Some(bed.intensive_care);
        }
        if masked(&paths, "active") {
            changes.active = Some(bed.active);
        }
        let (Some(id), Some(etag), true) = (id, etag, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.core.read_tx(tenant_id, &context).await?;
        let mut bed = store::get_bed(&mut tx, id, Lock::ForUpdate).await?;
        check_etag(bed.version, etag, "bed")?;
        let previous_state = bed.state;
        bed.apply(changes).map_err(Error::from)?;
        bed.updated_at = self.core.calls.now();
        store::update_bed(&mut tx, &mut bed).await?;
        events::bed_changed(&self.core, &mut tx, &bed, Some(previous_state)).await?;
        tx.commit().await.map_err(Error::from)?;
        Ok(Response::new(pb::UpdateBedResponse {
            bed: Some(bed_to_pb(&bed)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn set_bed_state(
        &self,
        request: Request<pb::SetBedStateRequest>,
    ) -> std::result::Result<Response<pb::SetBedStateResponse>, Status> {
        let context = RequestContext::of(&request);
        let principal = context.authorize_any("core.beds.manage")?.clone();
        let message = request.into_inner();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let id = violations.check("bed_id", BedId::parse(&message.bed_id));
        let state = match violations.check("state", parse_bed_state(message.state)) {
            Some(None) => {
                violations.add("state", "is required");
                None
            }
            other => other.flatten(),
        };
        let etag = violations.check("etag", Version::parse_etag(&message.etag));
        let reason = violations.check("reason", Text::parse(&message.reason));
        let (Some(key), Some(id), Some(state), Some(etag), Some(reason)) =
            (key, id, state, etag, reason)
        else {
            return Err(Error::from(violations).into());
        };
        let now = self.core.calls.now();
        let core = self.core.clone();
        let response = self
            .core
            .calls
            .write(
                &context,
                "/openhmis.core.v1.FacilityService/SetBedState",
                &key,
                &message,
                async |tx| {
                    let mut bed = store::get_bed(tx, id, Lock::ForUpdate).await?;
                    let department =
                        store::get_department(tx, bed.department_id, Lock::None).await?;
                    principal.authorize(
                        "core.beds.manage",
                        &Target::department(
                            department.facility_id.as_uuid(),
                            department.id.as_uuid(),
                        ),
                    )?;
                    check_etag(bed.version, etag, "bed")?;
                    let previous_state = bed.state;
                    bed.change_state(state, &reason)?;
                    bed.updated_at = now;
                    store::update_bed(tx, &mut bed).await?;
                    events::bed_changed(&core, tx, &bed, Some(previous_state)).await?;
                    Ok::<_, Error>(pb::SetBedStateResponse {
                        bed: Some(bed_to_pb(&bed)),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }
}

fn optional_code(
    value: &str,
) -> std::result::Result<Option<Code>, hmis_platform::types::ParseError> {
    if value.trim().is_empty() {
        Ok(None)
    } else {
        Code::parse(value).map(Some)
    }
}

/// A parent named in the request that does not exist is the caller's mistake in that field.
fn refers_to(error: Error, field: &str) -> Error {
    match error {
        Error::NotFound { what, .. } => {
            let mut violations = Violations::default();
            violations.add(field, format!("no such {what}"));
            Error::InvalidArgument(violations)
        }
        other => other,
    }
}

async fn check_specialty(tx: &mut TenantTx, specialty_code: Option<&Code>) -> Result<()> {
    let Some(specialty_code) = specialty_code else {
        return Ok(());
    };
    if store::entry_is_active(tx, store::SPECIALTIES, specialty_code).await? {
        return Ok(());
    }
    let mut violations = Violations::default();
    violations.add(
        "department.specialty_code",
        format!(
            "is not an active entry of the {} dictionary",
            store::SPECIALTIES
        ),
    );
    Err(Error::InvalidArgument(violations))
}
