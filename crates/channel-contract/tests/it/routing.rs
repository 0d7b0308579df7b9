//! Routing: one test per tier, the tier order, "no accountId means the default
//! account only", and the default agent of late and newest hosts.

use channel_contract::routing::{
    AgentEntry, Binding, BindingMatch, MatchedBy, PeerMatch, RouteError, RouteInput, RoutingConfig,
};
use channel_contract::session::DmScope;
use channel_contract::HostProfile;

const CH: &str = "openclaw-weixin";

fn binding(agent: &str, account: Option<&str>, peer: Option<&str>) -> Binding {
    Binding {
        agent_id: agent.into(),
        match_: BindingMatch {
            channel: CH.into(),
            account_id: account.map(str::to_owned),
            peer: peer.map(|id| PeerMatch {
                kind: "direct".into(),
                id: id.into(),
            }),
        },
    }
}

fn config(bindings: Vec<Binding>) -> RoutingConfig {
    RoutingConfig {
        agents: vec![
            AgentEntry {
                id: "main".into(),
                default: false,
            },
            AgentEntry {
                id: "sales".into(),
                default: false,
            },
        ],
        bindings,
        dm_scope: DmScope::PerAccountChannelPeer,
        ..RoutingConfig::default()
    }
}

fn route(c: &RoutingConfig, account: &str, peer: &str) -> (String, MatchedBy) {
    let r = c
        .route(
            RouteInput {
                channel: CH,
                account_id: account,
                peer_id: peer,
            },
            HostProfile::Late,
        )
        .unwrap();
    (r.agent_id, r.matched_by)
}

/// All four binding tiers at once: each lower tier only wins when the higher ones miss.
fn all_tiers() -> RoutingConfig {
    config(vec![
        binding("channel-agent", Some("*"), None),
        binding("account-agent", Some("acct-1"), None),
        binding("wildcard-agent", Some("acct-1"), Some("*")),
        binding("peer-agent", Some("acct-1"), Some("Vip@im.wechat")),
    ])
}

#[test]
fn tier_1_exact_peer() {
    assert_eq!(
        route(&all_tiers(), "acct-1", "vip@im.wechat"),
        ("peer-agent".into(), MatchedBy::Peer)
    );
}

#[test]
fn tier_2_peer_wildcard() {
    assert_eq!(
        route(&all_tiers(), "acct-1", "other@im.wechat"),
        ("wildcard-agent".into(), MatchedBy::PeerWildcard)
    );
}

#[test]
fn tier_3_account() {
    let c = config(vec![
        binding("channel-agent", Some("*"), None),
        binding("account-agent", Some("ACCT-1"), None),
    ]);
    assert_eq!(
        route(&c, "acct-1", "x@im.wechat"),
        ("account-agent".into(), MatchedBy::Account)
    );
}

#[test]
fn tier_4_channel_wildcard_account() {
    assert_eq!(
        route(&all_tiers(), "acct-2", "x@im.wechat"),
        ("channel-agent".into(), MatchedBy::Channel)
    );
}

#[test]
fn tier_5_default_agent() {
    let c = config(
        vec![binding("telegram-agent", Some("*"), None)]
            .into_iter()
            .map(|mut b| {
                b.match_.channel = "telegram".into();
                b
            })
            .collect(),
    );
    assert_eq!(
        route(&c, "acct-1", "x@im.wechat"),
        ("main".into(), MatchedBy::Default)
    );
}

#[test]
fn first_match_wins_within_a_tier() {
    let c = config(vec![
        binding("first", Some("*"), None),
        binding("second", Some("*"), None),
    ]);
    assert_eq!(route(&c, "a", "p").0, "first");
}

#[test]
fn no_account_id_means_the_default_account_only() {
    let c = config(vec![
        binding("bound", None, None),
        binding("peer-bound", None, Some("vip")),
    ]);
    assert_eq!(
        route(&c, "default", "x"),
        ("bound".into(), MatchedBy::Account)
    );
    assert_eq!(
        route(&c, "", "vip"),
        ("peer-bound".into(), MatchedBy::Peer),
        "empty account is default"
    );
    assert_eq!(
        route(&c, "acct-1", "x"),
        ("main".into(), MatchedBy::Default)
    );
    assert_eq!(
        route(&c, "acct-1", "vip"),
        ("main".into(), MatchedBy::Default)
    );
}

#[test]
fn group_peer_bindings_never_match_direct_chats() {
    let mut b = binding("group-agent", Some("*"), Some("x"));
    if let Some(p) = b.match_.peer.as_mut() {
        p.kind = "group".into();
    }
    assert_eq!(
        route(&config(vec![b]), "a", "x"),
        ("main".into(), MatchedBy::Default)
    );
}

#[test]
fn the_route_carries_session_and_main_keys() {
    let r = all_tiers()
        .route(
            RouteInput {
                channel: CH,
                account_id: "acct-1",
                peer_id: "VIP@im.wechat",
            },
            HostProfile::Late,
        )
        .unwrap();
    assert_eq!(
        r.session_key.as_str(),
        "agent:peer-agent:openclaw-weixin:acct-1:direct:vip@im.wechat"
    );
    assert_eq!(r.main_session_key.as_str(), "agent:peer-agent:main");
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["matchedBy"], "peer");
    assert_eq!(json["mainSessionKey"], "agent:peer-agent:main");
}

#[test]
fn default_agent_late_and_newest() {
    let agents = |list: &[(&str, bool)]| RoutingConfig {
        agents: list
            .iter()
            .map(|(id, d)| AgentEntry {
                id: (*id).into(),
                default: *d,
            })
            .collect(),
        ..RoutingConfig::default()
    };
    let late = HostProfile::Late;
    let newest = HostProfile::Newest;
    assert_eq!(agents(&[]).default_agent(late).unwrap(), "main");
    assert_eq!(
        agents(&[("a", false), ("b", true)])
            .default_agent(late)
            .unwrap(),
        "b"
    );
    assert_eq!(
        agents(&[("a", false), ("b", false)])
            .default_agent(late)
            .unwrap(),
        "a",
        "first listed"
    );
    assert_eq!(agents(&[]).default_agent(newest).unwrap(), "main");
    assert_eq!(
        agents(&[("solo", false)]).default_agent(newest).unwrap(),
        "solo"
    );
    assert_eq!(
        agents(&[("a", false), ("b", true)])
            .default_agent(newest)
            .unwrap(),
        "b"
    );
    assert_eq!(
        agents(&[("a", false), ("b", false)]).default_agent(newest),
        Err(RouteError::AgentSelectionRequired)
    );
    assert_eq!(
        agents(&[("a", true), ("b", true)]).default_agent(newest),
        Err(RouteError::AgentSelectionRequired)
    );
    let err = agents(&[("a", false), ("b", false)])
        .route(
            RouteInput {
                channel: CH,
                account_id: "x",
                peer_id: "p",
            },
            newest,
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("agent selection required"),
        "{err}"
    );
}

#[test]
fn bindings_read_the_host_config_shape() {
    let text = r#"{"agents": [{"id": "main"}], "bindings": [
        {"agentId": "sales", "match": {"channel": "openclaw-weixin", "accountId": "*", "peer": {"kind": "direct", "id": "*"}}}
    ], "dmScope": "per-channel-peer"}"#;
    let c: RoutingConfig = serde_json::from_str(text).unwrap();
    assert_eq!(c.dm_scope, DmScope::PerChannelPeer);
    assert_eq!(
        route(&c, "any", "p"),
        ("sales".into(), MatchedBy::PeerWildcard)
    );
}
