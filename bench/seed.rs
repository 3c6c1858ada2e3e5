//! Seed data written straight into the real tables (the server is
//! stopped: it holds the data directory's lock). Every row is filled the
//! way the API fills it, `search_text` and `match_keys` by the crate's own
//! functions, so a seeded patient is found exactly like one created over
//! HTTP; triggers on `patients` (the search index, the duplicate check's
//! `patient_match_keys`) fire as for any insert. Every 500th patient is a
//! sound-alike second record of the one before it (`duplicates::plant`).

use std::path::Path;
use std::time::Instant;

use rusqlite::{params, Connection};

use crate::duplicates::{self, Record, Sample};

pub const DOCTORS: i64 = 200;

/// A small deterministic generator (`SplitMix64`): the same seed gives the
/// same clinic, so runs are comparable.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in `0..n` (n > 0), as `SQLite`'s integer type.
    pub fn int(&mut self, n: i64) -> i64 {
        i64::try_from(self.below(n.unsigned_abs())).unwrap_or(0)
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[usize::try_from(self.below(items.len() as u64)).unwrap_or(0)]
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

pub const FIRST_NAMES: &[&str] = &[
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Christopher",
    "Lisa",
    "Daniel",
    "Nancy",
    "Matthew",
    "Betty",
    "Anthony",
    "Margaret",
    "Mark",
    "Sandra",
    "Donald",
    "Ashley",
    "Steven",
    "Kimberly",
    "Paul",
    "Emily",
    "Andrew",
    "Donna",
    "Joshua",
    "Michelle",
    "Kenneth",
    "Carol",
    "Kevin",
    "Amanda",
    "Brian",
    "Dorothy",
    "George",
    "Melissa",
    "Timothy",
    "Deborah",
    "José",
    "María",
    "Luis",
    "Carmen",
    "Juan",
    "Ana",
    "Carlos",
    "Lucía",
    "Miguel",
    "Sofía",
    "Mohammed",
    "Fatima",
    "Ahmed",
    "Aisha",
    "Omar",
    "Leila",
    "Wei",
    "Li",
    "Hiroshi",
    "Yuki",
    "Priya",
    "Arjun",
    "Ananya",
    "Rahul",
    "Olga",
    "Dmitri",
    "Ingrid",
    "Lars",
    "Zoë",
    "Chloé",
    "François",
    "Amélie",
    "Jürgen",
    "Björn",
    "Siobhán",
    "Seán",
    "Kwame",
    "Amara",
    "Chidi",
    "Ngozi",
    "Thabo",
    "Nomvula",
    "Mateo",
    "Valentina",
    "Noah",
    "Emma",
    "Liam",
    "Olivia",
    "Ethan",
    "Ava",
];

pub const LAST_NAMES: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Dubois",
    "Lefèvre",
    "Moreau",
    "Rossi",
    "Russo",
    "Ferrari",
    "Esposito",
    "Kowalski",
    "Nowak",
    "Novák",
    "Horváth",
    "Ivanov",
    "Petrov",
    "Popescu",
    "Papadopoulos",
    "Yılmaz",
    "Kaya",
    "Cohen",
    "Levi",
    "Haddad",
    "Khan",
    "Patel",
    "Sharma",
    "Singh",
    "Gupta",
    "Kumar",
    "Wang",
    "Zhang",
    "Liu",
    "Chen",
    "Yang",
    "Sato",
    "Suzuki",
    "Takahashi",
    "Kim",
    "Park",
    "Choi",
    "Okafor",
    "Mensah",
    "Nkosi",
    "Mwangi",
    "O'Brien",
    "Murphy",
    "Kelly",
    "Sullivan",
    "Andersson",
    "Johansson",
    "Nielsen",
    "Hansen",
    "Jensen",
    "de la Cruz",
    "da Silva",
    "Santos",
    "Oliveira",
    "Pereira",
];

pub const CITIES: &[(&str, &str)] = &[
    ("Springfield", "IL"),
    ("Riverside", "CA"),
    ("Franklin", "TN"),
    ("Greenville", "SC"),
    ("Bristol", "CT"),
    ("Clinton", "IA"),
    ("Fairview", "OR"),
    ("Salem", "MA"),
    ("Madison", "WI"),
    ("Georgetown", "TX"),
    ("Arlington", "VA"),
    ("Ashland", "KY"),
    ("Burlington", "VT"),
    ("Manchester", "NH"),
    ("Milton", "GA"),
    ("Newport", "RI"),
    ("Oxford", "MS"),
    ("Dover", "DE"),
    ("Jackson", "WY"),
    ("Auburn", "AL"),
    ("Kingston", "NY"),
    ("Lexington", "NE"),
    ("Marion", "OH"),
    ("Winchester", "MD"),
    ("Portland", "ME"),
    ("Columbia", "MO"),
    ("Dayton", "NV"),
    ("Hudson", "NJ"),
    ("Lebanon", "PA"),
    ("Troy", "MI"),
    ("Chester", "WV"),
    ("Camden", "AR"),
];

const STREETS: &[&str] = &[
    "Main St",
    "Oak Ave",
    "Maple Dr",
    "Cedar Ln",
    "Elm St",
    "Pine Rd",
    "Washington Blvd",
    "Lake View Rd",
    "Hillcrest Ave",
    "Park Pl",
    "River Rd",
    "Church St",
    "Mill Ln",
];
const BLOOD_GROUPS: &[&str] = &["O+", "A+", "B+", "O-", "A-", "AB+", "B-", "AB-"];
const ALLERGIES: &[&str] = &[
    "Penicillin",
    "Peanuts",
    "Latex",
    "Shellfish",
    "Pollen",
    "Sulfa drugs",
];
const SPECIALIZATIONS: &[&str] = &[
    "General Practice",
    "Cardiology",
    "Dermatology",
    "Pediatrics",
    "Orthopedics",
    "Neurology",
    "Gynecology",
    "Psychiatry",
    "Ophthalmology",
    "ENT",
    "Endocrinology",
    "Gastroenterology",
];

/// A phone number in one of the shapes reception types in.
pub fn fake_phone(rng: &mut Rng) -> String {
    let area = 200 + rng.below(800);
    let exchange = 200 + rng.below(800);
    let line = rng.below(10_000);
    match rng.below(4) {
        0 => format!("({area}) {exchange}-{line:04}"),
        1 => format!("{area}-{exchange}-{line:04}"),
        2 => format!("+1 {area} {exchange} {line:04}"),
        _ => format!("{area}{exchange}{line:04}"),
    }
}

fn timestamp(rng: &mut Rng) -> String {
    let year = 2019 + rng.below(7);
    format!(
        "{year}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        1 + rng.below(12),
        1 + rng.below(28),
        7 + rng.below(12),
        rng.below(60),
        rng.below(60)
    )
}

fn ascii_fold(name: &str) -> String {
    name.chars()
        .filter_map(|c| match c {
            'á' | 'à' | 'â' | 'ä' => Some('a'),
            'é' | 'è' | 'ê' | 'ë' => Some('e'),
            'í' | 'ï' | 'ı' => Some('i'),
            'ó' | 'ö' | 'ô' => Some('o'),
            'ú' | 'ü' => Some('u'),
            'ç' => Some('c'),
            ' ' | '\'' => None,
            c => Some(c.to_ascii_lowercase()),
        })
        .collect()
}

/// Counts of what was written and how long it took.
pub struct Seeded {
    pub patients: i64,
    pub mappings: i64,
    pub seconds: f64,
    /// Second records planted (every 500th patient).
    pub planted: i64,
    /// Of them, those the crate's own score puts at or above the default
    /// threshold against the record before them.
    pub planted_alike: i64,
    /// Patients the duplicate check's existing half asks about.
    pub samples: Vec<Sample>,
}

/// The patient just written, which the next may be a second record of.
struct Previous {
    record: Record,
    person: clinicdesk::patients::matching::Person,
}

/// What the seed keeps across rows: the previous patient and the tallies.
struct Tally {
    previous: Option<Previous>,
    mappings: i64,
    planted: i64,
    planted_alike: i64,
    samples: Vec<Sample>,
}

/// Writes `patients` patients (every tenth owned by `user_id`, the rest
/// by `staff_id`), 200 doctors and 0–3 mappings per patient, in large
/// transactions. Speed settings apply to this connection only; the server
/// opens the file with its own (WAL, synchronous=FULL).
pub fn seed(db_path: &Path, patients: i64, staff_id: i64, user_id: i64) -> anyhow::Result<Seeded> {
    let began = Instant::now();
    let mut conn = Connection::open(db_path)?;
    conn.pragma_update(None, "synchronous", "OFF")?;
    conn.pragma_update(None, "cache_size", -262_144)?; // 256 MiB while seeding
    conn.pragma_update(None, "foreign_keys", true)?;
    let mut rng = Rng::new(0x00C1_1A1C_DE5C);
    seed_doctors(&mut conn, &mut rng, staff_id)?;
    let mut tally = Tally {
        previous: None,
        mappings: 0,
        planted: 0,
        planted_alike: 0,
        samples: Vec::new(),
    };
    let batch = 50_000;
    let mut next = 1;
    while next <= patients {
        let last = (next + batch - 1).min(patients);
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO patients (id, first_name, last_name, date_of_birth, gender, phone, email,
                        blood_group, address, city, state, postal_code, country, allergies,
                        emergency_contact_name, emergency_contact_phone, emergency_contact_relation,
                        is_active, search_text, match_keys, created_by, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'USA', ?13, ?14, ?15, ?16,
                        ?17, ?18, ?19, ?20, ?21, ?21)",
            )?;
            let mut map = tx.prepare_cached(
                "INSERT INTO mappings (patient_id, doctor_id, reason, status, created_by, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            )?;
            for id in next..=last {
                let row = Row {
                    id,
                    patients,
                    owners: (staff_id, user_id),
                };
                insert_patient(&mut insert, &mut map, &mut rng, &row, &mut tally)?;
            }
        }
        tx.commit()?;
        next = last + 1;
    }
    conn.pragma_update(None, "optimize", true).ok();
    Ok(Seeded {
        patients,
        mappings: tally.mappings,
        seconds: began.elapsed().as_secs_f64(),
        planted: tally.planted,
        planted_alike: tally.planted_alike,
        samples: tally.samples,
    })
}

impl Tally {
    /// A planted second record: is it alike the record before it?
    fn count_planted(&mut self, person: &clinicdesk::patients::matching::Person) {
        self.planted += 1;
        if let Some(previous) = &self.previous {
            self.planted_alike += i64::from(duplicates::alike(&previous.person, person));
        }
    }
}

/// The record as drawn, or (for every 500th patient) a second record of
/// the previous one; and whether it is that.
fn planted_or(drawn: Record, id: i64, previous: Option<&Previous>) -> (Record, bool) {
    match previous {
        Some(previous) if id % duplicates::PLANT_EVERY == 0 => {
            // Its own generator: the clinic's stream stays as it was.
            let mut own = Rng::new(id.unsigned_abs() ^ 0x5EC0_4D00);
            (duplicates::plant(&previous.record, &mut own), true)
        }
        _ => (drawn, false),
    }
}

/// Which row is being written, of how many, and its possible owners.
struct Row {
    id: i64,
    patients: i64,
    owners: (i64, i64),
}

/// One patient and its mappings (counted in `tally`). A planted second
/// record draws the same random values as any row (so every other row is
/// the same clinic as before planting), then takes the previous patient's
/// names, one spelt another way, birth date and gender.
fn insert_patient(
    insert: &mut rusqlite::CachedStatement<'_>,
    map: &mut rusqlite::CachedStatement<'_>,
    rng: &mut Rng,
    row: &Row,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    let (id, (staff_id, user_id)) = (row.id, row.owners);
    let first = rng.pick(FIRST_NAMES);
    let last_name = rng.pick(LAST_NAMES);
    let (city, state) = CITIES[usize::try_from(rng.below(CITIES.len() as u64))?];
    let phone = rng.chance(95).then(|| fake_phone(rng));
    let has_email = rng.chance(60);
    let dob = format!(
        "{}-{:02}-{:02}",
        1930 + rng.below(95),
        1 + rng.below(12),
        1 + rng.below(28)
    );
    let gender = ["F", "M", "F", "M", "O", "U"][usize::try_from(rng.below(6))?];
    let drawn = Record {
        first: first.to_owned(),
        last: last_name.to_owned(),
        dob,
        gender,
    };
    let (record, is_planted) = planted_or(drawn, id, tally.previous.as_ref());
    let (first, last_name, dob, gender) = (
        record.first.as_str(),
        record.last.as_str(),
        record.dob.as_str(),
        record.gender,
    );
    let email = has_email.then(|| {
        format!(
            "{}.{}{}@example.com",
            ascii_fold(first),
            ascii_fold(last_name),
            id
        )
    });
    let person = duplicates::person(&record, phone.as_deref(), email.as_deref());
    let match_keys = serde_json::to_string(&person.keys())?;
    if is_planted {
        tally.count_planted(&person);
    }
    let address = format!("{} {}", 1 + rng.below(9_999), rng.pick(STREETS));
    let postal = format!("{:05}", rng.below(100_000));
    let allergy = rng.chance(20).then(|| rng.pick(ALLERGIES));
    let contact = rng.chance(70).then(|| {
        (
            format!("{} {last_name}", rng.pick(FIRST_NAMES)),
            fake_phone(rng),
        )
    });
    let search_text = clinicdesk::validation::search_text(
        &[Some(first), Some(last_name), email.as_deref()],
        &[phone.as_deref()],
    );
    let owner = if id % 10 == 0 { user_id } else { staff_id };
    let created = timestamp(rng);
    insert.execute(params![
        id,
        first,
        last_name,
        dob,
        gender,
        phone,
        email,
        rng.pick(BLOOD_GROUPS),
        address,
        city,
        state,
        postal,
        allergy,
        contact.as_ref().map(|c| c.0.as_str()),
        contact.as_ref().map(|c| c.1.as_str()),
        contact.as_ref().map(|_| "Spouse"),
        !rng.chance(3),
        search_text,
        match_keys,
        owner,
        created,
    ])?;
    // 0–3 distinct doctors per patient, most of them current.
    let count = rng.int(4);
    let first_doctor = rng.int(DOCTORS);
    for k in 0..count {
        let doctor = (first_doctor + k * 37) % DOCTORS + 1;
        let status = if rng.chance(75) {
            "ACTIVE"
        } else {
            "COMPLETED"
        };
        map.execute(params![id, doctor, "Follow-up", status, owner, created])?;
        tally.mappings += 1;
    }
    if duplicates::sampled(id, row.patients) {
        tally.samples.push(Sample {
            id,
            record: record.clone(),
            person: person.clone(),
        });
    }
    tally.previous = Some(Previous { record, person });
    Ok(())
}

fn seed_doctors(conn: &mut Connection, rng: &mut Rng, staff_id: i64) -> anyhow::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare(
            "INSERT INTO doctors (id, first_name, last_name, specialization, years_of_experience, phone,
                    email, qualification, license_number, consultation_fee_cents, available_days,
                    available_time, city, is_available, search_text, created_by, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'MD', ?8, ?9, 'Mon-Fri', '09:00-17:00', ?10, 1, ?11, ?12, ?13, ?13)",
        )?;
        for id in 1..=DOCTORS {
            let first = rng.pick(FIRST_NAMES);
            let last = rng.pick(LAST_NAMES);
            let specialization = rng.pick(SPECIALIZATIONS);
            let city = CITIES[usize::try_from(rng.below(CITIES.len() as u64))?].0;
            let search_text = clinicdesk::validation::search_text(
                &[Some(first), Some(last), Some(specialization), Some(city)],
                &[],
            );
            insert.execute(params![
                id,
                first,
                last,
                specialization,
                rng.int(40),
                fake_phone(rng),
                format!("dr.{}.{id}@clinic.example", ascii_fold(last)),
                format!("LIC-{id:06}"),
                5_000 + rng.int(20_000),
                city,
                search_text,
                staff_id,
                timestamp(rng),
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}
