// Expansion snapshot, checked by `sdk-macros/src/snapshots.rs`.
// Regenerate: UPDATE_EXPECT=1 cargo test -p serverless_sdk_macros snapshots
//
// #[span("pricing")]
// async fn price(q: u64) -> Result<u64, E> {
//     let unit = fetch_unit_price().await?;
//     Ok(q * unit)
// }

async fn price(q: u64) -> Result<u64, E> {
    let __sls_span = ::serverless_sdk::__private::start_async_span(
        "pricing",
        "price",
        ::core::module_path!(),
    );
    let __sls_ret = __sls_span
        .scope(
            ::serverless_sdk::__private::typed_future::<
                Result<u64, E>,
                _,
            >(async move {
                let unit = fetch_unit_price().await?;
                Ok(q * unit)
            }),
        )
        .await;
    {
        #[allow(unused_imports)]
        use ::serverless_sdk::__private::{
            RecordViaError as _, RecordViaBox as _, RecordViaDisplay as _,
            RecordNothing as _,
        };
        (&&&&::serverless_sdk::__private::Probe(&__sls_ret)).__sls_record(&__sls_span);
    }
    __sls_span.close();
    __sls_ret
}
