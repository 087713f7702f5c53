//! Runs the trybuild cases: `tests/ui/pass/*.rs` must compile, `tests/ui/fail/*.rs` must
//! fail with the output recorded in the `.stderr` file next to each.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
