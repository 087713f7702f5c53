// Expansion snapshot, checked by `sdk-macros/src/snapshots.rs`.
// Regenerate: UPDATE_SNAPSHOTS=1 cargo test -p serverless_sdk_macros snapshots
//
// #[serverless_handler(name = "orders")]
// #[route(POST, "/orders")]
// async fn orders(event: Value, ctx: Context) -> Result<Value, E> {
//     Ok(event)
// }

async fn orders(
    __sls_event: ::serverless_sdk::__private::LambdaEvent<Value>,
) -> ::serverless_sdk::__private::Output<
    ::serverless_sdk::__private::LambdaEvent<Value>,
    Result<Value, E>,
> {
    static __SLS_META: ::serverless_sdk::__private::HandlerMeta = ::serverless_sdk::__private::HandlerMeta {
        name: "orders",
        module: ::core::module_path!(),
        span_name: ::core::option::Option::Some("orders"),
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
            move |__sls_event: ::serverless_sdk::__private::LambdaEvent<Value>| ::serverless_sdk::__private::typed_future::<
                Result<Value, E>,
                _,
            >(async move {
                let (event, ctx): (Value, Context) = (
                    __sls_event.payload,
                    __sls_event.context,
                );
                #[allow(unused_imports)]
                use route as _;
                ::serverless_sdk::__private::set_route(
                    ::core::option::Option::Some("POST"),
                    "/orders",
                );
                Ok(event)
            }),
            |__sls_err| {
                ::serverless_sdk::__private::classify!(
                    ::serverless_sdk::__private::ViaFacade, __sls_err
                )
            },
        )
        .await
}
