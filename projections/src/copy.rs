//! PostgreSQL's binary `COPY` format: rows of `COPY … TO STDOUT (FORMAT binary)`, how large
//! reads of the log are decoded (docs/benchmarks.md, session 11). The binary format needs no
//! escaping: each field is its length and its bytes. The tests build their data with a writer of
//! the format's other direction, `COPY … FROM STDIN`, which the projector used for history rows
//! until they became views over the log (migration 0015).

/// The binary format's fixed header: signature, flags (no OIDs), no header extension.
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// PostgreSQL's epoch (2000-01-01T00:00:00Z) in Unix microseconds.
const POSTGRES_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// Rows of binary `COPY … TO STDOUT` data with `N` fields each, decoded chunk by chunk as they
/// arrive (a row may span chunks; PostgreSQL sends the header with the first row).
pub(crate) struct BinaryRowReader<const N: usize> {
    /// Bytes of a row (or the header) not complete yet.
    pending: Vec<u8>,
    header_read: bool,
    finished: bool,
}

impl<const N: usize> BinaryRowReader<N> {
    pub fn new() -> Self {
        Self { pending: Vec::new(), header_read: false, finished: false }
    }

    /// Takes the next chunk of the data; calls `row` with the fields of each row it completes.
    pub fn feed(
        &mut self,
        chunk: &[u8],
        row: &mut impl FnMut(&[&[u8]; N]) -> Result<(), sqlx::Error>,
    ) -> Result<(), sqlx::Error> {
        if self.pending.is_empty() {
            let used = self.rows(chunk, row)?;
            self.pending.extend_from_slice(&chunk[used..]);
        } else {
            let mut pending = std::mem::take(&mut self.pending);
            pending.extend_from_slice(chunk);
            let used = self.rows(&pending, row)?;
            pending.drain(..used);
            self.pending = pending;
        }
        Ok(())
    }

    /// After the last chunk: fails unless the data ended with the format's trailer.
    pub fn finish(self) -> Result<(), sqlx::Error> {
        match self.finished && self.pending.is_empty() {
            true => Ok(()),
            false => Err(malformed("the data ended before its trailer")),
        }
    }

    /// Reads the complete rows at the start of `data`; answers how many bytes they took.
    fn rows(
        &mut self,
        data: &[u8],
        row: &mut impl FnMut(&[&[u8]; N]) -> Result<(), sqlx::Error>,
    ) -> Result<usize, sqlx::Error> {
        let mut at = 0;
        if !self.header_read {
            if data.len() < HEADER.len() {
                return Ok(0);
            }
            if data[..HEADER.len()] != *HEADER {
                return Err(malformed("unexpected header (flags or header extension)"));
            }
            self.header_read = true;
            at = HEADER.len();
        }
        while at < data.len() {
            if self.finished {
                return Err(malformed("data after the trailer"));
            }
            at = match Self::row_at(data, at)? {
                Next::Incomplete => break,
                Next::Row(fields, next) => {
                    row(&fields)?;
                    next
                }
                Next::Trailer(next) => {
                    self.finished = true;
                    next
                }
            };
        }
        Ok(at)
    }

    /// What starts at `at` in `data`.
    fn row_at(data: &[u8], at: usize) -> Result<Next<'_, N>, sqlx::Error> {
        let Some(count) = data.get(at..at + 2) else { return Ok(Next::Incomplete) };
        let count = i16::from_be_bytes([count[0], count[1]]);
        if count == -1 {
            return Ok(Next::Trailer(at + 2));
        }
        if usize::try_from(count).ok() != Some(N) {
            return Err(malformed(&format!("a row of {count} fields, expected {N}")));
        }
        let mut fields: [&[u8]; N] = [&[]; N];
        let mut at = at + 2;
        for field in &mut fields {
            let Some(length) = data.get(at..at + 4) else { return Ok(Next::Incomplete) };
            let length = i32::from_be_bytes([length[0], length[1], length[2], length[3]]);
            let length = usize::try_from(length).map_err(|_| malformed("a NULL field"))?;
            let Some(bytes) = data.get(at + 4..at + 4 + length) else { return Ok(Next::Incomplete) };
            *field = bytes;
            at += 4 + length;
        }
        Ok(Next::Row(fields, at))
    }
}

/// What the data holds next: a row not complete yet, a row's fields, or the trailer (with where
/// what follows starts).
enum Next<'a, const N: usize> {
    Incomplete,
    Row([&'a [u8]; N], usize),
    Trailer(usize),
}

fn malformed(what: &str) -> sqlx::Error {
    sqlx::Error::Protocol(format!("binary COPY data: {what}"))
}

/// Decoders of single binary fields.
pub(crate) mod field {
    use chrono::{DateTime, Utc};

    use super::POSTGRES_EPOCH_MICROS;

    fn decode_error(what: &str, bytes: &[u8]) -> sqlx::Error {
        sqlx::Error::Decode(format!("a {what} field of {} bytes", bytes.len()).into())
    }

    /// A `bigint` or `xid8` (the latter below 2⁶³, as every transaction id is in practice).
    pub fn bigint(bytes: &[u8]) -> Result<i64, sqlx::Error> {
        let bytes: [u8; 8] = bytes.try_into().map_err(|_| decode_error("bigint", bytes))?;
        Ok(i64::from_be_bytes(bytes))
    }

    /// A `text` or `json` field.
    pub fn text(bytes: &[u8]) -> Result<String, sqlx::Error> {
        String::from_utf8(bytes.to_vec()).map_err(|e| sqlx::Error::Decode(e.into()))
    }

    pub fn uuid(bytes: &[u8]) -> Result<uuid::Uuid, sqlx::Error> {
        uuid::Uuid::from_slice(bytes).map_err(|_| decode_error("uuid", bytes))
    }

    pub fn timestamptz(bytes: &[u8]) -> Result<DateTime<Utc>, sqlx::Error> {
        DateTime::from_timestamp_micros(bigint(bytes)? + POSTGRES_EPOCH_MICROS)
            .ok_or_else(|| decode_error("timestamptz", bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::{BinaryRowReader, HEADER, POSTGRES_EPOCH_MICROS};
    use chrono::{DateTime, TimeZone, Utc};

    /// The tests' data: rows for `COPY … FROM STDIN (FORMAT binary)` (the format's other
    /// direction), built row by row; each row must get exactly `columns` fields.
    struct BinaryRows {
        data: Vec<u8>,
        columns: i16,
    }

    impl BinaryRows {
        fn new(columns: i16, capacity: usize) -> Self {
            let mut data = Vec::with_capacity(capacity);
            data.extend_from_slice(HEADER);
            Self { data, columns }
        }

        /// Starts a row (its fields follow).
        fn row(&mut self) -> &mut Self {
            self.data.extend_from_slice(&self.columns.to_be_bytes());
            self
        }

        fn bigint(&mut self, value: i64) -> &mut Self {
            self.field(&value.to_be_bytes())
        }

        /// A `text` or `json` field (both travel as their UTF-8 text).
        fn text(&mut self, value: &str) -> &mut Self {
            self.field(value.as_bytes())
        }

        fn optional_text(&mut self, value: Option<&str>) -> &mut Self {
            match value {
                Some(value) => self.text(value),
                None => {
                    self.data.extend_from_slice(&(-1i32).to_be_bytes());
                    self
                }
            }
        }

        /// A `timestamptz`: microseconds since PostgreSQL's epoch.
        fn timestamptz(&mut self, value: DateTime<Utc>) -> &mut Self {
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
        fn finish(mut self) -> Vec<u8> {
            self.data.extend_from_slice(&(-1i16).to_be_bytes());
            self.data
        }
    }

    /// Every row `data` holds, fed in chunks of `chunk` bytes.
    fn read_in_chunks(data: &[u8], chunk: usize) -> Result<Vec<Vec<Vec<u8>>>, sqlx::Error> {
        let mut reader = BinaryRowReader::<2>::new();
        let mut rows = vec![];
        for piece in data.chunks(chunk) {
            reader.feed(piece, &mut |fields: &[&[u8]; 2]| {
                rows.push(fields.iter().map(|f| f.to_vec()).collect());
                Ok(())
            })?;
        }
        reader.finish()?;
        Ok(rows)
    }

    #[test]
    fn rows_read_back_whatever_the_chunks_they_arrive_in() {
        let mut written = BinaryRows::new(2, 0);
        written.row().bigint(7).text("é");
        written.row().bigint(-1).text("");
        let data = written.finish();
        let expected = vec![
            vec![7i64.to_be_bytes().to_vec(), "é".as_bytes().to_vec()],
            vec![(-1i64).to_be_bytes().to_vec(), vec![]],
        ];
        for chunk in 1..=data.len() {
            assert_eq!(read_in_chunks(&data, chunk).unwrap(), expected, "chunks of {chunk} bytes");
        }
    }

    #[test]
    fn truncated_or_misshapen_data_is_an_error_not_fewer_rows() {
        let mut written = BinaryRows::new(2, 0);
        written.row().bigint(7).text("x");
        let data = written.finish();
        for cut in 0..data.len() {
            assert!(read_in_chunks(&data[..cut], 5).is_err(), "cut after {cut} bytes");
        }
        let mut three = BinaryRows::new(3, 0);
        three.row().bigint(1).text("a").text("b");
        assert!(read_in_chunks(&three.finish(), 64).is_err(), "a row of three fields");
        let mut null = BinaryRows::new(2, 0);
        null.row().bigint(1).optional_text(None);
        assert!(read_in_chunks(&null.finish(), 64).is_err(), "a NULL field");
        let mut after_trailer = data.clone();
        after_trailer.extend_from_slice(&[0, 2]);
        assert!(read_in_chunks(&after_trailer, 64).is_err(), "data after the trailer");
    }

    #[test]
    fn timestamps_read_back_as_written() {
        let at =
            Utc.with_ymd_and_hms(2026, 11, 27, 3, 4, 5).unwrap() + chrono::Duration::microseconds(123_456);
        let mut rows = BinaryRows::new(1, 0);
        rows.row().timestamptz(at);
        let data = rows.finish();
        assert_eq!(super::field::timestamptz(&data[19 + 2 + 4..19 + 2 + 4 + 8]).unwrap(), at);
    }

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
