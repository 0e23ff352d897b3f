//! The OpenHMIS contracts. Every module's wire types, clients and servers are generated here
//! from `proto/openhmis/<module>/v1/*.proto`, so a module and its callers (in-process or over
//! the network) share one definition. Wire types stay in the modules' `grpc.rs` adapters.

#![allow(clippy::all, clippy::pedantic, missing_docs, rust_2018_idioms)]

pub mod codec;

/// The generated code. Its doc comments are the proto files' comments, written for readers of
/// the contracts (`facility:<uuid>`, URLs in prose), not as rustdoc markup.
#[allow(
    rustdoc::invalid_html_tags,
    rustdoc::bare_urls,
    rustdoc::broken_intra_doc_links
)]
pub mod openhmis {
    pub mod audit {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/openhmis.audit.v1.rs"));
        }
    }
    pub mod iam {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/openhmis.iam.v1.rs"));
        }
    }
    pub mod patients {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/openhmis.patients.v1.rs"));
        }
    }
    pub mod admissions {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/openhmis.admissions.v1.rs"));
        }
    }
    pub mod core {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/openhmis.core.v1.rs"));
        }
    }
    pub mod terminology {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/openhmis.terminology.v1.rs"));
        }
    }
    pub mod statistics {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/openhmis.statistics.v1.rs"));
        }
    }
    pub mod surgery {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/openhmis.surgery.v1.rs"));
        }
    }
    pub mod scheduling {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/openhmis.scheduling.v1.rs"));
        }
    }
    pub mod nutrition {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/openhmis.nutrition.v1.rs"));
        }
    }
    pub mod inventory {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/openhmis.inventory.v1.rs"));
        }
    }
    pub mod encounters {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/openhmis.encounters.v1.rs"));
        }
    }
    pub mod billing {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/openhmis.billing.v1.rs"));
        }
    }
    pub mod laboratory {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/openhmis.laboratory.v1.rs"));
        }
    }
    pub mod documents {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/openhmis.documents.v1.rs"));
        }
    }
    pub mod imaging {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/openhmis.imaging.v1.rs"));
        }
    }
}

/// The event types modules publish through their outboxes (the full names of the payload
/// messages), and how to read the ones subscribers share: part of the contract, so a
/// subscriber needs only this crate, not the publishing module.
pub mod events {
    /// `openhmis.patients.v1` events.
    pub mod patients {
        pub const PATIENT_CHANGED: &str = "openhmis.patients.v1.PatientChanged";
        pub const PATIENTS_MERGED: &str = "openhmis.patients.v1.PatientsMerged";
        pub const PATIENTS_UNMERGED: &str = "openhmis.patients.v1.PatientsUnmerged";
    }

    /// `openhmis.encounters.v1` events.
    pub mod encounters {
        pub const DIAGNOSIS_RECORDED: &str = "openhmis.encounters.v1.DiagnosisRecorded";
        pub const PROCEDURE_RECORDED: &str = "openhmis.encounters.v1.ProcedureRecorded";
        pub const PRESCRIPTION_CREATED: &str = "openhmis.encounters.v1.PrescriptionCreated";
        pub const PRESCRIPTION_DISCONTINUED: &str =
            "openhmis.encounters.v1.PrescriptionDiscontinued";
        pub const PRESCRIPTION_RESUMED: &str = "openhmis.encounters.v1.PrescriptionResumed";
        pub const PRESCRIPTION_VERIFIED: &str = "openhmis.encounters.v1.PrescriptionVerified";
        pub const DISCHARGE_SUMMARY_WRITTEN: &str =
            "openhmis.encounters.v1.DischargeSummaryWritten";
        pub const DOSE_GIVEN: &str = "openhmis.encounters.v1.DoseGiven";
        pub const REFERRAL_CREATED: &str = "openhmis.encounters.v1.ReferralCreated";
        pub const CERTIFICATE_ISSUED: &str = "openhmis.encounters.v1.CertificateIssued";
        pub const ALLERGY_RECORDED: &str = "openhmis.encounters.v1.AllergyRecorded";
    }

    /// `openhmis.laboratory.v1` events.
    pub mod laboratory {
        pub const SPECIMEN_REJECTED: &str = "openhmis.laboratory.v1.SpecimenRejected";
        pub const RESULTS_RELEASED: &str = "openhmis.laboratory.v1.ResultsReleased";
        pub const CRITICAL_VALUE_RAISED: &str = "openhmis.laboratory.v1.CriticalValueRaised";
        pub const CRITICAL_VALUE_ACKNOWLEDGED: &str =
            "openhmis.laboratory.v1.CriticalValueAcknowledged";
    }

    /// `openhmis.documents.v1` events.
    pub mod documents {
        use crate::openhmis::documents::v1 as pb;

        pub const DOCUMENT_STORED: &str = "openhmis.documents.v1.DocumentStored";
        pub const DOCUMENT_DELETED: &str = "openhmis.documents.v1.DocumentDeleted";

        /// The document a `DocumentStored` or `DocumentDeleted` event carries (as it is after
        /// the change: `deleted` set by a deletion): `None` for other event types or a
        /// message without it, an error for a payload that does not decode.
        pub fn document_of(
            event_type: &str,
            payload: &[u8],
        ) -> Result<Option<pb::Document>, prost::DecodeError> {
            if event_type != DOCUMENT_STORED && event_type != DOCUMENT_DELETED {
                return Ok(None);
            }
            // Both messages are `Document document = 1`.
            Ok(<pb::DocumentStored as prost::Message>::decode(payload)?.document)
        }
    }

    /// `openhmis.imaging.v1` events.
    pub mod imaging {
        pub const REPORT_SIGNED: &str = "openhmis.imaging.v1.ReportSigned";
    }

    /// `openhmis.inventory.v1` events.
    pub mod inventory {
        pub const PATIENT_STOCK_MOVED: &str = "openhmis.inventory.v1.PatientStockMoved";
    }

    /// `openhmis.surgery.v1` events.
    pub mod surgery {
        pub const OPERATION_SCHEDULED: &str = "openhmis.surgery.v1.OperationScheduled";
        pub const OPERATION_RESCHEDULED: &str = "openhmis.surgery.v1.OperationRescheduled";
        pub const OPERATION_CANCELLED: &str = "openhmis.surgery.v1.OperationCancelled";
        pub const OPERATION_STARTED: &str = "openhmis.surgery.v1.OperationStarted";
        pub const OPERATION_COMPLETED: &str = "openhmis.surgery.v1.OperationCompleted";
    }

    /// `openhmis.scheduling.v1` events.
    pub mod scheduling {
        pub const APPOINTMENT_BOOKED: &str = "openhmis.scheduling.v1.AppointmentBooked";
        pub const APPOINTMENT_RESCHEDULED: &str = "openhmis.scheduling.v1.AppointmentRescheduled";
        pub const APPOINTMENT_ENDED: &str = "openhmis.scheduling.v1.AppointmentEnded";
        pub const PATIENT_CHECKED_IN: &str = "openhmis.scheduling.v1.PatientCheckedIn";
        pub const VISIT_COMPLETED: &str = "openhmis.scheduling.v1.VisitCompleted";
    }

    /// `openhmis.nutrition.v1` events.
    pub mod nutrition {
        pub const MEAL_ORDER_SENT: &str = "openhmis.nutrition.v1.MealOrderSent";
        pub const MEAL_ORDER_AMENDED: &str = "openhmis.nutrition.v1.MealOrderAmended";
    }

    /// `openhmis.admissions.v1` events.
    pub mod admissions {
        use crate::openhmis::admissions::v1 as pb;

        pub const PATIENT_ADMITTED: &str = "openhmis.admissions.v1.PatientAdmitted";
        pub const PATIENT_TRANSFERRED: &str = "openhmis.admissions.v1.PatientTransferred";
        pub const PATIENT_DISCHARGED: &str = "openhmis.admissions.v1.PatientDischarged";
        pub const ADMISSION_CANCELLED: &str = "openhmis.admissions.v1.AdmissionCancelled";
        pub const ADMISSION_CORRECTED: &str = "openhmis.admissions.v1.AdmissionCorrected";
        pub const DISCHARGE_ANNOUNCED: &str = "openhmis.admissions.v1.DischargeAnnounced";
        pub const DISCHARGE_WITHDRAWN: &str = "openhmis.admissions.v1.DischargeWithdrawn";
        pub const DISCHARGE_UNDONE: &str = "openhmis.admissions.v1.DischargeUndone";
        pub const ADMISSION_CONVERTED: &str = "openhmis.admissions.v1.AdmissionConverted";
        pub const EMERGENCY_VISIT_CLOSED: &str = "openhmis.admissions.v1.EmergencyVisitClosed";
        pub const BED_OCCUPANCY_CHANGED: &str = "openhmis.admissions.v1.BedOccupancyChanged";

        /// Every event type whose payload carries the admission as field 1, as it is after
        /// the change: subscribers keeping "who is where" read them all the same way.
        pub const ADMISSION_EVENTS: &[&str] = &[
            PATIENT_ADMITTED,
            PATIENT_TRANSFERRED,
            PATIENT_DISCHARGED,
            ADMISSION_CANCELLED,
            DISCHARGE_UNDONE,
            ADMISSION_CONVERTED,
            ADMISSION_CORRECTED,
            DISCHARGE_ANNOUNCED,
            DISCHARGE_WITHDRAWN,
        ];

        /// The admission an event of [`ADMISSION_EVENTS`] carries: `None` for other event
        /// types, an error for a payload that does not decode.
        pub fn admission_of(
            event_type: &str,
            payload: &[u8],
        ) -> Result<Option<pb::Admission>, prost::DecodeError> {
            if !ADMISSION_EVENTS.contains(&event_type) {
                return Ok(None);
            }
            // Each of these messages has `Admission admission = 1`; decoding as the simplest
            // of them reads that field and skips the rest.
            Ok(<pb::PatientAdmitted as prost::Message>::decode(payload)?.admission)
        }
    }
}

/// Encoded `FileDescriptorSet` of every OpenHMIS proto, served by gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/openhmis_descriptor.bin"));
