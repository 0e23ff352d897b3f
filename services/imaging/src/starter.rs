//! The starter catalogue a new hospital's imaging department begins with: common services
//! coded by ACHI (the procedure classification imaging referrals carry), by modality.

use crate::domain::Modality;
use crate::store::ServiceRow;

/// (code, name, modality, body part, minutes the room is taken)
const SERVICES: &[(&str, &str, Modality, &str, i32)] = &[
    (
        "58500-00",
        "Radiography of chest",
        Modality::Xray,
        "chest",
        10,
    ),
    (
        "55036-00",
        "Ultrasound of abdomen",
        Modality::Ultrasound,
        "abdomen",
        20,
    ),
    (
        "56001-00",
        "Computerised tomography of brain",
        Modality::Ct,
        "brain",
        15,
    ),
];

pub(crate) fn services() -> Vec<ServiceRow> {
    SERVICES
        .iter()
        .map(|&(code, name, modality, body_part, minutes)| ServiceRow {
            code: code.to_owned(),
            name: name.to_owned(),
            modality,
            body_part: body_part.to_owned(),
            duration_minutes: minutes,
            active: true,
            version: 0,
        })
        .collect()
}
