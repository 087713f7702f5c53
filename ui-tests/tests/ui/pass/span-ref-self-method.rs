use serverless_sdk::span;

struct Repository {
    rows: Vec<u32>,
}

impl Repository {
    #[span("repo.count")]
    fn count(&self) -> usize {
        self.rows.len()
    }

    #[span]
    async fn first(&self) -> Option<&u32> {
        self.rows.first()
    }
}

fn main() {
    let repo = Repository { rows: vec![1, 2] };
    assert_eq!(repo.count(), 2);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    assert_eq!(runtime.block_on(repo.first()), Some(&1));
}
