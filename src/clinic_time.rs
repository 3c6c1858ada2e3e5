//! Clinic time: the clinic's IANA time zone (`time_zone` in the settings)
//! and what is judged by it — "today" for a date of birth now, local
//! appointment times later. The zone's rules come from `jiff`: the
//! system's zoneinfo, or on Windows the IANA database built into the binary.

use std::sync::RwLock;

use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{Timestamp, ZonedDateTime};

/// The zone a new database starts with: this machine's, by its IANA name,
/// else `UTC` (a machine set to a bare offset has no name to store).
pub fn system_zone_name() -> String {
    TimeZone::try_system()
        .ok()
        .and_then(|zone| zone.iana_name().map(str::to_owned))
        .filter(|name| zone(name).is_some())
        .unwrap_or_else(|| "UTC".to_owned())
}

/// The zone of an IANA name (`Europe/Berlin`), if there is one.
pub fn zone(name: &str) -> Option<TimeZone> {
    // A name is letters, digits and `/_+-`; anything else (a path) is refused
    // before the database is asked.
    let plausible = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('/')
        && !name.contains("..")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '+' | '-'));
    plausible.then(|| TimeZone::get(name).ok()).flatten()
}

/// The clinic's zone in a running server; managed by Rocket, set at start
/// from the settings and whenever an admin changes them.
#[derive(Debug)]
pub struct ClinicZone(RwLock<TimeZone>);

impl ClinicZone {
    /// The zone named `name`, or UTC if it has none.
    pub fn new(name: &str) -> Self {
        Self(RwLock::new(zone(name).unwrap_or(TimeZone::UTC)))
    }

    pub fn set(&self, zone: TimeZone) {
        if let Ok(mut current) = self.0.write() {
            *current = zone;
        }
    }

    pub fn get(&self) -> TimeZone {
        self.0.read().map_or(TimeZone::UTC, |zone| zone.clone())
    }

    /// Today's date where the clinic is.
    pub fn today(&self) -> time::Date {
        today_in(&self.get())
    }
}

/// Today's date in `zone`.
pub fn today_in(zone: &TimeZone) -> time::Date {
    civil_date(&ZonedDateTime::new(Timestamp::now(), zone.clone()))
}

fn civil_date(zoned: &ZonedDateTime) -> time::Date {
    let date = zoned.date();
    time::Month::try_from(u8::try_from(date.month()).unwrap_or(1))
        .ok()
        .and_then(|month| {
            time::Date::from_calendar_date(
                i32::from(date.year()),
                month,
                u8::try_from(date.day()).unwrap_or(1),
            )
            .ok()
        })
        .unwrap_or(time::Date::MIN)
}

/// Why a local time cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalTimeError {
    /// Not `YYYY-MM-DDTHH:MM[:SS]`.
    Malformed,
    /// The clocks skipped it (the hour lost when DST begins).
    Skipped,
}

/// A wall-clock time in `zone` as an instant. One the clocks skipped is an
/// error; one they showed twice (when DST ends) is the earlier.
pub fn parse_local(text: &str, zone: &TimeZone) -> Result<Timestamp, LocalTimeError> {
    let local: DateTime = text.trim().parse().map_err(|_| LocalTimeError::Malformed)?;
    let ambiguous = zone.to_ambiguous_zoned_datetime(local);
    if matches!(ambiguous.offset(), AmbiguousOffset::Gap { .. }) {
        return Err(LocalTimeError::Skipped);
    }
    ambiguous
        .earlier()
        .map(|zoned| zoned.timestamp())
        .map_err(|_| LocalTimeError::Skipped)
}

/// A time a client sent: with an offset or `Z` it is taken as given;
/// without one (`2027-03-29T09:00`) it is wall-clock time in `zone`.
pub fn parse_instant(text: &str, zone: &TimeZone) -> Result<Timestamp, LocalTimeError> {
    let text = text.trim();
    match text.parse::<Timestamp>() {
        Ok(at) => Ok(at),
        Err(_) => parse_local(text, zone),
    }
}

/// An instant as the database keeps it: UTC, RFC 3339, to the second
/// (fixed width, so stored times compare as text).
pub fn stored(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A stored instant read back; `None` only for a row written by hand.
pub fn from_stored(text: &str) -> Option<Timestamp> {
    text.parse().ok()
}

/// An instant as the API answers it: the wall-clock time in `zone`, with
/// that moment's offset (`2027-03-29T09:00:00+02:00`).
pub fn answered(at: Timestamp, zone: &TimeZone) -> String {
    ZonedDateTime::new(at, zone.clone())
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// An instant as part of a file name: the wall-clock time in `zone` to the
/// millisecond, with that moment's offset and no `:` (which Windows refuses
/// in a name): `2026-12-02_020000.123+0100`.
pub fn file_stamp(at: Timestamp, zone: &TimeZone) -> String {
    ZonedDateTime::new(at, zone.clone())
        .strftime("%Y-%m-%d_%H%M%S%.3f%z")
        .to_string()
}

/// The stored text of an instant, answered in `zone`; the text as it is if
/// it cannot be read.
pub fn answered_stored(text: &str, zone: &TimeZone) -> String {
    from_stored(text).map_or_else(|| text.to_owned(), |at| answered(at, zone))
}

/// The date of `at` in `zone`.
pub fn local_date(at: Timestamp, zone: &TimeZone) -> Date {
    ZonedDateTime::new(at, zone.clone()).date()
}

/// A `time` date as a `jiff` one (the rest of the code base uses `time`).
pub fn jiff_date(date: time::Date) -> Option<Date> {
    Date::new(
        i16::try_from(date.year()).ok()?,
        i8::try_from(u8::from(date.month())).ok()?,
        i8::try_from(date.day()).ok()?,
    )
    .ok()
}

/// Today's date in `zone`, as a calendar date.
pub fn local_today(zone: &TimeZone) -> Date {
    local_date(Timestamp::now(), zone)
}

/// The first instant of `date` in `zone` (usually midnight; the first
/// minute that exists where a DST change skips midnight).
pub fn day_start(date: Date, zone: &TimeZone) -> Option<Timestamp> {
    date.to_zoned_datetime(zone.clone())
        .ok()
        .map(|zoned| zoned.timestamp())
}

/// `date` at the wall-clock `hour:minute` in `zone`. A time the clocks
/// skipped is read as the same wall time after the change and a repeated
/// one as the earlier (the "compatible" reading), so a weekly block that
/// touches a DST change still has a start and an end.
pub fn at_wall_clock(date: Date, hour: i8, minute: i8, zone: &TimeZone) -> Option<Timestamp> {
    let local = date.at(hour, minute, 0, 0);
    zone.to_ambiguous_zoned_datetime(local)
        .compatible()
        .ok()
        .map(|zoned| zoned.timestamp())
}

/// Now, to the whole minute (appointments start on a minute).
pub fn this_minute() -> Timestamp {
    let now = Timestamp::now().as_second();
    Timestamp::from_second(now - now.rem_euclid(60)).unwrap_or(Timestamp::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_iana_zones_and_nothing_else() {
        assert!(zone("Europe/Berlin").is_some());
        assert!(zone("Asia/Kolkata").is_some());
        assert!(zone("UTC").is_some());
        for bad in [
            "",
            "Mars/Olympus",
            "../etc/passwd",
            "/etc/localtime",
            "Europe/Berlin\n",
        ] {
            assert!(zone(bad).is_none(), "{bad:?}");
        }
        assert!(zone(&system_zone_name()).is_some());
    }

    #[test]
    fn a_skipped_local_time_is_refused_and_a_repeated_one_is_the_earlier() {
        let berlin = zone("Europe/Berlin").expect("zone");
        // 2027-03-28 02:30 does not exist in Berlin; 2027-10-31 02:30 happens twice.
        assert_eq!(
            parse_local("2027-03-28T02:30", &berlin),
            Err(LocalTimeError::Skipped)
        );
        let repeated = parse_local("2027-10-31T02:30", &berlin).expect("exists");
        assert_eq!(
            repeated.to_string(),
            "2027-10-31T00:30:00Z",
            "+02:00, the earlier"
        );
        let plain = parse_local("2027-03-29T09:00", &berlin).expect("exists");
        assert_eq!(plain.to_string(), "2027-03-29T07:00:00Z");
        assert_eq!(
            parse_local("tomorrow", &berlin),
            Err(LocalTimeError::Malformed)
        );
    }

    #[test]
    fn file_stamps_are_the_clinics_clock_and_tell_a_repeated_hour_apart() {
        let berlin = zone("Europe/Berlin").expect("zone");
        let at = |text: &str| text.parse::<Timestamp>().expect("instant");
        assert_eq!(
            file_stamp(at("2026-12-02T01:00:00.042Z"), &berlin),
            "2026-12-02_020000.042+0100"
        );
        // 02:30 happens twice on 2027-10-31: the offset tells which.
        assert_eq!(
            file_stamp(at("2027-10-31T00:30:00Z"), &berlin),
            "2027-10-31_023000.000+0200"
        );
        assert_eq!(
            file_stamp(at("2027-10-31T01:30:00Z"), &berlin),
            "2027-10-31_023000.000+0100"
        );
        assert_eq!(
            file_stamp(at("2026-12-02T01:00:00Z"), &TimeZone::UTC),
            "2026-12-02_010000.000+0000"
        );
    }

    #[test]
    fn today_is_the_date_where_the_clinic_is() {
        let kiritimati = zone("Pacific/Kiritimati").expect("UTC+14");
        let niue = zone("Pacific/Niue").expect("UTC-11");
        let (ahead, behind) = (today_in(&kiritimati), today_in(&niue));
        assert!(ahead > behind, "25 hours apart: never the same date");
    }

    #[test]
    fn answers_carry_the_offset_of_their_moment_and_weekly_times_stay_on_the_wall_clock() {
        let berlin = zone("Europe/Berlin").expect("zone");
        let before: Date = "2027-03-22".parse().expect("date");
        let after: Date = "2027-03-29".parse().expect("date");
        let nine_before = at_wall_clock(before, 9, 0, &berlin).expect("exists");
        let nine_after = at_wall_clock(after, 9, 0, &berlin).expect("exists");
        assert_eq!(answered(nine_before, &berlin), "2027-03-22T09:00:00+01:00");
        assert_eq!(answered(nine_after, &berlin), "2027-03-29T09:00:00+02:00");
        assert_eq!(stored(nine_after), "2027-03-29T07:00:00Z");
        assert_eq!(from_stored(&stored(nine_after)), Some(nine_after));
        // The skipped 02:30 of 28 March reads as 03:30 for a weekly block.
        let skipped = at_wall_clock("2027-03-28".parse().expect("date"), 2, 30, &berlin);
        assert_eq!(
            answered(skipped.expect("compatible"), &berlin),
            "2027-03-28T03:30:00+02:00"
        );
    }

    #[test]
    fn a_sent_time_with_an_offset_is_as_given_and_one_without_is_clinic_time() {
        let kolkata = zone("Asia/Kolkata").expect("zone");
        let given = parse_instant("2027-03-29T09:00:00Z", &kolkata).expect("valid");
        assert_eq!(stored(given), "2027-03-29T09:00:00Z");
        let local = parse_instant("2027-03-29T09:00", &kolkata).expect("valid");
        assert_eq!(stored(local), "2027-03-29T03:30:00Z");
        assert_eq!(
            parse_instant("soon", &kolkata),
            Err(LocalTimeError::Malformed)
        );
        let midnight = day_start("2027-03-29".parse().expect("date"), &kolkata).expect("exists");
        assert_eq!(stored(midnight), "2027-03-28T18:30:00Z");
    }
}
