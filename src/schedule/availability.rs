//! When a doctor can be booked: weekly wall-clock blocks, less time off,
//! as instants on real days in the clinic's zone. Pure functions, so the
//! DST and edge rules are tested without a server.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::clinic_time;

/// One weekly block: ISO weekday (Monday = 1) and local `HH:MM` times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeeklyBlock {
    pub weekday: i8,
    pub start: (i8, i8),
    pub end: (i8, i8),
}

/// A stretch of time, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Span {
    /// Whether the two share any time (touching end to start does not).
    pub fn overlaps(&self, other: &Span) -> bool {
        self.start < other.end && other.start < self.end
    }

    pub fn contains(&self, other: &Span) -> bool {
        self.start <= other.start && other.end <= self.end
    }
}

/// The open stretches of `date` from `blocks`, in the clinic's zone.
pub fn open_on(date: Date, blocks: &[WeeklyBlock], zone: &TimeZone) -> Vec<Span> {
    let weekday = date.weekday().to_monday_one_offset();
    blocks
        .iter()
        .filter(|block| block.weekday == weekday)
        .filter_map(|block| {
            let start = clinic_time::at_wall_clock(date, block.start.0, block.start.1, zone)?;
            let end = clinic_time::at_wall_clock(date, block.end.0, block.end.1, zone)?;
            (start < end).then_some(Span { start, end })
        })
        .collect()
}

/// Why a time cannot be booked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// The doctor has no weekly hours at all.
    NoHours,
    /// Not inside one of the day's blocks.
    OutsideHours,
    /// Inside a time off.
    TimeOff,
}

/// Whether `wanted` lies inside one block of its day and clear of time off.
pub fn check(
    wanted: Span,
    blocks: &[WeeklyBlock],
    time_off: &[Span],
    zone: &TimeZone,
) -> Result<(), Closed> {
    if blocks.is_empty() {
        return Err(Closed::NoHours);
    }
    let day = clinic_time::local_date(wanted.start, zone);
    if !open_on(day, blocks, zone)
        .iter()
        .any(|open| open.contains(&wanted))
    {
        return Err(Closed::OutsideHours);
    }
    if time_off.iter().any(|off| off.overlaps(&wanted)) {
        return Err(Closed::TimeOff);
    }
    Ok(())
}

/// Free starts of `length` on `days` consecutive dates from `first`:
/// stepping by `length` from the start of each block, skipping those that
/// overlap anything `busy` (time off, bookings), and those before `now`.
pub fn free_slots(
    first: Date,
    days: i64,
    length: SignedDuration,
    blocks: &[WeeklyBlock],
    busy: &[Span],
    now: Timestamp,
    zone: &TimeZone,
) -> Vec<Span> {
    let mut slots = Vec::new();
    for offset in 0..days {
        let Ok(date) = first.checked_add(jiff::Span::new().days(offset)) else {
            break;
        };
        let mut open = open_on(date, blocks, zone);
        open.sort_by_key(|span| span.start);
        for block in open {
            let mut start = block.start;
            while let Ok(end) = start.checked_add(length) {
                if end > block.end {
                    break;
                }
                let slot = Span { start, end };
                let taken = busy.iter().any(|busy| busy.overlaps(&slot));
                if start >= now && !taken {
                    slots.push(slot);
                }
                start = end;
            }
        }
    }
    slots
}

#[cfg(test)]
mod tests {
    use super::*;

    fn berlin() -> TimeZone {
        clinic_time::zone("Europe/Berlin").expect("zone")
    }

    fn at(text: &str) -> Timestamp {
        clinic_time::parse_instant(text, &berlin()).expect("time")
    }

    fn span(start: &str, end: &str) -> Span {
        Span {
            start: at(start),
            end: at(end),
        }
    }

    fn monday_mornings() -> Vec<WeeklyBlock> {
        vec![
            WeeklyBlock {
                weekday: 1,
                start: (9, 0),
                end: (10, 0),
            },
            WeeklyBlock {
                weekday: 1,
                start: (11, 0),
                end: (12, 0),
            },
        ]
    }

    #[test]
    fn a_booking_must_sit_inside_one_block_and_clear_of_time_off() {
        let zone = berlin();
        let blocks = monday_mornings();
        let inside = span("2027-03-29T09:00", "2027-03-29T09:20");
        assert_eq!(check(inside, &blocks, &[], &zone), Ok(()));
        let across_the_break = span("2027-03-29T09:50", "2027-03-29T11:10");
        assert_eq!(
            check(across_the_break, &blocks, &[], &zone),
            Err(Closed::OutsideHours)
        );
        let tuesday = span("2027-03-30T09:00", "2027-03-30T09:20");
        assert_eq!(
            check(tuesday, &blocks, &[], &zone),
            Err(Closed::OutsideHours)
        );
        let off = [span("2027-03-29T09:10", "2027-03-29T09:30")];
        assert_eq!(check(inside, &blocks, &off, &zone), Err(Closed::TimeOff));
        assert_eq!(check(inside, &[], &[], &zone), Err(Closed::NoHours));
    }

    #[test]
    fn slots_step_by_the_length_and_skip_breaks_bookings_time_off_and_the_past() {
        let zone = berlin();
        let monday: Date = "2027-03-29".parse().expect("date");
        let booked = [span("2027-03-29T09:20", "2027-03-29T09:40")];
        let off = [span("2027-03-29T11:20", "2027-03-29T12:00")];
        let now = at("2027-03-29T09:05");
        let slots = free_slots(
            monday,
            1,
            SignedDuration::from_mins(20),
            &monday_mornings(),
            &[off, booked].concat(),
            now,
            &zone,
        );
        let starts: Vec<String> = slots
            .iter()
            .map(|s| clinic_time::answered(s.start, &zone))
            .collect();
        assert_eq!(
            starts,
            ["2027-03-29T09:40:00+02:00", "2027-03-29T11:00:00+02:00"],
            "09:00 is past, 09:20 booked, 11:20 and 11:40 off"
        );
    }

    #[test]
    fn a_weekly_nine_oclock_stays_nine_oclock_across_the_spring_change() {
        let zone = berlin();
        let before: Date = "2027-03-22".parse().expect("date");
        let blocks = monday_mornings();
        let slots = free_slots(
            before,
            8,
            SignedDuration::from_mins(60),
            &blocks,
            &[],
            Timestamp::UNIX_EPOCH,
            &zone,
        );
        let answered: Vec<String> = slots
            .iter()
            .map(|s| clinic_time::answered(s.start, &zone))
            .collect();
        assert_eq!(
            answered,
            [
                "2027-03-22T09:00:00+01:00",
                "2027-03-22T11:00:00+01:00",
                "2027-03-29T09:00:00+02:00",
                "2027-03-29T11:00:00+02:00",
            ]
        );
    }
}
