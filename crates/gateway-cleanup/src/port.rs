//! Which port the gateway listens on: `--port` > `OPENCLAW_GATEWAY_PORT` >
//! config `gateway.port` > 18789.

use serde_json::Value;

/// The port a gateway uses when nothing says otherwise.
pub const DEFAULT_GATEWAY_PORT: u16 = 18789;

/// Resolves the gateway port. Values that are not a port in `1..=65535` are
/// skipped, so the next source decides.
///
/// ```
/// use gateway_cleanup::resolve_port;
/// assert_eq!(resolve_port(None, Some("19000"), None), 19000);
/// assert_eq!(resolve_port(Some(20000), Some("19000"), None), 20000);
/// assert_eq!(resolve_port(None, Some("junk"), None), 18789);
/// ```
pub fn resolve_port(cli: Option<u16>, env: Option<&str>, config: Option<&Value>) -> u16 {
    let valid = |p: u64| u16::try_from(p).ok().filter(|p| *p > 0);
    cli.filter(|p| *p > 0)
        .or_else(|| {
            env.and_then(|e| e.trim().parse::<u64>().ok())
                .and_then(valid)
        })
        .or_else(|| {
            config
                .and_then(|c| c.pointer("/gateway/port"))
                .and_then(|p| {
                    p.as_u64()
                        .or_else(|| p.as_str().and_then(|s| s.trim().parse().ok()))
                })
                .and_then(valid)
        })
        .unwrap_or(DEFAULT_GATEWAY_PORT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence() {
        let config = serde_json::json!({"gateway": {"port": 18800}});
        assert_eq!(resolve_port(Some(1), Some("2"), Some(&config)), 1);
        assert_eq!(resolve_port(None, Some("2"), Some(&config)), 2);
        assert_eq!(resolve_port(None, None, Some(&config)), 18800);
        assert_eq!(resolve_port(None, Some("70000"), Some(&config)), 18800);
        assert_eq!(
            resolve_port(
                None,
                None,
                Some(&serde_json::json!({"gateway": {"port": "18801"}}))
            ),
            18801
        );
        assert_eq!(resolve_port(Some(0), None, None), DEFAULT_GATEWAY_PORT);
    }
}
