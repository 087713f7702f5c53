// Expansion snapshot, checked by `sdk-macros/src/snapshots.rs`.
// Regenerate: UPDATE_EXPECT=1 cargo test -p serverless_sdk_macros snapshots
//
// #[serverless_handler]
// fn hello(event: LambdaEvent<Value>) -> Result<Value, E> {
//     Ok(event.payload)
// }

::core::compile_error! {
    "#[serverless_handler] needs an `async fn`: Lambda handlers are async, write `async fn`"
}
fn hello(event: LambdaEvent<Value>) -> Result<Value, E> {
    Ok(event.payload)
}
