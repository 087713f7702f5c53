//! Runnable examples of `serverless_sdk`. Each binary under `src/bin/` is an ordinary Lambda
//! function (`cargo lambda build` builds it as it is); `quickstart` runs them locally.
