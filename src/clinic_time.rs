//! Clinic time: the clinic's IANA time zone (`time_zone` in the settings)
//! and what is judged by it — "today" for a date of birth now, local
//! appointment times later. The zone's rules come from `jiff`: the
//! system's zoneinfo, or on Windows the IANA database built into the binary.

use std::sync::RwLock;

use jiff::civil::DateTime;
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
    fn today_is_the_date_where_the_clinic_is() {
        let kiritimati = zone("Pacific/Kiritimati").expect("UTC+14");
        let niue = zone("Pacific/Niue").expect("UTC-11");
        let (ahead, behind) = (today_in(&kiritimati), today_in(&niue));
        assert!(ahead > behind, "25 hours apart: never the same date");
    }
}
