// Expansion snapshot, checked by `sdk-macros/src/snapshots.rs`.
// Regenerate: UPDATE_SNAPSHOTS=1 cargo test -p serverless_sdk_macros snapshots
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
    ::serverless_sdk::__private::record_result!(& __sls_ret, & __sls_span);
    __sls_span.close();
    __sls_ret
}
