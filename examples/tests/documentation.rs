//! The examples' documentation and the event files it names.

use std::{collections::BTreeSet, path::Path};

use serverless_sdk_tests::events::{FIXTURES, fixture, fixtures_dir};

/// How the examples' documentation names an event file.
const DATA_FILE: &str = "--data-file tests/fixtures/";

/// Every `--data-file` the examples' documentation names exists and is JSON, and every
/// event file is used by some example or is one of the kit's AWS samples.
#[test]
fn documented_event_files_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut used = BTreeSet::new();
    let sources = std::fs::read_dir(root.join("src/bin")).expect("src/bin");
    for source in sources {
        let path = source.expect("an entry").path();
        let text = std::fs::read_to_string(&path).expect("a source file");
        for (index, _) in text.match_indices(DATA_FILE) {
            let rest = &text[index + DATA_FILE.len()..];
            let name: String = rest
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '`')
                .collect();
            let _ = fixture(&name);
            used.insert(name);
        }
    }
    let samples: BTreeSet<String> = FIXTURES.iter().map(|name| format!("{name}.json")).collect();
    let files: BTreeSet<String> = std::fs::read_dir(fixtures_dir())
        .expect("tests/fixtures/")
        .map(|entry| {
            entry
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".json"))
        .collect();
    let used_or_samples: BTreeSet<String> = used.union(&samples).cloned().collect();
    assert_eq!(used_or_samples, files);
}
