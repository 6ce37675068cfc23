//! Timestamps in HL7 TS form, in Europe/Paris local time, computed without a clock.

/// A point in time, kept as seconds since 1970-01-01 UTC and written in Paris local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    unix: i64,
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
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

/// Day count of the last Sunday of a month.
fn last_sunday(y: i64, m: u32) -> i64 {
    let first_next = if m == 12 {
        days_from_civil(y + 1, 1, 1)
    } else {
        days_from_civil(y, m + 1, 1)
    };
    let last = first_next - 1;
    // 1970-01-01 was a Thursday: weekday 0 = Sunday.
    let weekday = (last + 4).rem_euclid(7);
    last - weekday
}

impl Timestamp {
    /// From seconds since the Unix epoch.
    pub fn from_unix(unix: i64) -> Self {
        Self { unix }
    }

    /// From a Paris local wall-clock time (in the hour skipped in spring, the UTC+1 reading).
    pub fn paris(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Self {
        let local = days_from_civil(y, mo, d) * 86_400 + (h * 3600 + mi * 60 + s) as i64;
        let guess = Self { unix: local - 3600 };
        let off = guess.paris_offset_secs();
        Self { unix: local - off }
    }

    /// Seconds since the Unix epoch.
    pub fn unix(self) -> i64 {
        self.unix
    }

    /// This time plus `secs` seconds.
    pub fn plus_secs(self, secs: i64) -> Self {
        Self {
            unix: self.unix + secs,
        }
    }

    /// Europe/Paris offset from UTC at this instant: +1 h, or +2 h in summer time
    /// (from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of October).
    pub fn paris_offset_secs(self) -> i64 {
        let (y, _, _) = civil_from_days(self.unix.div_euclid(86_400));
        let start = last_sunday(y, 3) * 86_400 + 3600;
        let end = last_sunday(y, 10) * 86_400 + 3600;
        if self.unix >= start && self.unix < end {
            7200
        } else {
            3600
        }
    }

    /// `YYYYMMDDhhmmss+hhmm` in Paris local time.
    pub fn to_hl7(self) -> String {
        let off = self.paris_offset_secs();
        let local = self.unix + off;
        let (y, m, d) = civil_from_days(local.div_euclid(86_400));
        let sod = local.rem_euclid(86_400);
        format!(
            "{y:04}{m:02}{d:02}{:02}{:02}{:02}+{:02}00",
            sod / 3600,
            sod % 3600 / 60,
            sod % 60,
            off / 3600
        )
    }

    /// `YYYYMMDDhhmmss` in UTC, the XDS DTM form.
    pub fn to_xds_utc(self) -> String {
        let (y, m, d) = civil_from_days(self.unix.div_euclid(86_400));
        let sod = self.unix.rem_euclid(86_400);
        format!(
            "{y:04}{m:02}{d:02}{:02}{:02}{:02}",
            sod / 3600,
            sod % 3600 / 60,
            sod % 60
        )
    }

    /// `D Month YYYY à HHhMM` in French, for narrative text.
    pub fn to_french(self) -> String {
        const MONTHS: [&str; 12] = [
            "janvier",
            "février",
            "mars",
            "avril",
            "mai",
            "juin",
            "juillet",
            "août",
            "septembre",
            "octobre",
            "novembre",
            "décembre",
        ];
        let local = self.unix + self.paris_offset_secs();
        let (y, m, d) = civil_from_days(local.div_euclid(86_400));
        let sod = local.rem_euclid(86_400);
        format!(
            "{d} {} {y} à {:02}h{:02}",
            MONTHS[(m - 1) as usize],
            sod / 3600,
            sod % 3600 / 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn winter_and_summer_offsets() {
        assert_eq!(
            Timestamp::paris(2020, 3, 27, 15, 35, 0).to_hl7(),
            "20200327153500+0100"
        );
        assert_eq!(
            Timestamp::paris(2020, 7, 14, 9, 5, 7).to_hl7(),
            "20200714090507+0200"
        );
        // 2025: summer time from 30 March 01:00 UTC to 26 October 01:00 UTC.
        assert_eq!(
            Timestamp::paris(2025, 3, 30, 3, 30, 0).to_hl7(),
            "20250330033000+0200"
        );
        assert_eq!(
            Timestamp::paris(2025, 10, 26, 4, 0, 0).to_hl7(),
            "20251026040000+0100"
        );
    }

    #[test]
    fn epoch_round_trip() {
        assert_eq!(Timestamp::from_unix(0).to_xds_utc(), "19700101000000");
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
        assert_eq!(
            Timestamp::paris(2021, 1, 4, 16, 5, 27).to_french(),
            "4 janvier 2021 à 16h05"
        );
    }
}
