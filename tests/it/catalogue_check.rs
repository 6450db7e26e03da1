//! What HRD sees when the catalogue is wrong: every broken-catalogue case gives a message with
//! `file:line`, what is wrong and how to fix it, and the catalogue is refused.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::cargo::cargo_bin_cmd;
use predicates::str::contains;
use referral_desk::catalogue::{Catalogue, Problem, Severity};

const FIXTURE: &str = "tests/fixtures/catalogue-small";

/// A writable copy of the small fixture catalogue.
fn fixture_copy() -> (tempfile::TempDir, PathBuf) {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("catalogue");
    fs::create_dir(&dir).unwrap();
    for entry in fs::read_dir(FIXTURE).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    (temp, dir)
}

fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "fixture {file} has no {from:?}");
    fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

fn problems(dir: &Path) -> Vec<Problem> {
    match Catalogue::load(dir) {
        Ok(catalogue) => catalogue.warnings,
        Err(err) => err.problems().to_vec(),
    }
}

fn only_error(dir: &Path) -> Problem {
    let errors: Vec<Problem> = problems(dir)
        .into_iter()
        .filter(Problem::is_error)
        .collect();
    assert_eq!(errors.len(), 1, "expected one error, got {errors:#?}");
    errors.into_iter().next().unwrap()
}

/// The 1-based line of the first line in `file` containing `needle`.
fn line_of(dir: &Path, file: &str, needle: &str) -> u64 {
    let text = fs::read_to_string(dir.join(file)).unwrap();
    text.lines()
        .position(|l| l.contains(needle))
        .expect("needle in file") as u64
        + 1
}

#[test]
fn the_fixture_and_the_shipped_catalogue_are_valid() {
    let fixture = Catalogue::load(FIXTURE).unwrap();
    assert!(fixture.warnings.is_empty(), "{:?}", fixture.warnings);
    let shipped = Catalogue::load("intents").unwrap();
    assert!(shipped.warnings.is_empty(), "{:?}", shipped.warnings);
}

#[test]
fn unknown_specialist_in_a_route_points_at_the_reference_and_suggests_the_id() {
    let (_temp, dir) = fixture_copy();
    edit(
        &dir,
        "intents.yaml",
        "specialists: [anna_data, carla_charts]",
        "specialists: [ana_data, carla_charts]",
    );
    let problem = only_error(&dir);
    assert_eq!(problem.file, dir.join("intents.yaml"));
    assert_eq!(problem.line, line_of(&dir, "intents.yaml", "ana_data"));
    assert!(
        problem
            .message
            .contains("specialist \"ana_data\", which is not defined"),
        "{problem}"
    );
    assert!(
        problem.message.contains("data_skills"),
        "names the intent: {problem}"
    );
    assert!(
        problem.hint.contains("did you mean \"anna_data\""),
        "{problem}"
    );
}

#[test]
fn unknown_knowledge_item_and_desk_are_errors() {
    let (_temp, dir) = fixture_copy();
    edit(
        &dir,
        "intents.yaml",
        "knowledge: [kb_leave]",
        "knowledge: [kb_holiday]",
    );
    edit(&dir, "intents.yaml", "desk: it_desk", "desk: helpdesk");
    let errors: Vec<String> = problems(&dir)
        .iter()
        .filter(|p| p.is_error())
        .map(|p| p.to_string())
        .collect();
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("knowledge item \"kb_holiday\""))
    );
    assert!(errors.iter().any(|e| e.contains("desk \"helpdesk\"")));
}

#[test]
fn duplicate_ids_name_both_places() {
    let (_temp, dir) = fixture_copy();
    edit(&dir, "people.yaml", "id: bert_budget", "id: anna_data");
    let errors: Vec<Problem> = problems(&dir)
        .into_iter()
        .filter(Problem::is_error)
        .collect();
    // the second is the duplicate; routes naming the renamed "bert_budget" now fail too
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors
            .iter()
            .any(|e| e.message.contains("\"bert_budget\", which is not defined"))
    );
    let problem = errors
        .into_iter()
        .find(|e| e.message.starts_with("duplicate"))
        .expect("the duplicate is reported");
    assert!(
        problem
            .message
            .contains("duplicate specialist id \"anna_data\""),
        "{problem}"
    );
    let first = line_of(&dir, "people.yaml", "id: anna_data");
    assert!(
        problem.message.contains(&format!("people.yaml:{first}")),
        "says where the first one is: {problem}"
    );
    assert!(problem.line > first);
}

#[test]
fn the_same_example_in_two_intents_is_an_error_after_normalisation() {
    let (_temp, dir) = fixture_copy();
    // differs only in case and accents from a data_skills example
    edit(
        &dir,
        "intents.yaml",
        "- ik wil een dag vrij nemen",
        "- Ik wil béter worden in Excel",
    );
    let problem = only_error(&dir);
    assert!(
        problem
            .message
            .contains("is in leave and also in data_skills"),
        "{problem}"
    );
    assert_eq!(problem.line, line_of(&dir, "intents.yaml", "béter"));
    assert!(problem.hint.contains("keep it in the one it belongs to"));
}

#[test]
fn an_example_also_listed_as_out_of_scope_is_an_error() {
    let (_temp, dir) = fixture_copy();
    edit(
        &dir,
        "intents.yaml",
        "- tell me a joke",
        "- my laptop is broken",
    );
    let problem = only_error(&dir);
    assert!(problem.message.contains("out_of_scope"), "{problem}");
    assert!(problem.message.contains("it_support"), "{problem}");
}

#[test]
fn few_examples_in_a_language_is_a_warning_not_an_error() {
    let (_temp, dir) = fixture_copy();
    edit(&dir, "intents.yaml", "        - vpn werkt niet\n", "");
    let catalogue = Catalogue::load(&dir).expect("warnings do not refuse the catalogue");
    assert_eq!(catalogue.warnings.len(), 1);
    let warning = &catalogue.warnings[0];
    assert_eq!(warning.severity, Severity::Warning);
    assert!(
        warning
            .message
            .contains("\"it_support\" has 4 nl examples (fewer than 5)"),
        "{warning}"
    );
    assert_eq!(
        warning.line,
        line_of(&dir, "intents.yaml", "id: it_support")
    );
    assert!(warning.to_string().contains("warning:"));
}

#[test]
fn unreadable_yaml_gives_the_position_and_skips_cross_file_checks() {
    let (_temp, dir) = fixture_copy();
    // an unclosed quote on line 3 of a new file
    fs::write(
        dir.join("broken.yaml"),
        "knowledge:\n  - id: kb_x\n    title: { en: \"never closed\n",
    )
    .unwrap();
    let errors = problems(&dir);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].file, dir.join("broken.yaml"));
    assert_eq!(errors[0].line, 3);
    assert!(errors[0].message.starts_with("not a valid catalogue file"));
}

#[test]
fn a_misspelt_key_is_reported_with_its_position() {
    let (_temp, dir) = fixture_copy();
    edit(
        &dir,
        "intents.yaml",
        "    description: Holidays and leave.",
        "    descriptoin: Holidays and leave.",
    );
    let problem = only_error(&dir);
    assert!(
        problem.message.contains("unknown field `descriptoin`"),
        "{problem}"
    );
    assert_eq!(problem.line, line_of(&dir, "intents.yaml", "descriptoin"));
    assert!(problem.hint.contains("spelling"));
}

#[test]
fn missing_settings_and_unknown_fallback_desk() {
    let (_temp, dir) = fixture_copy();
    edit(
        &dir,
        "settings.yaml",
        "    desk: hrd_desk",
        "    desk: hr_desk",
    );
    let problem = only_error(&dir);
    assert!(
        problem
            .message
            .contains("fallback desk \"hr_desk\" is not defined"),
        "{problem}"
    );
    assert!(
        problem.hint.contains("did you mean \"hrd_desk\""),
        "{problem}"
    );

    let (_temp, dir) = fixture_copy();
    let settings = fs::read_to_string(dir.join("settings.yaml")).unwrap();
    let desks_only = &settings[settings.find("desks:").unwrap()..];
    fs::write(dir.join("settings.yaml"), desks_only).unwrap();
    let problem = only_error(&dir);
    assert!(
        problem.message.contains("no `settings` section"),
        "{problem}"
    );
}

#[test]
fn bad_ids_addresses_and_thresholds_are_explained() {
    let (_temp, dir) = fixture_copy();
    edit(
        &dir,
        "people.yaml",
        "email: anna@example.org",
        "email: anna at example",
    );
    edit(
        &dir,
        "people.yaml",
        "url: https://intranet.example.org/budget",
        "url: intranet/budget",
    );
    edit(&dir, "settings.yaml", "threshold: 0.30", "threshold: 30");
    edit(&dir, "intents.yaml", "id: leave", "id: Leave Requests");
    let all: Vec<String> = problems(&dir).iter().map(|p| p.to_string()).collect();
    let text = all.join("\n");
    assert!(
        text.contains("\"anna at example\" is not an e-mail address"),
        "{text}"
    );
    assert!(
        text.contains("\"intranet/budget\" is not a web address"),
        "{text}"
    );
    assert!(
        text.contains("threshold 30 is not between 0 and 1"),
        "{text}"
    );
    assert!(text.contains("may only hold lowercase letters"), "{text}");
    assert!(
        text.contains("\"leave_requests\""),
        "suggests a valid id: {text}"
    );
}

#[test]
fn check_exits_non_zero_and_other_commands_refuse_with_the_same_message() {
    let (_temp, dir) = fixture_copy();
    edit(
        &dir,
        "intents.yaml",
        "specialists: [anna_data, carla_charts]",
        "specialists: [ana_data, carla_charts]",
    );
    let expected = format!(
        "{}:{}",
        dir.join("intents.yaml").display(),
        line_of(&dir, "intents.yaml", "ana_data")
    );
    cargo_bin_cmd!("referral-desk")
        .args(["check", "--catalogue"])
        .arg(&dir)
        .assert()
        .code(1)
        .stdout(contains(&expected))
        .stdout(contains("did you mean \"anna_data\""));
    cargo_bin_cmd!("referral-desk")
        .args(["classify", "--catalogue"])
        .arg(&dir)
        .arg("hoe vraag ik verlof aan")
        .assert()
        .failure()
        .stderr(contains(&expected))
        .stderr(contains("did you mean \"anna_data\""));
}

#[test]
fn a_missing_folder_says_how_to_point_at_the_catalogue() {
    cargo_bin_cmd!("referral-desk")
        .args(["check", "--catalogue", "no/such/folder"])
        .assert()
        .code(1)
        .stdout(contains("no/such/folder"))
        .stdout(contains("--catalogue"));
}

#[test]
fn check_summarises_a_valid_catalogue() {
    cargo_bin_cmd!("referral-desk")
        .args(["check", "--catalogue", FIXTURE])
        .assert()
        .success()
        .stdout(contains(
            "ok (0 warnings): 4 intents with 46 examples (23 nl, 23 en)",
        ));
}
