//! Errors as one line of text, causes included, for messages that embed another error (a
//! validation failure naming why the API server did not answer, a download naming why it
//! failed). Shared by cloudup and nodeup, which both depend on this crate.

/// `error: cause: cause…` on one line.
#[must_use]
pub fn one_line(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
