//! The bench hospital every scenario starts from: a fresh database, the server serving on a
//! free port, tenant `MAIN` with its administrator and the scenario's own staff, and the
//! set-up calls (facility, wards, warehouse, stocked items, patients) made the way any client
//! makes them, over gRPC.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use core_pb::facility_service_client::FacilityServiceClient;
use hmis_iam::SeedUser;
use hmis_platform::TenantId;
use hmis_platform::auth::Scope;
use hmis_platform::clock::SystemClock;
use hmis_platform::config::Secret;
use hmis_platform::testing::TestDatabase;
use hmis_proto::openhmis::core::v1 as core_pb;
use hmis_proto::openhmis::iam::v1 as iam;
use hmis_proto::openhmis::inventory::v1 as inventory_pb;
use hmis_proto::openhmis::patients::v1 as patients_pb;
use inventory_pb::inventory_service_client::InventoryServiceClient;
use openhmis_server::{Application, Options};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::{Channel, Endpoint};
use uuid::Uuid;

/// Every bench account's password.
pub(crate) const PASSWORD: &str = "Bench-Secret-2026!";

/// The bearer header of a signed-in account.
pub(crate) type Bearer = MetadataValue<Ascii>;

/// `message` sent with `authorization`.
pub(crate) fn signed<T>(authorization: &Bearer, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", authorization.clone());
    request
}

/// Signs `username` in to `tenant_code`; the bearer header of its access token.
pub(crate) async fn login_as(
    channel: Channel,
    tenant_code: &str,
    username: &str,
    password: &str,
) -> anyhow::Result<Bearer> {
    let token = iam::auth_service_client::AuthServiceClient::new(channel)
        .login(iam::LoginRequest {
            tenant_code: tenant_code.to_owned(),
            credentials: Some(iam::login_request::Credentials::Password(
                iam::PasswordCredentials {
                    username: username.to_owned(),
                    password: password.to_owned(),
                },
            )),
        })
        .await?
        .into_inner()
        .tokens
        .context("no tokens")?
        .access_token;
    Ok(format!("Bearer {token}").parse()?)
}

/// The running server of one scenario and what it was set up with.
pub(crate) struct Bench {
    pub db: TestDatabase,
    pub tenant_id: TenantId,
    pub endpoint: Endpoint,
    /// The set-up's connection (each measured client opens its own).
    pub channel: Channel,
    /// The tenant administrator, signed in.
    pub admin: Bearer,
    /// The laboratory module of the running server (its MLLP listener is bound by its
    /// scenario).
    pub laboratory: hmis_laboratory::LaboratoryModule,
    /// The nutrition module of the running server (its scenario sends meals at will).
    pub nutrition: hmis_nutrition::NutritionModule,
    stop: oneshot::Sender<()>,
    server: JoinHandle<anyhow::Result<()>>,
}

impl Bench {
    /// A fresh database and the server serving it, with `staff` (username, role code) created
    /// in tenant `MAIN` with tenant-wide scope; the administrator signed in.
    pub async fn start(staff: &[(&'static str, &'static str)]) -> anyhow::Result<Self> {
        let db = TestDatabase::new().await;
        let mut options = Options::default();
        options.server.listen_addr = SocketAddr::from(([127, 0, 0, 1], 0));
        options.iam.bootstrap_admin_password = Some(Secret::new(PASSWORD));
        // The bench's document-signing secret (no key file is written where it runs).
        options.documents.signing_secret =
            Some(Secret::new("bG9hZGdlbi1iZW5jaC1zaWduaW5nLXNlY3JldC0zMmI="));
        let application =
            Application::new(options, db.database.clone(), Arc::new(SystemClock)).await?;
        let tenant_id = application.bootstrap().await?.tenant_id;
        for &(username, role_code) in staff {
            application
                .iam()
                .ensure_user(
                    tenant_id,
                    &SeedUser {
                        username,
                        display_name: "Load generator",
                        password: PASSWORD,
                        role_code,
                        scope: Scope::Tenant,
                    },
                )
                .await?;
        }
        let laboratory = application.laboratory();
        let nutrition = application.nutrition();
        let listener = application.bind().await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            application
                .serve(listener, async {
                    let _ = stopped.await;
                })
                .await?;
            Ok(())
        });
        let endpoint = Endpoint::from_shared(format!("http://{addr}"))?;
        let channel = endpoint.connect().await?;
        let admin = login_as(channel.clone(), "MAIN", "admin", PASSWORD).await?;
        Ok(Self {
            db,
            tenant_id,
            endpoint,
            channel,
            admin,
            laboratory,
            nutrition,
            stop,
            server,
        })
    }

    /// Signs in one of the staff the bench was started with.
    pub async fn login(&self, username: &str) -> anyhow::Result<Bearer> {
        login_as(self.channel.clone(), "MAIN", username, PASSWORD).await
    }

    /// One connection per measured client, as separate desks would have.
    pub async fn connections(&self, clients: usize) -> anyhow::Result<Arc<Vec<Channel>>> {
        let mut channels = Vec::with_capacity(clients);
        for _ in 0..clients {
            channels.push(self.endpoint.connect().await?);
        }
        Ok(Arc::new(channels))
    }

    /// The bench hospital's facility (code `BENCH`).
    pub async fn facility(&self) -> anyhow::Result<String> {
        Ok(self
            .facilities()
            .create_facility(signed(
                &self.admin,
                core_pb::CreateFacilityRequest {
                    request_id: Uuid::new_v4().to_string(),
                    facility: Some(core_pb::Facility {
                        code: "BENCH".to_owned(),
                        name: "Bench hospital".to_owned(),
                        time_zone: "Europe/Chisinau".to_owned(),
                        ..Default::default()
                    }),
                },
            ))
            .await?
            .into_inner()
            .facility
            .context("no facility")?
            .id)
    }

    /// A department of `kind` in `facility_id`.
    pub async fn department(
        &self,
        facility_id: &str,
        code: &str,
        kind: core_pb::DepartmentKind,
    ) -> anyhow::Result<String> {
        department(&self.channel, &self.admin, facility_id, code, kind).await
    }

    /// A ward with `beds` beds, in rooms of 4: its id and its beds' ids.
    pub async fn ward(
        &self,
        facility_id: &str,
        code: &str,
        beds: usize,
    ) -> anyhow::Result<(String, Vec<String>)> {
        ward(&self.channel, &self.admin, facility_id, code, beds).await
    }

    /// The central pharmacy of `facility_id`, created by `pharmacist`.
    pub async fn pharmacy(&self, pharmacist: &Bearer, facility_id: &str) -> anyhow::Result<String> {
        Ok(InventoryServiceClient::new(self.channel.clone())
            .create_warehouse(signed(
                pharmacist,
                inventory_pb::CreateWarehouseRequest {
                    request_id: Uuid::new_v4().to_string(),
                    warehouse: Some(inventory_pb::Warehouse {
                        code: "PHARM".to_owned(),
                        name: "Central pharmacy".to_owned(),
                        kind: inventory_pb::WarehouseKind::CentralPharmacy.into(),
                        facility_id: facility_id.to_owned(),
                        ..Default::default()
                    }),
                },
            ))
            .await?
            .into_inner()
            .warehouse
            .context("no warehouse")?
            .id)
    }

    /// A medicine of the catalog counted in tablets, received into `warehouse_id` as one lot
    /// of `quantity` tablets; its item id.
    pub async fn stocked_tablets(
        &self,
        pharmacist: &Bearer,
        warehouse_id: &str,
        item: inventory_pb::Item,
        quantity: usize,
        unit_cost: &str,
    ) -> anyhow::Result<String> {
        let mut inventory = InventoryServiceClient::new(self.channel.clone());
        let code = item.code.clone();
        let item_id = inventory
            .create_item(signed(
                pharmacist,
                inventory_pb::CreateItemRequest {
                    request_id: Uuid::new_v4().to_string(),
                    item: Some(inventory_pb::Item {
                        item_class: inventory_pb::ItemClass::Medicine.into(),
                        base_unit: "tablet".to_owned(),
                        ..item
                    }),
                },
            ))
            .await?
            .into_inner()
            .item
            .context("no item")?
            .id;
        inventory
            .receive_stock(signed(
                pharmacist,
                inventory_pb::ReceiveStockRequest {
                    request_id: Uuid::new_v4().to_string(),
                    warehouse_id: warehouse_id.to_owned(),
                    supplier: "Bench supplier".to_owned(),
                    invoice_number: code.clone(),
                    lines: vec![inventory_pb::ReceiptLine {
                        item_id: item_id.clone(),
                        lot_number: format!("LOT-{code}"),
                        expiry_date: "2035-12-31".to_owned(),
                        quantity: quantity.to_string(),
                        unit_cost: unit_cost.to_owned(),
                        provenance: inventory_pb::Provenance::Purchase.into(),
                        ..Default::default()
                    }],
                },
            ))
            .await?;
        Ok(item_id)
    }

    /// Stops the server once its calls in flight are answered.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.server.await?
    }

    fn facilities(&self) -> FacilityServiceClient<Channel> {
        FacilityServiceClient::new(self.channel.clone())
    }
}

/// A department of `kind` in `facility_id`, made by `admin`.
pub(crate) async fn department(
    channel: &Channel,
    admin: &Bearer,
    facility_id: &str,
    code: &str,
    kind: core_pb::DepartmentKind,
) -> anyhow::Result<String> {
    Ok(FacilityServiceClient::new(channel.clone())
        .create_department(signed(
            admin,
            core_pb::CreateDepartmentRequest {
                request_id: Uuid::new_v4().to_string(),
                department: Some(core_pb::Department {
                    facility_id: facility_id.to_owned(),
                    code: code.to_owned(),
                    name: format!("Department {code}"),
                    kind: kind.into(),
                    ..Default::default()
                }),
            },
        ))
        .await?
        .into_inner()
        .department
        .context("no department")?
        .id)
}

/// A ward with `beds` beds, in rooms of 4, made by `admin`: its id and its beds' ids.
pub(crate) async fn ward(
    channel: &Channel,
    admin: &Bearer,
    facility_id: &str,
    code: &str,
    beds: usize,
) -> anyhow::Result<(String, Vec<String>)> {
    let department = department(
        channel,
        admin,
        facility_id,
        code,
        core_pb::DepartmentKind::Ward,
    )
    .await?;
    let mut facilities = FacilityServiceClient::new(channel.clone());
    let mut bed_ids = Vec::with_capacity(beds);
    for room_number in 0..beds.div_ceil(4) {
        let room = facilities
            .create_room(signed(
                admin,
                core_pb::CreateRoomRequest {
                    request_id: Uuid::new_v4().to_string(),
                    room: Some(core_pb::Room {
                        department_id: department.clone(),
                        code: format!("{code}-{room_number}"),
                        name: format!("Room {room_number}"),
                        ..Default::default()
                    }),
                },
            ))
            .await?
            .into_inner()
            .room
            .context("no room")?;
        for bed_number in 0..4.min(beds - bed_ids.len()) {
            let bed = facilities
                .create_bed(signed(
                    admin,
                    core_pb::CreateBedRequest {
                        request_id: Uuid::new_v4().to_string(),
                        bed: Some(core_pb::Bed {
                            room_id: room.id.clone(),
                            code: format!("{bed_number}"),
                            sex: core_pb::BedSex::Any.into(),
                            ..Default::default()
                        }),
                    },
                ))
                .await?
                .into_inner()
                .bed
                .context("no bed")?;
            bed_ids.push(bed.id);
        }
    }
    Ok((department, bed_ids))
}

/// Registers a new patient (the duplicate check confirmed); the patient's id.
pub(crate) async fn register(
    channel: Channel,
    registrar: &Bearer,
    family_name: String,
    sex: patients_pb::Sex,
    birth_date: &str,
) -> anyhow::Result<String> {
    Ok(
        patients_pb::patient_service_client::PatientServiceClient::new(channel)
            .register_patient(signed(
                registrar,
                patients_pb::RegisterPatientRequest {
                    request_id: Uuid::new_v4().to_string(),
                    patient: Some(patients_pb::Patient {
                        family_name,
                        given_names: if sex == patients_pb::Sex::Female {
                            "Ana"
                        } else {
                            "Ion"
                        }
                        .to_owned(),
                        sex: sex.into(),
                        birth_date: birth_date.to_owned(),
                        ..Default::default()
                    }),
                    confirm_new_patient: true,
                },
            ))
            .await?
            .into_inner()
            .patient
            .context("no patient")?
            .id,
    )
}
