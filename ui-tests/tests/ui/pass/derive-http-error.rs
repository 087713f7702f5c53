// `#[derive(HttpError)]` on enums (with and without a default status) and structs, generic
// ones included, through either crate.
use serverless_sdk::HttpError;

#[derive(Debug, HttpError)]
#[http(502)]
enum Upstream {
    #[http(404, "order {0} not found")]
    NotFound(u64),
    #[http(409, "{name} is taken ({count} times)")]
    Taken { name: String, count: u32 },
    Timeout,
    Refused(std::io::Error),
}

#[derive(Debug, HttpError)]
#[http(429, "slow down")]
struct Throttled;

#[derive(Debug, serverless_sdk_http::HttpError)]
#[http(400, "bad field {field}")]
struct Invalid<T: std::fmt::Display> {
    field: T,
}

fn main() {
    assert_eq!(Upstream::NotFound(7).public_message(), "order 7 not found");
    let taken = Upstream::Taken { name: "bob".into(), count: 2 };
    assert_eq!((taken.status_code(), &*taken.public_message()), (409, "bob is taken (2 times)"));
    assert_eq!(Upstream::Timeout.status_code(), 502);
    assert_eq!(Upstream::Refused(std::io::Error::other("x")).public_message(), "Bad Gateway");
    assert_eq!(Throttled.public_message(), "slow down");
    assert_eq!(Invalid { field: "email" }.public_message(), "bad field email");
}
