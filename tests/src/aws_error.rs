//! How AWS's clients read a refusal: the error type in the `x-amzn-ErrorType` header, the
//! one copy for the tests that check the endpoint's and the office's answers.

/// The `x-amzn-ErrorType` header's value, if the answer has one (`hyper`'s `HeaderMap` is
/// `http`'s, the one `reqwest`'s responses carry).
pub fn error_type(headers: &hyper::HeaderMap) -> Option<String> {
    headers
        .get("x-amzn-errortype")
        .map(|v| v.to_str().expect("x-amzn-ErrorType is ASCII").to_owned())
}
