// Expansion snapshot, checked by `sdk-macros/src/snapshots.rs`.
// Regenerate: UPDATE_EXPECT=1 cargo test -p serverless_sdk_macros snapshots
//
// #[span]
// fn checksum(d: &[u8]) -> u32 {
//     d.iter().map(|b| u32::from(*b)).sum()
// }

fn checksum(d: &[u8]) -> u32 {
    let __sls_span = ::serverless_sdk::__private::enter_span(
        "checksum",
        "checksum",
        ::core::module_path!(),
    );
    #[allow(clippy::redundant_closure_call)]
    let __sls_ret: u32 = (|| -> u32 { d.iter().map(|b| u32::from(*b)).sum() })();
    {
        #[allow(unused_imports)]
        use ::serverless_sdk::__private::{
            RecordViaError as _, RecordViaBox as _, RecordViaDisplay as _,
            RecordNothing as _,
        };
        (&&&&::serverless_sdk::__private::Probe(&__sls_ret))
            .__sls_record(__sls_span.handle());
    }
    __sls_ret
}
