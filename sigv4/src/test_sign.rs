//! Signing requests built by hand in tests (feature `test-sign`).

use std::time::SystemTime;

use crate::{Credentials, SigV4Scope};

/// The SigV4 headers (`authorization`, `x-amz-date`, and `x-amz-security-token` when the
/// credentials carry one; names in lower case) for a request of `method` to `url` with the
/// other signed `headers` and `body`, signed by `signer` for `scope` at `time`.
///
/// The caller sends `headers` and these; any other header it adds is not signed.
///
/// # Panics
/// When the signer refuses the request (a malformed URL): a test's failure report.
pub fn signature_headers(
    scope: &SigV4Scope,
    signer: &Credentials,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    time: SystemTime,
) -> Vec<(String, String)> {
    match scope.sign(signer, method, url, headers, body, time) {
        Ok(signed) => signed
            .into_iter()
            .map(|(name, value)| (name.to_lowercase(), value))
            .collect(),
        Err(e) => panic!("cannot sign {method} {url}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::verify;

    #[test]
    fn signed_headers_verify_and_name_the_token() {
        let c = Credentials {
            access_key_id: "AKIDTEST".into(),
            secret_access_key: "secret".into(),
            session_token: Some("tok".into()),
            expires_at: None,
        };
        let scope = SigV4Scope {
            region: "us-east-1".into(),
            service: "execute-api".into(),
        };
        let url = "http://127.0.0.1:9/v1/inspections";
        let now = SystemTime::now();
        let mut headers = signature_headers(
            &scope,
            &c,
            "POST",
            url,
            &[("content-type", "application/json")],
            b"{}",
            now,
        );
        assert!(
            headers
                .iter()
                .any(|(n, v)| n == "x-amz-security-token" && v == "tok")
        );
        headers.push(("content-type".into(), "application/json".into()));
        assert_eq!(
            verify(&c, &scope, "POST", url, &headers, b"{}", now),
            Ok(())
        );
        assert!(verify(&c, &scope, "POST", url, &headers, b"{ }", now).is_err());
    }
}
