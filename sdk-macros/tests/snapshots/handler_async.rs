// Expansion snapshot, checked by `sdk-macros/src/snapshots.rs`.
// Regenerate: UPDATE_SNAPSHOTS=1 cargo test -p serverless_sdk_macros snapshots
//
// #[serverless_handler]
// async fn hello(event: LambdaEvent<Value>) -> Result<Value, E> {
//     Ok(event.payload)
// }

async fn hello(
    __sls_event: LambdaEvent<Value>,
) -> ::serverless_sdk::__private::Output<LambdaEvent<Value>, Result<Value, E>> {
    static __SLS_META: ::serverless_sdk::__private::HandlerMeta = ::serverless_sdk::__private::HandlerMeta {
        name: "hello",
        module: ::core::module_path!(),
        span_name: ::core::option::Option::None,
    };
    ::serverless_sdk::__private::handle::<
        ::serverless_sdk::__private::ViaFacade,
        _,
        _,
        _,
        _,
        _,
    >(
            __sls_event,
            &__SLS_META,
            move |__sls_event: LambdaEvent<Value>| ::serverless_sdk::__private::typed_future::<
                Result<Value, E>,
                _,
            >(async move {
                let event: LambdaEvent<Value> = __sls_event;
                Ok(event.payload)
            }),
            |__sls_err| {
                ::serverless_sdk::__private::classify!(
                    ::serverless_sdk::__private::ViaFacade, __sls_err
                )
            },
        )
        .await
}
