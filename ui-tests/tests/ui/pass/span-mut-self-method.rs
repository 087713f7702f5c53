use serverless_sdk::span;

struct Counter {
    value: u32,
}

impl Counter {
    #[span]
    fn bump(&mut self) -> u32 {
        self.value += 1;
        self.value
    }

    #[span]
    async fn bump_async(&mut self) -> &mut u32 {
        self.value += 1;
        &mut self.value
    }
}

fn main() {
    let mut counter = Counter { value: 0 };
    assert_eq!(counter.bump(), 1);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    *runtime.block_on(counter.bump_async()) += 10;
    assert_eq!(counter.value, 12);
}
