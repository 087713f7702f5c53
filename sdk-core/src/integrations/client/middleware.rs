//! CLIENT spans for `reqwest`, as a `reqwest-middleware` middleware.

use std::error::Error;

use http::Extensions;
use reqwest::{Request, Response, Url};
use reqwest_middleware::{Middleware, Next};

use super::{
    http_span::{HttpCall, Target, transport_error_kind},
    options::ClientOptions,
};

/// A [`reqwest_middleware::Middleware`] that gives every request a CLIENT span and trace
/// headers; see the [module docs](crate::integrations::client). Needs the `reqwest` feature.
///
/// ```no_run
/// use reqwest_middleware::ClientBuilder;
/// use serverless_sdk::integrations::client::HttpClientMiddleware;
///
/// # async fn demo() -> Result<(), reqwest_middleware::Error> {
/// let client = ClientBuilder::new(reqwest::Client::new())
///     .with(HttpClientMiddleware::new())
///     .build();
/// // Inside an invocation: a CLIENT span "GET api.example.com", child of the current span.
/// let response = client.get("https://api.example.com/orders?page=2").send().await?;
/// # let _ = response;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct HttpClientMiddleware {
    options: ClientOptions,
}

super::options::client_options_builders!(HttpClientMiddleware);

fn target(url: &Url) -> Option<Target> {
    let host = url.host_str()?.to_ascii_lowercase();
    let port = url.port_or_known_default()?;
    let mut clean = url.clone();
    // Userinfo, query and fragment never reach telemetry.
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    clean.set_query(None);
    clean.set_fragment(None);
    Some(Target {
        host,
        port,
        url_full: clean.into(),
    })
}

/// The name of a failure that left no response.
fn error_type(error: &reqwest_middleware::Error) -> String {
    match error {
        reqwest_middleware::Error::Reqwest(e) => {
            if e.is_timeout() {
                return "timeout".to_owned();
            }
            if let Some(kind) = transport_error_kind(e) {
                return kind;
            }
            let kind = if e.is_connect() {
                "connect"
            } else if e.is_redirect() {
                "redirect"
            } else if e.is_body() {
                "body"
            } else if e.is_decode() {
                "decode"
            } else if e.is_builder() {
                "builder"
            } else if e.is_request() {
                "request"
            } else {
                "reqwest::Error"
            };
            kind.to_owned()
        }
        reqwest_middleware::Error::Middleware(e) => {
            let root: &(dyn Error + 'static) = e.as_ref();
            transport_error_kind(root).unwrap_or_else(|| "middleware".to_owned())
        }
    }
}

#[async_trait::async_trait]
impl Middleware for HttpClientMiddleware {
    async fn handle(
        &self,
        mut req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let call = target(req.url())
            .and_then(|target| HttpCall::start(&self.options, req.method().as_str(), &target));
        let Some(call) = call else {
            return next.run(req, extensions).await;
        };
        call.inject(&self.options, req.headers_mut());
        let result = next.run(req, extensions).await;
        match &result {
            Ok(response) => call.finish_status(response.status().as_u16()),
            Err(error) => call.finish_error(error_type(error)),
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_hold_no_secrets() {
        let url = Url::parse(
            "https://AKIA:secret@bucket.s3.amazonaws.com/key.txt?X-Amz-Signature=abc&X-Amz-Credential=x#top",
        )
        .expect("url");
        let t = target(&url).expect("target");
        assert_eq!(t.url_full, "https://bucket.s3.amazonaws.com/key.txt");
        assert_eq!((t.host.as_str(), t.port), ("bucket.s3.amazonaws.com", 443));
        let t = target(&Url::parse("http://localhost:3000/a/b").expect("url")).expect("target");
        assert_eq!(t.url_full, "http://localhost:3000/a/b");
        assert_eq!(t.port, 3000);
    }
}
