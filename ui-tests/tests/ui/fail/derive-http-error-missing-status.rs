// Every variant needs a status, or the enum a default one.
use serverless_sdk::HttpError;

#[derive(Debug, HttpError)]
enum ApiError {
    #[http(404)]
    NotFound,
    Database,
}

fn main() {}
