//! What other modules read of statistics, in domain words: Form 16, temporary work incapacity
//! ([`StatisticsPrinter::form16`]), read through the statistics contract on behalf of the
//! caller and laid out for printing. This crate is the one place another module meets the
//! statistics' wire types.

use hmis_platform::RequestContext;
use hmis_platform::channel::{CallError, ServiceChannel, forwarded};
use hmis_print::{Column, Field, Printable, Printed};
use hmis_proto::openhmis::statistics::v1 as pb;
use pb::statistics_service_client::StatisticsServiceClient;
use uuid::Uuid;

/// A typed client of statistics, for printing.
#[derive(Debug, Clone)]
pub struct StatisticsPrinter {
    statistics: StatisticsServiceClient<ServiceChannel>,
}

impl StatisticsPrinter {
    /// `channel` serves `openhmis.statistics.v1.StatisticsService`.
    pub fn new(channel: ServiceChannel) -> Self {
        Self {
            statistics: StatisticsServiceClient::new(channel),
        }
    }

    /// Form 16 of the facility for the days `first_day` to `last_day` ("YYYY-MM-DD",
    /// inclusive): incapacity cases and days by diagnosis chapter, sex and age group.
    pub async fn form16(
        &self,
        context: &RequestContext,
        facility_id: Uuid,
        (first_day, last_day): (&str, &str),
    ) -> Result<Printed, CallError> {
        let form = self
            .statistics
            .clone()
            .get_form16(forwarded(
                context,
                pb::GetForm16Request {
                    facility_id: facility_id.to_string(),
                    from_date: first_day.to_owned(),
                    to_date: last_day.to_owned(),
                },
            ))
            .await?
            .into_inner();
        let mut printable = Printable::new("Form 16: temporary work incapacity")
            .reference(format!("{first_day} to {last_day}"));
        printable
            .table(
                vec![
                    Column::new("ICD-10 chapter", 2.0),
                    Column::new("Sex", 1.5),
                    Column::new("Age", 1.5),
                    Column::new("Cases", 1.0),
                    Column::new("Days", 1.0),
                ],
                form.lines
                    .iter()
                    .map(|line| {
                        let chapter = match line.chapter.as_str() {
                            "" => "outside the chapters".to_owned(),
                            chapter => chapter.to_owned(),
                        };
                        vec![
                            chapter,
                            line.sex.clone(),
                            line.age_group.clone(),
                            line.cases.to_string(),
                            line.days.to_string(),
                        ]
                    })
                    .collect(),
            )
            .fields(vec![
                Field::new("Cases", form.total_cases.to_string()),
                Field::new("Days of incapacity", form.total_days.to_string()),
            ]);
        Ok(Printed {
            printable,
            facility_id: Some(facility_id),
            source_id: format!("{facility_id}/{first_day}/{last_day}"),
            ..Printed::default()
        })
    }
}
