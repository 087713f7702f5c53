use serverless_sdk::span;

#[span]
trait Repository {
    fn load(&self) -> u32;
}

fn main() {}
