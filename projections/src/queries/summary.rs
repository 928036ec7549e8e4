//! The one line an auditor reads for each event of an aircraft's history, written from the
//! event itself when the history is read (the history is the log's own stream; migration 0015).

use klg_domain::aircraft::directives::DueLimits;
use klg_domain::aircraft::AircraftEvent;

/// One line an auditor can read.
pub fn summarize(event: &AircraftEvent) -> String {
    match event {
        AircraftEvent::AircraftRegistered {
            registration_number,
            aircraft_type,
            model,
            serial_number,
            operator,
            ..
        } => {
            format!("Registered {registration_number} ({aircraft_type} {model}, MSN {serial_number}) for {operator}")
        }
        AircraftEvent::AircraftDetailsUpdated { operator, model, base_airport, notes } => {
            let mut changed = vec![];
            if let Some(v) = operator {
                changed.push(format!("operator → {v}"));
            }
            if let Some(v) = model {
                changed.push(format!("model → {v}"));
            }
            if let Some(v) = base_airport {
                changed.push(format!("base → {}", v.as_ref().map_or("none".to_owned(), |b| b.to_string())));
            }
            if notes.is_some() {
                changed.push("notes changed".to_owned());
            }
            format!("Details updated: {}", changed.join(", "))
        }
        AircraftEvent::AircraftStatusChanged { from, to, reason } => {
            format!("Status {from} → {to}: {reason}")
        }
        AircraftEvent::AirworthinessCertificateIssued { number, issued_on, valid_until } => {
            format!("Certificate {number} issued, valid {issued_on} to {valid_until}")
        }
        AircraftEvent::FlightLogged { flight_date, block_minutes, cycles, .. } => {
            let m = block_minutes.minutes();
            format!("Flight on {flight_date}: {}:{:02} block, {cycles} cycle(s)", m / 60, m % 60)
        }
        AircraftEvent::AircraftDecommissioned { registration_number, reason } => match reason {
            Some(reason) => format!("Decommissioned {registration_number}: {reason}"),
            None => format!("Decommissioned {registration_number}"),
        },
        AircraftEvent::DirectiveApplicabilityRecorded {
            number,
            revision,
            applicable,
            reason,
            next_due,
            ..
        } => {
            let directive = match revision {
                Some(revision) => format!("Directive {number} rev. {revision}"),
                None => format!("Directive {number}"),
            };
            match (applicable, reason) {
                (true, _) => format!("{directive} applies; {}", describe_due(next_due)),
                (false, Some(reason)) => format!("{directive} does not apply: {reason}"),
                (false, None) => format!("{directive} does not apply"),
            }
        }
        AircraftEvent::PartInstalled { part_number, serial_number, installed_on, work_order, .. } => {
            format!("Part {part_number} S/N {serial_number} installed on {installed_on} under {work_order}")
        }
        AircraftEvent::ReleasedToService { certifying_staff, licence, work_order, signed_by, .. } => {
            format!(
                "Released to service under {work_order} by {certifying_staff} (licence {licence}); signed by {}",
                signed_by.name
            )
        }
        AircraftEvent::DirectiveComplied {
            number,
            method,
            done_on,
            performed_by,
            work_order,
            next_due,
            ..
        } => {
            let method = method.as_str().replace('_', " ");
            let closing = if next_due.is_some() { describe_due(next_due) } else { "closed".to_owned() };
            format!("Directive {number} complied with by {method} on {done_on} ({work_order}, {performed_by}); {closing}")
        }
    }
}

/// "next due 2025-09-13 or 1234:00 FH or 5000 FC": whichever comes first.
fn describe_due(due: &Option<DueLimits>) -> String {
    let Some(due) = due else { return "no further compliance due".to_owned() };
    let mut limits = vec![];
    if let Some(on) = due.on {
        limits.push(on.to_string());
    }
    if let Some(minutes) = due.block_minutes {
        limits.push(format!("{}:{:02} FH", minutes / 60, minutes % 60));
    }
    if let Some(cycles) = due.cycles {
        limits.push(format!("{cycles} FC"));
    }
    format!("next due {}", limits.join(" or "))
}
