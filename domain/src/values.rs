//! Validated value types. Each `parse` is the only way to build one from untrusted input;
//! events store them as plain strings (`serde(transparent)`) so that history recorded under
//! older rules still loads.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

fn has_control_chars(s: &str, allow_newlines: bool) -> bool {
    s.chars().any(|c| c.is_control() && !(allow_newlines && (c == '\n' || c == '\t' || c == '\r')))
}

/// Free text of bounded length without control characters (names, reasons, notes).
fn parse_text(input: &str, max_chars: usize, multiline: bool) -> Result<String, String> {
    let value = input.trim();
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    if value.chars().count() > max_chars {
        return Err(format!("must be at most {max_chars} characters"));
    }
    if has_control_chars(value, multiline) {
        return Err("must not contain control characters".into());
    }
    Ok(value.to_owned())
}

macro_rules! string_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_newtype!(
    /// Aircraft registration mark: national prefix + mark (`RA-89001`, `VP-BAA`, `N123AB`).
    RegistrationNumber
);

/// Prefixes whose marks are written without a hyphen (USA, Japan, Korea).
const HYPHENLESS_PREFIXES: [&str; 3] = ["N", "JA", "HL"];

impl RegistrationNumber {
    pub fn parse(input: &str) -> Result<Self, String> {
        let value = input.trim().to_ascii_uppercase();
        let alnum = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric());
        let valid = match value.split_once('-') {
            Some((prefix, mark)) => {
                (1..=2).contains(&prefix.len())
                    && alnum(prefix)
                    && prefix.chars().any(|c| c.is_ascii_alphabetic())
                    && (1..=5).contains(&mark.len())
                    && alnum(mark)
            }
            None => HYPHENLESS_PREFIXES.iter().any(|p| {
                value.strip_prefix(p).is_some_and(|mark| {
                    (1..=5).contains(&mark.len())
                        && alnum(mark)
                        && mark.starts_with(|c: char| c.is_ascii_digit() && c != '0')
                })
            }),
        };
        if valid {
            Ok(Self(value))
        } else {
            Err("must be a national prefix and mark such as RA-89001, VP-BAA or N123AB".into())
        }
    }
}

string_newtype!(
    /// ICAO aircraft type designator (`SU95`, `A320`, `B738`).
    AircraftTypeCode
);

impl AircraftTypeCode {
    pub fn parse(input: &str) -> Result<Self, String> {
        let value = input.trim().to_ascii_uppercase();
        let valid = (2..=4).contains(&value.len())
            && value.starts_with(|c: char| c.is_ascii_alphabetic())
            && value.chars().all(|c| c.is_ascii_alphanumeric());
        if valid {
            Ok(Self(value))
        } else {
            Err("must be an ICAO type designator: 2-4 letters or digits starting with a letter, e.g. SU95"
                .into())
        }
    }
}

string_newtype!(
    /// Manufacturer serial number (MSN).
    SerialNumber
);

impl SerialNumber {
    pub fn parse(input: &str) -> Result<Self, String> {
        let value = input.trim().to_ascii_uppercase();
        let valid = (1..=32).contains(&value.len())
            && value.chars().all(|c| c.is_ascii_alphanumeric() || "-./".contains(c));
        if valid {
            Ok(Self(value))
        } else {
            Err("must be 1-32 letters, digits, '-', '.' or '/'".into())
        }
    }
}

string_newtype!(
    /// A short single-line name: operator, aircraft model.
    Name
);

impl Name {
    pub fn parse(input: &str) -> Result<Self, String> {
        parse_text(input, 200, false).map(Self)
    }
}

string_newtype!(
    /// A single-line justification: status change reason, rejection reason.
    Reason
);

impl Reason {
    pub fn parse(input: &str) -> Result<Self, String> {
        parse_text(input, 500, false).map(Self)
    }
}

string_newtype!(
    /// Multi-line free text: notes, processing notes.
    Note
);

impl Note {
    pub fn parse(input: &str) -> Result<Self, String> {
        parse_text(input, 4000, true).map(Self)
    }
}

string_newtype!(
    /// ICAO airport code of the aircraft's home base (`UUEE`).
    AirportCode
);

impl AirportCode {
    pub fn parse(input: &str) -> Result<Self, String> {
        let value = input.trim().to_ascii_uppercase();
        if value.len() == 4 && value.chars().all(|c| c.is_ascii_alphabetic()) {
            Ok(Self(value))
        } else {
            Err("must be a 4-letter ICAO airport code, e.g. UUEE".into())
        }
    }
}

/// Where a flight went: departure and arrival aerodromes (ICAO). Version 2 of `FlightLogged`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub departure: AirportCode,
    pub arrival: AirportCode,
}

impl Route {
    /// A route needs both ends or neither (`None`: not recorded). The error names the field
    /// that is missing.
    pub fn from_ends(
        departure: Option<AirportCode>,
        arrival: Option<AirportCode>,
    ) -> Result<Option<Self>, (&'static str, String)> {
        match (departure, arrival) {
            (Some(departure), Some(arrival)) => Ok(Some(Self { departure, arrival })),
            (None, None) => Ok(None),
            (Some(_), None) => Err(("arrival", "required with departure".into())),
            (None, Some(_)) => Err(("departure", "required with arrival".into())),
        }
    }
}

string_newtype!(
    /// Airworthiness certificate number.
    CertificateNumber
);

impl CertificateNumber {
    pub fn parse(input: &str) -> Result<Self, String> {
        let value = input.trim().to_ascii_uppercase();
        let valid = (1..=64).contains(&value.len())
            && value.chars().all(|c| c.is_ascii_alphanumeric() || "-./ ".contains(c));
        if valid {
            Ok(Self(value))
        } else {
            Err("must be 1-64 letters, digits, spaces, '-', '.' or '/'".into())
        }
    }
}

string_newtype!(
    /// Manufacturer's part number (P/N), e.g. `D23189000-5`; upper-cased.
    PartNumber
);

impl PartNumber {
    pub fn parse(input: &str) -> Result<Self, String> {
        CertificateNumber::parse(input).map(|c| Self(c.0))
    }
}

string_newtype!(
    /// Licence number of certifying staff (Part-66 / ФАП-147 licence, e.g. `RU.66.0042`).
    LicenceNumber
);

impl LicenceNumber {
    pub fn parse(input: &str) -> Result<Self, String> {
        CertificateNumber::parse(input).map(|c| Self(c.0))
    }
}

/// Year of manufacture: from the first powered flight to next year (orders are registered early).
pub fn parse_year_of_manufacture(year: i32, current_year: i32) -> Result<u16, String> {
    if (1903..=current_year + 1).contains(&year) {
        Ok(year as u16)
    } else {
        Err(format!("must be between 1903 and {}", current_year + 1))
    }
}

/// Validity period of a certificate: `valid_until` strictly after `issued_on`.
pub fn check_certificate_period(issued_on: NaiveDate, valid_until: NaiveDate) -> Result<(), String> {
    if valid_until > issued_on {
        Ok(())
    } else {
        Err("must be after issued_on".into())
    }
}

/// Block time of one flight in whole minutes. Stored as an integer so totals stay exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BlockMinutes(u32);

impl BlockMinutes {
    /// From decimal hours as entered in a tech log: more than 0 and at most 24 hours.
    pub fn from_hours(hours: f64) -> Result<Self, String> {
        if !hours.is_finite() || hours <= 0.0 || hours > 24.0 {
            return Err("must be more than 0 and at most 24 hours".into());
        }
        let minutes = (hours * 60.0).round() as u32;
        if minutes == 0 {
            return Err("must be at least one minute".into());
        }
        Ok(Self(minutes))
    }

    pub fn from_minutes(minutes: u32) -> Self {
        Self(minutes)
    }

    pub fn minutes(self) -> u32 {
        self.0
    }
}

string_newtype!(
    /// Original filename of a received document, neutralised: no directories, no control or
    /// bidi-override characters, no leading dots, at most 255 bytes. It is metadata only; blob
    /// paths are derived from the checksum, never from this name.
    FileName
);

impl FileName {
    pub fn sanitize(input: &str) -> Self {
        let base = input.rsplit(['/', '\\']).next().unwrap_or_default();
        let cleaned: String = base.chars().filter(|c| !c.is_control() && !is_bidi_control(*c)).collect();
        let trimmed = cleaned.trim().trim_start_matches('.').trim_end_matches(['.', ' ']);
        let mut name = String::new();
        for c in trimmed.chars() {
            if name.len() + c.len_utf8() > 255 {
                break;
            }
            name.push(c);
        }
        if name.trim().is_empty() {
            name = "unnamed".into();
        }
        Self(name)
    }
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

string_newtype!(
    /// Media type essence (`application/pdf`), lower case, parameters dropped.
    ContentType
);

impl ContentType {
    pub fn parse(input: &str) -> Result<Self, String> {
        let essence = input.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        let token = |s: &str| {
            !s.is_empty()
                && s.len() <= 63
                && s.chars().all(|c| c.is_ascii_alphanumeric() || "!#$&^_.+-".contains(c))
        };
        match essence.split_once('/') {
            Some((t, s)) if token(t) && token(s) => Ok(Self(essence)),
            _ => Err("must be a media type such as application/pdf".into()),
        }
    }

    pub fn octet_stream() -> Self {
        Self("application/octet-stream".into())
    }
}

string_newtype!(
    /// Lower-case hex SHA-256 digest.
    Sha256Hex
);

impl Sha256Hex {
    pub fn parse(input: &str) -> Result<Self, String> {
        let value = input.trim().to_ascii_lowercase();
        if value.len() == 64 && value.chars().all(|c| c.is_ascii_hexdigit()) {
            Ok(Self(value))
        } else {
            Err("must be 64 hexadecimal characters".into())
        }
    }
}

/// Kind of an incoming document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DocumentType {
    AirworthinessDirective,
    ServiceBulletin,
    WorkOrder,
    /// TMC (товарно-материальные ценности) / parts request.
    PartsRequest,
    Certificate,
    Other,
}

string_newtype!(
    /// Number of an airworthiness directive as its authority writes it (`2024-0123`,
    /// `FAA 2023-12-05`, `ДЛГ 2023-01-05R1`): one line, at most 64 characters.
    DirectiveNumber
);

impl DirectiveNumber {
    pub fn parse(input: &str) -> Result<Self, String> {
        parse_text(input, 64, false).map(Self)
    }
}

string_newtype!(
    /// Revision of a directive (`R1`, `2`, `Amendment 39-22345`).
    DirectiveRevision
);

impl DirectiveRevision {
    pub fn parse(input: &str) -> Result<Self, String> {
        parse_text(input, 64, false).map(Self)
    }
}

string_newtype!(
    /// Reference of the work order under which maintenance was done (`WO-2025-0142`).
    WorkOrderRef
);

impl WorkOrderRef {
    pub fn parse(input: &str) -> Result<Self, String> {
        parse_text(input, 64, false).map(Self)
    }
}

/// Channel a document arrived through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FileSource {
    #[default]
    Upload,
    Email,
    Api,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_numbers_are_validated_and_upper_cased() {
        for ok in ["RA-89001", "ra-12345", "VP-BAA", "N123AB", "D-AIBL", "4K-AZ01", "JA8089"] {
            assert!(RegistrationNumber::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(RegistrationNumber::parse(" ra-89001 ").unwrap().as_str(), "RA-89001");
        for bad in ["", "RA", "RA-", "-123", "RA-890012", "RA_89001", "N0123", "X123", "RA-89 01", "РА-89001"]
        {
            assert!(RegistrationNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn type_codes_and_airports() {
        assert_eq!(AircraftTypeCode::parse("su95").unwrap().as_str(), "SU95");
        assert!(AircraftTypeCode::parse("95SU").is_err());
        assert!(AircraftTypeCode::parse("A3200").is_err());
        assert!(AirportCode::parse("uuee").is_ok());
        assert!(AirportCode::parse("SVO").is_err());
    }

    #[test]
    fn block_time_is_whole_minutes_within_a_day() {
        assert_eq!(BlockMinutes::from_hours(1.5).unwrap().minutes(), 90);
        assert_eq!(BlockMinutes::from_hours(24.0).unwrap().minutes(), 1440);
        for bad in [0.0, -1.0, 24.01, f64::NAN, 0.001] {
            assert!(BlockMinutes::from_hours(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hostile_filenames_are_neutralised() {
        assert_eq!(FileName::sanitize("../../etc/passwd").as_str(), "passwd");
        assert_eq!(FileName::sanitize("..\\..\\boot.ini").as_str(), "boot.ini");
        assert_eq!(FileName::sanitize("a\u{0}b\r\nc.pdf").as_str(), "abc.pdf");
        assert_eq!(FileName::sanitize("invoice\u{202e}fdp.exe").as_str(), "invoicefdp.exe");
        assert_eq!(FileName::sanitize("..").as_str(), "unnamed");
        assert_eq!(FileName::sanitize("/").as_str(), "unnamed");
        assert_eq!(FileName::sanitize(".bashrc").as_str(), "bashrc");
        let long = "я".repeat(300);
        assert!(FileName::sanitize(&long).as_str().len() <= 255);
    }

    #[test]
    fn content_types_keep_only_the_essence() {
        assert_eq!(ContentType::parse("Application/PDF; charset=x").unwrap().as_str(), "application/pdf");
        assert!(ContentType::parse("pdf").is_err());
        assert!(ContentType::parse("text/plain\r\nX-Evil: 1").is_err());
    }

    #[test]
    fn text_rejects_control_characters_and_overlong_input() {
        assert!(Reason::parse("  ").is_err());
        assert!(Reason::parse("bird\u{7}strike").is_err());
        assert!(Reason::parse(&"x".repeat(501)).is_err());
        assert!(Note::parse("line 1\nline 2").is_ok());
    }
}
