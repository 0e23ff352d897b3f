//! The demo formulary and its interaction rules.

use encounters_pb::formulary_service_server::FormularyService;
use hmis_encounters::FormularyApi;
use hmis_platform::TenantId;
use hmis_proto::openhmis::encounters::v1 as encounters_pb;
use tonic::Status;

use super::request;

/// A medicine of the demo formulary.
struct DemoMedicine {
    code: &'static str,
    name: &'static str,
    atc: &'static str,
    form: &'static str,
    strength: &'static str,
    unit: &'static str,
    max_daily: &'static str,
    restriction: encounters_pb::Restriction,
}

/// `name` is "<substance> <strength> <unit> <form>s" as printed on the pack.
const fn medicine(
    code: &'static str,
    name: &'static str,
    atc: &'static str,
    (form, strength, unit): (&'static str, &'static str, &'static str),
    max_daily: &'static str,
    restriction: encounters_pb::Restriction,
) -> DemoMedicine {
    DemoMedicine {
        code,
        name,
        atc,
        form,
        strength,
        unit,
        max_daily,
        restriction,
    }
}

/// The demo formulary, with the maximum daily doses of the product information.
const DEMO_MEDICINES: &[DemoMedicine] = &[
    medicine(
        "PARA500",
        "Paracetamol 500 mg tablets",
        "N02BE01",
        ("tablet", "500", "mg"),
        "4000",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "IBU400",
        "Ibuprofen 400 mg tablets",
        "M01AE01",
        ("tablet", "400", "mg"),
        "2400",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "AMOX500",
        "Amoxicillin 500 mg capsules",
        "J01CA04",
        ("capsule", "500", "mg"),
        "6000",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "CEFTR1G",
        "Ceftriaxone 1 g powder for injection",
        "J01DD04",
        ("vial", "1000", "mg"),
        "4000",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "MERO1G",
        "Meropenem 1 g powder for infusion",
        "J01DH02",
        ("vial", "1000", "mg"),
        "6000",
        encounters_pb::Restriction::ReserveAntibiotic,
    ),
    medicine(
        "VANCO1G",
        "Vancomycin 1 g powder for infusion",
        "J01XA01",
        ("vial", "1000", "mg"),
        "4000",
        encounters_pb::Restriction::ReserveAntibiotic,
    ),
    medicine(
        "LINEZ600",
        "Linezolid 600 mg tablets",
        "J01XX08",
        ("tablet", "600", "mg"),
        "1200",
        encounters_pb::Restriction::ReserveAntibiotic,
    ),
    medicine(
        "MORPH10",
        "Morphine 10 mg/ml injection",
        "N02AA01",
        ("ampoule", "10", "mg"),
        "200",
        encounters_pb::Restriction::Controlled,
    ),
    medicine(
        "TRAM50",
        "Tramadol 50 mg capsules",
        "N02AX02",
        ("capsule", "50", "mg"),
        "400",
        encounters_pb::Restriction::Controlled,
    ),
    medicine(
        "DIAZ5",
        "Diazepam 5 mg tablets",
        "N05BA01",
        ("tablet", "5", "mg"),
        "40",
        encounters_pb::Restriction::Controlled,
    ),
    medicine(
        "WARF5",
        "Warfarin 5 mg tablets",
        "B01AA03",
        ("tablet", "5", "mg"),
        "15",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "ASA100",
        "Acetylsalicylic acid 100 mg tablets",
        "B01AC06",
        ("tablet", "100", "mg"),
        "325",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "CLOP75",
        "Clopidogrel 75 mg tablets",
        "B01AC04",
        ("tablet", "75", "mg"),
        "300",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "ENOX40",
        "Enoxaparin 40 mg/0.4 ml syringe",
        "B01AB05",
        ("syringe", "40", "mg"),
        "200",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "BISO5",
        "Bisoprolol 5 mg tablets",
        "C07AB07",
        ("tablet", "5", "mg"),
        "20",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "METO50",
        "Metoprolol 50 mg tablets",
        "C07AB02",
        ("tablet", "50", "mg"),
        "400",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "ENAL10",
        "Enalapril 10 mg tablets",
        "C09AA02",
        ("tablet", "10", "mg"),
        "40",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "FURO40",
        "Furosemide 40 mg tablets",
        "C03CA01",
        ("tablet", "40", "mg"),
        "1500",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "SPIRO25",
        "Spironolactone 25 mg tablets",
        "C03DA01",
        ("tablet", "25", "mg"),
        "400",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "AMIO200",
        "Amiodarone 200 mg tablets",
        "C01BD01",
        ("tablet", "200", "mg"),
        "1200",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "DIGOX025",
        "Digoxin 0.25 mg tablets",
        "C01AA05",
        ("tablet", "0.25", "mg"),
        "0.5",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "ATOR20",
        "Atorvastatin 20 mg tablets",
        "C10AA05",
        ("tablet", "20", "mg"),
        "80",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "METF850",
        "Metformin 850 mg tablets",
        "A10BA02",
        ("tablet", "850", "mg"),
        "3000",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "OMEP20",
        "Omeprazole 20 mg capsules",
        "A02BC01",
        ("capsule", "20", "mg"),
        "120",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "CIPRO500",
        "Ciprofloxacin 500 mg tablets",
        "J01MA02",
        ("tablet", "500", "mg"),
        "1500",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "CLARI500",
        "Clarithromycin 500 mg tablets",
        "J01FA09",
        ("tablet", "500", "mg"),
        "1000",
        encounters_pb::Restriction::None,
    ),
];

/// Interaction rules of the demo formulary: (ATC a, ATC b, severity, description).
const DEMO_INTERACTIONS: &[(&str, &str, encounters_pb::WarningSeverity, &str)] = &[
    (
        "B01AA",
        "B01AC",
        encounters_pb::WarningSeverity::Severe,
        "bleeding risk: avoid, or monitor INR closely",
    ),
    (
        "B01AA",
        "M01A",
        encounters_pb::WarningSeverity::Severe,
        "NSAIDs raise the bleeding risk of vitamin K antagonists",
    ),
    (
        "B01AA03",
        "C01BD01",
        encounters_pb::WarningSeverity::Moderate,
        "amiodarone raises the INR: halve the warfarin dose",
    ),
    (
        "C01AA05",
        "C01BD01",
        encounters_pb::WarningSeverity::Moderate,
        "amiodarone raises digoxin levels: halve the digoxin dose",
    ),
    (
        "C09AA",
        "C03DA",
        encounters_pb::WarningSeverity::Moderate,
        "hyperkalaemia risk: monitor potassium",
    ),
    (
        "N02A",
        "N05BA",
        encounters_pb::WarningSeverity::Severe,
        "opioids with benzodiazepines: respiratory depression",
    ),
    (
        "C10AA05",
        "J01FA09",
        encounters_pb::WarningSeverity::Moderate,
        "clarithromycin raises statin levels: myopathy risk",
    ),
];

/// Loads the demo formulary and its interaction rules (after the terminology's starter set,
/// which holds their ATC codes). Repeated loads keep what is there.
pub async fn load_formulary(formulary: &FormularyApi, tenant_id: TenantId) -> Result<(), Status> {
    let tolerate_existing = |result: Result<(), Status>| match result {
        Err(status) if status.code() == tonic::Code::AlreadyExists => Ok(()),
        other => other,
    };
    for DemoMedicine {
        code,
        name,
        atc,
        form,
        strength,
        unit,
        max_daily,
        restriction,
    } in DEMO_MEDICINES
    {
        tolerate_existing(
            formulary
                .create_medicine(request(
                    tenant_id,
                    encounters_pb::CreateMedicineRequest {
                        request_id: format!("demo-medicine-{code}"),
                        medicine: Some(encounters_pb::Medicine {
                            code: (*code).to_owned(),
                            name: (*name).to_owned(),
                            atc_code: (*atc).to_owned(),
                            form_unit: (*form).to_owned(),
                            strength: (*strength).to_owned(),
                            strength_unit: (*unit).to_owned(),
                            max_daily_dose: (*max_daily).to_owned(),
                            restriction: (*restriction).into(),
                            ..Default::default()
                        }),
                    },
                ))
                .await
                .map(|_| ()),
        )?;
    }
    for (a, b, severity, description) in DEMO_INTERACTIONS {
        tolerate_existing(
            formulary
                .create_interaction_rule(request(
                    tenant_id,
                    encounters_pb::CreateInteractionRuleRequest {
                        request_id: format!("demo-interaction-{a}-{b}"),
                        rule: Some(encounters_pb::InteractionRule {
                            atc_code_a: (*a).to_owned(),
                            atc_code_b: (*b).to_owned(),
                            severity: (*severity).into(),
                            description: (*description).to_owned(),
                            ..Default::default()
                        }),
                    },
                ))
                .await
                .map(|_| ()),
        )?;
    }
    Ok(())
}
