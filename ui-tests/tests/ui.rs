//! Runs the trybuild cases: `tests/ui/pass/*.rs` must compile, `tests/ui/fail/*.rs` must
//! fail with the output recorded in the `.stderr` file next to each.
//!
//! `UI_CASES=handler-*` runs only the cases whose file name matches; regenerate the
//! `.stderr` files of a deliberate change with `TRYBUILD=overwrite`.

#[test]
fn ui() {
    let cases = std::env::var("UI_CASES").unwrap_or_else(|_| "*".to_owned());
    let t = trybuild::TestCases::new();
    for (dir, pass) in [("pass", true), ("fail", false)] {
        let pattern = format!("tests/ui/{dir}/{cases}.rs");
        if cases.contains('*') || std::path::Path::new(&pattern).exists() {
            if pass {
                t.pass(pattern);
            } else {
                t.compile_fail(pattern);
            }
        }
    }
}
