//! Agent and account ids, and the file-name keys stores are named by
//! (openclaw-host spec section 1).

/// The agent id used when none is given.
pub const DEFAULT_AGENT_ID: &str = "main";
/// The main session key used when none is given.
pub const DEFAULT_MAIN_KEY: &str = "main";
/// The account id used when none is given.
pub const DEFAULT_ACCOUNT_ID: &str = "default";

/// Account ids that would collide with JavaScript object internals on the host.
const RESERVED_ACCOUNT_IDS: [&str; 3] = ["__proto__", "prototype", "constructor"];

/// Normalizes an id: trim; an id matching `^[a-z0-9][a-z0-9_-]{0,63}$`
/// (ignoring case) is only lower-cased; otherwise it is lower-cased, each run
/// of characters outside `[a-z0-9_-]` becomes `-`, leading and trailing `-`
/// are stripped and it is cut to 64 characters. Empty gives `None`.
fn normalize_id(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    let lower = trimmed.to_lowercase();
    let simple = |s: &str| {
        let mut chars = s.chars();
        matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
            && s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    };
    if simple(&lower) {
        return Some(lower);
    }
    let mut out = String::with_capacity(lower.len());
    let mut in_run = false;
    for c in lower.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-' {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('-');
            in_run = true;
        }
    }
    let stripped: String = out.trim_matches('-').chars().take(64).collect();
    (!stripped.is_empty()).then_some(stripped)
}

/// Normalizes an agent id; empty gives [`DEFAULT_AGENT_ID`].
///
/// ```
/// use channel_contract::ids::normalize_agent_id;
/// assert_eq!(normalize_agent_id(" Main "), "main");
/// assert_eq!(normalize_agent_id("My Agent!"), "my-agent");
/// assert_eq!(normalize_agent_id(""), "main");
/// ```
pub fn normalize_agent_id(raw: &str) -> String {
    normalize_id(raw).unwrap_or_else(|| DEFAULT_AGENT_ID.to_owned())
}

/// Normalizes an account id; empty, `__proto__`, `prototype` and `constructor`
/// give [`DEFAULT_ACCOUNT_ID`].
///
/// ```
/// use channel_contract::ids::normalize_account_id;
/// assert_eq!(normalize_account_id("b0f5860fdecb@im.bot"), "b0f5860fdecb-im-bot");
/// assert_eq!(normalize_account_id("__proto__"), "default");
/// ```
pub fn normalize_account_id(raw: &str) -> String {
    match normalize_id(raw) {
        Some(id)
            if !RESERVED_ACCOUNT_IDS.contains(&raw.trim().to_lowercase().as_str())
                && !RESERVED_ACCOUNT_IDS.contains(&id.as_str()) =>
        {
            id
        }
        _ => DEFAULT_ACCOUNT_ID.to_owned(),
    }
}

/// Why a file-name key could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key is empty after trimming.
    #[error("file-name key is empty")]
    Empty,
    /// The key became a bare `_` (it held only unsafe characters).
    #[error("file-name key {0:?} has no safe characters")]
    Unsafe(String),
}

/// A file-name key for a channel or account: trimmed, lower-cased,
/// `\ / : * ? " < > |` replaced by `_`, and `..` replaced by `_`.
///
/// ```
/// use channel_contract::ids::file_name_key;
/// assert_eq!(file_name_key("OpenClaw-Weixin").unwrap(), "openclaw-weixin");
/// assert_eq!(file_name_key("a/b:c").unwrap(), "a_b_c");
/// assert!(file_name_key("  ").is_err());
/// assert!(file_name_key("/").is_err());
/// ```
pub fn file_name_key(raw: &str) -> Result<String, KeyError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(KeyError::Empty);
    }
    let safe: String = trimmed
        .to_lowercase()
        .chars()
        .map(|c| match c {
            '\\' | '/' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            other => other,
        })
        .collect();
    let safe = safe.replace("..", "_");
    if safe == "_" {
        return Err(KeyError::Unsafe(raw.to_owned()));
    }
    Ok(safe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_ids() {
        let cases = [
            ("main", "main"),
            ("  Sales-Bot_2 ", "sales-bot_2"),
            ("Ops Team", "ops-team"),
            ("--x--", "x"),
            ("a..b//c", "a-b-c"),
            ("_lead", "_lead"),
            ("!!!", "main"),
            ("", "main"),
            ("__proto__", "__proto__"),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize_agent_id(raw), want, "{raw:?}");
        }
        let long = "a".repeat(100);
        assert_eq!(normalize_agent_id(&long).len(), 64);
        assert_eq!(
            normalize_agent_id(&format!("x {}", "b".repeat(100))).len(),
            64
        );
    }

    #[test]
    fn account_ids() {
        let cases = [
            ("default", "default"),
            ("b0f5860fdecb@im.bot", "b0f5860fdecb-im-bot"),
            ("b0f5860fdecb-im-bot", "b0f5860fdecb-im-bot"),
            ("__proto__", "default"),
            ("Prototype", "default"),
            ("constructor", "default"),
            ("  ", "default"),
            ("Work Phone", "work-phone"),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize_account_id(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn file_name_keys() {
        assert_eq!(file_name_key("x..y").ok().as_deref(), Some("x_y"));
        assert_eq!(
            file_name_key("..").err(),
            Some(KeyError::Unsafe("..".into()))
        );
        assert_eq!(
            file_name_key(r#"a\b*c?d"e<f>g|h"#).ok().as_deref(),
            Some("a_b_c_d_e_f_g_h")
        );
        assert_eq!(file_name_key("").err(), Some(KeyError::Empty));
    }
}
