//! Who may do what. A caller is a named API token with one role; every operation needs one
//! kind of access, and a role either grants it or not. Pure rules: verifying tokens is I/O and
//! lives in the `identity` crate.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads.
    Viewer,
    /// Reads, commands and uploads.
    Engineer,
    /// Reads, history, audit and export.
    Auditor,
    /// Integration events only (`POST /api/v1/streaming/events`).
    Integration,
    /// Everything, including token management.
    Admin,
}

/// The kind of access an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Read the fleet, documents, statistics and metrics.
    Read,
    /// Run commands and upload documents.
    Write,
    /// Read the audit trail and exports.
    Audit,
    /// Send integration events.
    Integrate,
    /// Manage tokens and read operational reports.
    Administer,
    /// Learn the calling token's own name and role (every role has it).
    Identify,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Viewer, Role::Engineer, Role::Auditor, Role::Integration, Role::Admin];

    pub fn allows(self, access: Access) -> bool {
        use Access::*;
        match self {
            _ if access == Identify => true,
            Role::Admin => true,
            Role::Viewer => access == Read,
            Role::Engineer => matches!(access, Read | Write),
            Role::Auditor => matches!(access, Read | Audit),
            Role::Integration => access == Integrate,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Engineer => "engineer",
            Role::Auditor => "auditor",
            Role::Integration => "integration",
            Role::Admin => "admin",
        }
    }
}

impl Access {
    /// The least role that has this access, for messages and documentation.
    pub fn least_role(self) -> Role {
        match self {
            Access::Read => Role::Viewer,
            Access::Write => Role::Engineer,
            Access::Audit => Role::Auditor,
            Access::Integrate => Role::Integration,
            Access::Administer => Role::Admin,
            Access::Identify => Role::Viewer,
        }
    }

    /// Every role that has this access.
    pub fn roles(self) -> Vec<Role> {
        Role::ALL.into_iter().filter(|r| r.allows(self)).collect()
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            format!("unknown role {s:?}: one of viewer, engineer, auditor, integration, admin")
        })
    }
}

/// A token's name: who or what holds it (a person, a system). Recorded as the actor of every
/// event the token causes, so it is plain and stable: 1–64 characters of letters, digits and
/// `.`, `_`, `-`, `@`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TokenName(String);

impl TokenName {
    pub fn parse(name: &str) -> Result<Self, String> {
        let valid_char = |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@');
        if name.is_empty() || name.chars().count() > 64 {
            return Err("must be 1-64 characters".to_owned());
        }
        if !name.chars().all(valid_char) {
            return Err("may hold only letters, digits and . _ - @".to_owned());
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TokenName {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TokenName> for String {
    fn from(value: TokenName) -> Self {
        value.0
    }
}

impl fmt::Display for TokenName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A token's lifetime as written on the command line: a number and a unit, `90d`, `12h`, `30m`.
pub fn parse_lifetime(text: &str) -> Result<Duration, String> {
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: u64 = number.parse().map_err(|_| format!("{text:?}: expected a number and a unit, e.g. 90d"))?;
    let seconds = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        _ => return Err(format!("{text:?}: the unit is d, h or m")),
    };
    match n.checked_mul(seconds) {
        Some(total) if n > 0 && total <= 10 * 366 * 86_400 => Ok(Duration::from_secs(total)),
        _ => Err(format!("{text:?}: between 1 minute and 10 years")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_has_exactly_its_access() {
        let granted = |role: Role| {
            [
                Access::Read,
                Access::Write,
                Access::Audit,
                Access::Integrate,
                Access::Administer,
                Access::Identify,
            ]
            .into_iter()
            .filter(|a| role.allows(*a))
            .collect::<Vec<_>>()
        };
        assert_eq!(granted(Role::Viewer), [Access::Read, Access::Identify]);
        assert_eq!(granted(Role::Engineer), [Access::Read, Access::Write, Access::Identify]);
        assert_eq!(granted(Role::Auditor), [Access::Read, Access::Audit, Access::Identify]);
        assert_eq!(granted(Role::Integration), [Access::Integrate, Access::Identify]);
        assert_eq!(granted(Role::Admin).len(), 6);
        assert_eq!(Access::Identify.roles(), Role::ALL);
        assert_eq!(Access::Write.roles(), [Role::Engineer, Role::Admin]);
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn token_names_are_plain_and_short() {
        assert!(TokenName::parse("i.petrov@s7-engineering").is_ok());
        assert!(TokenName::parse("").is_err());
        assert!(TokenName::parse("has space").is_err());
        assert!(TokenName::parse(&"x".repeat(65)).is_err());
    }

    #[test]
    fn lifetimes_take_a_number_and_a_unit() {
        assert_eq!(parse_lifetime("90d"), Ok(Duration::from_secs(90 * 86_400)));
        assert_eq!(parse_lifetime("12h"), Ok(Duration::from_secs(12 * 3_600)));
        assert_eq!(parse_lifetime("30m"), Ok(Duration::from_secs(1_800)));
        for bad in ["", "d", "90", "90s", "0d", "-1d", "99999999999999999999d", "4000d"] {
            assert!(parse_lifetime(bad).is_err(), "{bad}");
        }
    }
}
