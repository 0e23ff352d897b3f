//! `openhmis report`: the statistics office's reports as a batch job runs them — a gRPC
//! client of a running server, signed in as a service account (client credentials from the
//! environment, never the command line), printing CSV or JSON to standard output.

use anyhow::Context;
use hmis_proto::openhmis::iam::v1 as iam;
use hmis_proto::openhmis::statistics::v1 as pb;
use pb::statistics_service_client::StatisticsServiceClient;
use tonic::transport::Channel;

/// What to report.
#[derive(Debug, Clone)]
pub enum Report {
    Census {
        department_id: String,
        date: String,
    },
    Movement {
        facility_id: String,
        from: String,
        to: String,
        grouping: Grouping,
    },
    Form16 {
        facility_id: String,
        from: String,
        to: String,
    },
    /// Signs a report and queues it for the statistics institute (SubmitReport). The request
    /// id defaults to one made of the report, facility and period, so a job run again
    /// answers the first submission instead of sending a second revision.
    Submit {
        report: Submitted,
        facility_id: String,
        from: String,
        to: String,
        request_id: Option<String>,
    },
}

/// Which report goes to the institute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitted {
    Movement,
    Diagnoses,
    Form16,
}

/// The id a job's submission is asked under when none is given.
const SUBMIT_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x6f70_656e_686d_6973_6a6f_622d_7375_626d);

/// What the movement report's lines are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    Ward,
    /// The wards' specialty, from the bed register (the `specialty_code` column).
    Specialty,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

/// Where and as whom the job runs.
#[derive(Debug, Clone)]
pub struct Job {
    pub server: String,
    pub tenant_code: String,
    pub client_id: String,
    pub client_secret: String,
}

async fn sign_in(channel: Channel, job: &Job) -> anyhow::Result<String> {
    let tokens = iam::auth_service_client::AuthServiceClient::new(channel)
        .login(iam::LoginRequest {
            tenant_code: job.tenant_code.clone(),
            credentials: Some(iam::login_request::Credentials::Client(
                iam::ClientCredentials {
                    client_id: job.client_id.clone(),
                    client_secret: job.client_secret.clone(),
                },
            )),
        })
        .await
        .context("the service account could not sign in")?
        .into_inner()
        .tokens
        .context("no tokens in the sign-in answer")?;
    Ok(tokens.access_token)
}

fn signed<T>(token: &str, message: T) -> anyhow::Result<tonic::Request<T>> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    Ok(request)
}

/// Runs the report and returns what to print.
pub async fn run(job: &Job, report: &Report, format: Format) -> anyhow::Result<String> {
    let channel = tonic::transport::Endpoint::from_shared(job.server.clone())
        .context("--server is not a URL")?
        .connect()
        .await
        .with_context(|| format!("cannot reach {}", job.server))?;
    let token = sign_in(channel.clone(), job).await?;
    let mut client = StatisticsServiceClient::new(channel);
    match report {
        Report::Census {
            department_id,
            date,
        } => {
            let census = client
                .get_daily_census(signed(
                    &token,
                    pb::GetDailyCensusRequest {
                        department_id: department_id.clone(),
                        date: date.clone(),
                    },
                )?)
                .await?
                .into_inner()
                .census
                .context("no census in the answer")?;
            let fields = [
                ("department_id", census.department_id.clone()),
                ("date", census.date.clone()),
                ("present_at_start", census.present_at_start.to_string()),
                ("admitted", census.admitted.to_string()),
                ("transferred_in", census.transferred_in.to_string()),
                ("transferred_out", census.transferred_out.to_string()),
                ("discharged", census.discharged.to_string()),
                ("deceased", census.deceased.to_string()),
                ("present_at_end", census.present_at_end.to_string()),
                ("bed_days", census.bed_days.to_string()),
                ("beds_available", census.beds_available.to_string()),
            ];
            Ok(fields_as(&fields, format, true))
        }
        Report::Movement {
            facility_id,
            from,
            to,
            grouping,
        } => {
            let answer = client
                .get_movement_analysis(signed(
                    &token,
                    pb::GetMovementAnalysisRequest {
                        facility_id: facility_id.clone(),
                        from_date: from.clone(),
                        to_date: to.clone(),
                        grouping: match grouping {
                            Grouping::Ward => pb::MovementGrouping::Ward,
                            Grouping::Specialty => pb::MovementGrouping::Specialty,
                        }
                        .into(),
                    },
                )?)
                .await?
                .into_inner();
            Ok(match format {
                Format::Csv => answer.csv,
                Format::Json => format!("{}\n", csv_to_json(&answer.csv)),
            })
        }
        Report::Submit {
            report,
            facility_id,
            from,
            to,
            request_id,
        } => {
            let kind = match report {
                Submitted::Movement => pb::ReportKind::Movement,
                Submitted::Diagnoses => pb::ReportKind::Diagnoses,
                Submitted::Form16 => pb::ReportKind::Form16,
            };
            let request_id = request_id.clone().unwrap_or_else(|| {
                uuid::Uuid::new_v5(
                    &SUBMIT_NAMESPACE,
                    format!("{}/{facility_id}/{from}/{to}", kind.as_str_name()).as_bytes(),
                )
                .to_string()
            });
            let submission = client
                .submit_report(signed(
                    &token,
                    pb::SubmitReportRequest {
                        request_id,
                        report: kind.into(),
                        facility_id: facility_id.clone(),
                        from_date: from.clone(),
                        to_date: to.clone(),
                    },
                )?)
                .await?
                .into_inner()
                .submission
                .context("no submission in the answer")?;
            Ok(fields_as(&submission_fields(&submission), format, false))
        }
        Report::Form16 {
            facility_id,
            from,
            to,
        } => {
            let answer = client
                .get_form16(signed(
                    &token,
                    pb::GetForm16Request {
                        facility_id: facility_id.clone(),
                        from_date: from.clone(),
                        to_date: to.clone(),
                    },
                )?)
                .await?
                .into_inner();
            Ok(match format {
                Format::Csv => answer.csv,
                Format::Json => format!("{}\n", csv_to_json(&answer.csv)),
            })
        }
    }
}

/// One record as CSV (a header and a line) or a JSON object; with `numbers`, values that
/// read as integers are JSON numbers.
fn fields_as(fields: &[(&'static str, String)], format: Format, numbers: bool) -> String {
    match format {
        Format::Csv => format!(
            "{}\n{}\n",
            fields
                .iter()
                .map(|(name, _)| *name)
                .collect::<Vec<_>>()
                .join(","),
            fields
                .iter()
                .map(|(_, value)| value.as_str())
                .collect::<Vec<_>>()
                .join(",")
        ),
        Format::Json => {
            let object: serde_json::Map<String, serde_json::Value> = fields
                .iter()
                .map(|(name, value)| {
                    let value = value
                        .parse::<i64>()
                        .ok()
                        .filter(|_| numbers)
                        .map(serde_json::Value::from)
                        .unwrap_or_else(|| serde_json::Value::from(value.as_str()));
                    ((*name).to_owned(), value)
                })
                .collect();
            format!("{}\n", serde_json::Value::Object(object))
        }
    }
}

/// One submission as the job prints it.
fn submission_fields(submission: &pb::Submission) -> [(&'static str, String); 8] {
    [
        ("id", submission.id.clone()),
        (
            "report",
            submission
                .report()
                .as_str_name()
                .trim_start_matches("REPORT_KIND_")
                .to_lowercase(),
        ),
        ("from_date", submission.from_date.clone()),
        ("to_date", submission.to_date.clone()),
        ("revision", submission.revision.to_string()),
        (
            "status",
            submission
                .status()
                .as_str_name()
                .trim_start_matches("SUBMISSION_STATUS_")
                .to_lowercase(),
        ),
        ("attempts", submission.attempts.to_string()),
        ("receipt", submission.receipt.clone()),
    ]
}

/// The server's CSV (a header, then rows; no quoted commas in these reports but titles,
/// which the JSON form leaves out of the split) as an array of objects.
fn csv_to_json(csv: &str) -> serde_json::Value {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    serde_json::Value::Array(
        lines
            .map(|line| {
                serde_json::Value::Object(
                    header
                        .iter()
                        .zip(split_csv(line))
                        .map(|(name, value)| ((*name).to_owned(), serde_json::Value::from(value)))
                        .collect(),
                )
            })
            .collect(),
    )
}

/// Splits one CSV row, honouring double-quoted fields.
fn split_csv(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    fields.push(field);
    fields
}

#[cfg(test)]
mod tests {
    #[test]
    fn quoted_csv_fields_keep_their_commas() {
        assert_eq!(
            super::split_csv(r#"IX,"Diseases, of ""the"" heart",3"#),
            ["IX", r#"Diseases, of "the" heart"#, "3"]
        );
        let json = super::csv_to_json("a,b\n1,\"x,y\"\n");
        assert_eq!(json.to_string(), r#"[{"a":"1","b":"x,y"}]"#);
    }
}
