use serverless_sdk::span;

#[span]
fn evens(limit: u32) -> impl Iterator<Item = u32> {
    (0..limit).filter(|n| n % 2 == 0)
}

#[span]
fn words(text: &str) -> impl Iterator<Item = &str> + '_ {
    text.split(' ')
}

fn main() {
    assert_eq!(evens(5).collect::<Vec<_>>(), [0, 2, 4]);
    assert_eq!(words("a b").count(), 2);
}
