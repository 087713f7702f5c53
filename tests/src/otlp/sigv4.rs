//! AWS Signature Version 4 verification, as AWS X-Ray's OTLP endpoint does it: the
//! signature is computed again from the request as it was received (method, path, query,
//! the headers it names, the body's bytes) and the secret key, and compared.
//!
//! Written from the AWS documentation ("Create a signed AWS API request") with `hmac` and
//! `sha2`, independently of the `aws-sigv4` crate the SDK signs with, so that a mistake in
//! how the SDK uses that crate is caught here.

use hmac::{Hmac, Mac};
use http::{HeaderMap, Method, Uri};
use sha2::{Digest, Sha256};
use std::{
    fmt::Write as _,
    time::{Duration, SystemTime},
};

/// What a receiver accepts: requests signed with this key pair, for this region and service.
///
/// ```
/// use serverless_sdk_tests::otlp::SigV4Check;
///
/// let check = SigV4Check::xray_test();
/// // The variables that give a function these credentials.
/// let env = check.function_env();
/// assert!(env.iter().any(|(name, _)| *name == "AWS_SECRET_ACCESS_KEY"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigV4Check {
    /// The access key id the `Credential=` of the signature must name.
    pub access_key_id: String,
    /// The secret key signatures are computed with.
    pub secret_access_key: String,
    /// The session token that must be sent as `x-amz-security-token` (and signed), if any.
    pub session_token: Option<String>,
    /// The region of the credential scope, e.g. `us-east-1`.
    pub region: String,
    /// The service of the credential scope: `xray` for X-Ray's OTLP endpoint.
    pub service: String,
}

/// Headers that a signature must cover for a request to be accepted: the request's target
/// and time, and what says how to read the body.
const REQUIRED_SIGNED: &[&str] = &["host", "x-amz-date", "content-type"];

/// How far a request's `x-amz-date` may be from now (AWS allows 5 minutes).
const MAX_SKEW: Duration = Duration::from_secs(300);

impl SigV4Check {
    /// Test credentials for service `xray` in `us-east-1`, the kit's region.
    pub fn xray_test() -> SigV4Check {
        SigV4Check {
            access_key_id: "AKIDSERVERLESSTEST".to_owned(),
            secret_access_key: "kit-secret-ad0bd6c1f4f6a0e1b3a2".to_owned(),
            session_token: Some("kit-session-token-5c1e".to_owned()),
            region: "us-east-1".to_owned(),
            service: "xray".to_owned(),
        }
    }

    /// The `AWS_*` variables that give a function these credentials.
    pub fn function_env(&self) -> Vec<(&'static str, String)> {
        let mut vars = vec![
            ("AWS_ACCESS_KEY_ID", self.access_key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret_access_key.clone()),
            ("AWS_REGION", self.region.clone()),
        ];
        if let Some(token) = &self.session_token {
            vars.push(("AWS_SESSION_TOKEN", token.clone()));
        }
        vars
    }

    /// Checks the signature of a request received as `method`, `uri`, `headers` and `body`;
    /// the error says what does not match.
    ///
    /// # Errors
    ///
    /// If the request is not signed, or not by these credentials for this scope, or not
    /// over what was received (any signed header or the body changed), or too old.
    pub fn verify(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), String> {
        let header = |name: &str| -> Result<&str, String> {
            headers
                .get(name)
                .ok_or_else(|| format!("no {name} header"))?
                .to_str()
                .map_err(|_| format!("{name} is not text"))
        };
        let authorization = header("authorization")?;
        let fields = authorization
            .strip_prefix("AWS4-HMAC-SHA256 ")
            .ok_or("authorization is not AWS4-HMAC-SHA256")?;
        let mut credential = None;
        let mut signed_headers = None;
        let mut signature = None;
        for field in fields.split(',').map(str::trim) {
            match field.split_once('=') {
                Some(("Credential", v)) => credential = Some(v),
                Some(("SignedHeaders", v)) => signed_headers = Some(v),
                Some(("Signature", v)) => signature = Some(v),
                _ => return Err(format!("unexpected authorization field {field:?}")),
            }
        }
        let (Some(credential), Some(signed_headers), Some(signature)) =
            (credential, signed_headers, signature)
        else {
            return Err("authorization lacks Credential, SignedHeaders or Signature".to_owned());
        };

        // Credential=AKID/20260102/us-east-1/xray/aws4_request
        let parts: Vec<&str> = credential.split('/').collect();
        let [access_key, date, region, service, "aws4_request"] = parts[..] else {
            return Err(format!("malformed credential scope {credential:?}"));
        };
        if access_key != self.access_key_id {
            return Err(format!("unknown access key {access_key:?}"));
        }
        if region != self.region || service != self.service {
            return Err(format!(
                "scope {region}/{service}, expected {}/{}",
                self.region, self.service
            ));
        }
        let amz_date = header("x-amz-date")?;
        if amz_date.len() != 16 || !amz_date.starts_with(date) {
            return Err(format!(
                "x-amz-date {amz_date:?} does not match the scope's date {date:?}"
            ));
        }
        check_skew(amz_date)?;

        let signed: Vec<&str> = signed_headers.split(';').collect();
        let mut sorted = signed.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted != signed {
            return Err(format!(
                "SignedHeaders {signed_headers:?} are not sorted and unique"
            ));
        }
        let mut required: Vec<&str> = REQUIRED_SIGNED.to_vec();
        if headers.contains_key("content-encoding") {
            required.push("content-encoding");
        }
        if let Some(token) = &self.session_token {
            required.push("x-amz-security-token");
            if header("x-amz-security-token")? != token {
                return Err("x-amz-security-token is not the session token".to_owned());
            }
        }
        if let Some(missing) = required.iter().find(|name| !signed.contains(name)) {
            return Err(format!("{missing} is not signed"));
        }

        let mut canonical = String::new();
        let _ = writeln!(canonical, "{method}");
        // Non-S3 services encode each path segment twice.
        let _ = writeln!(
            canonical,
            "{}",
            uri_encode(&uri_encode(uri.path(), false), false)
        );
        let _ = writeln!(canonical, "{}", canonical_query(uri.query().unwrap_or("")));
        for name in &signed {
            let values: Vec<String> = headers
                .get_all(*name)
                .iter()
                .map(|v| collapse_spaces(&String::from_utf8_lossy(v.as_bytes())))
                .collect();
            if values.is_empty() {
                return Err(format!("signed header {name} is not in the request"));
            }
            let _ = writeln!(canonical, "{name}:{}", values.join(","));
        }
        let _ = writeln!(canonical);
        let _ = writeln!(canonical, "{signed_headers}");
        canonical.push_str(&hex(&Sha256::digest(body)));

        let expected = compute_signature(
            &self.secret_access_key,
            [date, region, service],
            amz_date,
            &canonical,
        );
        if expected == signature {
            Ok(())
        } else {
            Err(format!(
                "The request signature we calculated does not match the signature you provided \
                 (signed headers {signed_headers})"
            ))
        }
    }
}

/// The signature of the canonical request `canonical`, made at `amz_date` in the scope
/// `date/region/service`, with `secret`.
fn compute_signature(
    secret: &str,
    [date, region, service]: [&str; 3],
    amz_date: &str,
    canonical: &str,
) -> String {
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let key = [date, region, service, "aws4_request"]
        .iter()
        .fold(format!("AWS4{secret}").into_bytes(), |key, part| {
            hmac(&key, part.as_bytes())
        });
    hex(&hmac(&key, string_to_sign.as_bytes()))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// URI-encodes `s` as SigV4 defines it: every byte but `A-Z a-z 0-9 - _ . ~` (and `/` in a
/// path) as `%XX`, upper-case.
fn uri_encode(s: &str, encode_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || (b == b'/' && !encode_slash) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The query's parameters encoded and sorted by name, then value.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (uri_encode(k, true), uri_encode(v, true))
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// A header value trimmed, with runs of spaces made one.
fn collapse_spaces(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Checks that `amz_date` (`YYYYMMDDTHHMMSSZ`) is within [`MAX_SKEW`] of now.
fn check_skew(amz_date: &str) -> Result<(), String> {
    let rfc3339 = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &amz_date[0..4],
        &amz_date[4..6],
        &amz_date[6..8],
        &amz_date[9..11],
        &amz_date[11..13],
        &amz_date[13..15]
    );
    let at =
        humantime::parse_rfc3339(&rfc3339).map_err(|e| format!("x-amz-date {amz_date:?}: {e}"))?;
    let now = SystemTime::now();
    let skew = now
        .duration_since(at)
        .or_else(|_| at.duration_since(now))
        .unwrap_or_default();
    if skew > MAX_SKEW {
        return Err(format!("x-amz-date {amz_date:?} is {skew:?} from now"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the AWS documentation's SigV4 test suite (`get-vanilla`): a known
    /// request, key and signature.
    #[test]
    fn the_aws_test_suite_vanilla_request_verifies() {
        let canonical = "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\
                         e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(
            compute_signature(
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                ["20150830", "us-east-1", "service"],
                "20150830T123600Z",
                canonical
            ),
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn paths_and_queries_are_encoded_as_sigv4_says() {
        assert_eq!(uri_encode("/v1/traces", false), "/v1/traces");
        assert_eq!(uri_encode("/a b/ü", false), "/a%20b/%C3%BC");
        assert_eq!(canonical_query("b=2&a=1&a=0"), "a=0&a=1&b=2");
        assert_eq!(collapse_spaces("  a   b "), "a b");
    }
}
