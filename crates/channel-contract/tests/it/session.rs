//! Session keys: every row of the dmScope table, identity links, the empty-peer
//! fallback, lower-casing, and properties over arbitrary input.

use channel_contract::session::{DirectPeer, DmScope, IdentityLinks, SessionKey};
use proptest::prelude::*;

fn peer<'a>(account: &'a str, peer_id: &'a str) -> DirectPeer<'a> {
    DirectPeer {
        agent_id: "Main",
        channel: "openclaw-weixin",
        account_id: account,
        peer_id,
    }
}

#[test]
fn every_row_of_the_dm_scope_table() {
    let none = IdentityLinks::new();
    let p = peer("b0f5860fdecb@im.bot", "E467D326@im.wechat");
    let rows = [
        (DmScope::Main, "agent:main:main"),
        (DmScope::PerPeer, "agent:main:direct:e467d326@im.wechat"),
        (
            DmScope::PerChannelPeer,
            "agent:main:openclaw-weixin:direct:e467d326@im.wechat",
        ),
        (
            DmScope::PerAccountChannelPeer,
            "agent:main:openclaw-weixin:b0f5860fdecb-im-bot:direct:e467d326@im.wechat",
        ),
    ];
    for (scope, want) in rows {
        assert_eq!(
            SessionKey::direct(scope, &p, "main", &none).as_str(),
            want,
            "{scope:?}"
        );
    }
    // A custom main key, and the group form.
    assert_eq!(
        SessionKey::direct(DmScope::Main, &p, "Home", &none).as_str(),
        "agent:main:home"
    );
    assert_eq!(SessionKey::main("ops", "").as_str(), "agent:ops:main");
    assert_eq!(
        SessionKey::group("main", "openclaw-weixin", "G1").as_str(),
        "agent:main:openclaw-weixin:group:g1"
    );
}

#[test]
fn an_empty_peer_falls_back_to_the_main_key_under_every_scope() {
    for scope in [
        DmScope::Main,
        DmScope::PerPeer,
        DmScope::PerChannelPeer,
        DmScope::PerAccountChannelPeer,
    ] {
        let key = SessionKey::direct(scope, &peer("a", "  "), "main", &IdentityLinks::new());
        assert_eq!(key.as_str(), "agent:main:main", "{scope:?}");
    }
}

#[test]
fn identity_links_replace_the_peer_unless_the_scope_is_main() {
    let mut links = IdentityLinks::new();
    links.insert(
        "Alice".into(),
        vec!["openclaw-weixin:A1@im.wechat".into(), "tg-42".into()],
    );
    let wx = peer("acct", "a1@IM.wechat");
    assert_eq!(
        SessionKey::direct(DmScope::PerPeer, &wx, "main", &links).as_str(),
        "agent:main:direct:alice"
    );
    assert_eq!(
        SessionKey::direct(DmScope::PerAccountChannelPeer, &wx, "main", &links).as_str(),
        "agent:main:openclaw-weixin:acct:direct:alice"
    );
    // A raw peer id listed without a channel matches too.
    let raw = peer("acct", "TG-42");
    assert_eq!(
        SessionKey::direct(DmScope::PerChannelPeer, &raw, "main", &links).as_str(),
        "agent:main:openclaw-weixin:direct:alice"
    );
    // Under `main` links do nothing; unlisted peers are kept.
    assert_eq!(
        SessionKey::direct(DmScope::Main, &wx, "main", &links).as_str(),
        "agent:main:main"
    );
    let other = peer("acct", "b2@im.wechat");
    assert_eq!(
        SessionKey::direct(DmScope::PerPeer, &other, "main", &links).as_str(),
        "agent:main:direct:b2@im.wechat"
    );
    // A link naming the peer under another channel does not apply.
    let mut elsewhere = IdentityLinks::new();
    elsewhere.insert("bob".into(), vec!["telegram:b2@im.wechat".into()]);
    assert_eq!(
        SessionKey::direct(DmScope::PerChannelPeer, &other, "main", &elsewhere).as_str(),
        "agent:main:openclaw-weixin:direct:b2@im.wechat"
    );
}

fn scope() -> impl Strategy<Value = DmScope> {
    prop_oneof![
        Just(DmScope::Main),
        Just(DmScope::PerPeer),
        Just(DmScope::PerChannelPeer),
        Just(DmScope::PerAccountChannelPeer),
    ]
}

proptest! {
    #[test]
    fn keys_are_lower_case_and_re_derivable(
        scope in scope(),
        agent in "\\PC{0,20}",
        account in "\\PC{0,20}",
        peer_id in "\\PC{0,30}",
        main_key in "[A-Za-z0-9]{0,8}",
    ) {
        let p = DirectPeer { agent_id: &agent, channel: "OpenClaw-Weixin", account_id: &account, peer_id: &peer_id };
        let links = IdentityLinks::new();
        let key = SessionKey::direct(scope, &p, &main_key, &links);
        prop_assert_eq!(key.as_str(), key.as_str().to_lowercase());
        prop_assert!(key.as_str().starts_with("agent:"));
        prop_assert_eq!(&key, &SessionKey::direct(scope, &p, &main_key, &links));
        // Case of the inputs does not matter.
        let upper = DirectPeer { agent_id: &agent.to_uppercase(), channel: "OPENCLAW-WEIXIN",
            account_id: &account.to_uppercase(), peer_id: &peer_id.to_uppercase() };
        if peer_id.to_uppercase().to_lowercase() == peer_id.to_lowercase()
            && agent.to_uppercase().to_lowercase() == agent.to_lowercase()
            && account.to_uppercase().to_lowercase() == account.to_lowercase() {
            prop_assert_eq!(&key, &SessionKey::direct(scope, &upper, &main_key, &links));
        }
    }

    #[test]
    fn two_accounts_never_share_a_key_under_per_account_channel_peer(
        a in "[a-z0-9]{1,12}(@im\\.bot)?",
        b in "[a-z0-9]{1,12}(@im\\.bot)?",
        peer_id in "[a-f0-9]{1,16}@im\\.wechat",
    ) {
        let na = channel_contract::ids::normalize_account_id(&a);
        let nb = channel_contract::ids::normalize_account_id(&b);
        prop_assume!(na != nb);
        let links = IdentityLinks::new();
        let ka = SessionKey::direct(DmScope::PerAccountChannelPeer, &peer(&a, &peer_id), "main", &links);
        let kb = SessionKey::direct(DmScope::PerAccountChannelPeer, &peer(&b, &peer_id), "main", &links);
        prop_assert_ne!(ka, kb);
    }
}
