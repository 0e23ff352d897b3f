//! The operating block in the statistics office: every surgery event carries the operation as
//! it is after the change, and replaces the stored one when newer; surgical activity and
//! theatre utilisation are counted from those rows.

use std::sync::Arc;

use futures::future::BoxFuture;
use hmis_platform::Database;
use hmis_platform::RequestContext;
use hmis_platform::context::RequestId;
use hmis_platform::outbox::{Event, EventHandler, HandlerError, Subscription};
use hmis_platform::types::Version;
use hmis_platform::wire::parse_timestamp;
use hmis_proto::events::surgery as events;
use hmis_proto::openhmis::statistics::v1 as pb;
use hmis_proto::openhmis::surgery::v1 as surgery_pb;
use uuid::Uuid;

use crate::error::Result;
use crate::grpc::Office;
use crate::reports::{Period, count, csv_field, local_days};
use crate::store::{self, OperationFacts, SurgicalGroup};

#[derive(Debug)]
struct OperationFollower {
    database: Database,
}

pub(crate) fn subscription(database: Database, name: &str) -> Subscription {
    Subscription {
        source: "surgery",
        subscriber: format!("{name}.operations"),
        handler: Arc::new(OperationFollower { database }),
    }
}

const EVENTS: &[&str] = &[
    events::OPERATION_SCHEDULED,
    events::OPERATION_RESCHEDULED,
    events::OPERATION_CANCELLED,
    events::OPERATION_STARTED,
    events::OPERATION_COMPLETED,
];

fn invalid(what: &str) -> HandlerError {
    HandlerError::new(format!("an operation event's {what} is not valid"))
}

fn facts(operation: &surgery_pb::Operation) -> Result<OperationFacts, HandlerError> {
    let id = |value: &str, what: &str| Uuid::parse_str(value).map_err(|_| invalid(what));
    let time = |value: Option<&prost_types::Timestamp>, what: &str| {
        parse_timestamp(value)
            .ok()
            .flatten()
            .ok_or_else(|| invalid(what))
    };
    let milestone = |wanted: surgery_pb::Milestone| {
        (operation.times.iter())
            .find(|time| time.milestone == wanted as i32)
            .map(|found| time(found.time.as_ref(), "milestone time"))
            .transpose()
    };
    let start = time(operation.start_time.as_ref(), "start")?;
    let surgeon = (operation.team.iter())
        .find(|member| member.role == surgery_pb::TeamRole::PrimarySurgeon as i32)
        .ok_or_else(|| invalid("team"))?;
    let lower = |value: &str, prefix: &str| value.trim_start_matches(prefix).to_lowercase();
    let priority = surgery_pb::Priority::try_from(operation.priority)
        .map_err(|_| invalid("priority"))?
        .as_str_name();
    let status = surgery_pb::OperationStatus::try_from(operation.status)
        .map_err(|_| invalid("status"))?
        .as_str_name();
    Ok(OperationFacts {
        operation_id: id(&operation.id, "id")?,
        version: Version::parse_etag(&operation.etag)
            .map_err(|_| invalid("etag"))?
            .get(),
        facility_id: id(&operation.facility_id, "facility")?,
        theatre_id: id(&operation.theatre_id, "theatre")?,
        patient_id: id(&operation.patient_id, "patient")?,
        primary_surgeon_id: id(&surgeon.user_id, "surgeon")?,
        specialty_code: operation.specialty_code.clone(),
        priority: lower(priority, "PRIORITY_"),
        max_grade: (operation.procedures.iter())
            .map(|procedure| i16::try_from(procedure.grade).unwrap_or(0))
            .max()
            .unwrap_or(0),
        status: lower(status, "OPERATION_STATUS_"),
        cancel_reason: operation.cancel_reason.clone(),
        planned: (
            start,
            start + chrono::Duration::minutes(i64::from(operation.duration_minutes)),
        ),
        into_room: milestone(surgery_pb::Milestone::IntoRoom)?,
        out_of_room: milestone(surgery_pb::Milestone::OutOfRoom)?,
    })
}

impl OperationFollower {
    async fn follow(&self, event: &Event) -> Result<(), HandlerError> {
        if !EVENTS.contains(&event.event_type.as_str()) {
            return Ok(());
        }
        // Each of these messages has `Operation operation = 1`.
        let carried: surgery_pb::OperationScheduled = event.decode().map_err(HandlerError::new)?;
        let operation = carried.operation.ok_or_else(|| invalid("operation"))?;
        let facts = facts(&operation)?;
        let mut tx = self
            .database
            .begin(event.tenant_id, &RequestId::generate())
            .await
            .map_err(HandlerError::new)?;
        store::replace_operation(&mut tx, &facts)
            .await
            .map_err(HandlerError::new)?;
        tx.commit().await.map_err(HandlerError::new)
    }
}

impl EventHandler for OperationFollower {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(self.follow(event))
    }
}

fn rate(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        // One decimal of a percentage: counts are far below f64's exact integers.
        (part as f64 * 1000.0 / whole as f64).round() / 10.0
    }
}

impl Office {
    pub(crate) async fn surgical_activity(
        &self,
        context: &RequestContext,
        period: &Period,
        grouping: pb::SurgicalGrouping,
    ) -> Result<pb::GetSurgicalActivityResponse> {
        let group = match grouping {
            pb::SurgicalGrouping::Unspecified | pb::SurgicalGrouping::Specialty => {
                SurgicalGroup::Specialty
            }
            pb::SurgicalGrouping::Grade => SurgicalGroup::Grade,
            pb::SurgicalGrouping::Priority => SurgicalGroup::Priority,
            pb::SurgicalGrouping::Surgeon => SurgicalGroup::Surgeon,
        };
        let zone = self.directory.time_zone(context, period.facility).await?;
        let bounds = local_days(zone, period.from, period.to)?;
        let mut tx = self
            .database
            .begin(context.tenant_id()?, &context.request_id)
            .await?;
        let rows = store::surgical_activity(&mut tx, period.facility, bounds, group).await?;
        let reasons = store::cancellation_reasons(&mut tx, period.facility, bounds).await?;
        let returns = store::unplanned_returns(&mut tx, period.facility, bounds).await?;
        tx.commit().await?;
        let line =
            |group: String, completed: i64, cancelled: i64, open: i64| pb::SurgicalActivityLine {
                group,
                completed: count(completed),
                cancelled: count(cancelled),
                open: count(open),
                cancellation_rate: rate(cancelled, completed + cancelled + open),
            };
        let mut lines: Vec<_> = (rows.iter())
            .map(|row| line(row.grouped.clone(), row.completed, row.cancelled, row.open))
            .collect();
        let sum = |pick: fn(&store::ActivityRow) -> i64| rows.iter().map(pick).sum::<i64>();
        lines.push(line(
            String::new(),
            sum(|row| row.completed),
            sum(|row| row.cancelled),
            sum(|row| row.open),
        ));
        let mut csv = String::from("group,completed,cancelled,open,cancellation_rate\n");
        for line in &lines {
            csv.push_str(&format!(
                "{},{},{},{},{:.1}\n",
                csv_field(&line.group),
                line.completed,
                line.cancelled,
                line.open,
                line.cancellation_rate
            ));
        }
        Ok(pb::GetSurgicalActivityResponse {
            lines,
            cancellation_reasons: (reasons.into_iter())
                .map(|(reason, n)| pb::CancellationReasonCount {
                    reason,
                    count: count(n),
                })
                .collect(),
            unplanned_returns: count(returns),
            csv,
        })
    }

    pub(crate) async fn theatre_utilisation(
        &self,
        context: &RequestContext,
        period: &Period,
    ) -> Result<pb::GetTheatreUtilisationResponse> {
        let zone = self.directory.time_zone(context, period.facility).await?;
        let bounds = local_days(zone, period.from, period.to)?;
        let mut tx = self
            .database
            .begin(context.tenant_id()?, &context.request_id)
            .await?;
        let rows =
            store::theatre_utilisation(&mut tx, period.facility, bounds, zone.name()).await?;
        tx.commit().await?;
        let lines: Vec<_> = (rows.iter())
            .map(|row| pb::TheatreUtilisationLine {
                theatre_id: row.theatre_id.to_string(),
                operations: count(row.operations),
                booked_minutes: row.booked_minutes,
                used_minutes: row.used_minutes,
                late_starts: count(row.late_starts),
                turnovers: count(row.turnovers),
                average_turnover_minutes: (row.turnover_minutes * 10.0).round() / 10.0,
            })
            .collect();
        let mut csv = String::from(
            "theatre_id,operations,booked_minutes,used_minutes,late_starts,turnovers,average_turnover_minutes\n",
        );
        for line in &lines {
            csv.push_str(&format!(
                "{},{},{},{},{},{},{:.1}\n",
                line.theatre_id,
                line.operations,
                line.booked_minutes,
                line.used_minutes,
                line.late_starts,
                line.turnovers,
                line.average_turnover_minutes
            ));
        }
        Ok(pb::GetTheatreUtilisationResponse { lines, csv })
    }
}
