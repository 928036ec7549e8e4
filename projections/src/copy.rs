//! Rows for `COPY … FROM STDIN (FORMAT binary)`: how the projector writes history rows.
//!
//! Profiled (docs/benchmarks.md, session 9): 8,000 history rows took PostgreSQL 24–31 ms as
//! `INSERT … SELECT FROM unnest(…)` of thirteen arrays and 11–15 ms as a binary `COPY` — COPY
//! inserts rows a page at a time and skips the arrays and the function scan. The binary format
//! needs no escaping: each field is its length and its bytes.

use chrono::{DateTime, Utc};

/// The binary format's fixed header: signature, flags (no OIDs), no header extension.
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// PostgreSQL's epoch (2000-01-01T00:00:00Z) in Unix microseconds.
const POSTGRES_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// Binary COPY data being built, row by row; each row must get exactly `columns` fields.
pub(crate) struct BinaryRows {
    data: Vec<u8>,
    columns: i16,
}

impl BinaryRows {
    pub fn new(columns: i16, capacity: usize) -> Self {
        let mut data = Vec::with_capacity(capacity);
        data.extend_from_slice(HEADER);
        Self { data, columns }
    }

    /// Starts a row (its fields follow).
    pub fn row(&mut self) -> &mut Self {
        self.data.extend_from_slice(&self.columns.to_be_bytes());
        self
    }

    pub fn bigint(&mut self, value: i64) -> &mut Self {
        self.field(&value.to_be_bytes())
    }

    /// A `text` or `json` field (both travel as their UTF-8 text).
    pub fn text(&mut self, value: &str) -> &mut Self {
        self.field(value.as_bytes())
    }

    pub fn optional_text(&mut self, value: Option<&str>) -> &mut Self {
        match value {
            Some(value) => self.text(value),
            None => {
                self.data.extend_from_slice(&(-1i32).to_be_bytes());
                self
            }
        }
    }

    /// A `timestamptz`: microseconds since PostgreSQL's epoch.
    pub fn timestamptz(&mut self, value: DateTime<Utc>) -> &mut Self {
        self.bigint(value.timestamp_micros() - POSTGRES_EPOCH_MICROS)
    }

    fn field(&mut self, bytes: &[u8]) -> &mut Self {
        // A field longer than 2 GiB cannot reach here: PostgreSQL refuses values over 1 GiB.
        let length = i32::try_from(bytes.len()).unwrap_or(i32::MAX);
        self.data.extend_from_slice(&length.to_be_bytes());
        self.data.extend_from_slice(bytes);
        self
    }

    /// The data with the format's trailer, ready to send.
    pub fn finish(mut self) -> Vec<u8> {
        self.data.extend_from_slice(&(-1i16).to_be_bytes());
        self.data
    }
}

#[cfg(test)]
mod tests {
    use super::BinaryRows;
    use chrono::{TimeZone, Utc};

    #[test]
    fn a_row_is_its_field_count_then_each_field_as_length_and_bytes() {
        let mut rows = BinaryRows::new(3, 0);
        rows.row().bigint(7).optional_text(None).text("é");
        let data = rows.finish();
        let body = &data[19..];
        assert_eq!(&data[..11], b"PGCOPY\n\xff\r\n\0");
        assert_eq!(
            body,
            [
                &[0, 3][..],
                &[0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 7],
                &[0xff, 0xff, 0xff, 0xff],
                &[0, 0, 0, 2, 0xc3, 0xa9],
                &[0xff, 0xff],
            ]
            .concat()
        );
    }

    #[test]
    fn timestamps_count_microseconds_from_the_year_2000() {
        let mut rows = BinaryRows::new(1, 0);
        rows.row().timestamptz(Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 1).unwrap());
        let data = rows.finish();
        assert_eq!(&data[19 + 2 + 4..19 + 2 + 4 + 8], 1_000_000i64.to_be_bytes());
    }
}
