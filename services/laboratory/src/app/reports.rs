//! The laboratory's own figures: turnaround times and workload (no patient's data).

use chrono::{DateTime, Utc};
use hmis_platform::RequestContext;
use hmis_platform::auth::Target;
use hmis_proto::openhmis::laboratory::v1 as pb;
use uuid::Uuid;

use super::{Laboratory, READ};
use crate::error::Result;
use crate::store;

/// What the turnaround report is asked.
#[derive(Debug, Clone)]
pub(crate) struct TurnaroundQuery {
    pub facility_id: Uuid,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// "test", "section", "priority" or "source" (the workload by analyser or bench).
    pub group: &'static str,
}

fn minutes(value: Option<f64>) -> String {
    value.map(|value| format!("{value:.1}")).unwrap_or_default()
}

impl Laboratory {
    pub(crate) async fn turnaround(
        &self,
        context: &RequestContext,
        query: TurnaroundQuery,
    ) -> Result<pb::GetTurnaroundResponse> {
        context.authorize(READ, &Target::facility(query.facility_id))?;
        self.calls
            .transaction(context, async |tx| {
                let rows =
                    store::turnaround(tx, query.facility_id, (query.from, query.to), query.group)
                        .await?;
                Ok(pb::GetTurnaroundResponse {
                    lines: rows
                        .into_iter()
                        .map(|row| pb::TurnaroundLine {
                            key: row.key,
                            name: row.name,
                            ordered: i32::try_from(row.ordered).unwrap_or(i32::MAX),
                            released: i32::try_from(row.released).unwrap_or(i32::MAX),
                            median_minutes: minutes(row.median_minutes),
                            p90_minutes: minutes(row.p90_minutes),
                        })
                        .collect(),
                })
            })
            .await
    }
}
