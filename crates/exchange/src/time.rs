//! HL7 TS values (`YYYYMMDDhhmmss±hhmm`, any precision) turned into XDS DTM (UTC) and FHIR
//! `dateTime`.

/// [`segur_cda::days_from_civil`] on the digits of a TS (months and days parse as 0–99).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let small = |v: i64| u32::try_from(v).unwrap_or(0);
    segur_cda::days_from_civil(y, small(m), small(d))
}

/// [`segur_cda::civil_from_days`] with the month and day widened.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let (y, m, d) = segur_cda::civil_from_days(z);
    (y, i64::from(m), i64::from(d))
}

/// A parsed TS: its digits (4 to 14) and its offset in minutes, when given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ts {
    digits: String,
    offset_min: Option<i64>,
}

impl Ts {
    /// Parse `YYYY[MM[DD[hh[mm[ss]]]]][.fff][±hhmm]`; `None` when malformed.
    pub(crate) fn parse(text: &str) -> Option<Ts> {
        let text = text.trim();
        let (main, offset) = match text.find(['+', '-']) {
            Some(i) => (&text[..i], Some(&text[i..])),
            None => (text, None),
        };
        let digits = main.split('.').next().unwrap_or("");
        if !(4..=14).contains(&digits.len())
            || digits.len() % 2 != 0
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let offset_min = match offset {
            None => None,
            Some(o) => {
                let sign = if o.starts_with('-') { -1 } else { 1 };
                let n = &o[1..];
                if n.len() != 4 || !n.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let h: i64 = n[..2].parse().ok()?;
                let m: i64 = n[2..].parse().ok()?;
                Some(sign * (h * 60 + m))
            }
        };
        Some(Ts {
            digits: digits.to_string(),
            offset_min,
        })
    }

    fn field(&self, at: usize, default: i64) -> i64 {
        self.digits
            .get(at..at + 2)
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    }

    fn year(&self) -> i64 {
        self.digits
            .get(..4)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    /// The XDS DTM: in UTC when the TS has hours and an offset, at the TS's precision.
    pub(crate) fn to_xds(&self) -> String {
        let Some(off) = self.offset_min.filter(|_| self.digits.len() >= 10) else {
            return self.digits.clone();
        };
        let (y, mo, d) = (self.year(), self.field(4, 1), self.field(6, 1));
        let (h, mi, s) = (self.field(8, 0), self.field(10, 0), self.field(12, 0));
        let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - off * 60;
        let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
        let sod = secs.rem_euclid(86_400);
        let full = format!(
            "{y:04}{mo:02}{d:02}{:02}{:02}{:02}",
            sod / 3600,
            sod % 3600 / 60,
            sod % 60
        );
        full[..self.digits.len()].to_string()
    }

    /// The FHIR `date` or `dateTime` (local time with its offset, or a date).
    pub(crate) fn to_fhir(&self) -> String {
        let t = &self.digits;
        let mut out = t[..4].to_string();
        for (i, sep) in [(4, '-'), (6, '-')] {
            if let Some(p) = t.get(i..i + 2) {
                out.push(sep);
                out.push_str(p);
            }
        }
        if t.len() >= 10 {
            out.push('T');
            out.push_str(&t[8..10]);
            out.push(':');
            out.push_str(t.get(10..12).unwrap_or("00"));
            out.push(':');
            out.push_str(t.get(12..14).unwrap_or("00"));
            match self.offset_min {
                Some(o) => {
                    let sign = if o < 0 { '-' } else { '+' };
                    out.push_str(&format!("{sign}{:02}:{:02}", o.abs() / 60, o.abs() % 60));
                }
                None => out.push('Z'),
            }
        }
        out
    }
}

/// The XDS DTM (UTC) of a HL7 TS, or the input trimmed when it is not a TS.
pub(crate) fn xds_time(ts: &str) -> String {
    Ts::parse(ts).map_or_else(|| ts.trim().to_string(), |t| t.to_xds())
}

/// The FHIR dateTime of a HL7 TS, or `None`.
pub(crate) fn fhir_time(ts: &str) -> Option<String> {
    Ts::parse(ts).map(|t| t.to_fhir())
}

/// The HL7 TS of a FHIR date/dateTime (`2024-01-30T10:14:34+01:00` → `20240130101434+0100`).
pub(crate) fn from_fhir(text: &str) -> String {
    let (main, offset) = match text.find('T') {
        Some(t) => match text[t..].find(['+', '-', 'Z']) {
            Some(i) => (&text[..t + i], &text[t + i..]),
            None => (text, ""),
        },
        None => (text, ""),
    };
    let mut out: String = main.chars().filter(char::is_ascii_digit).collect();
    if offset == "Z" {
        out.push_str("+0000");
    } else if !offset.is_empty() {
        out.push_str(&offset.replace(':', ""));
    }
    out
}

/// `YYYYMMDDhhmmss` UTC of seconds since the epoch.
pub fn utc_dtm(unix: i64) -> String {
    let (y, m, d) = civil_from_days(unix.div_euclid(86_400));
    let sod = unix.rem_euclid(86_400);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// Seconds since the epoch of an xs:dateTime (`2025-01-04T14:13:20Z`, fractions and a
/// `±hh:mm` offset allowed; no offset is read as UTC); `None` when malformed.
pub fn unix_of_datetime(text: &str) -> Option<i64> {
    let t = text.trim();
    let (date, time) = t.split_once('T')?;
    let d: Vec<&str> = date.split('-').collect();
    let [y, mo, da] = d.as_slice() else {
        return None;
    };
    let num = |s: &str, len: usize| {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<i64>().ok())
            .flatten()
    };
    let (y, mo, da) = (num(y, 4)?, num(mo, 2)?, num(da, 2)?);
    let (clock, offset) = if let Some(c) = time.strip_suffix('Z') {
        (c, 0)
    } else if let Some(i) = time.rfind(['+', '-']) {
        let (c, o) = time.split_at(i);
        let sign = if o.starts_with('-') { -1 } else { 1 };
        let (h, m) = o[1..].split_once(':')?;
        (c, sign * (num(h, 2)? * 60 + num(m, 2)?))
    } else {
        (time, 0)
    };
    let clock = clock.split('.').next()?;
    let c: Vec<&str> = clock.split(':').collect();
    let [h, mi, s] = c.as_slice() else {
        return None;
    };
    let (h, mi, s) = (num(h, 2)?, num(mi, 2)?, num(s, 2)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&da) || h > 24 || mi > 59 || s > 60 {
        return None;
    }
    Some(days_from_civil(y, mo, da) * 86_400 + h * 3600 + mi * 60 + s - offset * 60)
}

/// RFC 5322 date (`Tue, 30 Jan 2024 09:14:34 +0000`) of seconds since the epoch, in UTC.
pub fn rfc5322(unix: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix.div_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let sod = unix.rem_euclid(86_400);
    format!(
        "{}, {d} {} {y:04} {:02}:{:02}:{:02} +0000",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1).clamp(0, 11) as usize],
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ts_to_utc_and_fhir() {
        assert_eq!(xds_time("20240130101434+0100"), "20240130091434");
        assert_eq!(xds_time("20240101003000+0200"), "20231231223000");
        assert_eq!(xds_time("19360916"), "19360916");
        assert_eq!(xds_time("202401301014+0100"), "202401300914");
        assert_eq!(
            fhir_time("20240130101434+0100").as_deref(),
            Some("2024-01-30T10:14:34+01:00")
        );
        assert_eq!(fhir_time("19360916").as_deref(), Some("1936-09-16"));
        assert_eq!(
            from_fhir("2024-01-30T10:14:34+01:00"),
            "20240130101434+0100"
        );
        assert_eq!(from_fhir("1936-09-16"), "19360916");
        assert_eq!(Ts::parse("2024013"), None);
        assert_eq!(Ts::parse("20240130+01"), None);
        assert_eq!(rfc5322(0), "Thu, 1 Jan 1970 00:00:00 +0000");
        assert_eq!(unix_of_datetime("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            unix_of_datetime("2025-01-04T14:13:20.123+01:00"),
            Some(1_735_996_400)
        );
        assert_eq!(unix_of_datetime("2025-01-04T14:13:20"), Some(1_736_000_000));
        for bad in [
            "",
            "2025-01-04",
            "2025-13-04T00:00:00Z",
            "25-01-04T00:00:00Z",
            "2025-01-04T0:00:00Z",
        ] {
            assert_eq!(unix_of_datetime(bad), None, "{bad}");
        }
    }
}
