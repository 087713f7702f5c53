// Expansion snapshot, checked by `sdk-macros/src/snapshots.rs`.
// Regenerate: UPDATE_EXPECT=1 cargo test -p serverless_sdk_macros snapshots
//
// #[route("/orders")]
// async fn list_orders() -> Vec<u64> {
//     Vec::new()
// }

async fn list_orders() -> Vec<u64> {
    ::serverless_sdk::__private::set_route(::core::option::Option::None, "/orders");
    Vec::new()
}
