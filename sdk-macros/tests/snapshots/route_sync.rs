// Expansion snapshot, checked by `sdk-macros/src/snapshots.rs`.
// Regenerate: UPDATE_EXPECT=1 cargo test -p serverless_sdk_macros snapshots
//
// #[route(GET, "/users/{id}")]
// fn get_user() {}

fn get_user() {
    ::serverless_sdk::__private::set_route(
        ::core::option::Option::Some("GET"),
        "/users/{id}",
    );
}
