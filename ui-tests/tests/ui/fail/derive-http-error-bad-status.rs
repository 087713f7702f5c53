// An `HttpError` answers 400 to 599.
use serverless_sdk::HttpError;

#[derive(Debug, HttpError)]
enum ApiError {
    #[http(302, "moved")]
    Moved,
    #[http("404")]
    Missing,
}

fn main() {}
