//! The field rules and the reading of a body, on their own (no server).

use super::*;
use serde_json::json;

#[test]
fn search_folds_names_from_many_scripts_and_matches_phones_on_their_digits() {
    // (as stored, as typed at the desk): the typed term is found in the stored text.
    let found = [
        ("Hernández", "hernan"),
        ("HERNÁNDEZ", "Hernandez"),
        ("Müller", "muller"),
        ("José", "JOSÉ"),
        ("Łukasz Wiśniewski", "lukasz wisn"),
        ("François Ça", "francois"),
        ("Søren Ærø", "soren"),
        ("Straße", "strasse"),
        ("Иванов", "ivanov"),
        ("Дмитрий", "Дмит"),
        ("Παπαδόπουλος", "papad"),
        ("O'Brien", "o'bri"),
    ];
    for (stored, typed) in found {
        let text = search_text(&[Some(stored)], &[]);
        assert!(
            text.contains(&search_term(typed)),
            "{typed:?} should find {stored:?} (index {text:?}, term {:?})",
            search_term(typed)
        );
    }
    let phones = [
        ("5550177", "555-0177"),
        ("+49 30 1234567", "30 1234567"),
        ("(030) 123-4567", "301234567"),
        ("030.123.4567", "123 45"),
    ];
    for (stored, typed) in phones {
        let text = search_text(&[], &[Some(stored)]);
        assert!(
            text.contains(&search_term(typed)),
            "{typed:?} should find {stored:?}"
        );
    }
    // A term with letters is never reduced to its digits.
    assert_eq!(search_term("Flat 3b"), "flat 3b");
    assert!(!search_text(&[Some("Ana")], &[]).contains(&search_term("anna")));
}

#[test]
fn phone_rule_accepts_common_formats_and_rejects_the_rest() {
    for good in [
        "+44 20 7946 0000",
        "(555) 010-0100",
        "5550100",
        "+1-555-010-0100",
    ] {
        assert!(is_phone(good), "{good}");
    }
    for bad in [
        "555-01",
        "12345678901234567890123",
        "555 0100 ext 2",
        "+",
        "++5550100",
        "55+50100",
    ] {
        assert!(!is_phone(bad), "{bad}");
    }
}

#[test]
fn email_rule_accepts_addresses_and_rejects_non_addresses() {
    assert!(is_email("ada@clinic.test"));
    assert!(is_email("a.b+c@sub.clinic.org"));
    for bad in [
        "ada",
        "ada@",
        "@clinic.test",
        "ada@clinic",
        "a da@clinic.test",
        "ada@.test",
        "a@b..c",
    ] {
        assert!(!is_email(bad), "{bad}");
    }
}

#[test]
fn money_has_at_most_two_decimals_and_is_never_negative() {
    assert_eq!(parse_cents("150"), Some(15_000));
    assert_eq!(parse_cents("150.5"), Some(15_050));
    assert_eq!(parse_cents("0.05"), Some(5));
    for bad in ["-1", "1.234", "1e3", "", ".5", "abc"] {
        assert_eq!(parse_cents(bad), None, "{bad}");
    }
}

#[test]
fn age_counts_whole_years_and_respects_birthdays() {
    let on = parse_date("2026-11-23").expect("date");
    assert_eq!(age_on(parse_date("2000-11-23").expect("date"), on), 26);
    assert_eq!(age_on(parse_date("2000-11-24").expect("date"), on), 25);
    assert_eq!(age_on(parse_date("2026-11-23").expect("date"), on), 0);
}

#[test]
fn names_split_at_the_first_space() {
    assert_eq!(
        split_name("Ada King Lovelace"),
        ("Ada".into(), Some("King Lovelace".into()))
    );
    assert_eq!(split_name("  Ada  "), ("Ada".into(), None));
    assert_eq!(full_name("Ada", Some("Lovelace")), "Ada Lovelace");
    assert_eq!(full_name("Ada", None), "Ada");
}

#[test]
fn a_name_is_split_and_each_part_is_held_to_the_column_limit() {
    let (mut first, mut last) = (String::new(), None);
    let body = json!({ "name": "Ada King Lovelace" });
    let mut fields = Fields::new(body.as_object().expect("object"));
    fields.person_name(&mut first, &mut last, true);
    assert!(fields.finish().is_ok());
    assert_eq!(
        (first.as_str(), last.as_deref()),
        ("Ada", Some("King Lovelace"))
    );

    for long in [format!("A {}", "x".repeat(101)), "y".repeat(101)] {
        let body = json!({ "name": long });
        let mut fields = Fields::new(body.as_object().expect("object"));
        fields.person_name(&mut first, &mut last, true);
        assert!(fields.finish().is_err(), "{long}");
    }
}

#[test]
fn like_patterns_treat_wildcards_as_literal_characters() {
    assert_eq!(like_pattern("50%_a\\"), "%50\\%\\_a\\\\%");
    assert_eq!(like_pattern("JOSÉ"), "%josé%");
}

#[test]
fn invisible_only_text_is_blank_and_breaks_and_bidi_controls_are_refused() {
    let body = json!({
        "zw": "\u{200B}", "mixed": " \u{FEFF}\u{2060}\u{200D} ", "crlf": "Ada\r\nEve",
        "rlo": "Ada\u{202E}evE", "lrm": "\u{200E}Ada", "notes": "line one\nline two\tend",
        "note_rlo": "ok\u{2066}x", "name": "Zoë\u{200D}",
    });
    let body = body.as_object().expect("object");
    let mut fields = Fields::new(body);
    assert_eq!(fields.text(&["zw"], 10), Some(None));
    assert_eq!(fields.text(&["mixed"], 10), Some(None));
    assert_eq!(fields.text(&["crlf"], 10), None);
    assert_eq!(fields.text(&["rlo"], 10), None);
    assert_eq!(fields.text(&["lrm"], 10), None);
    assert_eq!(
        fields.multiline(&["notes"], 100),
        Some(Some("line one\nline two\tend".into()))
    );
    assert_eq!(fields.multiline(&["note_rlo"], 100), None);
    assert_eq!(fields.text(&["name"], 10), Some(Some("Zoë\u{200D}".into())));
    let Err(ApiError::Validation(errors)) = fields.finish() else {
        panic!("expected a validation error");
    };
    assert_eq!(
        errors.keys().collect::<Vec<_>>(),
        ["crlf", "lrm", "note_rlo", "rlo"]
    );
}

#[test]
fn blank_strings_clear_a_field_and_every_bad_field_is_reported() {
    let body = json!({ "a": "  ", "b": 5, "c": "x".repeat(11), "d": "  ok " });
    let body = body.as_object().expect("object");
    let mut fields = Fields::new(body);
    assert_eq!(fields.text(&["a"], 10), Some(None));
    assert_eq!(fields.text(&["b"], 10), None);
    assert_eq!(fields.text(&["c"], 10), None);
    assert_eq!(fields.text(&["d"], 10), Some(Some("ok".into())));
    assert_eq!(fields.text(&["missing"], 10), None);
    let Err(ApiError::Validation(errors)) = fields.finish() else {
        panic!("expected a validation error");
    };
    assert_eq!(errors.keys().collect::<Vec<_>>(), ["b", "c"]);
}
