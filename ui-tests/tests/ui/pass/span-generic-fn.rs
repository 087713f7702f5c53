use std::fmt::Display;

use serverless_sdk::span;

#[span]
fn describe<T: Display, const N: usize>(items: [T; N]) -> String
where
    T: Clone,
{
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[span]
fn longest<'a>(a: &'a str, b: &'a str) -> &'a str {
    if a.len() >= b.len() { a } else { b }
}

#[span]
async fn total<I: IntoIterator<Item = u32> + Send>(items: I) -> u32 {
    items.into_iter().sum()
}

fn main() {
    assert_eq!(describe([1, 2]), "1,2");
    assert_eq!(longest("ab", "c"), "ab");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    assert_eq!(runtime.block_on(total(vec![1, 2])), 3);
}
