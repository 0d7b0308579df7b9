//! Redaction for log lines: nothing that could carry a token reaches a log.
//!
//! Tokens are cut to a 6-character prefix plus their length, JSON bodies have the
//! values of `context_token`, `bot_token`, `token` and `Authorization` masked and
//! are cut to 200 characters, and URLs lose their query strings.

/// How many characters of a logged body are kept.
pub const MAX_LOGGED_BODY_CHARS: usize = 200;

/// Keys whose JSON string values are masked in logged bodies (compared case-insensitively).
const SECRET_KEYS: [&str; 4] = ["context_token", "bot_token", "token", "authorization"];

/// A token as it may appear in a log: its first 6 characters and its length,
/// or `****(len=N)` when it has 6 characters or fewer.
///
/// ```
/// assert_eq!(ilink_client::redact::redact_token("abcdefghij"), "abcdef…(len=10)");
/// assert_eq!(ilink_client::redact::redact_token("abc"), "****(len=3)");
/// ```
pub fn redact_token(token: &str) -> String {
    let len = token.chars().count();
    if len <= 6 {
        format!("****(len={len})")
    } else {
        let prefix: String = token.chars().take(6).collect();
        format!("{prefix}…(len={len})")
    }
}

/// A URL as it may appear in a log: everything from the first `?` or `#` dropped.
///
/// ```
/// assert_eq!(
///     ilink_client::redact::redact_url("https://cdn.example/download?encrypted_query_param=secret"),
///     "https://cdn.example/download"
/// );
/// ```
pub fn redact_url(url: &str) -> &str {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    &url[..end]
}

/// A JSON body as it may appear in a log: secret values masked, then cut to
/// [`MAX_LOGGED_BODY_CHARS`] characters. A body that is not JSON is not shown at all
/// (only its length), since it cannot be masked reliably.
pub fn redact_body(body: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut value) => {
            mask_value(&mut value);
            truncate_chars(&value.to_string(), MAX_LOGGED_BODY_CHARS)
        }
        Err(_) => format!("<{} bytes, not JSON>", body.len()),
    }
}

fn mask_value(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                let secret = SECRET_KEYS.iter().any(|k| key.eq_ignore_ascii_case(k));
                match v {
                    serde_json::Value::String(s) if secret => *s = redact_token(s),
                    _ => mask_value(v),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(mask_value),
        _ => {}
    }
}

/// Cuts `s` to at most `max` characters, marking a cut with `…`.
pub fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((idx, _)) => format!("{}…", &s[..idx]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_secret_key_at_any_depth() {
        let body = br#"{"token":"abcdefghijkl","msg":{"context_token":"ctx-1234567890","x":[{"Authorization":"Bearer zzzzzzzzzz"}]},"bot_token":"t"}"#;
        let logged = redact_body(body);
        assert!(!logged.contains("abcdefghijkl"), "{logged}");
        assert!(!logged.contains("ctx-1234567890"), "{logged}");
        assert!(!logged.contains("zzzzzzzzzz"), "{logged}");
        assert!(logged.contains("abcdef…(len=12)"), "{logged}");
        assert!(logged.contains("****(len=1)"), "{logged}");
    }

    #[test]
    fn cuts_long_bodies_to_200_characters() {
        let body = serde_json::json!({ "text": "字".repeat(1000) }).to_string();
        let logged = redact_body(body.as_bytes());
        assert_eq!(logged.chars().count(), MAX_LOGGED_BODY_CHARS + 1);
        assert!(logged.ends_with('…'));
    }

    #[test]
    fn non_json_bodies_show_only_their_length() {
        assert_eq!(redact_body(b"token=secret"), "<12 bytes, not JSON>");
    }

    #[test]
    fn urls_lose_query_and_fragment() {
        assert_eq!(redact_url("http://h/p?a=b#c"), "http://h/p");
        assert_eq!(redact_url("http://h/p#c?d"), "http://h/p");
        assert_eq!(redact_url("http://h/p"), "http://h/p");
    }

    #[test]
    fn token_prefix_counts_characters_not_bytes() {
        assert_eq!(redact_token("令牌令牌令牌令牌"), "令牌令牌令牌…(len=8)");
        assert_eq!(redact_token(""), "****(len=0)");
        assert_eq!(redact_token("123456"), "****(len=6)");
    }
}
