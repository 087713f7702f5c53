// Expansion snapshot, checked by `sdk-macros/src/snapshots.rs`.
// Regenerate: UPDATE_EXPECT=1 cargo test -p serverless_sdk_macros snapshots
//
// #[serverless_handler]
// async fn hello(event: LambdaEvent<Value>) -> Result<Value, E> {
//     Ok(event.payload)
// }

async fn hello(
    __sls_event: LambdaEvent<Value>,
) -> <LambdaEvent<
    Value,
> as ::serverless_sdk::__private::Trigger<
    ::core::result::Result<
        <Result<Value, E> as ::serverless_sdk::__private::HandlerResult>::Ok,
        <Result<Value, E> as ::serverless_sdk::__private::HandlerResult>::Err,
    >,
>>::Output {
    static __SLS_META: ::serverless_sdk::__private::HandlerMeta = ::serverless_sdk::__private::HandlerMeta {
        name: "hello",
        module: ::core::module_path!(),
        span_name: ::core::option::Option::None,
    };
    ::serverless_sdk::__private::handle::<
        LambdaEvent<Value>,
        ::core::result::Result<
            <Result<Value, E> as ::serverless_sdk::__private::HandlerResult>::Ok,
            <Result<Value, E> as ::serverless_sdk::__private::HandlerResult>::Err,
        >,
        _,
        _,
        _,
    >(
            __sls_event,
            &__SLS_META,
            |__sls_event: LambdaEvent<Value>| async move {
                <Result<
                    Value,
                    E,
                > as ::serverless_sdk::__private::HandlerResult>::into_result(
                    ::serverless_sdk::__private::typed_future::<
                        Result<Value, E>,
                        _,
                    >(async move {
                            let event: LambdaEvent<Value> = __sls_event;
                            Ok(event.payload)
                        })
                        .await,
                )
            },
            |
                __sls_err: &<Result<
                    Value,
                    E,
                > as ::serverless_sdk::__private::HandlerResult>::Err|
            {
                #[allow(unused_imports)]
                use ::serverless_sdk::__private::{
                    ReportViaError as _, ReportViaBox as _, ReportViaDisplay as _,
                    ReportViaDebug as _, TextViaDisplay as _, TextViaDebug as _,
                    ErrorTypeViaTrait as _, ErrorTypeDefault as _, HttpViaTrait as _,
                    HttpViaBox as _, HttpDefault as _,
                };
                trait __SlsKnown {
                    fn __sls_known(&self) {}
                }
                impl<T: ?::core::marker::Sized> __SlsKnown for T {}
                (*__sls_err).__sls_known();
                ::serverless_sdk::__private::ErrorInfo {
                    report: (&&&::serverless_sdk::__private::Probe(__sls_err))
                        .__sls_report(),
                    display: (&&::serverless_sdk::__private::Probe(__sls_err))
                        .__sls_text(),
                    error_type: (&&::serverless_sdk::__private::Probe(__sls_err))
                        .__sls_error_type(),
                    http: (&&::serverless_sdk::__private::Probe(__sls_err)).__sls_http(),
                }
            },
        )
        .await
}
