//! The duplicate check of issue 13: the sound-alike second records the
//! seed plants, and the `duplicate_check` scenario's requests (half for
//! people who exist, with a spelling variant; half random combinations).

use std::fmt::Write;
use std::net::SocketAddr;

use clinicdesk::patients::matching::{Person, DEFAULT_THRESHOLD};

use crate::http;
use crate::seed::{Rng, FIRST_NAMES, LAST_NAMES};

/// Every this-many-th patient is a second record of the patient before it:
/// one name spelt another way, the same birth date and gender.
pub const PLANT_EVERY: i64 = 500;

/// Seeded patients the scenario's "existing" half is drawn from (spread
/// evenly over the ids); as many random combinations go beside them.
const SAMPLES: i64 = 2_000;

/// A seeded patient as the duplicate check sees it.
#[derive(Debug, Clone)]
pub struct Record {
    pub first: String,
    pub last: String,
    pub dob: String,
    pub gender: &'static str,
}

/// Whether patient `id`'s row is drawn for the scenario's existing half.
pub fn sampled(id: i64, patients: i64) -> bool {
    let stride = (patients / SAMPLES).max(1);
    id % stride == 1 % stride && id % PLANT_EVERY != 0
}

/// The planted second record of `original`: one of its names spelt
/// another way (a letter dropped or doubled, `ph`/`f`, `ie`/`y`).
pub fn plant(original: &Record, rng: &mut Rng) -> Record {
    let mut twin = original.clone();
    if rng.chance(50) {
        twin.first = sound_alike(&original.first, rng);
    } else {
        twin.last = sound_alike(&original.last, rng);
    }
    twin
}

/// `name` as reception might mistype it or the patient might spell it.
/// The first letter is kept (so the capital stays).
pub fn sound_alike(name: &str, rng: &mut Rng) -> String {
    let chars: Vec<char> = name.chars().collect();
    let lower: Vec<char> = chars
        .iter()
        .map(|c| c.to_lowercase().next().unwrap_or(*c))
        .collect();
    let vowel = |c: char| "aeiouyàáâäèéêëìíîïòóôöùúûü".contains(c);
    let consonant = |c: char| c.is_ascii_alphabetic() && !vowel(c);
    let splice = |at: usize, len: usize, with: &str| -> String {
        chars[..at]
            .iter()
            .copied()
            .chain(with.chars())
            .chain(chars[at + len..].iter().copied())
            .collect()
    };
    let mut options = Vec::new();
    for i in 1..chars.len() {
        let next = lower.get(i + 1).copied();
        match lower[i] {
            'p' if next == Some('h') => options.push(splice(i, 2, "f")),
            'f' if next != Some('f') && lower[i - 1] != 'f' => options.push(splice(i, 1, "ph")),
            'i' if next == Some('e') => options.push(splice(i, 2, "y")),
            'y' if next.is_none() => options.push(splice(i, 1, "ie")),
            _ => {}
        }
        if next == Some(lower[i]) {
            // "Matthew" → "Mathew", "Kelly" → "Kely".
            options.push(splice(i, 1, ""));
        } else if consonant(lower[i]) && vowel(lower[i - 1]) && next.is_some_and(vowel) {
            // "Karen" → "Karren".
            let doubled = chars[i].to_string().repeat(2);
            options.push(splice(i, 1, &doubled));
        }
    }
    if options.is_empty() {
        // Short names without a rule ("Li", "Wei"): the last letter doubled.
        let mut s = name.to_owned();
        if let Some(c) = chars.last() {
            s.push(*c);
        }
        return s;
    }
    options.swap_remove(usize::try_from(rng.below(options.len() as u64)).unwrap_or(0))
}

/// The matching view of a record as the seed stores it.
pub fn person(r: &Record, phone: Option<&str>, email: Option<&str>) -> Person {
    Person::new(
        Some(&r.first),
        Some(&r.last),
        Some(&r.dob),
        phone,
        email,
        Some(r.gender),
    )
}

/// Whether the crate's own score puts `a` and `b` at or above the default
/// threshold.
pub fn alike(a: &Person, b: &Person) -> bool {
    a.compare(b).score >= DEFAULT_THRESHOLD
}

/// A seeded patient drawn for the existing half, with the matching view
/// of its stored row.
pub struct Sample {
    pub id: i64,
    pub record: Record,
    pub person: Person,
}

/// One prepared request, and the patient it must find (when the crate's
/// own score says the variant is at or above the threshold).
pub struct Check {
    pub path: String,
    pub expect: Option<i64>,
}

/// The scenario's requests: existing and random alternately.
pub fn checks(samples: &[Sample]) -> Vec<Check> {
    let mut rng = Rng::new(0xD09C_4EC4);
    let mut out = Vec::with_capacity(samples.len() * 2);
    for s in samples {
        let asked = plant(&s.record, &mut rng);
        let typed = Person::new(
            Some(&asked.first),
            Some(&asked.last),
            Some(&asked.dob),
            None,
            None,
            None,
        );
        out.push(Check {
            path: path(&asked),
            expect: alike(&typed, &s.person).then_some(s.id),
        });
        let random = Record {
            first: rng.pick(FIRST_NAMES).to_owned(),
            last: rng.pick(LAST_NAMES).to_owned(),
            dob: format!(
                "{}-{:02}-{:02}",
                1930 + rng.below(95),
                1 + rng.below(12),
                1 + rng.below(28)
            ),
            gender: "U",
        };
        out.push(Check {
            path: path(&random),
            expect: None,
        });
    }
    out
}

fn path(r: &Record) -> String {
    format!(
        "/api/patients/duplicate-check/?first_name={}&last_name={}&date_of_birth={}",
        encode(&r.first),
        encode(&r.last),
        encode(&r.dob)
    )
}

/// Percent-encoding of everything but the unreserved characters, so the
/// paths are plain ASCII (and safe in a Lua string).
fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The Lua table of the prepared paths.
pub fn lua_table(checks: &[Check]) -> String {
    let mut out = String::from("{");
    for c in checks {
        let _ = write!(out, "\"{}\",", c.path);
    }
    out.push('}');
    out
}

/// Before wrk: the first 20 existing people whose variant scores at or
/// above the threshold must each be among the answers (which shows the
/// seeded keys are indexed), and a random combination answers 200.
pub fn check_once(addr: SocketAddr, token: &str, checks: &[Check]) -> anyhow::Result<()> {
    let expected: Vec<(&str, i64)> = checks
        .iter()
        .filter_map(|c| c.expect.map(|id| (c.path.as_str(), id)))
        .take(20)
        .collect();
    anyhow::ensure!(!expected.is_empty(), "duplicate_check: nothing to find");
    for (path, id) in expected {
        let resp = http::request(addr, "GET", path, Some(token), None)?;
        anyhow::ensure!(
            resp.status == 200,
            "duplicate_check: GET {path} answered {}",
            resp.status
        );
        let found = resp.json()?.as_array().is_some_and(|a| {
            a.iter()
                .any(|c| c["patient"]["id"].as_i64() == Some(id) && c["score"].as_i64().is_some())
        });
        anyhow::ensure!(
            found,
            "duplicate_check: GET {path} did not answer patient {id}"
        );
    }
    let random = checks
        .iter()
        .find(|c| c.expect.is_none())
        .ok_or_else(|| anyhow::anyhow!("duplicate_check: no random request"))?;
    let resp = http::request(addr, "GET", &random.path, Some(token), None)?;
    anyhow::ensure!(
        resp.status == 200 && resp.json()?.is_array(),
        "duplicate_check: GET {} answered {}",
        random.path,
        resp.status
    );
    Ok(())
}
