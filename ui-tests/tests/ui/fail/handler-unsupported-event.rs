use serverless_sdk::serverless_handler;

#[serverless_handler]
async fn handler(event: u32) -> Result<u32, std::io::Error> {
    Ok(event + 1)
}

fn main() {}
