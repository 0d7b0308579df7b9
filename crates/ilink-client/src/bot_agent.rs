//! Sanitizer for the `bot_agent` string sent to the iLink bot API.
//!
//! `bot_agent` identifies the upstream app the way an HTTP `User-Agent` does, so
//! operators on the other side can tell which integration is talking to them. The
//! value comes from user configuration and may hold anything, so before it goes
//! on the wire it is reduced to the subset of this grammar that it contains:
//!
//! ```text
//! bot_agent = product *( SP product )
//! product   = name "/" version [ SP "(" comment ")" ]
//! name      = 1*32( ALPHA / DIGIT / "_" / "." / "-" )
//! version   = 1*32( ALPHA / DIGIT / "_" / "." / "+" / "-" )
//! comment   = 1*64( printable ASCII except "(" and ")" )
//! ```
//!
//! The bare default [`DEFAULT_BOT_AGENT`] has no `/version`, so the grammar does
//! not produce it; it is accepted as the one special case. Sanitizing never fails:
//! whatever does not parse is dropped, and an empty result becomes the default.

/// The agent string used when the configured one is empty or nothing in it is
/// valid, so the server always sees some identification.
pub const DEFAULT_BOT_AGENT: &str = "OpenClaw";

/// The longest `bot_agent` in bytes that is sent, so a long configured value
/// cannot bloat every request; trailing products are dropped to fit.
pub const MAX_BOT_AGENT_LEN: usize = 256;

/// The longest product name, in bytes (all allowed bytes are ASCII).
const MAX_NAME_LEN: usize = 32;
/// The longest product version, in bytes.
const MAX_VERSION_LEN: usize = 32;
/// The longest comment content between the parentheses, in bytes.
const MAX_COMMENT_LEN: usize = 64;

/// Whether `b` may appear in a product name.
fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
}

/// Whether `b` may appear in a product version.
fn is_version_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'+' | b'-')
}

/// Whether `b` may appear in a comment: printable ASCII (space included) except
/// the parentheses that delimit it.
fn is_comment_byte(b: u8) -> bool {
    (0x20..=0x7e).contains(&b) && b != b'(' && b != b')'
}

/// Whether `s` is 1 to `max` bytes long and every byte satisfies `allowed`.
/// Non-ASCII text fails because no predicate accepts a byte above 0x7F.
fn is_valid_run(s: &str, max: usize, allowed: fn(u8) -> bool) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(allowed)
}

/// Whether `token` is exactly `name "/" version`.
fn is_valid_product(token: &str) -> bool {
    match token.split_once('/') {
        Some((name, version)) => {
            is_valid_run(name, MAX_NAME_LEN, is_name_byte)
                && is_valid_run(version, MAX_VERSION_LEN, is_version_byte)
        }
        None => false,
    }
}

/// Whether `group` is exactly `"(" comment ")"`.
fn is_valid_comment(group: &str) -> bool {
    group
        .strip_prefix('(')
        .and_then(|rest| rest.strip_suffix(')'))
        .is_some_and(|content| is_valid_run(content, MAX_COMMENT_LEN, is_comment_byte))
}

/// Finds the index of the token that closes the comment opened by
/// `tokens[open]` (which starts with `(`).
///
/// The search runs from just after the opening `(` over the following tokens
/// and stops at the first parenthesis: a `)` closes the comment at that token, a
/// `(` (or the end of input) means the opening one is unclosed and `None` is
/// returned, so an unclosed `(` costs only its own token.
fn comment_end(tokens: &[&str], open: usize) -> Option<usize> {
    let first = tokens.get(open)?.strip_prefix('(')?;
    let rest = tokens.get(open + 1..).unwrap_or_default();
    let words = std::iter::once(first).chain(rest.iter().copied());
    for (offset, word) in words.enumerate() {
        for b in word.bytes() {
            match b {
                b')' => return Some(open + offset),
                b'(' => return None,
                _ => {}
            }
        }
    }
    None
}

/// Reduces a configured `bot_agent` to a value that satisfies
/// [`is_valid_bot_agent`], so whatever the user wrote can be sent safely.
///
/// The input is split on whitespace; a comment written over several words is
/// glued back (with single spaces) to the product right before it. Every token
/// that does not parse is dropped: bad products, comments with no valid product
/// immediately before them, a second comment on one product, and an unclosed
/// `(` together with the rest of its token. The survivors are joined with single
/// spaces. If nothing survives the result is [`DEFAULT_BOT_AGENT`]; if it is
/// longer than [`MAX_BOT_AGENT_LEN`] bytes, trailing products are dropped until
/// it fits. Sanitizing an already sanitized value returns it unchanged.
pub fn sanitize_bot_agent(input: &str) -> String {
    let tokens: Vec<&str> = input.split_whitespace().collect();
    let mut products: Vec<String> = Vec::new();
    // True while the item just processed is a kept product with no comment yet.
    let mut can_attach = false;
    let mut i = 0;
    while let Some(&token) = tokens.get(i) {
        if token.starts_with('(') {
            match comment_end(&tokens, i) {
                Some(end) => {
                    let group = tokens.get(i..=end).unwrap_or_default().join(" ");
                    if can_attach && is_valid_comment(&group) {
                        if let Some(last) = products.last_mut() {
                            last.push(' ');
                            last.push_str(&group);
                        }
                    }
                    i = end + 1;
                }
                None => i += 1,
            }
            can_attach = false;
        } else if is_valid_product(token) {
            products.push(token.to_owned());
            can_attach = true;
            i += 1;
        } else {
            can_attach = false;
            i += 1;
        }
    }

    // Dropping trailing products until the join fits keeps the longest prefix
    // that fits; building that prefix directly avoids re-joining per drop.
    let mut out = String::new();
    for product in &products {
        let extra = if out.is_empty() { 0 } else { 1 };
        if out.len() + extra + product.len() > MAX_BOT_AGENT_LEN {
            break;
        }
        if extra == 1 {
            out.push(' ');
        }
        out.push_str(product);
    }
    if out.is_empty() {
        DEFAULT_BOT_AGENT.to_owned()
    } else {
        out
    }
}

/// Checks that `s` may be sent as `bot_agent` as it is, so callers can tell a
/// clean configured value from one that [`sanitize_bot_agent`] would change.
///
/// True iff `s` is exactly [`DEFAULT_BOT_AGENT`], or it matches the module's
/// grammar exactly (products separated by single spaces, no leading or trailing
/// space) and is at most [`MAX_BOT_AGENT_LEN`] bytes long.
pub fn is_valid_bot_agent(s: &str) -> bool {
    if s == DEFAULT_BOT_AGENT {
        return true;
    }
    if s.len() > MAX_BOT_AGENT_LEN {
        return false;
    }
    let mut rest = s;
    loop {
        let (product, tail) = match rest.split_once(' ') {
            Some((product, tail)) => (product, Some(tail)),
            None => (rest, None),
        };
        if !is_valid_product(product) {
            return false;
        }
        let Some(tail) = tail else {
            return true;
        };
        rest = match tail.strip_prefix('(') {
            Some(after_open) => {
                let Some((content, after_close)) = after_open.split_once(')') else {
                    return false;
                };
                if !is_valid_run(content, MAX_COMMENT_LEN, is_comment_byte) {
                    return false;
                }
                if after_close.is_empty() {
                    return true;
                }
                match after_close.strip_prefix(' ') {
                    Some(next) => next,
                    None => return false,
                }
            }
            None => tail,
        };
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s(input: &str) -> String {
        sanitize_bot_agent(input)
    }

    #[test]
    fn documented_examples_pass_unchanged() {
        for ok in [
            "MyBot/1.2.0",
            "MyBot/1.2.0 (region=cn;env=prod)",
            "MyBot/1.2.0 LangChain/0.3.5",
            "MyBot/1.2.0-rc.1+build.5",
        ] {
            assert!(is_valid_bot_agent(ok), "{ok}");
            assert_eq!(s(ok), ok);
        }
    }

    #[test]
    fn default_is_valid_special_case() {
        assert!(is_valid_bot_agent(DEFAULT_BOT_AGENT));
        assert_eq!(s(DEFAULT_BOT_AGENT), DEFAULT_BOT_AGENT);
        // As a token among others it is not a product, so it is dropped.
        assert_eq!(s("OpenClaw MyBot/1"), "MyBot/1");
        assert!(!is_valid_bot_agent("OpenClaw MyBot/1"));
    }

    #[test]
    fn empty_and_whitespace_only_give_default() {
        assert_eq!(s(""), DEFAULT_BOT_AGENT);
        assert_eq!(s("   "), DEFAULT_BOT_AGENT);
        assert_eq!(s("\t\n\r "), DEFAULT_BOT_AGENT);
        assert!(!is_valid_bot_agent(""));
        assert!(!is_valid_bot_agent(" "));
    }

    #[test]
    fn bad_name_characters_are_dropped() {
        assert_eq!(s("My Bot/1.0"), "Bot/1.0");
        assert_eq!(s("My*Bot/1.0 Ok/2"), "Ok/2");
        assert_eq!(s("My+Bot/1.0"), DEFAULT_BOT_AGENT);
        assert_eq!(s("a/b/c"), DEFAULT_BOT_AGENT);
        assert_eq!(s("/1.0"), DEFAULT_BOT_AGENT);
    }

    #[test]
    fn bad_version_characters_are_dropped() {
        assert_eq!(s("Bot/1.0! Ok/2"), "Ok/2");
        assert_eq!(s("Bot/1,0"), DEFAULT_BOT_AGENT);
    }

    #[test]
    fn too_long_name_or_version_is_dropped() {
        let name32 = "n".repeat(32);
        let name33 = "n".repeat(33);
        let ver32 = "1".repeat(32);
        let ver33 = "1".repeat(33);
        assert_eq!(s(&format!("{name32}/{ver32}")), format!("{name32}/{ver32}"));
        assert_eq!(s(&format!("{name33}/1 Ok/1")), "Ok/1");
        assert_eq!(s(&format!("Bot/{ver33} Ok/1")), "Ok/1");
    }

    #[test]
    fn missing_version_is_dropped() {
        assert_eq!(s("MyBot"), DEFAULT_BOT_AGENT);
        assert_eq!(s("MyBot/"), DEFAULT_BOT_AGENT);
        assert_eq!(s("MyBot/ Other/1"), "Other/1");
    }

    #[test]
    fn multi_word_comment_is_glued_with_single_spaces() {
        assert_eq!(s("Bot/1 (hello   wide\tworld)"), "Bot/1 (hello wide world)");
        assert_eq!(s("Bot/1\n(a b) Next/2"), "Bot/1 (a b) Next/2");
        assert_eq!(s("Bot/1 ( x )"), "Bot/1 ( x )");
        assert_eq!(s("Bot/1 ( )"), "Bot/1 ( )");
    }

    #[test]
    fn empty_comment_is_dropped() {
        assert_eq!(s("Bot/1 ()"), "Bot/1");
        assert_eq!(s("Bot/1 () Next/2"), "Bot/1 Next/2");
    }

    #[test]
    fn comment_length_limit() {
        let c64 = "c".repeat(64);
        let c65 = "c".repeat(65);
        assert_eq!(s(&format!("Bot/1 ({c64})")), format!("Bot/1 ({c64})"));
        assert_eq!(s(&format!("Bot/1 ({c65}) Next/2")), "Bot/1 Next/2");
        // Glued words count their joining spaces: 32 + 1 + 32 = 65.
        let half = "h".repeat(32);
        assert_eq!(s(&format!("Bot/1 ({half} {half})")), "Bot/1");
    }

    #[test]
    fn comment_without_product_is_dropped() {
        assert_eq!(s("(lonely) Bot/1"), "Bot/1");
        assert_eq!(s("bad! (c) Bot/1"), "Bot/1");
        assert_eq!(s("(only comment)"), DEFAULT_BOT_AGENT);
    }

    #[test]
    fn second_comment_is_dropped() {
        assert_eq!(s("Bot/1 (a) (b)"), "Bot/1 (a)");
        assert_eq!(s("Bot/1 (a) (b) Next/2 (c)"), "Bot/1 (a) Next/2 (c)");
        // An invalid first comment still occupies the slot.
        assert_eq!(s("Bot/1 () (b)"), "Bot/1");
    }

    #[test]
    fn unclosed_paren_drops_only_its_token() {
        assert_eq!(s("Bot/1 (unclosed"), "Bot/1");
        assert_eq!(s("Bot/1 (unclosed Next/2"), "Bot/1 Next/2");
        assert_eq!(s("Bot/1 (a (b) Next/2"), "Bot/1 Next/2");
        assert_eq!(s("Bot/1 (a(b) Next/2"), "Bot/1 Next/2");
        assert_eq!(s("Bot/1(c) Next/2"), "Next/2");
    }

    #[test]
    fn stray_close_paren_is_dropped() {
        assert_eq!(s("Bot/1 ) Next/2"), "Bot/1 Next/2");
        assert_eq!(s("Bot/1 (a) b) Next/2"), "Bot/1 (a) Next/2");
        assert_eq!(s("Bot/1 (a)b Next/2"), "Bot/1 Next/2");
    }

    #[test]
    fn tabs_and_newlines_are_separators() {
        assert_eq!(s("\tBot/1\n\nNext/2\r\nLast/3 "), "Bot/1 Next/2 Last/3");
    }

    #[test]
    fn non_ascii_makes_token_invalid() {
        assert_eq!(s("Bötchen/1 Ok/1"), "Ok/1");
        assert_eq!(s("Bot/1é Ok/1"), "Ok/1");
        assert_eq!(s("Bot/1 (café) Ok/1"), "Bot/1 Ok/1");
        assert_eq!(s("机器人/1"), DEFAULT_BOT_AGENT);
        assert!(!is_valid_bot_agent("Bot/1 (café)"));
    }

    #[test]
    fn control_characters_in_comment_are_rejected() {
        assert_eq!(s("Bot/1 (a\u{7f}b)"), "Bot/1");
        assert!(!is_valid_bot_agent("Bot/1 (a\tb)"));
    }

    #[test]
    fn over_256_trims_trailing_products() {
        let product = format!("{}/{}", "n".repeat(32), "v".repeat(32)); // 65 bytes
        let input = [product.as_str(); 5].join(" "); // 329 bytes
        let out = s(&input);
        assert_eq!(out, [product.as_str(); 3].join(" ")); // 197 bytes
        assert!(out.len() <= MAX_BOT_AGENT_LEN);
        assert!(!is_valid_bot_agent(&input));
        assert!(is_valid_bot_agent(&out));
    }

    #[test]
    fn exactly_256_is_kept() {
        // 8 products of 31 bytes + 7 spaces = 255, plus a 1-byte-longer last one.
        let mut parts: Vec<String> = (0..7).map(|_| format!("{}/1", "a".repeat(29))).collect();
        parts.push(format!("{}/1", "b".repeat(30)));
        let input = parts.join(" ");
        assert_eq!(input.len(), 256);
        assert!(is_valid_bot_agent(&input));
        assert_eq!(s(&input), input);
        let longer = format!("{input}1");
        assert!(!is_valid_bot_agent(&longer));
        assert_eq!(s(&longer), parts.get(..7).unwrap().join(" "));
    }

    #[test]
    fn validator_rejects_bad_spacing() {
        assert!(!is_valid_bot_agent(" Bot/1"));
        assert!(!is_valid_bot_agent("Bot/1 "));
        assert!(!is_valid_bot_agent("Bot/1  Next/2"));
        assert!(!is_valid_bot_agent("Bot/1 (a)Next/2"));
        assert!(!is_valid_bot_agent("Bot/1(a)"));
        assert!(!is_valid_bot_agent("Bot/1 (a"));
        assert!(!is_valid_bot_agent("Bot/1 (a) (b)"));
        assert!(!is_valid_bot_agent("(a) Bot/1"));
        assert!(!is_valid_bot_agent("openclaw"));
        // Spaces inside a comment are comment content, so the grammar allows runs.
        assert!(is_valid_bot_agent("Bot/1 (a  b)"));
        assert_eq!(s("Bot/1 (a  b)"), "Bot/1 (a b)");
    }

    #[test]
    fn huge_input_is_handled() {
        let input = "Bot/1 (c) ".repeat(100_000) + &"(".repeat(1000) + " x/1";
        let out = s(&input);
        assert!(is_valid_bot_agent(&out));
        assert!(out.len() <= MAX_BOT_AGENT_LEN);
    }

    fn grammar_like() -> impl Strategy<Value = String> {
        "([A-Za-z0-9_.-]{0,34}/[A-Za-z0-9_.+-]{0,34}( \\([ -~]{0,70}\\))? ?){0,12}"
    }

    fn noisy() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            grammar_like(),
            Just(" ".to_owned()),
            Just("\t".to_owned()),
            Just("\n".to_owned()),
            Just("(".to_owned()),
            Just(")".to_owned()),
            Just("é".to_owned()),
            "[ -~]{0,10}",
            any::<String>(),
        ];
        proptest::collection::vec(piece, 0..12).prop_map(|v| v.concat())
    }

    fn inputs() -> impl Strategy<Value = String> {
        prop_oneof![any::<String>(), grammar_like(), noisy()]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn output_is_valid_bounded_and_idempotent(input in inputs()) {
            let once = sanitize_bot_agent(&input);
            prop_assert!(is_valid_bot_agent(&once), "invalid output {:?}", once);
            prop_assert!(once.len() <= MAX_BOT_AGENT_LEN);
            prop_assert_eq!(sanitize_bot_agent(&once), once);
        }

        #[test]
        fn valid_single_spaced_input_is_unchanged(input in inputs()) {
            if is_valid_bot_agent(&input) && !input.contains("  ") {
                prop_assert_eq!(sanitize_bot_agent(&input), input);
            }
        }

        #[test]
        fn products_from_grammar_are_kept(
            products in proptest::collection::vec(
                "[A-Za-z0-9_.-]{1,32}/[A-Za-z0-9_.+-]{1,32}( \\([ -'*-~]{1,64}\\))?",
                1..4,
            )
        ) {
            let joined = products.join(" ");
            prop_assert_eq!(is_valid_bot_agent(&joined), joined.len() <= MAX_BOT_AGENT_LEN);
            if joined.len() <= MAX_BOT_AGENT_LEN && !joined.contains("  ") {
                prop_assert_eq!(sanitize_bot_agent(&joined), joined);
            }
        }
    }
}
