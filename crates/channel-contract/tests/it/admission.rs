//! Admission: every dmPolicy x (listed, owner, unknown) combination, the
//! store consulted only under `pairing`, and early versus late `open`.

use channel_contract::admission::{
    admit, effective_allow_list, AdmissionInput, Decision, DmPolicy, Reason,
};
use channel_contract::HostProfile;

const OWNER: &str = "owner@im.wechat";
const LISTED: &str = "Friend@IM.wechat";
const UNKNOWN: &str = "stranger@im.wechat";

fn decide(
    policy: DmPolicy,
    sender: &str,
    config: &[&str],
    store: &[&str],
    profile: HostProfile,
) -> (Decision, Reason) {
    let config: Vec<String> = config.iter().map(|s| (*s).to_owned()).collect();
    let store: Vec<String> = store.iter().map(|s| (*s).to_owned()).collect();
    admit(
        &AdmissionInput {
            policy,
            config_allow_from: &config,
            store_allow_from: &store,
            owner: Some(OWNER),
            sender,
        },
        profile,
    )
}

#[test]
fn every_policy_for_listed_owner_and_unknown() {
    use Decision::*;
    use DmPolicy::*;
    let late = HostProfile::Late;
    // (policy, sender, expected decision, expected reason) with the friend in the config list.
    let table = [
        (Pairing, LISTED, Allow, Reason::Listed),
        (Pairing, OWNER, Allow, Reason::Owner),
        (Pairing, UNKNOWN, Challenge, Reason::PairingRequired),
        (Allowlist, LISTED, Allow, Reason::Listed),
        (Allowlist, OWNER, Allow, Reason::Owner),
        (Allowlist, UNKNOWN, Drop, Reason::NotAllowed),
        (Open, LISTED, Drop, Reason::OpenWithoutWildcard),
        (Open, OWNER, Allow, Reason::Owner),
        (Open, UNKNOWN, Drop, Reason::OpenWithoutWildcard),
        (Disabled, LISTED, Drop, Reason::PolicyDisabled),
        (Disabled, OWNER, Drop, Reason::PolicyDisabled),
        (Disabled, UNKNOWN, Drop, Reason::PolicyDisabled),
    ];
    for (policy, sender, decision, reason) in table {
        assert_eq!(
            decide(policy, sender, &["user:friend@im.wechat"], &[], late),
            (decision, reason),
            "{policy:?} {sender}"
        );
    }
}

#[test]
fn open_needs_a_wildcard_on_late_hosts_but_not_on_early_ones() {
    assert_eq!(
        decide(DmPolicy::Open, UNKNOWN, &["*"], &[], HostProfile::Late),
        (Decision::Allow, Reason::Open)
    );
    assert_eq!(
        decide(DmPolicy::Open, UNKNOWN, &[], &[], HostProfile::Early),
        (Decision::Allow, Reason::Open)
    );
    assert_eq!(
        decide(DmPolicy::Open, UNKNOWN, &[], &[], HostProfile::Newest),
        (Decision::Drop, Reason::OpenWithoutWildcard)
    );
}

#[test]
fn the_store_counts_only_under_pairing() {
    let late = HostProfile::Late;
    assert_eq!(
        decide(DmPolicy::Pairing, UNKNOWN, &[], &[UNKNOWN], late),
        (Decision::Allow, Reason::Listed)
    );
    assert_eq!(
        decide(DmPolicy::Allowlist, UNKNOWN, &[], &[UNKNOWN], late),
        (Decision::Drop, Reason::NotAllowed)
    );
    assert_eq!(
        decide(DmPolicy::Open, UNKNOWN, &[], &["*"], late),
        (Decision::Drop, Reason::OpenWithoutWildcard),
        "a stored * is ignored outside pairing"
    );
}

#[test]
fn the_owner_is_admitted_only_when_known() {
    let none: Vec<String> = Vec::new();
    let input = AdmissionInput {
        policy: DmPolicy::Allowlist,
        config_allow_from: &none,
        store_allow_from: &none,
        owner: None,
        sender: OWNER,
    };
    assert_eq!(
        admit(&input, HostProfile::Late),
        (Decision::Drop, Reason::NotAllowed)
    );
    let empty = AdmissionInput {
        sender: "",
        owner: Some(""),
        ..input
    };
    assert_eq!(
        admit(&empty, HostProfile::Late),
        (Decision::Drop, Reason::NotAllowed)
    );
}

#[test]
fn effective_list_is_config_plus_store_normalized() {
    let config = vec!["User:A@im.wechat".to_owned(), " ".to_owned()];
    let store = vec!["b@im.wechat".to_owned()];
    let input = AdmissionInput {
        policy: DmPolicy::Pairing,
        config_allow_from: &config,
        store_allow_from: &store,
        owner: None,
        sender: "x",
    };
    assert_eq!(effective_allow_list(&input), ["a@im.wechat", "b@im.wechat"]);
    assert_eq!(Reason::PairingRequired.code(), "pairing-required");
    assert_eq!(DmPolicy::Allowlist.as_str(), "allowlist");
}
