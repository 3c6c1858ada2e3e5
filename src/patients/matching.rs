//! Are two patient records the same person? Pure functions: the blocking
//! keys a record is indexed under, and the score of a pair with its reasons
//! in words. The weights, and why, are in the README ("Duplicate patients").
//!
//! Names are compared after transliteration to plain lower-case letters
//! (`Jürgen` → `jurgen`, `Дмитрий` → `dmitrii`), with hyphens, apostrophes
//! and spaces joined (`Al-Hassan` and `Alhassan` are one name), and by sound
//! with Double Metaphone, whose alternate code covers other origins of a
//! spelling (`Schmidt` and `Smith` both have `XMT`/`SMT`).

use std::collections::BTreeSet;

use rphonetic::DoubleMetaphone;
use serde::Serialize;

/// The lowest score the threshold setting allows, and so the lowest score
/// worth storing for the clinic-wide list.
pub const LOWEST_THRESHOLD: i64 = 30;
/// The threshold a clinic starts with.
pub const DEFAULT_THRESHOLD: i64 = 60;

/// Jaro-Winkler similarity from which two spellings count as "almost the same".
const ALMOST_THE_SAME: f64 = 0.92;

/// One record as matching sees it.
#[derive(Debug, Clone, Default)]
pub struct Person {
    first: Name,
    last: Name,
    /// `(year, month, day)`.
    birth: Option<(i32, u8, u8)>,
    /// Digits only, when there are at least 7.
    phone: Option<String>,
    email: Option<String>,
    /// `M` or `F`; other values never count against a match.
    gender: Option<char>,
}

/// A name, normalised, with its parts and their sounds.
#[derive(Debug, Clone, Default)]
struct Name {
    /// All parts joined: `garcialopez`.
    joined: String,
    /// The parts of three letters or more: `garcia`, `lopez`.
    parts: Vec<String>,
    /// Double Metaphone codes of the joined name.
    sounds: BTreeSet<String>,
    /// Double Metaphone codes of each part (and of the joined name).
    part_sounds: BTreeSet<String>,
}

impl Name {
    fn of(text: Option<&str>) -> Self {
        let Some(text) = text else {
            return Self::default();
        };
        let ascii = deunicode::deunicode(text).to_lowercase();
        let parts: Vec<String> = ascii
            .split(|c: char| !c.is_ascii_alphabetic() && c != '\'')
            .map(|part| part.replace('\'', ""))
            .filter(|part| !part.is_empty())
            .collect();
        let joined: String = parts.concat();
        if joined.is_empty() {
            return Self::default();
        }
        let sounds = sounds_of(&joined);
        let mut part_sounds = sounds.clone();
        let parts: Vec<String> = parts.into_iter().filter(|p| p.len() >= 3).collect();
        for part in &parts {
            part_sounds.extend(sounds_of(part));
        }
        Self {
            joined,
            parts,
            sounds,
            part_sounds,
        }
    }

    fn is_known(&self) -> bool {
        !self.joined.is_empty()
    }
}

fn sounds_of(word: &str) -> BTreeSet<String> {
    let codes = DoubleMetaphone::default().double_metaphone(word);
    [codes.primary(), codes.alternate()]
        .into_iter()
        .filter(|code| !code.is_empty())
        .collect()
}

impl Person {
    /// A record from its stored (or typed) fields; anything malformed is
    /// simply not used.
    pub fn new(
        first_name: Option<&str>,
        last_name: Option<&str>,
        date_of_birth: Option<&str>,
        phone: Option<&str>,
        email: Option<&str>,
        gender: Option<&str>,
    ) -> Self {
        let birth = date_of_birth
            .and_then(crate::validation::parse_date)
            .map(|d| (d.year(), u8::from(d.month()), d.day()));
        let phone = phone
            .map(|p| p.chars().filter(char::is_ascii_digit).collect::<String>())
            .filter(|digits| digits.len() >= 7);
        let email = email
            .map(|e| e.trim().to_lowercase())
            .filter(|e| !e.is_empty());
        let gender = gender
            .and_then(|g| g.trim().chars().next())
            .map(|g| g.to_ascii_uppercase())
            .filter(|g| matches!(g, 'M' | 'F'));
        Self {
            first: Name::of(first_name),
            last: Name::of(last_name),
            birth,
            phone,
            email,
            gender,
        }
    }

    /// A stored or typed record.
    pub fn of(record: &super::PatientFields) -> Self {
        Self::new(
            Some(&record.first_name),
            record.last_name.as_deref(),
            record.date_of_birth.as_deref(),
            record.phone.as_deref(),
            record.email.as_deref(),
            record.gender.as_deref(),
        )
    }

    /// The keys this record is indexed under (stored as `match_keys`).
    pub fn keys(&self) -> Vec<String> {
        self.keys_with(self.birth.into_iter().map(date_key).collect(), true)
    }

    /// The keys to look a record up by: its own, plus those of its date of
    /// birth with day and month swapped, so such a pair shares a key.
    ///
    /// A record with a birth date is not looked up by its names alone (the
    /// `lf:` key, one group per common name, hundreds of records in a large
    /// clinic): a sound-alike name reaches the threshold only with the same
    /// (or swapped) birth date, the phone or the email, which have keys of
    /// their own. Without a birth date the names are all there is to go on.
    pub fn lookup_keys(&self) -> Vec<String> {
        let mut dates: Vec<String> = self.birth.into_iter().map(date_key).collect();
        if let Some(swapped) = self.birth.and_then(swapped) {
            dates.push(date_key(swapped));
        }
        self.keys_with(dates, self.birth.is_none())
    }

    fn keys_with(&self, dates: Vec<String>, by_names: bool) -> Vec<String> {
        let mut keys = BTreeSet::new();
        for last in &self.last.part_sounds {
            for date in &dates {
                keys.insert(format!("ld:{last}:{date}"));
            }
            if by_names {
                for first in &self.first.sounds {
                    keys.insert(format!("lf:{last}:{first}"));
                }
            }
        }
        for first in &self.first.sounds {
            for date in &dates {
                keys.insert(format!("fd:{first}:{date}"));
            }
        }
        if let Some(phone) = &self.phone {
            keys.insert(format!("p:{}", &phone[phone.len() - 7..]));
        }
        if let Some(email) = &self.email {
            keys.insert(format!("e:{email}"));
        }
        keys.into_iter().collect()
    }

    /// How alike the two records are, 0–100, and why.
    pub fn compare(&self, other: &Self) -> Match {
        let mut m = Match::default();
        compare_last(&self.last, &other.last, &mut m);
        compare_first(&self.first, &other.first, &mut m);
        if let (Some(a), Some(b)) = (self.birth, other.birth) {
            if a == b {
                m.add(35, "same date of birth");
            } else if swapped(a) == Some(b) {
                m.add(25, "date of birth with day and month swapped");
            } else {
                m.add(-25, "different date of birth");
            }
        }
        if let (Some(a), Some(b)) = (&self.phone, &other.phone) {
            let tail = a.len().min(b.len()).min(9);
            if a == b {
                m.add(25, "same phone");
            } else if a[a.len() - tail..] == b[b.len() - tail..] {
                m.add(20, "same phone number without its area or country code");
            }
        }
        if let (Some(a), Some(b)) = (&self.email, &other.email) {
            if a == b {
                m.add(25, "same email");
            }
        }
        if let (Some(a), Some(b)) = (self.gender, other.gender) {
            if a != b {
                m.add(-25, "different gender");
            }
        }
        m.score = m.score.clamp(0, 100);
        m
    }
}

fn compare_last(a: &Name, b: &Name, m: &mut Match) {
    if !a.is_known() || !b.is_known() {
        return;
    }
    if a.joined == b.joined {
        m.add(25, "same last name");
    } else if !a.sounds.is_disjoint(&b.sounds) {
        m.add(20, "last name sounds alike");
    } else if strsim::jaro_winkler(&a.joined, &b.joined) >= ALMOST_THE_SAME {
        m.add(20, "last name spelt almost the same");
    } else if a.parts.iter().any(|p| b.parts.contains(p))
        || (a.parts.len() + b.parts.len() > 2 && !a.part_sounds.is_disjoint(&b.part_sounds))
    {
        m.add(15, "last names share a part");
    } else {
        m.add(-10, "different last name");
    }
}

fn compare_first(a: &Name, b: &Name, m: &mut Match) {
    if !a.is_known() || !b.is_known() {
        return;
    }
    if a.joined == b.joined {
        m.add(20, "same first name");
    } else if !a.sounds.is_disjoint(&b.sounds) {
        m.add(15, "first name sounds alike");
    } else if strsim::jaro_winkler(&a.joined, &b.joined) >= ALMOST_THE_SAME {
        m.add(15, "first name spelt almost the same");
    } else {
        // Twins share a last name, a birth date and often a phone: a first
        // name that is plainly different weighs heavily against a match.
        m.add(-30, "different first name");
    }
}

fn date_key((year, month, day): (i32, u8, u8)) -> String {
    format!("{year:04}-{month:02}-{day:02}")
}

/// The date with day and month swapped, when that is a different valid date.
fn swapped((year, month, day): (i32, u8, u8)) -> Option<(i32, u8, u8)> {
    (day != month && day <= 12).then_some((year, day, month))
}

/// A pair's score and its reasons, in the order they were found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Match {
    pub score: i64,
    pub reasons: Vec<String>,
}

impl Match {
    fn add(&mut self, points: i64, reason: &str) {
        self.score += points;
        self.reasons.push(reason.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `first last`, date of birth, phone, email, gender.
    type Record = (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    );

    fn person((name, birth, phone, email, gender): Record) -> Person {
        let (first, last) = name.split_once(' ').unwrap_or((name, ""));
        let blank = |s: &'static str| (!s.is_empty()).then_some(s);
        Person::new(
            blank(first),
            blank(last),
            blank(birth),
            blank(phone),
            blank(email),
            blank(gender),
        )
    }

    /// The same person, typed twice.
    const SAME: &[(Record, Record)] = &[
        (
            ("Katharina Schmidt", "1984-07-12", "", "", "F"),
            ("Katarina Schmitt", "1984-07-12", "", "", "F"),
        ),
        // Transliterations: diacritics, another script, Arabic names in Latin letters.
        (
            ("Jürgen Müller", "1971-02-03", "", "", ""),
            ("Juergen Mueller", "1971-02-03", "", "", ""),
        ),
        (
            ("Дмитрий Иванов", "1990-10-30", "", "", "M"),
            ("Dmitriy Ivanov", "1990-10-30", "", "", "M"),
        ),
        (
            ("Mohammed Al-Hassan", "1988-01-15", "", "", ""),
            ("Muhammad Alhassan", "1988-01-15", "", "", ""),
        ),
        // Day and month swapped.
        (
            ("Anna Kowalski", "1990-03-04", "", "", ""),
            ("Anna Kowalski", "1990-04-03", "", "", ""),
        ),
        // A hyphenated surname, given in full once.
        (
            ("Maria Garcia-Lopez", "1975-05-20", "", "", ""),
            ("Maria Garcia", "1975-05-20", "", "", ""),
        ),
        // No birth date; the phone with and without its country code.
        (
            ("Jon Smith", "", "+1 555 123 4567", "", ""),
            ("John Smith", "", "(555) 123-4567", "", ""),
        ),
        // A birth date on one record only: found through the phone.
        (
            ("Jon Smith", "1980-01-01", "+1 555 123 4567", "", ""),
            ("John Smith", "", "(555) 123-4567", "", ""),
        ),
        (
            ("Siobhan O'Brien", "", "", "siobhan@example.org", ""),
            ("Siobhan OBrien", "", "", "Siobhan@Example.org", ""),
        ),
    ];

    /// Two people.
    const DIFFERENT: &[(Record, Record)] = &[
        (
            ("John Smith", "1980-01-01", "", "", ""),
            ("Jane Doe", "1980-01-01", "", "", ""),
        ),
        // Twins: one last name, one birth date, the parents' phone.
        (
            ("Anna Schmidt", "2015-06-01", "0301234567", "", "F"),
            ("Lena Schmidt", "2015-06-01", "0301234567", "", "F"),
        ),
        // Father and son.
        (
            ("Maria Garcia", "1990-01-01", "", "", ""),
            ("Maria Garcia", "1955-06-30", "", "", ""),
        ),
        (
            ("Alex Morgan", "1992-09-09", "", "", "M"),
            ("Alex Morgan", "1992-09-09", "", "", "F"),
        ),
        (
            ("Peter Brown", "", "", "", ""),
            ("Peter Brown", "", "", "", ""),
        ),
    ];

    #[test]
    fn the_same_person_typed_twice_scores_at_least_the_default_threshold_and_shares_a_key() {
        for (a, b) in SAME {
            let (a, b) = (person(*a), person(*b));
            let found = a.compare(&b);
            assert!(found.score >= DEFAULT_THRESHOLD, "{a:?} / {b:?}: {found:?}");
            assert_eq!(found, b.compare(&a), "symmetric");
            let stored = b.keys();
            assert!(
                a.lookup_keys().iter().any(|k| stored.contains(k)),
                "{a:?} / {b:?} share no blocking key"
            );
        }
    }

    #[test]
    fn two_people_score_under_the_default_threshold() {
        for (a, b) in DIFFERENT {
            let (a, b) = (person(*a), person(*b));
            let found = a.compare(&b);
            assert!(found.score < DEFAULT_THRESHOLD, "{a:?} / {b:?}: {found:?}");
        }
    }

    #[test]
    fn reasons_say_in_words_what_matched() {
        let found = person(("Katharina Schmidt", "1984-07-12", "", "", "")).compare(&person((
            "Katarina Schmitt",
            "1984-07-12",
            "",
            "",
            "",
        )));
        assert_eq!(
            found.reasons,
            [
                "last name sounds alike",
                "first name sounds alike",
                "same date of birth"
            ]
        );
        let swapped = person(("Anna Kowalski", "1990-03-04", "", "", "")).compare(&person((
            "Anna Kowalski",
            "1990-04-03",
            "",
            "",
            "",
        )));
        assert!(swapped
            .reasons
            .contains(&"date of birth with day and month swapped".to_owned()));
    }

    #[test]
    fn a_record_with_nothing_to_match_on_has_no_keys() {
        assert!(person(("", "", "", "", "")).lookup_keys().is_empty());
        assert!(person(("Peter", "", "", "", "")).keys().is_empty());
    }
}
