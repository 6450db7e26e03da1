use super::*;

#[test]
fn months_are_published_after_their_delay() {
    let october: NaiveDate = "2026-10-01".parse().unwrap();
    assert_eq!(month_start("2026-10-17".parse().unwrap()), october);
    assert_eq!(published_on(october, 3).to_string(), "2026-11-04");
    assert_eq!(published_on(october, 0).to_string(), "2026-11-01");
    assert_eq!(month_label(october), "2026-10");
    assert_eq!(previous_month(october).to_string(), "2026-09-01");
    assert_eq!(
        next_month("2026-12-01".parse().unwrap()).to_string(),
        "2027-01-01"
    );
}
