//! Release to service: the certificate with which certifying staff return an aircraft from
//! maintenance to service, signed by the holder of the API token that issued it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::directives::DueLimits;
use super::{Aircraft, Certificate};
use crate::values::{LicenceNumber, Name, Note, WorkOrderRef};

/// Who signed a release: the API token whose holder issued it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signer {
    pub token_id: String,
    pub name: String,
}

/// `ReleaseToService`: a certificate of release to service (CRS).
#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    pub certifying_staff: Name,
    pub licence: LicenceNumber,
    pub work_order: WorkOrderRef,
    /// The certifying statement, e.g. "Certifies that the work specified was carried out in
    /// accordance with … and the aircraft is ready for release to service".
    pub statement: Note,
    pub signer: Signer,
}

/// What a release's digest covers: the record as released (named fields, so the digest does not
/// change with how the aggregate happens to keep its state) and the release itself.
#[derive(Serialize)]
struct RecordAsReleased<'a> {
    /// Events in the record before the release.
    version: u64,
    registration_number: &'a str,
    total_block_minutes: u64,
    total_cycles: u64,
    certificates: &'a [Certificate],
    /// Each recorded directive's number, whether it applies, and its next due.
    directives: Vec<(&'a str, bool, Option<DueLimits>)>,
    certifying_staff: &'a str,
    licence: &'a str,
    work_order: &'a str,
    statement: &'a str,
    signer: &'a Signer,
}

/// SHA-256 (hex) of the record as `release` releases it: an auditor who folds the aircraft's
/// events up to the release and recomputes this gets the digest the event carries.
pub fn record_digest(record: &Aircraft, release: &Release) -> String {
    let released = RecordAsReleased {
        version: record.version(),
        registration_number: record.registration_number().map_or("", |r| r.as_str()),
        total_block_minutes: record.total_block_minutes(),
        total_cycles: record.total_cycles(),
        certificates: record.certificates(),
        directives: record.directives().iter().map(|(n, d)| (n.as_str(), d.applicable, d.next_due)).collect(),
        certifying_staff: release.certifying_staff.as_str(),
        licence: release.licence.as_str(),
        work_order: release.work_order.as_str(),
        statement: release.statement.as_str(),
        signer: &release.signer,
    };
    let json = serde_json::to_vec(&released).expect("plain data serializes");
    hex::encode(Sha256::digest(json))
}
