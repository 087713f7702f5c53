// `#[span]` inside an `#[async_trait]` impl, below it (the usual order): async_trait
// rewrites the method first to return `Pin<Box<dyn Future + Send>>`.
use serverless_sdk::span;

#[async_trait::async_trait]
trait Store {
    async fn load(&self, key: &str) -> Option<String>;
    async fn save(&mut self, key: String) -> Result<(), std::io::Error>;
}

struct Memory(Vec<String>);

#[async_trait::async_trait]
impl Store for Memory {
    #[span("store.load")]
    async fn load(&self, key: &str) -> Option<String> {
        self.0.iter().find(|k| *k == key).cloned()
    }

    #[span]
    async fn save(&mut self, key: String) -> Result<(), std::io::Error> {
        self.0.push(key);
        Ok(())
    }
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut store = Memory(Vec::new());
    runtime.block_on(store.save("a".to_owned())).unwrap();
    assert_eq!(runtime.block_on(store.load("a")).as_deref(), Some("a"));
}
