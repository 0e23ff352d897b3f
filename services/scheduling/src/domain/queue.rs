//! The day's queue: ticket states, priorities, the calling order and waiting times.

use chrono::{DateTime, Utc};

hmis_platform::labels!(
    TicketStatus {
        Waiting => "waiting",
        Called => "called",
        InConsultation => "in_consultation",
        Done => "done",
        Left => "left",
    }
);

/// Who goes first: urgent, then priority (elderly, disabled, pregnant, a child), then routine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum QueuePriority {
    Routine = 1,
    Priority = 2,
    Urgent = 3,
}

impl QueuePriority {
    pub fn from_db(value: i16) -> Option<Self> {
        match value {
            1 => Some(Self::Routine),
            2 => Some(Self::Priority),
            3 => Some(Self::Urgent),
            _ => None,
        }
    }

    pub fn as_db(self) -> i16 {
        self as i16
    }
}

/// What the calling order reads of a waiting ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiting {
    pub priority: QueuePriority,
    /// The appointment's time; none for a walk-in.
    pub appointment_time: Option<DateTime<Utc>>,
    pub arrived_at: DateTime<Utc>,
    pub number: i32,
}

/// The calling order's key: higher priority first; then the earlier of the appointment time
/// and the arrival (a patient who came for 9:00 and arrived at 8:50 goes at 9:00, a walk-in
/// at their arrival, so walk-ins fill the gaps between appointments); then the ticket number.
pub fn calling_key(ticket: &Waiting) -> (std::cmp::Reverse<QueuePriority>, DateTime<Utc>, i32) {
    let due = ticket
        .appointment_time
        .map_or(ticket.arrived_at, |appointment| {
            appointment.max(ticket.arrived_at)
        });
    (std::cmp::Reverse(ticket.priority), due, ticket.number)
}

/// Whole minutes from `from` to `to` (0 when `to` is not later).
pub fn minutes_between(from: DateTime<Utc>, to: DateTime<Utc>) -> i32 {
    i32::try_from((to - from).num_minutes().max(0)).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn the_queue_calls_priority_then_due_time_then_number() {
        let nine = DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        let booked_early = Waiting {
            priority: QueuePriority::Routine,
            appointment_time: Some(nine),
            arrived_at: nine - Duration::minutes(10),
            number: 1,
        };
        let walk_in = Waiting {
            priority: QueuePriority::Routine,
            appointment_time: None,
            arrived_at: nine - Duration::minutes(5),
            number: 2,
        };
        let elderly = Waiting {
            priority: QueuePriority::Priority,
            appointment_time: None,
            arrived_at: nine + Duration::minutes(20),
            number: 3,
        };
        let mut queue = [booked_early, walk_in, elderly];
        queue.sort_by_key(calling_key);
        let order: Vec<i32> = queue.iter().map(|t| t.number).collect();
        assert_eq!(order, [3, 2, 1]);
        assert_eq!(
            minutes_between(nine, nine + Duration::seconds(12 * 60 + 59)),
            12
        );
        assert_eq!(minutes_between(nine, nine - Duration::minutes(1)), 0);
    }
}
