//! SigV4 signing of OTLP/HTTP requests, for AWS X-Ray's OTLP endpoint
//! (`https://xray.{region}.amazonaws.com/v1/traces`).
//!
//! The function's own credentials are read from the environment once, at the first export
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, which Lambda sets for
//! the life of the execution environment): no AWS SDK client, no credentials provider
//! chain, nothing at cold start but the region. A request is signed last, after every header and any compression, so the
//! signature covers the bytes that are sent.

use std::{env, sync::OnceLock, time::SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::{
    http_request::{SignableBody, SignableRequest, SigningSettings, sign},
    sign::v4,
};

use crate::config::OtlpSigning;

/// The SigV4 service name of X-Ray's OTLP endpoint.
pub(crate) const XRAY_SERVICE: &str = "xray";

/// Signs requests for one service in one region.
#[derive(Debug)]
pub(crate) struct Signer {
    region: String,
    service: &'static str,
    /// The environment's credentials, read at the first signing; `None` if they are not set.
    credentials: OnceLock<Option<Credentials>>,
}

/// The region of an X-Ray endpoint host, `xray.{region}.amazonaws.com`.
pub(crate) fn xray_region_of_host(host: &str) -> Option<&str> {
    let region = host
        .strip_prefix("xray.")?
        .strip_suffix(".amazonaws.com")
        .or_else(|| {
            host.strip_prefix("xray.")?
                .strip_suffix(".amazonaws.com.cn")
        })?;
    let valid = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    valid.then_some(region)
}

impl Signer {
    /// The signer `signing` asks for with requests to `host`: `Ok(None)` when requests go
    /// unsigned; an error when they should be signed but no region is known.
    pub(crate) fn for_endpoint(signing: OtlpSigning, host: &str) -> Result<Option<Self>, String> {
        let host_region = xray_region_of_host(host);
        let sign = match signing {
            OtlpSigning::Off => false,
            OtlpSigning::XRay => true,
            OtlpSigning::Auto => host_region.is_some(),
        };
        if !sign {
            return Ok(None);
        }
        let region = host_region
            .map(str::to_owned)
            .or_else(|| var("AWS_REGION"))
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .ok_or_else(|| {
                format!(
                    "SigV4 signing for {host} needs a region: AWS_REGION is not set and the host is not xray.<region>.amazonaws.com"
                )
            })?;
        Ok(Some(Self {
            region,
            service: XRAY_SERVICE,
            credentials: OnceLock::new(),
        }))
    }

    /// Signs `request`, whose body is `body` (the exact bytes sent), with the environment's
    /// credentials: adds `x-amz-date`, `authorization` and, with a session token,
    /// `x-amz-security-token`. Errors name what is missing, never a secret.
    pub(crate) fn sign<B>(
        &self,
        request: &mut http::Request<B>,
        body: &[u8],
    ) -> Result<(), String> {
        let Some(credentials) = self.credentials.get_or_init(credentials_from_env) else {
            return Err(
                "SigV4: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set; not sent".into(),
            );
        };
        self.sign_with(request, body, credentials.clone(), SystemTime::now())
    }

    /// [`Signer::sign`] with the given credentials and time.
    fn sign_with<B>(
        &self,
        request: &mut http::Request<B>,
        body: &[u8],
        credentials: Credentials,
        time: SystemTime,
    ) -> Result<(), String> {
        // The host the signature names is the one sent: set it now rather than leave it to
        // the HTTP client.
        if !request.headers().contains_key(http::header::HOST)
            && let Some(authority) = request.uri().authority()
            && let Ok(host) = http::HeaderValue::from_str(authority.as_str())
        {
            request.headers_mut().insert(http::header::HOST, host);
        }
        let identity = credentials.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(self.service)
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| format!("SigV4: {e}"))?
            .into();
        let uri = request.uri().to_string();
        let headers = request
            .headers()
            .iter()
            .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)));
        let signable = SignableRequest::new(
            request.method().as_str(),
            uri,
            headers,
            SignableBody::Bytes(body),
        )
        .map_err(|e| format!("SigV4: {e}"))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| format!("SigV4: {e}"))?
            .into_parts();
        instructions.apply_to_request_http1x(request);
        Ok(())
    }
}

/// The credentials Lambda puts in the function's environment.
fn credentials_from_env() -> Option<Credentials> {
    Some(Credentials::new(
        var("AWS_ACCESS_KEY_ID")?,
        var("AWS_SECRET_ACCESS_KEY")?,
        var("AWS_SESSION_TOKEN"),
        None,
        "environment",
    ))
}

fn var(name: &str) -> Option<String> {
    env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xray_hosts_give_their_region() {
        assert_eq!(
            xray_region_of_host("xray.eu-west-1.amazonaws.com"),
            Some("eu-west-1")
        );
        assert_eq!(
            xray_region_of_host("xray.cn-north-1.amazonaws.com.cn"),
            Some("cn-north-1")
        );
        assert_eq!(xray_region_of_host("xray.amazonaws.com"), None);
        assert_eq!(xray_region_of_host("collector.example.com"), None);
        assert_eq!(xray_region_of_host("xray.evil.com/.amazonaws.com"), None);
        assert_eq!(xray_region_of_host("localhost"), None);
    }

    #[test]
    fn auto_signs_only_xray_hosts_and_off_never() {
        let signer = Signer::for_endpoint(OtlpSigning::Auto, "xray.us-west-2.amazonaws.com")
            .unwrap_or_default()
            .map(|s| s.region);
        assert_eq!(signer.as_deref(), Some("us-west-2"));
        assert!(matches!(
            Signer::for_endpoint(OtlpSigning::Auto, "127.0.0.1"),
            Ok(None)
        ));
        assert!(matches!(
            Signer::for_endpoint(OtlpSigning::Off, "xray.us-west-2.amazonaws.com"),
            Ok(None)
        ));
    }

    #[test]
    fn signing_adds_the_date_the_token_and_the_authorization() {
        let signer = Signer {
            region: "eu-west-1".into(),
            service: XRAY_SERVICE,
            credentials: OnceLock::new(),
        };
        let mut request = http::Request::post("http://xray.eu-west-1.amazonaws.com/v1/traces")
            .header("content-type", "application/x-protobuf")
            .body(())
            .unwrap_or_default();
        let credentials =
            Credentials::new("AKIDEXAMPLE", "secret", Some("token".into()), None, "test");
        // 2026-01-02T03:04:05Z
        let time = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_767_323_045);
        let signed = signer.sign_with(&mut request, b"body", credentials, time);
        assert_eq!(signed, Ok(()));
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(header("x-amz-date"), "20260102T030405Z");
        assert_eq!(header("x-amz-security-token"), "token");
        let authorization = header("authorization");
        assert!(
            authorization.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/eu-west-1/xray/aws4_request, \
                 SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature="
            ),
            "{authorization}"
        );
        assert!(!authorization.contains("secret"), "{authorization}");
    }
}
