//! Partial dates, date-times and times with their precision, FHIRPath's comparison rules
//! (a comparison that reaches a component only one side has is uncertain: empty), and calendar
//! arithmetic.

use std::cmp::Ordering;
use std::fmt;

/// Which of the three temporal types a value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TemporalKind {
    /// `@2014-01-25`
    Date,
    /// `@2014-01-25T14:30:14.559+01:00`
    DateTime,
    /// `@T14:30`
    Time,
}

/// How far down a temporal value is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Precision {
    /// year only
    Year,
    /// year and month
    Month,
    /// down to the day
    Day,
    /// down to the hour
    Hour,
    /// down to the minute
    Minute,
    /// down to the second
    Second,
    /// down to the millisecond
    Millisecond,
}

/// A date, date-time or time known to some [`Precision`], with an optional time-zone offset.
/// (`==` is structural; FHIRPath equality is [`Temporal::compare`].)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Temporal {
    /// Date, DateTime or Time.
    pub kind: TemporalKind,
    /// The year (0 for a Time).
    pub year: i32,
    /// 1–12 (1 when unknown).
    pub month: u8,
    /// 1–31 (1 when unknown).
    pub day: u8,
    /// 0–23.
    pub hour: u8,
    /// 0–59.
    pub minute: u8,
    /// 0–59.
    pub second: u8,
    /// 0–999.
    pub millis: u16,
    /// The most precise component known.
    pub precision: Precision,
    /// Offset from UTC in minutes, when given.
    pub tz: Option<i32>,
}

struct Cursor<'s> {
    s: &'s [u8],
    i: usize,
}

impl Cursor<'_> {
    fn digits(&mut self, n: usize) -> Option<u32> {
        let end = self.i.checked_add(n)?;
        let part = self.s.get(self.i..end)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.i = end;
        Some(part.iter().fold(0, |acc, b| acc * 10 + u32::from(b - b'0')))
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn done(&self) -> bool {
        self.i == self.s.len()
    }
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

impl Temporal {
    fn empty(kind: TemporalKind) -> Self {
        Temporal {
            kind,
            year: 0,
            month: 1,
            day: 1,
            hour: 0,
            minute: 0,
            second: 0,
            millis: 0,
            precision: Precision::Year,
            tz: None,
        }
    }

    fn parse_time_part(c: &mut Cursor<'_>, t: &mut Temporal) -> Option<()> {
        t.hour = u8::try_from(c.digits(2)?).ok()?;
        t.precision = Precision::Hour;
        if t.hour > 23 {
            return None;
        }
        if c.eat(b':') {
            t.minute = u8::try_from(c.digits(2)?).ok()?;
            t.precision = Precision::Minute;
            if t.minute > 59 {
                return None;
            }
            if c.eat(b':') {
                t.second = u8::try_from(c.digits(2)?).ok()?;
                t.precision = Precision::Second;
                if t.second > 59 {
                    return None;
                }
                if c.eat(b'.') {
                    let start = c.i;
                    while c.s.get(c.i).is_some_and(u8::is_ascii_digit) {
                        c.i += 1;
                    }
                    let frac = &c.s[start..c.i];
                    if frac.is_empty() {
                        return None;
                    }
                    let mut ms = 0u16;
                    for k in 0..3 {
                        ms = ms * 10 + frac.get(k).map_or(0, |b| u16::from(b - b'0'));
                    }
                    t.millis = ms;
                    t.precision = Precision::Millisecond;
                }
            }
        }
        Some(())
    }

    fn parse_tz(c: &mut Cursor<'_>, t: &mut Temporal) -> Option<()> {
        if c.eat(b'Z') {
            t.tz = Some(0);
        } else if c.s.get(c.i) == Some(&b'+') || c.s.get(c.i) == Some(&b'-') {
            let sign = if c.s[c.i] == b'-' { -1 } else { 1 };
            c.i += 1;
            let h = i32::try_from(c.digits(2)?).ok()?;
            if !c.eat(b':') {
                return None;
            }
            let m = i32::try_from(c.digits(2)?).ok()?;
            if h > 14 || m > 59 {
                return None;
            }
            t.tz = Some(sign * (h * 60 + m));
        }
        Some(())
    }

    /// Parses a date or date-time as FHIR writes them and FHIRPath literals (after `@`) do:
    /// `YYYY(-MM(-DD(T(hh(:mm(:ss(.fff)?)?)?)?(Z|±hh:mm)?)?)?)?`. `T` makes it a DateTime.
    pub fn parse_date_or_datetime(s: &str) -> Option<Self> {
        let mut c = Cursor {
            s: s.as_bytes(),
            i: 0,
        };
        let mut t = Temporal::empty(TemporalKind::Date);
        t.year = i32::try_from(c.digits(4)?).ok()?;
        if c.eat(b'-') {
            t.month = u8::try_from(c.digits(2)?).ok()?;
            t.precision = Precision::Month;
            if !(1..=12).contains(&t.month) {
                return None;
            }
            if c.eat(b'-') {
                t.day = u8::try_from(c.digits(2)?).ok()?;
                t.precision = Precision::Day;
                if t.day == 0 || t.day > days_in_month(t.year, t.month) {
                    return None;
                }
            }
        }
        if c.eat(b'T') {
            t.kind = TemporalKind::DateTime;
            if c.s.get(c.i).is_some_and(u8::is_ascii_digit) {
                if t.precision != Precision::Day {
                    return None;
                }
                Self::parse_time_part(&mut c, &mut t)?;
            }
            Self::parse_tz(&mut c, &mut t)?;
        } else if !c.done() && t.precision == Precision::Day {
            // `2014-01-01Z` is not a valid date; a timezone needs a time.
            return None;
        }
        c.done().then_some(t)
    }

    /// Parses a FHIR date-time string strictly (a `T` is not needed for a partial one).
    pub fn parse_datetime(s: &str) -> Option<Self> {
        let mut t = Self::parse_date_or_datetime(s)?;
        t.kind = TemporalKind::DateTime;
        Some(t)
    }

    /// Parses a date string (no time part allowed).
    pub fn parse_date(s: &str) -> Option<Self> {
        let t = Self::parse_date_or_datetime(s)?;
        (t.kind == TemporalKind::Date).then_some(t)
    }

    /// Parses a time `hh(:mm(:ss(.fff)?)?)?`, without a leading `T`.
    pub fn parse_time(s: &str) -> Option<Self> {
        let mut c = Cursor {
            s: s.as_bytes(),
            i: 0,
        };
        let mut t = Temporal::empty(TemporalKind::Time);
        Self::parse_time_part(&mut c, &mut t)?;
        c.done().then_some(t)
    }

    fn epoch_ms(&self) -> i64 {
        let days = days_from_civil(
            i64::from(self.year),
            i64::from(self.month),
            i64::from(self.day),
        );
        ((days * 24 + i64::from(self.hour)) * 60 + i64::from(self.minute)) * 60_000
            + i64::from(self.second) * 1000
            + i64::from(self.millis)
    }

    fn set_epoch_ms(&mut self, ms: i64) {
        let days = ms.div_euclid(86_400_000);
        let rest = ms.rem_euclid(86_400_000);
        let (y, m, d) = civil_from_days(days);
        self.year = i32::try_from(y).unwrap_or(i32::MAX);
        self.month = u8::try_from(m).unwrap_or(1);
        self.day = u8::try_from(d).unwrap_or(1);
        self.hour = u8::try_from(rest / 3_600_000).unwrap_or(0);
        self.minute = u8::try_from(rest / 60_000 % 60).unwrap_or(0);
        self.second = u8::try_from(rest / 1000 % 60).unwrap_or(0);
        self.millis = u16::try_from(rest % 1000).unwrap_or(0);
    }

    /// The same instant in UTC (only meaningful when the offset is known and there is a time).
    fn to_utc(self) -> Self {
        match self.tz {
            Some(off)
                if off != 0
                    && self.precision >= Precision::Hour
                    && self.kind == TemporalKind::DateTime =>
            {
                let mut t = self;
                t.set_epoch_ms(self.epoch_ms() - i64::from(off) * 60_000);
                t.tz = Some(0);
                t
            }
            _ => self,
        }
    }

    fn components(&self) -> [(Precision, i64); 6] {
        [
            (Precision::Year, i64::from(self.year)),
            (Precision::Month, i64::from(self.month)),
            (Precision::Day, i64::from(self.day)),
            (Precision::Hour, i64::from(self.hour)),
            (Precision::Minute, i64::from(self.minute)),
            (
                Precision::Second,
                i64::from(self.second) * 1000 + i64::from(self.millis),
            ),
        ]
    }

    fn seconds_level(p: Precision) -> Precision {
        if p == Precision::Millisecond {
            Precision::Second
        } else {
            p
        }
    }

    /// FHIRPath ordering: `None` when the answer depends on components one side lacks.
    pub fn compare(&self, other: &Self) -> Option<Ordering> {
        let times = self.kind == TemporalKind::Time;
        if times != (other.kind == TemporalKind::Time) {
            return None;
        }
        let with_time =
            self.precision >= Precision::Hour && other.precision >= Precision::Hour && !times;
        let (a, b) = match (self.tz, other.tz) {
            (Some(_), Some(_)) => (self.to_utc(), other.to_utc()),
            // One offset known, the other not: the instants cannot be lined up.
            (Some(_), None) | (None, Some(_)) if with_time => return None,
            _ => (*self, *other),
        };
        let pa = Self::seconds_level(a.precision);
        let pb = Self::seconds_level(b.precision);
        for ((level, va), (_, vb)) in a.components().into_iter().zip(b.components()) {
            if times && level < Precision::Hour {
                continue;
            }
            let has_a = pa >= level;
            let has_b = pb >= level;
            match (has_a, has_b) {
                (true, true) => {
                    if va != vb {
                        return Some(va.cmp(&vb));
                    }
                }
                (false, false) => return Some(Ordering::Equal),
                _ => return None,
            }
        }
        Some(Ordering::Equal)
    }

    /// FHIRPath equivalence: different precisions are not equivalent.
    pub fn equivalent(&self, other: &Self) -> bool {
        Self::seconds_level(self.precision) == Self::seconds_level(other.precision)
            && self.compare(other) == Some(Ordering::Equal)
    }

    /// Adds `amount` of a calendar or UCUM time unit; None when the unit is not a time unit.
    pub fn add(&self, amount: i64, unit: &str) -> Option<Self> {
        let mut t = *self;
        let field = match unit {
            "year" | "years" | "a" => Precision::Year,
            "month" | "months" | "mo" => Precision::Month,
            "week" | "weeks" | "wk" => return self.add(amount.checked_mul(7)?, "day"),
            "day" | "days" | "d" => Precision::Day,
            "hour" | "hours" | "h" => Precision::Hour,
            "minute" | "minutes" | "min" => Precision::Minute,
            "second" | "seconds" | "s" => Precision::Second,
            "millisecond" | "milliseconds" | "ms" => Precision::Millisecond,
            _ => return None,
        };
        if t.kind == TemporalKind::Time && field < Precision::Hour {
            return None;
        }
        match field {
            Precision::Year => t.year = t.year.checked_add(i32::try_from(amount).ok()?)?,
            Precision::Month => {
                if t.precision < Precision::Month {
                    t.year = t.year.checked_add(i32::try_from(amount / 12).ok()?)?;
                } else {
                    let total = i64::from(t.year) * 12 + i64::from(t.month) - 1 + amount;
                    t.year = i32::try_from(total.div_euclid(12)).ok()?;
                    t.month = u8::try_from(total.rem_euclid(12) + 1).ok()?;
                }
            }
            _ => {
                let unit_ms: i64 = match field {
                    Precision::Day => 86_400_000,
                    Precision::Hour => 3_600_000,
                    Precision::Minute => 60_000,
                    Precision::Second => 1000,
                    _ => 1,
                };
                let delta = amount.checked_mul(unit_ms)?;
                if t.precision < Precision::Day {
                    // A date known to the year or month only moves by whole years or months.
                    let months = delta / (30 * 86_400_000);
                    return self.add(months, "month");
                }
                let ms = t.epoch_ms().checked_add(delta)?;
                if t.kind == TemporalKind::Time {
                    let rest = ms.rem_euclid(86_400_000);
                    t.set_epoch_ms(rest);
                    t.year = 0;
                    t.month = 1;
                    t.day = 1;
                } else {
                    t.set_epoch_ms(ms);
                }
            }
        }
        if t.day > days_in_month(t.year, t.month) {
            t.day = days_in_month(t.year, t.month);
        }
        Some(t)
    }

    /// `lowBoundary`/`highBoundary`: fills the unknown components with their least (or
    /// greatest) value, down to `digits` (4 year … 17 millisecond; time 2 … 9).
    pub fn boundary(&self, digits: Option<i64>, high: bool) -> Option<Self> {
        let mut t = *self;
        let precision = match (self.kind, digits) {
            (TemporalKind::Time, None) => Precision::Millisecond,
            (TemporalKind::Time, Some(2)) => Precision::Hour,
            (TemporalKind::Time, Some(4)) => Precision::Minute,
            (TemporalKind::Time, Some(6)) => Precision::Second,
            (TemporalKind::Time, Some(9)) => Precision::Millisecond,
            (TemporalKind::Date, None) => Precision::Day,
            (_, Some(4)) => Precision::Year,
            (_, Some(6)) => Precision::Month,
            (_, Some(8)) => Precision::Day,
            (TemporalKind::DateTime, None | Some(17)) => Precision::Millisecond,
            (TemporalKind::DateTime, Some(10)) => Precision::Hour,
            (TemporalKind::DateTime, Some(12)) => Precision::Minute,
            (TemporalKind::DateTime, Some(14)) => Precision::Second,
            _ => return None,
        };
        // An hour alone is not a FHIR time: it stands for hh:00.
        if self.precision == Precision::Hour {
            t.minute = 0;
            t.precision = Precision::Minute;
        }
        let src = t;
        if src.precision < Precision::Month {
            t.month = if high { 12 } else { 1 };
        }
        if src.precision < Precision::Day {
            t.day = if high {
                days_in_month(t.year, t.month)
            } else {
                1
            };
        }
        if src.precision < Precision::Hour {
            t.hour = if high { 23 } else { 0 };
        }
        if src.precision < Precision::Minute {
            t.minute = if high { 59 } else { 0 };
        }
        if src.precision < Precision::Second {
            t.second = if high { 59 } else { 0 };
        }
        if src.precision < Precision::Millisecond {
            t.millis = if high { 999 } else { 0 };
        }
        if t.kind == TemporalKind::DateTime && precision >= Precision::Hour && t.tz.is_none() {
            t.tz = Some(if high { -12 * 60 } else { 14 * 60 });
        }
        t.precision = precision;
        if precision < Precision::Hour && t.kind == TemporalKind::DateTime {
            t.kind = TemporalKind::Date;
            t.tz = None;
        }
        Some(t)
    }

    /// A UTC date-time to the millisecond from milliseconds since 1970-01-01T00:00:00Z (for
    /// callers that pass the current time to [`crate::Env::with_now`]).
    pub fn from_epoch_millis(ms: i64) -> Self {
        let mut t = Temporal::empty(TemporalKind::DateTime);
        t.set_epoch_ms(ms);
        t.precision = Precision::Millisecond;
        t.tz = Some(0);
        t
    }

    /// The date part (for `toDate`).
    pub fn to_date(&self) -> Self {
        let mut t = *self;
        t.kind = TemporalKind::Date;
        t.precision = t.precision.min(Precision::Day);
        t.tz = None;
        t
    }
}

impl fmt::Display for Temporal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind != TemporalKind::Time {
            write!(f, "{:04}", self.year)?;
            if self.precision >= Precision::Month {
                write!(f, "-{:02}", self.month)?;
            }
            if self.precision >= Precision::Day {
                write!(f, "-{:02}", self.day)?;
            }
            // A date-time known to the day at most prints as a date (FHIR allows that form).
            if self.kind == TemporalKind::Date || self.precision < Precision::Hour {
                return Ok(());
            }
            f.write_str("T")?;
        }
        if self.precision >= Precision::Hour {
            write!(f, "{:02}", self.hour)?;
        }
        if self.precision >= Precision::Minute {
            write!(f, ":{:02}", self.minute)?;
        }
        if self.precision >= Precision::Second {
            write!(f, ":{:02}", self.second)?;
        }
        if self.precision >= Precision::Millisecond {
            write!(f, ".{:03}", self.millis)?;
        }
        if self.kind == TemporalKind::DateTime {
            match self.tz {
                Some(0) => f.write_str("Z")?,
                Some(off) => {
                    let sign = if off < 0 { '-' } else { '+' };
                    write!(f, "{sign}{:02}:{:02}", off.abs() / 60, off.abs() % 60)?;
                }
                None => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> Temporal {
        Temporal::parse_date_or_datetime(s).expect("temporal")
    }

    #[test]
    fn precision_makes_comparisons_uncertain() {
        assert_eq!(
            dt("2012-04-15").compare(&dt("2012-04-15")),
            Some(Ordering::Equal)
        );
        assert_eq!(dt("2012-04").compare(&dt("2012-04-15")), None);
        assert_eq!(
            dt("2012-03").compare(&dt("2012-04-15")),
            Some(Ordering::Less)
        );
        assert_eq!(
            dt("2012-04-15T15:30:31").compare(&dt("2012-04-15T15:30:31.0")),
            Some(Ordering::Equal)
        );
        assert_eq!(
            dt("2017-11-05T01:30:00.0-04:00").compare(&dt("2017-11-05T00:30:00.0-05:00")),
            Some(Ordering::Equal)
        );
        assert!(!dt("2012-04").equivalent(&dt("2012-04-15")));
    }

    #[test]
    fn calendar_arithmetic_clamps_days() {
        assert_eq!(
            dt("2014-01-31").add(1, "month").map(|t| t.to_string()),
            Some("2014-02-28".into())
        );
        assert_eq!(
            dt("1973-12-25").add(7, "days").map(|t| t.to_string()),
            Some("1974-01-01".into())
        );
        assert_eq!(
            Temporal::parse_time("23:30")
                .and_then(|t| t.add(1, "hour"))
                .map(|t| t.to_string()),
            Some("00:30".into())
        );
        assert!(Temporal::parse_date_or_datetime("2014-13").is_none());
        assert!(Temporal::parse_date_or_datetime("2014-02-30").is_none());
    }
}
