//! The lines of `channels status --probe` (openclaw-host spec section 5),
//! built from account snapshots by a pure function so hosts and tests print
//! exactly the same thing:
//!
//! `- <Channel> <account>[ (<name>)]: <bits>`
//!
//! Bits are joined with `, ` in the host's order, each only when known:
//! `enabled|disabled`, `configured|not configured`, `linked|not linked`,
//! `running|stopped`, `connected|disconnected`, `in:<ago>`, `out:<ago>`,
//! (newest hosts: `transport:<ago>`), `dm:<policy>`, `allow:<first two>`,
//! `url:<baseUrl>`, `works|probe failed`, and (early and late hosts)
//! `error:<lastError>`. A paused session keeps its error bit on every host,
//! since the account's status must say `paused, N min left, log in again`.

use crate::plugin::{is_paused_text, scrub_secrets, AccountSnapshot, ProbeResult};
use crate::HostProfile;

/// How many `allowFrom` entries the `allow:` bit names; the rest are counted
/// as `+N` (`allow:a,b,+3`).
pub const ALLOW_SHOWN: usize = 2;

/// A compact age: `5s`, `3m`, `2h`, `4d` (whole units, rounded down); a time
/// in the future reads as `0s`.
///
/// ```
/// use channel_contract::status_line::format_age;
/// assert_eq!(format_age(90_000), "1m");
/// assert_eq!(format_age(-5), "0s");
/// ```
pub fn format_age(age_ms: i64) -> String {
    let secs = age_ms.max(0) / 1000;
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 60 * 60 => format!("{}m", s / 60),
        s if s < 24 * 60 * 60 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// One `channels status --probe` line for an account.
///
/// `channel_label` is the channel's meta label (such as `Weixin`), `now_ms`
/// the current time in epoch ms (ages are relative to it) and `profile` the
/// host era. With no known bit the line ends at the account (and name).
///
/// ```
/// use channel_contract::plugin::{AccountSnapshot, ProbeResult};
/// use channel_contract::status_line::format_status_line;
/// use channel_contract::HostProfile;
///
/// let mut s = AccountSnapshot::new("b0f5860fdecb-im-bot");
/// s.running = Some(true);
/// s.last_inbound_at = Some(1_000);
/// let line = format_status_line("Weixin", &s, Some(&ProbeResult::ok()), 301_000, HostProfile::Late);
/// assert_eq!(line, "- Weixin b0f5860fdecb-im-bot: running, in:5m, works");
/// ```
pub fn format_status_line(
    channel_label: &str,
    snapshot: &AccountSnapshot,
    probe: Option<&ProbeResult>,
    now_ms: i64,
    profile: HostProfile,
) -> String {
    let either =
        |v: Option<bool>, yes: &str, no: &str| v.map(|b| if b { yes } else { no }.to_owned());
    let ago = |prefix: &str, t: Option<i64>| {
        t.map(|t| format!("{prefix}:{}", format_age(now_ms.saturating_sub(t))))
    };

    let mut bits: Vec<String> = [
        either(snapshot.enabled, "enabled", "disabled"),
        either(snapshot.configured, "configured", "not configured"),
        either(snapshot.linked, "linked", "not linked"),
        either(snapshot.running, "running", "stopped"),
        either(snapshot.connected, "connected", "disconnected"),
        ago("in", snapshot.last_inbound_at),
        ago("out", snapshot.last_outbound_at),
    ]
    .into_iter()
    .flatten()
    .collect();
    if profile == HostProfile::Newest {
        bits.extend(ago("transport", snapshot.last_event_at));
    }
    bits.extend(snapshot.dm_policy.map(|p| format!("dm:{}", p.as_str())));
    bits.extend(allow_bit(&snapshot.allow_from));
    bits.extend(
        snapshot
            .base_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(|u| format!("url:{}", u.split(['?', '#']).next().unwrap_or(u))),
    );
    bits.extend(probe.map(|p| if p.ok { "works" } else { "probe failed" }.to_owned()));
    let error = snapshot
        .last_error
        .as_deref()
        .map(one_line)
        .filter(|e| !e.is_empty());
    if let Some(error) = error {
        if profile != HostProfile::Newest || is_paused_text(&error) {
            bits.push(format!("error:{}", scrub_secrets(&error)));
        }
    }

    let mut line = format!("- {} {}", channel_label.trim(), snapshot.account_id);
    if let Some(name) = snapshot
        .name
        .as_deref()
        .map(one_line)
        .filter(|n| !n.is_empty())
    {
        line.push_str(&format!(" ({name})"));
    }
    if !bits.is_empty() {
        line.push_str(": ");
        line.push_str(&bits.join(", "));
    }
    line
}

/// `allow:<first two>[,+N]`, or nothing for an empty list.
fn allow_bit(allow_from: &[String]) -> Option<String> {
    let entries: Vec<&str> = allow_from
        .iter()
        .map(|e| e.trim())
        .filter(|e| !e.is_empty())
        .collect();
    if entries.is_empty() {
        return None;
    }
    let mut shown = entries[..entries.len().min(ALLOW_SHOWN)].join(",");
    if entries.len() > ALLOW_SHOWN {
        shown.push_str(&format!(",+{}", entries.len() - ALLOW_SHOWN));
    }
    Some(format!("allow:{shown}"))
}

/// Text on one line: runs of whitespace (newlines included) become one space.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admission::DmPolicy;
    use crate::plugin::paused_text;

    const NOW: i64 = 1_700_000_000_000;
    const SEC: i64 = 1000;

    fn full() -> AccountSnapshot {
        let mut s = AccountSnapshot::new("b0f5860fdecb-im-bot");
        s.name = Some("Work".into());
        s.enabled = Some(true);
        s.configured = Some(true);
        s.linked = Some(true);
        s.running = Some(true);
        s.connected = Some(true);
        s.last_start_at = Some(NOW - 3 * 86_400 * SEC);
        s.last_inbound_at = Some(NOW - 5 * SEC);
        s.last_outbound_at = Some(NOW - 3 * 60 * SEC);
        s.last_event_at = Some(NOW - 2 * 3600 * SEC);
        s.last_error = Some("getupdates: timed out".into());
        s.dm_policy = Some(DmPolicy::Pairing);
        s.allow_from = vec!["a@im.wechat".into(), "b@im.wechat".into()];
        s.base_url = Some("https://ilinkai.weixin.qq.com".into());
        s
    }

    #[test]
    fn all_bits_in_order_on_a_late_host() {
        let line = format_status_line(
            "Weixin",
            &full(),
            Some(&ProbeResult::ok()),
            NOW,
            HostProfile::Late,
        );
        assert_eq!(
            line,
            "- Weixin b0f5860fdecb-im-bot (Work): enabled, configured, linked, running, connected, \
             in:5s, out:3m, dm:pairing, allow:a@im.wechat,b@im.wechat, \
             url:https://ilinkai.weixin.qq.com, works, error:getupdates: timed out"
        );
        // Early hosts print the same line.
        assert_eq!(
            format_status_line(
                "Weixin",
                &full(),
                Some(&ProbeResult::ok()),
                NOW,
                HostProfile::Early
            ),
            line
        );
    }

    #[test]
    fn newest_hosts_add_transport_and_drop_error() {
        let line = format_status_line(
            "Weixin",
            &full(),
            Some(&ProbeResult::ok()),
            NOW,
            HostProfile::Newest,
        );
        assert_eq!(
            line,
            "- Weixin b0f5860fdecb-im-bot (Work): enabled, configured, linked, running, connected, \
             in:5s, out:3m, transport:2h, dm:pairing, allow:a@im.wechat,b@im.wechat, \
             url:https://ilinkai.weixin.qq.com, works"
        );
    }

    #[test]
    fn negative_bits_and_failed_probe() {
        let mut s = AccountSnapshot::new("x");
        s.enabled = Some(false);
        s.configured = Some(false);
        s.linked = Some(false);
        s.running = Some(false);
        s.connected = Some(false);
        let line = format_status_line(
            "Weixin",
            &s,
            Some(&ProbeResult::failed("no poll yet")),
            NOW,
            HostProfile::Late,
        );
        assert_eq!(
            line,
            "- Weixin x: disabled, not configured, not linked, stopped, disconnected, probe failed"
        );
    }

    #[test]
    fn unknown_bits_are_omitted() {
        let s = AccountSnapshot::new("default");
        assert_eq!(
            format_status_line("Weixin", &s, None, NOW, HostProfile::Late),
            "- Weixin default"
        );
        let mut s = AccountSnapshot::new("default");
        s.running = Some(true);
        s.name = Some("  ".into());
        s.last_error = Some(String::new());
        s.base_url = Some(" ".into());
        assert_eq!(
            format_status_line("Weixin", &s, None, NOW, HostProfile::Newest),
            "- Weixin default: running"
        );
    }

    #[test]
    fn allow_list_shows_two_and_counts_the_rest() {
        let mut s = AccountSnapshot::new("a");
        s.allow_from = ["x", "y", "z", "w", "v"].map(String::from).to_vec();
        assert_eq!(
            format_status_line("W", &s, None, NOW, HostProfile::Late),
            "- W a: allow:x,y,+3"
        );
        s.allow_from = vec!["*".into()];
        assert_eq!(
            format_status_line("W", &s, None, NOW, HostProfile::Late),
            "- W a: allow:*"
        );
        s.allow_from = vec!["x".into(), "y".into(), "z".into()];
        assert_eq!(
            format_status_line("W", &s, None, NOW, HostProfile::Late),
            "- W a: allow:x,y,+1"
        );
    }

    #[test]
    fn a_paused_session_says_so_on_every_host() {
        let mut s = AccountSnapshot::new("a");
        s.running = Some(true);
        s.last_error = Some(format!("session {}", paused_text(42)));
        for profile in [HostProfile::Early, HostProfile::Late, HostProfile::Newest] {
            assert_eq!(
                format_status_line("Weixin", &s, Some(&ProbeResult::failed("paused")), NOW, profile),
                "- Weixin a: running, probe failed, error:session paused, 42 min left, log in again",
                "{profile:?}"
            );
        }
    }

    #[test]
    fn errors_stay_on_one_line_and_hide_secrets() {
        let mut s = AccountSnapshot::new("a");
        s.last_error = Some("bad\n  token=abc123\tgone".into());
        s.base_url = Some("https://h/x?token=abc123".into());
        assert_eq!(
            format_status_line("W", &s, None, NOW, HostProfile::Late),
            "- W a: url:https://h/x, error:bad token=**** gone"
        );
    }

    #[test]
    fn ages() {
        let cases = [
            (0, "0s"),
            (999, "0s"),
            (59 * SEC, "59s"),
            (60 * SEC, "1m"),
            (3599 * SEC, "59m"),
            (3600 * SEC, "1h"),
            (86_399 * SEC, "23h"),
            (86_400 * SEC, "1d"),
            (400 * 86_400 * SEC, "400d"),
            (-10 * SEC, "0s"),
        ];
        for (ms, want) in cases {
            assert_eq!(format_age(ms), want, "{ms}");
        }
        let mut s = AccountSnapshot::new("a");
        s.last_inbound_at = Some(NOW + 5 * SEC);
        s.last_outbound_at = Some(i64::MIN);
        assert_eq!(
            format_status_line("W", &s, None, NOW, HostProfile::Late),
            format!("- W a: in:0s, out:{}", format_age(i64::MAX))
        );
    }
}
