// A struct carries its status itself.
use serverless_sdk::HttpError;

#[derive(Debug, HttpError)]
struct NotFound;

fn main() {}
