//! The ward board: the ward's beds from the bed register with this module's holds laid over
//! them, and the patients in the ward. Read once, or watched: the board is sent again each
//! time something it shows may have changed, as told by the outbox notifications of this
//! module and of the bed register (`NOTIFY openhmis_outbox`, payload the schema).

use std::time::Duration;

use hmis_platform::audit::AuditEntry;
use hmis_platform::auth::Target;
use hmis_platform::outbox::NOTIFY_CHANNEL;
use hmis_platform::wire::timestamp;
use hmis_platform::{RequestContext, Violations};
use hmis_proto::openhmis::admissions::v1 as pb;
use sqlx::postgres::PgListener;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;
use uuid::Uuid;

use crate::app::Adt;
use crate::convert::admission_type_to_pb;
use crate::directory::Bed;
use crate::domain::BedState;
use crate::error::{Error, Result};
use crate::store::{self, WardHold};

const READ: &str = "admissions.read";

/// A watcher reads the board again at least this often, in case a notification was lost
/// (the listener reconnecting, say).
const REFRESH: Duration = Duration::from_secs(60);

/// The schemas whose changes can change a board: stays here, bed states in the register.
const WATCHED_SCHEMAS: &[&str] = &["admissions", "core"];

impl Adt {
    /// The ward named by `department_id`, if the caller may read its board.
    pub(crate) async fn authorize_board(
        &self,
        context: &RequestContext,
        department_id: &str,
    ) -> Result<Uuid> {
        context.authorize_any(READ)?;
        let mut violations = Violations::default();
        let Some(department_id) = violations.check(
            "department_id",
            hmis_platform::types::parse_uuid(department_id),
        ) else {
            return Err(Error::from(violations));
        };
        let ward = self.directory.ward(context, department_id).await?;
        context.authorize(READ, &Target::department(ward.facility_id, ward.id))?;
        Ok(department_id)
    }

    /// The board now, with the audit record of the patients it shows committed first. When it
    /// shows the same as `previous`, nothing is sent and nothing recorded: `None`.
    pub(crate) async fn ward_board(
        &self,
        context: &RequestContext,
        department_id: Uuid,
        previous: Option<&pb::WardBoard>,
    ) -> Result<Option<pb::WardBoard>> {
        let beds = self.directory.beds_of(context, department_id).await?;
        let rooms = self.directory.room_codes(context, department_id).await?;
        let now = self.calls.now();
        let mut tx = self
            .calls
            .database()
            .begin(context.tenant_id()?, &context.request_id)
            .await?;
        let holds = store::ward_holds(&mut tx, department_id).await?;
        let board = pb::WardBoard {
            department_id: department_id.to_string(),
            beds: beds
                .iter()
                .map(|bed| {
                    let room = rooms.get(&bed.room_id).cloned().unwrap_or_default();
                    slot(bed, room, &holds)
                })
                .collect(),
            patients: holds
                .iter()
                .filter(|hold| !hold.stay.is_reservation())
                .map(ward_patient)
                .collect(),
            read_time: timestamp(now),
        };
        if previous.is_some_and(|previous| same_board(previous, &board)) {
            tx.rollback().await?;
            return Ok(None);
        }
        let ids: Vec<Uuid> = holds.iter().map(|hold| hold.patient_id).collect();
        hmis_platform::audit::record(&mut tx, context, &AuditEntry::ok(&ids), now).await?;
        tx.commit().await?;
        Ok(Some(board))
    }

    /// Streams the board of a ward the caller may read: now, then after each change, until
    /// the client goes away.
    pub(crate) fn watch_board(
        self: Arc<Self>,
        context: RequestContext,
        department_id: Uuid,
    ) -> ReceiverStream<Result<pb::WatchWardBoardResponse, Status>> {
        let (sender, receiver) = mpsc::channel(4);
        // Subscribed before the first read, so a change during it is not missed.
        let mut changes = self.changes.subscribe();
        // The stream lives no longer than the access token it was opened with: a revoked
        // grant or a signed-out user stops seeing the ward when the token would have expired.
        let expires_in = context
            .principal()
            .ok()
            .and_then(|principal| principal.expires_at)
            .map(|at| (at - self.calls.now()).to_std().unwrap_or_default());
        let token_expired = async move {
            match expires_in {
                Some(expires_in) => tokio::time::sleep(expires_in).await,
                None => std::future::pending().await,
            }
        };
        tokio::spawn(async move {
            tokio::pin!(token_expired);
            let mut shown: Option<pb::WardBoard> = None;
            loop {
                match self
                    .ward_board(&context, department_id, shown.as_ref())
                    .await
                {
                    Ok(Some(board)) => {
                        let message = pb::WatchWardBoardResponse {
                            board: Some(board.clone()),
                        };
                        if sender.send(Ok(message)).await.is_err() {
                            return;
                        }
                        shown = Some(board);
                    }
                    Ok(None) => {}
                    Err(error) => {
                        let _ = sender.send(Err(error.into())).await;
                        return;
                    }
                }
                tokio::select! {
                    changed = changes.changed() => if changed.is_err() { return },
                    _ = tokio::time::sleep(REFRESH) => {}
                    _ = sender.closed() => return,
                    _ = &mut token_expired => {
                        let expired = Status::unauthenticated(
                            "the access token expired; watch again with a fresh one",
                        );
                        let _ = sender.send(Err(expired)).await;
                        return;
                    }
                }
            }
        });
        ReceiverStream::new(receiver)
    }

    /// Turns the outbox notifications of the watched schemas into ticks for the watchers,
    /// until the task is dropped. One listening connection serves every watcher.
    pub(crate) async fn listen_for_changes(&self) {
        loop {
            let listened = async {
                let mut listener =
                    PgListener::connect_with(self.calls.database().worker_pool()).await?;
                listener.listen(NOTIFY_CHANNEL).await?;
                loop {
                    let notification = listener.recv().await?;
                    if WATCHED_SCHEMAS.contains(&notification.payload()) {
                        self.changes
                            .send_modify(|tick| *tick = tick.wrapping_add(1));
                    }
                }
                #[allow(unreachable_code)]
                Ok::<(), sqlx::Error>(())
            }
            .await;
            if let Err(error) = listened {
                tracing::warn!(error = %error, "ward board listener failed; reconnecting");
            }
            // Whatever was missed meanwhile is caught by a fresh read.
            self.changes
                .send_modify(|tick| *tick = tick.wrapping_add(1));
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

fn slot(bed: &Bed, room_code: String, holds: &[WardHold]) -> pb::BedSlot {
    let hold = holds.iter().find(|hold| hold.stay.bed_id == Some(bed.id));
    let occupancy = match hold {
        Some(hold) if hold.stay.is_reservation() => pb::BedOccupancy::Reserved,
        Some(_) => pb::BedOccupancy::Occupied,
        // The register's echo of a hold this module no longer has: it is about to read as
        // the state a release leaves behind.
        None => match bed.state {
            BedState::Free | BedState::Reserved => pb::BedOccupancy::Free,
            BedState::Occupied | BedState::Cleaning => pb::BedOccupancy::Cleaning,
            BedState::OutOfService => pb::BedOccupancy::OutOfService,
        },
    };
    pb::BedSlot {
        bed_id: bed.id.to_string(),
        bed_code: bed.code.clone(),
        room_id: bed.room_id.to_string(),
        room_code,
        occupancy: occupancy.into(),
        admission_id: hold
            .map(|hold| hold.stay.admission_id.to_string())
            .unwrap_or_default(),
        patient_id: hold
            .map(|hold| hold.patient_id.to_string())
            .unwrap_or_default(),
        since: hold.and_then(|hold| timestamp(hold.stay.start_time)),
    }
}

fn ward_patient(hold: &WardHold) -> pb::WardPatient {
    pb::WardPatient {
        admission_id: hold.stay.admission_id.to_string(),
        patient_id: hold.patient_id.to_string(),
        admission_number: hold.admission_number.clone(),
        r#type: admission_type_to_pb(hold.r#type).into(),
        bed_id: hold
            .stay
            .bed_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        since: timestamp(hold.stay.start_time),
        admit_time: timestamp(hold.admit_time),
        planned_discharge_time: hold.planned_discharge_time.and_then(timestamp),
    }
}

/// Whether two boards show the same (the time they were read aside).
fn same_board(a: &pb::WardBoard, b: &pb::WardBoard) -> bool {
    a.department_id == b.department_id && a.beds == b.beds && a.patients == b.patients
}
