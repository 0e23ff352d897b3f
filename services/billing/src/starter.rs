//! The tariffs a new hospital begins with: bed-days by care level, the emergency visit, the
//! procedures of the terminology's starter set, and supplies at cost plus 10 %. The prices
//! are illustrative, in the order of magnitude of a national insurer's tariffs in lei; a
//! hospital loads its own price list through `SetTariffs`.

/// `kind,code_system,code,name,price,unit,margin_percent,service_group` lines, with a header.
const TARIFFS: &str = include_str!("../starter/tariffs.csv");

/// One line of a tariff file, as text; `SetTariffs` checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TariffLine {
    pub kind: String,
    pub code_system: String,
    pub code: String,
    pub name: String,
    pub price: String,
    pub unit: String,
    pub margin_percent: String,
    pub service_group: String,
}

/// The starter DRG grouper tables: (version, diagnoses, procedures, severity, drgs). They
/// follow CMS's MS-DRG v43 (FY 2026) for the codes of the terminology's starter set: the
/// MDC and DRG family of each principal diagnosis, the O.R. procedures, the MCC/CC levels of
/// the CMS lists where the WHO code is the CM code (or all its CM codes share a level), and
/// the DRGs' FY 2026 relative weights and geometric mean stays (CMS Table 5, as bundled by
/// the Apache-2.0 `drg` package). ACHI procedures are placed in the DRG families of the
/// ICD-10-PCS procedures they correspond to.
pub fn grouper_files() -> (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
) {
    (
        "MS-DRG v43 (FY 2026) starter",
        include_str!("../starter/drg/diagnoses.csv"),
        include_str!("../starter/drg/procedures.csv"),
        include_str!("../starter/drg/severity.csv"),
        include_str!("../starter/drg/drgs.csv"),
    )
}

/// The starter tariffs as a `SetTariffs` request of `price_list_id` (the demo, a new
/// hospital, the load generator).
pub fn tariffs_request(
    request_id: String,
    price_list_id: String,
) -> hmis_proto::openhmis::billing::v1::SetTariffsRequest {
    crate::convert::starter_tariffs(request_id, price_list_id)
}

/// The starter grouper tables as an `ImportGrouperTables` request.
pub fn grouper_request(
    request_id: String,
) -> hmis_proto::openhmis::billing::v1::ImportGrouperTablesRequest {
    crate::convert::starter_grouper(request_id)
}

/// The starter tariffs.
pub fn tariffs() -> Vec<TariffLine> {
    parse_tariffs(TARIFFS).unwrap_or_default()
}

/// A tariff file: CSV with the header above, no quoting; the first malformed line is named.
pub fn parse_tariffs(text: &str) -> Result<Vec<TariffLine>, String> {
    let mut tariffs = Vec::new();
    for (index, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let [
            kind,
            code_system,
            code,
            name,
            price,
            unit,
            margin_percent,
            service_group,
        ] = fields[..]
        else {
            return Err(format!("line {} does not have 8 fields", index + 1));
        };
        tariffs.push(TariffLine {
            kind: kind.to_owned(),
            code_system: code_system.to_owned(),
            code: code.to_owned(),
            name: name.to_owned(),
            price: price.to_owned(),
            unit: unit.to_owned(),
            margin_percent: margin_percent.to_owned(),
            service_group: service_group.to_owned(),
        });
    }
    Ok(tariffs)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_starter_file_parses_and_a_malformed_line_is_named() {
        assert!(super::tariffs().len() > 20);
        assert_eq!(
            super::parse_tariffs("header\nservice,achi,1,One,10,each,,g\nservice,achi\n"),
            Err("line 3 does not have 8 fields".to_owned())
        );
    }
}
