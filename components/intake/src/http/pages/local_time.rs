//! Times as the reporter pages show them.

use super::texts::Texts;
use shared::time::Timestamp;

/// A time as people in the Netherlands read it: Dutch local time (CET, CEST from the
/// last Sunday of March to the last Sunday of October, changing at 01:00 UTC).
pub fn local_time(t: &Texts, at: Timestamp) -> String {
    let utc = at.unix_seconds();
    let (year, _, _) = civil_from_days(utc.div_euclid(86_400));
    let change = |month: i64| (last_sunday(year, month) * 86_400) + 3_600;
    let offset = if utc >= change(3) && utc < change(10) { 7_200 } else { 3_600 };
    let local = utc + offset;
    let (y, m, d) = civil_from_days(local.div_euclid(86_400));
    let minutes = local.rem_euclid(86_400) / 60;
    let month = t.months[(m - 1) as usize];
    format!("{d} {month} {y}, {:02}:{:02}", minutes / 60, minutes % 60)
}

/// Days since 1970-01-01 of a date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

/// The day number of the last Sunday of a 31-day month (March, October).
fn last_sunday(year: i64, month: i64) -> i64 {
    let last = days_from_civil(year, month, 31);
    // 1970-01-01 was a Thursday: (days + 4) mod 7 is 0 on Sundays.
    last - (last + 4).rem_euclid(7)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::pages::texts;

    fn at(text: &str) -> String {
        local_time(&texts::NL, Timestamp::parse(text).unwrap())
    }

    #[test]
    fn times_are_shown_in_dutch_local_time_across_the_clock_changes() {
        assert_eq!(at("2026-12-01T18:30:00Z"), "1 december 2026, 19:30");
        assert_eq!(at("2026-07-01T18:30:00Z"), "1 juli 2026, 20:30");
        // Summer time 2026: 29 March 01:00 UTC to 25 October 01:00 UTC.
        assert_eq!(at("2026-03-29T00:59:00Z"), "29 maart 2026, 01:59");
        assert_eq!(at("2026-03-29T01:00:00Z"), "29 maart 2026, 03:00");
        assert_eq!(at("2026-10-25T00:59:00Z"), "25 oktober 2026, 02:59");
        assert_eq!(at("2026-10-25T01:00:00Z"), "25 oktober 2026, 02:00");
        assert_eq!(at("2026-12-31T23:30:00Z"), "1 januari 2027, 00:30");
    }
}
