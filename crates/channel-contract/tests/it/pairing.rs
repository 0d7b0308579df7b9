//! The pairing store (openclaw-host spec section 4) on real files: codes, TTL,
//! the per-account cap, upsert and approve semantics, concurrent threads and
//! processes, the `.lock` protocol (stale takeover, backoff, re-entrancy),
//! file modes and layout, and crash leftovers of atomic writes.

use std::cell::Cell;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use channel_contract::atomic::{read_json, write_json, FileError};
use channel_contract::lock::{self, lock_path_of, LockError};
use channel_contract::pairing::{
    generate_code, unique_code, Clock, PairingRequest, PairingStore, UpsertOutcome, CODE_ALPHABET,
    CODE_LEN, MAX_PENDING, REQUEST_TTL_SECS,
};
use chrono::{DateTime, Duration as ChronoDuration, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

const CHANNEL: &str = "openclaw-weixin";
const SPEC_ALPHABET: &str = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

// ---------------------------------------------------------------------------
// Helpers

/// A clock the test moves by hand.
#[derive(Clone)]
struct TestClock(Arc<Mutex<DateTime<Utc>>>);

impl TestClock {
    fn at(iso: &str) -> Self {
        Self(Arc::new(Mutex::new(iso.parse().unwrap())))
    }
    fn clock(&self) -> Clock {
        let now = Arc::clone(&self.0);
        Arc::new(move || *now.lock().unwrap())
    }
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
    fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().unwrap() = t;
    }
    fn advance(&self, d: ChronoDuration) {
        *self.0.lock().unwrap() += d;
    }
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn store_in(dir: &Path) -> PairingStore {
    PairingStore::new(dir, CHANNEL).unwrap()
}

fn clocked_store(dir: &Path, clock: &TestClock) -> PairingStore {
    store_in(dir).with_clock(clock.clock())
}

fn created(outcome: UpsertOutcome) -> String {
    match outcome {
        UpsertOutcome::Created { code } => code,
        other => panic!("expected Created, got {other:?}"),
    }
}

fn existing(outcome: UpsertOutcome) -> String {
    match outcome {
        UpsertOutcome::Existing { code } => code,
        other => panic!("expected Existing, got {other:?}"),
    }
}

fn meta(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("meta must be an object, got {other}"),
    }
}

/// The pending file as JSON, read without the store.
fn pending_json(store: &PairingStore) -> Value {
    let text = fs::read_to_string(store.pending_path()).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The sender ids in the pending file, read without the store.
fn pending_ids(store: &PairingStore) -> Vec<String> {
    pending_json(store)["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The `allowFrom` array of an allow file, read without the store.
fn allow_file_entries(path: &Path) -> Vec<String> {
    let v: Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(v["version"], 1, "{}", path.display());
    v["allowFrom"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_owned())
        .collect()
}

fn is_valid_code(code: &str) -> bool {
    code.len() == CODE_LEN && code.bytes().all(|b| CODE_ALPHABET.contains(&b))
}

/// Names in `dir` ending with `suffix`.
fn names_ending(dir: &Path, suffix: &str) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(suffix))
        .collect()
}

/// No lock file and no temporary file left in `dir`.
fn assert_no_leftovers(dir: &Path) {
    assert_eq!(
        names_ending(dir, ".lock"),
        Vec::<String>::new(),
        "lock files left"
    );
    assert_eq!(
        names_ending(dir, ".tmp"),
        Vec::<String>::new(),
        "temp files left"
    );
}

fn write_lock_payload(lock_path: &Path, pid: u32, created_at: DateTime<Utc>) {
    let payload = json!({"pid": pid, "createdAt": iso(created_at)});
    fs::write(lock_path, payload.to_string()).unwrap();
}

/// The pid named in a lock file.
fn lock_pid(lock_path: &Path) -> u32 {
    let v: Value = serde_json::from_str(&fs::read_to_string(lock_path).unwrap()).unwrap();
    u32::try_from(v["pid"].as_u64().unwrap()).unwrap()
}

// ---------------------------------------------------------------------------
// 1. Codes

#[test]
fn codes_are_eight_characters_of_the_alphabet() {
    assert_eq!(CODE_ALPHABET, SPEC_ALPHABET.as_bytes());
    assert_eq!(CODE_LEN, 8);
    for banned in [b'0', b'O', b'1', b'I'] {
        assert!(!CODE_ALPHABET.contains(&banned));
    }
    let mut counts: HashMap<char, usize> = HashMap::new();
    let draws = 10_000;
    for _ in 0..draws {
        let code = generate_code();
        assert_eq!(code.len(), 8, "{code}");
        assert!(is_valid_code(&code), "{code}");
        assert!(!code.contains(['0', 'O', '1', 'I']), "{code}");
        for c in code.chars() {
            *counts.entry(c).or_default() += 1;
        }
    }
    // Every character of the alphabet is drawn, evenly: 80,000 characters,
    // 2,500 expected of each (sd ~ 49), so 2,000..3,000 is a 10-sigma band.
    assert_eq!(counts.len(), CODE_ALPHABET.len(), "{counts:?}");
    for (c, n) in &counts {
        assert!(
            (2_000..3_000).contains(n),
            "{c}: {n} of {}",
            draws * CODE_LEN
        );
    }
}

/// An iterator over taken codes that counts how many it was asked for.
#[derive(Clone)]
struct CountingTaken<'a> {
    inner: std::slice::Iter<'a, String>,
    yielded: &'a Cell<usize>,
}

impl<'a> Iterator for CountingTaken<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        let code = self.inner.next()?;
        self.yielded.set(self.yielded.get() + 1);
        Some(code.as_str())
    }
}

#[test]
fn unique_code_never_returns_a_taken_code() {
    // 10,000 codes, each drawn against every code returned so far (stored
    // lower-cased, since the comparison ignores case).
    let mut taken: Vec<String> = Vec::with_capacity(10_000);
    let mut seen: HashSet<String> = HashSet::with_capacity(10_000);
    for _ in 0..10_000 {
        let code = unique_code(taken.iter().map(String::as_str));
        assert!(is_valid_code(&code), "{code}");
        assert!(seen.insert(code.clone()), "duplicate code {code}");
        taken.push(code.to_ascii_lowercase());
    }

    // The taken codes are really consulted: every one is compared with the
    // code returned.
    let yielded = Cell::new(0);
    let code = unique_code(CountingTaken {
        inner: taken.iter(),
        yielded: &yielded,
    });
    assert!(
        yielded.get() >= taken.len(),
        "only {} of {} taken codes compared",
        yielded.get(),
        taken.len()
    );
    assert!(!seen.contains(&code));
}

#[test]
fn stored_codes_are_distinct_across_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let mut codes = HashSet::new();
    for account in 0..100 {
        for sender in 0..MAX_PENDING {
            let code = created(
                store
                    .upsert(
                        &format!("acct-{account}"),
                        &format!("user-{account}-{sender}@im.wechat"),
                        Map::new(),
                    )
                    .unwrap(),
            );
            assert!(codes.insert(code.clone()), "duplicate code {code}");
        }
    }
    let listed = store.list(None).unwrap();
    assert_eq!(listed.len(), 300);
    let stored: HashSet<String> = listed.iter().map(|r| r.code.to_ascii_uppercase()).collect();
    assert_eq!(stored.len(), 300, "stored codes are not distinct");
    assert_eq!(stored, codes);
    assert!(listed.iter().all(|r| is_valid_code(&r.code)));
}

// ---------------------------------------------------------------------------
// 2. TTL

const T0: &str = "2026-04-15T09:00:00Z";

#[test]
fn request_is_listed_for_an_hour_and_pruned_at_sixty_minutes_on_list() {
    assert_eq!(REQUEST_TTL_SECS, 3600);
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(T0);
    let store = clocked_store(dir.path(), &clock);
    let start = clock.now();
    let code = created(
        store
            .upsert("default", "alice@im.wechat", Map::new())
            .unwrap(),
    );

    clock.set(start + ChronoDuration::seconds(3599));
    let listed = store.list(None).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].code, code);
    assert_eq!(listed[0].created_at, iso(start));
    // A repeat message does not extend the life of the request.
    assert_eq!(
        existing(
            store
                .upsert("default", "alice@im.wechat", Map::new())
                .unwrap()
        ),
        code
    );

    clock.set(start + ChronoDuration::seconds(3600));
    assert_eq!(store.list(None).unwrap(), Vec::<PairingRequest>::new());
    // Pruning on list also rewrote the file.
    assert_eq!(pending_ids(&store), Vec::<String>::new());
}

#[test]
fn expired_requests_are_pruned_on_upsert() {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(T0);
    let store = clocked_store(dir.path(), &clock);
    created(
        store
            .upsert("acct-a", "alice@im.wechat", Map::new())
            .unwrap(),
    );
    clock.advance(ChronoDuration::minutes(30));
    created(store.upsert("acct-a", "bob@im.wechat", Map::new()).unwrap());
    clock.advance(ChronoDuration::minutes(30));
    // alice is exactly 60 minutes old; a new sender on another account prunes her.
    created(
        store
            .upsert("acct-b", "carol@im.wechat", Map::new())
            .unwrap(),
    );
    assert_eq!(pending_ids(&store), ["bob@im.wechat", "carol@im.wechat"]);
}

#[test]
fn expired_requests_are_pruned_on_approve_and_cannot_be_approved() {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(T0);
    let store = clocked_store(dir.path(), &clock);
    let alice = created(
        store
            .upsert("default", "alice@im.wechat", Map::new())
            .unwrap(),
    );
    clock.advance(ChronoDuration::minutes(1));
    let bob = created(
        store
            .upsert("default", "bob@im.wechat", Map::new())
            .unwrap(),
    );

    clock.set(T0.parse::<DateTime<Utc>>().unwrap() + ChronoDuration::minutes(60));
    // An unknown code prunes the expired request from the file.
    assert!(store.approve("ZZZZZZZZ", None).unwrap().is_none());
    assert_eq!(pending_ids(&store), ["bob@im.wechat"]);

    // The expired code cannot be approved any more...
    assert!(store.approve(&alice, None).unwrap().is_none());
    assert_eq!(store.allow_from("default").unwrap(), Vec::<String>::new());
    assert!(!store.allow_from_path("default").unwrap().exists());

    // ...and bob's, one minute younger, expires the same way.
    clock.advance(ChronoDuration::minutes(1));
    assert!(store.approve(&bob, Some("default")).unwrap().is_none());
    assert_eq!(pending_ids(&store), Vec::<String>::new());
    assert_eq!(store.allow_from("default").unwrap(), Vec::<String>::new());
}

#[test]
fn an_expired_sender_gets_a_new_request() {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(T0);
    let store = clocked_store(dir.path(), &clock);
    let first = created(
        store
            .upsert("default", "alice@im.wechat", Map::new())
            .unwrap(),
    );
    clock.advance(ChronoDuration::seconds(REQUEST_TTL_SECS));
    let second = created(
        store
            .upsert("default", "alice@im.wechat", Map::new())
            .unwrap(),
    );
    let listed = store.list(None).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].code, second);
    assert_eq!(listed[0].created_at, iso(clock.now()));
    // The old code is gone for good.
    if !first.eq_ignore_ascii_case(&second) {
        assert!(store.approve(&first, None).unwrap().is_none());
    }
    assert!(store.approve(&second, None).unwrap().is_some());
    assert_eq!(store.allow_from("default").unwrap(), ["alice@im.wechat"]);
}

// ---------------------------------------------------------------------------
// 3. Cap

#[test]
fn three_pending_per_account_then_no_code_until_one_leaves() {
    assert_eq!(MAX_PENDING, 3);
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(T0);
    let store = clocked_store(dir.path(), &clock);
    let mut codes = Vec::new();
    for (i, sender) in ["s1", "s2", "s3"].into_iter().enumerate() {
        clock.set(
            T0.parse::<DateTime<Utc>>().unwrap()
                + ChronoDuration::minutes(10 * i64::try_from(i).unwrap()),
        );
        codes.push(created(store.upsert("acct-a", sender, Map::new()).unwrap()));
    }

    // The 4th new sender: no code, nothing stored (the file is untouched).
    clock.set(T0.parse::<DateTime<Utc>>().unwrap() + ChronoDuration::minutes(30));
    let before = fs::read(store.pending_path()).unwrap();
    assert_eq!(
        store.upsert("acct-a", "s4", Map::new()).unwrap(),
        UpsertOutcome::CapReached
    );
    assert_eq!(
        store.upsert("Acct-A", "s4", Map::new()).unwrap(),
        UpsertOutcome::CapReached
    );
    assert_eq!(fs::read(store.pending_path()).unwrap(), before);
    assert_eq!(store.list(Some("acct-a")).unwrap().len(), 3);

    // A pending sender still gets its code back at the cap.
    assert_eq!(
        existing(store.upsert("acct-a", "s1", Map::new()).unwrap()),
        codes[0]
    );
    // Another account is unaffected (and the default account too).
    created(store.upsert("acct-b", "t1", Map::new()).unwrap());
    created(store.upsert("", "d1", Map::new()).unwrap());

    // Approving one frees a place.
    clock.set(T0.parse::<DateTime<Utc>>().unwrap() + ChronoDuration::minutes(31));
    assert_eq!(store.approve(&codes[1], None).unwrap().unwrap().id, "s2");
    created(store.upsert("acct-a", "s4", Map::new()).unwrap());
    assert_eq!(
        store.upsert("acct-a", "s5", Map::new()).unwrap(),
        UpsertOutcome::CapReached
    );

    // So does an expiry: s1 (created at T0) expires at T0 + 60 min.
    clock.set(T0.parse::<DateTime<Utc>>().unwrap() + ChronoDuration::minutes(60));
    created(store.upsert("acct-a", "s5", Map::new()).unwrap());
    let ids: BTreeSet<String> = store
        .list(Some("acct-a"))
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(
        ids,
        BTreeSet::from(["s3".to_owned(), "s4".to_owned(), "s5".to_owned()])
    );
}

// ---------------------------------------------------------------------------
// 4. Upsert semantics

#[test]
fn repeat_sender_keeps_its_code_and_created_at_and_updates_last_seen() {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(T0);
    let store = clocked_store(dir.path(), &clock);
    let t0 = clock.now();
    let given = meta(json!({"accountId": "Something Else", "name": "Alice", "lang": "zh"}));
    let code = created(
        store
            .upsert(" Work Phone ", "alice@im.wechat", given)
            .unwrap(),
    );

    clock.advance(ChronoDuration::minutes(5));
    // Same sender, other case and padding, same account spelled otherwise.
    let again = existing(
        store
            .upsert(
                "work-phone",
                "  ALICE@IM.WECHAT ",
                meta(json!({"name": "Changed"})),
            )
            .unwrap(),
    );
    assert_eq!(again, code);

    let listed = store.list(Some("WORK PHONE")).unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    let request = &listed[0];
    assert_eq!(request.id, "alice@im.wechat");
    assert_eq!(request.code, code);
    assert_eq!(request.created_at, iso(t0));
    assert_eq!(request.last_seen_at, iso(t0 + ChronoDuration::minutes(5)));
    assert_eq!(request.account_id(), "work-phone");
    assert_eq!(request.meta["accountId"], "work-phone");
    assert_eq!(request.meta["name"], "Alice");
    assert_eq!(request.meta["lang"], "zh");

    // The file agrees.
    let file = pending_json(&store);
    assert_eq!(file["version"], 1);
    assert_eq!(file["requests"][0]["createdAt"], iso(t0));
    assert_eq!(
        file["requests"][0]["lastSeenAt"],
        iso(t0 + ChronoDuration::minutes(5))
    );

    // The same sender on another account is another request.
    let other = created(
        store
            .upsert("default", "alice@im.wechat", Map::new())
            .unwrap(),
    );
    assert_ne!(other, code);
    assert_eq!(store.list(None).unwrap().len(), 2);
    assert_eq!(
        store.list(Some("default")).unwrap()[0].meta["accountId"],
        "default"
    );
}

#[test]
fn meta_keys_written_by_another_writer_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(T0);
    let store = clocked_store(dir.path(), &clock);
    let file = json!({
        "version": 1,
        "requests": [{
            "id": "host@im.wechat",
            "code": "ABCDEFGH",
            "createdAt": iso(clock.now()),
            "lastSeenAt": iso(clock.now()),
            "meta": {"accountId": "b0f5860fdecb@im.bot", "displayName": "Host", "nested": {"x": [1, 2]}}
        }]
    });
    write_json(&store.pending_path(), &file).unwrap();
    clock.advance(ChronoDuration::minutes(1));
    created(store.upsert("other", "new@im.wechat", Map::new()).unwrap());
    let after = pending_json(&store);
    assert_eq!(after["requests"][0]["meta"], file["requests"][0]["meta"]);
    // The raw account id in meta still means the normalized account.
    assert_eq!(
        existing(
            store
                .upsert("b0f5860fdecb-im-bot", "HOST@im.wechat", Map::new())
                .unwrap()
        ),
        "ABCDEFGH"
    );
    assert_eq!(store.list(Some("b0f5860fdecb@im.bot")).unwrap().len(), 1);
}

// ---------------------------------------------------------------------------
// 5. Approve

#[test]
fn approve_matches_trimmed_case_insensitive_code_and_appends_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let code = created(
        store
            .upsert("default", "alice@im.wechat", Map::new())
            .unwrap(),
    );
    let typed = format!("  {}\t\n", code.to_ascii_lowercase());
    let approved = store.approve(&typed, None).unwrap().unwrap();
    assert_eq!(approved.id, "alice@im.wechat");
    assert_eq!(approved.code, code);
    assert!(store.list(None).unwrap().is_empty());
    assert_eq!(pending_ids(&store), Vec::<String>::new());

    let allow_path = dir.path().join("openclaw-weixin-default-allowFrom.json");
    assert_eq!(store.allow_from_path("default").unwrap(), allow_path);
    assert_eq!(allow_file_entries(&allow_path), ["alice@im.wechat"]);

    // The same code twice: nothing more.
    assert!(store.approve(&code, None).unwrap().is_none());
    // The same sender again (in another case): approved, appended once.
    let code2 = created(
        store
            .upsert("default", "ALICE@im.wechat", Map::new())
            .unwrap(),
    );
    assert!(store.approve(&code2, None).unwrap().is_some());
    assert_eq!(allow_file_entries(&allow_path), ["alice@im.wechat"]);
    assert_eq!(store.allow_from("default").unwrap(), ["alice@im.wechat"]);

    // Unknown codes.
    assert!(store.approve("ZZZZZZZZ", None).unwrap().is_none());
    assert!(store.approve("", None).unwrap().is_none());
    assert_eq!(allow_file_entries(&allow_path), ["alice@im.wechat"]);
}

#[test]
fn approve_never_stores_the_wildcard() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let code = created(store.upsert("default", " * ", Map::new()).unwrap());
    let approved = store.approve(&code, None).unwrap().unwrap();
    assert_eq!(approved.id, "*");
    let bob = created(
        store
            .upsert("default", "bob@im.wechat", Map::new())
            .unwrap(),
    );
    store.approve(&bob, None).unwrap().unwrap();
    let path = store.allow_from_path("default").unwrap();
    assert_eq!(allow_file_entries(&path), ["bob@im.wechat"]);

    // A `*` put in the file by hand is not reported either.
    write_json(
        &path,
        &json!({"version": 1, "allowFrom": ["*", "bob@im.wechat", " * "]}),
    )
    .unwrap();
    assert_eq!(store.allow_from("default").unwrap(), ["bob@im.wechat"]);
}

#[test]
fn approve_with_an_account_only_matches_that_account() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let bob = created(
        store
            .upsert("Work Phone", "bob@im.wechat", Map::new())
            .unwrap(),
    );
    let carol = created(
        store
            .upsert("default", "carol@im.wechat", Map::new())
            .unwrap(),
    );

    assert!(store.approve(&bob, Some("default")).unwrap().is_none());
    assert!(store.approve(&bob, Some("other")).unwrap().is_none());
    assert!(store.approve(&carol, Some("work-phone")).unwrap().is_none());
    assert_eq!(store.list(None).unwrap().len(), 2);

    let approved = store.approve(&bob, Some("WORK PHONE")).unwrap().unwrap();
    assert_eq!(approved.id, "bob@im.wechat");
    assert_eq!(approved.account_id(), "work-phone");
    let work_path = dir.path().join("openclaw-weixin-work-phone-allowFrom.json");
    assert_eq!(store.allow_from_path("Work Phone").unwrap(), work_path);
    assert_eq!(allow_file_entries(&work_path), ["bob@im.wechat"]);
    assert_eq!(store.allow_from("work-phone").unwrap(), ["bob@im.wechat"]);
    assert_eq!(store.allow_from("default").unwrap(), Vec::<String>::new());

    // Without an account filter any account's code matches.
    assert_eq!(
        store.approve(&carol, None).unwrap().unwrap().id,
        "carol@im.wechat"
    );
    assert_eq!(store.allow_from("default").unwrap(), ["carol@im.wechat"]);
    assert_eq!(store.allow_from("work-phone").unwrap(), ["bob@im.wechat"]);
}

#[test]
fn default_account_also_reads_the_legacy_allow_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let legacy = dir.path().join("openclaw-weixin-allowFrom.json");
    assert_eq!(store.legacy_allow_from_path(), legacy);
    write_json(
        &legacy,
        &json!({"version": 1, "allowFrom": ["legacy@im.wechat", "ALICE@IM.WECHAT", "*"]}),
    )
    .unwrap();
    assert_eq!(
        store.allow_from("default").unwrap(),
        ["legacy@im.wechat", "ALICE@IM.WECHAT"]
    );

    let code = created(
        store
            .upsert("default", "alice@im.wechat", Map::new())
            .unwrap(),
    );
    store.approve(&code, None).unwrap().unwrap();
    assert_eq!(
        store.allow_from("default").unwrap(),
        ["alice@im.wechat", "legacy@im.wechat"]
    );
    assert_eq!(
        store.allow_from(" DEFAULT ").unwrap(),
        ["alice@im.wechat", "legacy@im.wechat"]
    );
    assert_eq!(
        store.allow_from("").unwrap(),
        ["alice@im.wechat", "legacy@im.wechat"]
    );
    // Other accounts do not read it, and it is never written.
    assert_eq!(store.allow_from("work").unwrap(), Vec::<String>::new());
    assert_eq!(
        allow_file_entries(&legacy),
        ["legacy@im.wechat", "ALICE@IM.WECHAT", "*"]
    );
}

// ---------------------------------------------------------------------------
// 6. Concurrency: threads

#[test]
fn eight_threads_upsert_and_approve_concurrently_and_lose_nothing() {
    const THREADS: usize = 8;
    const SENDERS: usize = 12;
    let dir = tempfile::tempdir().unwrap();
    let dir_path = dir.path().to_owned();
    // Of each thread's 12 senders, #3 and #7 stay pending (within the cap of 3).
    let stays_pending = |i: usize| i == 3 || i == 7;
    let start = Arc::new(Barrier::new(THREADS + 2));
    let writers_left = Arc::new(AtomicUsize::new(THREADS));
    let done = Arc::new(AtomicBool::new(false));

    let writers: Vec<_> = (0..THREADS)
        .map(|t| {
            let dir = dir_path.clone();
            let start = Arc::clone(&start);
            let writers_left = Arc::clone(&writers_left);
            let done = Arc::clone(&done);
            thread::spawn(move || {
                let store = store_in(&dir);
                let account = format!("acct-{t}");
                start.wait();
                for i in 0..SENDERS {
                    let sender = format!("user-{t}-{i}@im.wechat");
                    let code = created(store.upsert(&account, &sender, Map::new()).unwrap());
                    // A repeat message in between.
                    assert_eq!(
                        existing(store.upsert(&account, &sender, Map::new()).unwrap()),
                        code
                    );
                    if !stays_pending(i) {
                        let filter = (i % 2 == 0).then_some(account.as_str());
                        let approved = store
                            .approve(&code.to_ascii_lowercase(), filter)
                            .unwrap()
                            .unwrap();
                        assert_eq!(approved.id, sender);
                    }
                }
                if writers_left.fetch_sub(1, Ordering::SeqCst) == 1 {
                    done.store(true, Ordering::SeqCst);
                }
            })
        })
        .collect();

    // One reader lists through the store, one reads the file raw, unlocked:
    // every read is whole JSON (atomic renames).
    let lister = {
        let dir = dir_path.clone();
        let start = Arc::clone(&start);
        let done = Arc::clone(&done);
        thread::spawn(move || {
            let store = store_in(&dir);
            start.wait();
            let mut reads = 0;
            loop {
                let finished = done.load(Ordering::SeqCst);
                for r in store.list(None).unwrap() {
                    assert!(is_valid_code(&r.code), "{r:?}");
                    assert!(r.account_id().starts_with("acct-"), "{r:?}");
                }
                reads += 1;
                if finished {
                    return reads;
                }
            }
        })
    };
    let raw_reader = {
        let dir = dir_path.clone();
        let start = Arc::clone(&start);
        let done = Arc::clone(&done);
        thread::spawn(move || {
            let store = store_in(&dir);
            let path = store.pending_path();
            start.wait();
            let mut reads = 0;
            loop {
                let finished = done.load(Ordering::SeqCst);
                match fs::read(&path) {
                    Ok(bytes) => {
                        let v: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                            panic!("torn read: {e}: {}", String::from_utf8_lossy(&bytes))
                        });
                        assert_eq!(v["version"], 1);
                        reads += 1;
                    }
                    Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::NotFound),
                }
                if finished {
                    return reads;
                }
            }
        })
    };

    for w in writers {
        w.join().unwrap();
    }
    assert!(lister.join().unwrap() >= 1);
    assert!(raw_reader.join().unwrap() >= 1);

    let store = store_in(&dir_path);
    let mut want_pending = BTreeSet::new();
    for t in 0..THREADS {
        let account = format!("acct-{t}");
        let want: BTreeSet<String> = (0..SENDERS)
            .filter(|&i| !stays_pending(i))
            .map(|i| format!("user-{t}-{i}@im.wechat"))
            .collect();
        let entries = allow_file_entries(&store.allow_from_path(&account).unwrap());
        assert_eq!(
            entries.len(),
            want.len(),
            "duplicates or losses in {account}: {entries:?}"
        );
        assert_eq!(
            entries.into_iter().collect::<BTreeSet<_>>(),
            want,
            "{account}"
        );
        want_pending.extend(
            (0..SENDERS)
                .filter(|&i| stays_pending(i))
                .map(|i| format!("user-{t}-{i}@im.wechat")),
        );
    }
    let pending = pending_ids(&store);
    assert_eq!(pending.len(), want_pending.len(), "{pending:?}");
    assert_eq!(pending.into_iter().collect::<BTreeSet<_>>(), want_pending);
    assert_no_leftovers(&dir_path);
}

// ---------------------------------------------------------------------------
// 7. Concurrency: processes

const WORKER_DIR: &str = "PAIRING_WORKER_DIR";
const WORKER_ID: &str = "PAIRING_WORKER_ID";
const WORKER_MARKER: &str = "CHANNEL_CONTRACT_PAIRING_WORKER_MARKER";
const PROCESS_ACCOUNT: &str = "shared-account";
const PER_PROCESS: usize = 30;

/// Upserts and approves `PER_PROCESS` senders of `worker` on the shared account.
fn upsert_and_approve_all(dir: &Path, worker: &str) {
    let store = store_in(dir);
    for i in 0..PER_PROCESS {
        let sender = format!("proc-{worker}-{i}@im.wechat");
        // Each process has at most one pending request at a time, so three
        // processes never reach the cap of 3.
        let code = created(store.upsert(PROCESS_ACCOUNT, &sender, Map::new()).unwrap());
        let approved = store
            .approve(&code, Some(PROCESS_ACCOUNT))
            .unwrap()
            .unwrap();
        assert_eq!(approved.id, sender);
    }
}

/// The child side of [`two_processes_and_the_parent_approve_on_one_account`];
/// returns at once in a normal test run.
#[test]
fn worker_process() {
    let Some(dir) = std::env::var_os(WORKER_DIR) else {
        return;
    };
    assert!(
        std::env::var_os(WORKER_MARKER).is_some(),
        "worker started without its marker"
    );
    let worker = std::env::var(WORKER_ID).unwrap();
    upsert_and_approve_all(Path::new(&dir), &worker);
    println!("pairing worker {worker} approved {PER_PROCESS}");
}

#[test]
fn two_processes_and_the_parent_approve_on_one_account() {
    let dir = tempfile::tempdir().unwrap();
    let marker = uuid::Uuid::new_v4().simple().to_string();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (1..=2)
        .map(|n| {
            let child = Command::new(&exe)
                .args([
                    "--exact",
                    "pairing::worker_process",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(WORKER_DIR, dir.path())
                .env(WORKER_ID, format!("child{n}"))
                .env(WORKER_MARKER, &marker)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (n, child)
        })
        .collect();

    upsert_and_approve_all(dir.path(), "parent");

    for (n, child) in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "child {n} failed: {}\n{stdout}\n{stderr}",
            out.status
        );
        assert!(
            stdout.contains(&format!("pairing worker child{n} approved {PER_PROCESS}")),
            "child {n} did not run the worker:\n{stdout}"
        );
        assert!(stdout.contains("1 passed"), "{stdout}");
    }

    let store = store_in(dir.path());
    let entries = allow_file_entries(&store.allow_from_path(PROCESS_ACCOUNT).unwrap());
    let want: BTreeSet<String> = ["parent", "child1", "child2"]
        .iter()
        .flat_map(|w| (0..PER_PROCESS).map(move |i| format!("proc-{w}-{i}@im.wechat")))
        .collect();
    assert_eq!(entries.len(), 3 * PER_PROCESS, "duplicates or losses");
    assert_eq!(entries.into_iter().collect::<BTreeSet<_>>(), want);
    assert_eq!(pending_ids(&store), Vec::<String>::new());
    assert_no_leftovers(dir.path());
}

// ---------------------------------------------------------------------------
// 8. Locks

/// Takes the lock on `file` and checks it was taken over without a backoff
/// pause, and that the lock file now names this process.
fn assert_taken_over_at_once(file: &Path) {
    let started = Instant::now();
    let guard = lock::lock(file).unwrap();
    let took = started.elapsed();
    assert!(
        took < lock::backoff(0, 0.0),
        "took {took:?}: waited instead of taking over"
    );
    assert_eq!(lock_pid(&lock_path_of(file)), std::process::id());
    drop(guard);
    assert!(!lock_path_of(file).exists());
}

#[test]
fn lock_of_an_exited_process_is_taken_over_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openclaw-weixin-pairing.json");
    let mut exited = Command::new("true").spawn().unwrap();
    let pid = exited.id();
    assert!(exited.wait().unwrap().success());
    assert_eq!(
        lock_path_of(&file),
        dir.path().join("openclaw-weixin-pairing.json.lock")
    );
    write_lock_payload(&lock_path_of(&file), pid, Utc::now());
    assert_taken_over_at_once(&file);
}

/// A `sleep 30` child: a live pid that holds nothing; killed by its handle on drop.
struct LiveProcess(std::process::Child);

impl LiveProcess {
    fn spawn() -> Self {
        Self(
            Command::new("sleep")
                .arg("30")
                .stdin(Stdio::null())
                .spawn()
                .unwrap(),
        )
    }
    fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for LiveProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn old_lock_of_a_live_process_is_taken_over_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.json");
    let live = LiveProcess::spawn();
    write_lock_payload(
        &lock_path_of(&file),
        live.pid(),
        Utc::now() - ChronoDuration::seconds(31),
    );
    assert_taken_over_at_once(&file);
}

#[test]
fn lock_without_payload_is_taken_over_when_its_mtime_is_old() {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in [
        ("empty.json", &b""[..]),
        ("garbage.json", &b"{\"pid\": 12"[..]),
    ] {
        let file = dir.path().join(name);
        let lock_path = lock_path_of(&file);
        fs::write(&lock_path, content).unwrap();
        let f = fs::OpenOptions::new().write(true).open(&lock_path).unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(31))
            .unwrap();
        drop(f);
        assert_taken_over_at_once(&file);
    }
}

#[test]
fn fresh_lock_of_a_live_process_is_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.json");
    let lock_path = lock_path_of(&file);
    let live = LiveProcess::spawn();
    write_lock_payload(&lock_path, live.pid(), Utc::now());
    let payload = fs::read(&lock_path).unwrap();

    let (tx, rx) = mpsc::channel();
    let waiter = {
        let file = file.clone();
        thread::spawn(move || {
            let guard = lock::lock(&file);
            let holder = guard.as_ref().ok().map(|_| lock_pid(&lock_path_of(&file)));
            tx.send(holder).unwrap();
            drop(guard);
        })
    };
    // Through several backoff rounds the lock is neither taken nor taken over.
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(700)),
        Err(mpsc::RecvTimeoutError::Timeout)
    );
    assert_eq!(
        fs::read(&lock_path).unwrap(),
        payload,
        "a fresh live lock was taken over"
    );
    // The holder releases: the waiter gets it on its next retry.
    fs::remove_file(&lock_path).unwrap();
    let holder = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(holder, Some(std::process::id()));
    waiter.join().unwrap();
    drop(live);
}

#[test]
fn backoff_doubles_from_100ms_to_10s_times_a_jitter_of_1_to_2() {
    assert_eq!(lock::RETRIES, 10);
    assert_eq!(lock::STALE_AFTER, Duration::from_secs(30));
    let ms = Duration::from_millis;
    let base = [
        100, 200, 400, 800, 1_600, 3_200, 6_400, 10_000, 10_000, 10_000,
    ];
    for (n, want) in (0u32..).zip(base) {
        assert_eq!(lock::backoff(n, 0.0), ms(want), "retry {n}");
        assert_eq!(lock::backoff(n, 1.0), ms(2 * want), "retry {n}");
        assert_eq!(lock::backoff(n, 0.5), ms(want * 3 / 2), "retry {n}");
    }
    for n in [10, 16, 31, 32, 1_000, u32::MAX] {
        assert_eq!(lock::backoff(n, 0.0), ms(10_000), "retry {n}");
        assert_eq!(lock::backoff(n, 1.0), ms(20_000), "retry {n}");
    }
    // The jitter factor stays within 1..2.
    assert_eq!(lock::backoff(0, -3.0), ms(100));
    assert_eq!(lock::backoff(0, 7.0), ms(200));
    for j in 0..=20 {
        let d = lock::backoff(3, f64::from(j) / 20.0);
        assert!((ms(800)..=ms(1_600)).contains(&d), "{d:?}");
    }
    // The whole wait before giving up: 42.7 s to 85.4 s.
    let total: Duration = (0..lock::RETRIES).map(|n| lock::backoff(n, 0.0)).sum();
    assert_eq!(total, ms(42_700));
}

/// Runs `f` on its own thread and fails (instead of hanging) when it does not
/// finish within `limit`.
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let handle = thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(value) => {
            handle.join().unwrap();
            value
        }
        // The closure panicked: re-raise its panic.
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(handle.join().unwrap_err())
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("still blocked after {limit:?} (deadlock?)"),
    }
}

#[test]
fn lock_is_reentrant_for_its_thread() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sub/x.json");
    within(Duration::from_secs(20), move || {
        let lock_path = lock_path_of(&file);
        let outer = lock::lock(&file).unwrap();
        assert_eq!(lock_pid(&lock_path), std::process::id());
        let inner = lock::lock(&file).unwrap();
        let innermost = lock::lock(&file).unwrap();
        drop(innermost);
        drop(inner);
        assert!(lock_path.exists(), "an inner release removed the lock");
        drop(outer);
        assert!(!lock_path.exists(), "the outermost release left the lock");
        // And it can be taken again.
        let again = lock::lock(&file).unwrap();
        assert!(lock_path.exists());
        drop(again);
        assert!(!lock_path.exists());
    });
}

#[test]
fn another_thread_waits_until_the_lock_is_released() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.json");
    let guard = lock::lock(&file).unwrap();
    let released = Arc::new(AtomicBool::new(false));
    let started = Arc::new(Barrier::new(2));
    let (tx, rx) = mpsc::channel();
    let other = {
        let file = file.clone();
        let released = Arc::clone(&released);
        let started = Arc::clone(&started);
        thread::spawn(move || {
            started.wait();
            let guard = lock::lock(&file).unwrap();
            // Acquired only after the holder let go.
            let after_release = released.load(Ordering::SeqCst);
            let inner = lock::lock(&file).unwrap();
            tx.send(after_release).unwrap();
            drop(inner);
            drop(guard);
        })
    };
    started.wait();
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(300)),
        Err(mpsc::RecvTimeoutError::Timeout)
    );
    assert!(lock_path_of(&file).exists());
    released.store(true, Ordering::SeqCst);
    drop(guard);
    assert!(
        rx.recv_timeout(Duration::from_secs(30)).unwrap(),
        "the other thread got the lock while it was held"
    );
    other.join().unwrap();
    assert!(!lock_path_of(&file).exists());
}

#[test]
fn lock_errors_name_the_lock_file() {
    // A lock whose directory cannot be created (a file is in the way).
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("blocker"), b"").unwrap();
    let err = lock::lock(&dir.path().join("blocker/x.json")).unwrap_err();
    match err {
        LockError::Io { path, .. } => assert_eq!(path, dir.path().join("blocker/x.json.lock")),
        other => panic!("expected Io, got {other:?}"),
    }
    // The failed attempt does not leave the lock registered as held: the
    // next attempt, from this thread or another, really takes the file lock.
    fs::remove_file(dir.path().join("blocker")).unwrap();
    let file = dir.path().join("blocker/x.json");
    let guard = lock::lock(&file).unwrap();
    assert_eq!(lock_pid(&lock_path_of(&file)), std::process::id());
    drop(guard);
    assert!(!lock_path_of(&file).exists());
    within(Duration::from_secs(20), move || {
        drop(lock::lock(&file).unwrap())
    });
}

// ---------------------------------------------------------------------------
// 9. Files

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[test]
fn files_are_0600_and_the_credentials_dir_0700() {
    use std::os::unix::fs::PermissionsExt as _;
    let root = tempfile::tempdir().unwrap();
    let creds = root.path().join("state/credentials");
    let store = store_in(&creds);
    let code = created(
        store
            .upsert("default", "alice@im.wechat", Map::new())
            .unwrap(),
    );
    assert_eq!(mode(&creds), 0o700);
    assert_eq!(mode(&root.path().join("state")), 0o700);
    assert_eq!(mode(&store.pending_path()), 0o600);

    // A world-readable allow file is replaced by a private one.
    let allow = store.allow_from_path("default").unwrap();
    fs::write(
        &allow,
        "{\"version\": 1, \"allowFrom\": [\"old@im.wechat\"]}",
    )
    .unwrap();
    fs::set_permissions(&allow, fs::Permissions::from_mode(0o644)).unwrap();
    store.approve(&code, None).unwrap().unwrap();
    assert_eq!(mode(&allow), 0o600);
    assert_eq!(mode(&store.pending_path()), 0o600);
    assert_eq!(
        allow_file_entries(&allow),
        ["old@im.wechat", "alice@im.wechat"]
    );

    // The lock file is private too while held.
    let guard = lock::lock(&store.pending_path()).unwrap();
    assert_eq!(mode(&lock_path_of(&store.pending_path())), 0o600);
    drop(guard);
    assert_no_leftovers(&creds);
}

/// The file text with each pairing code replaced by `<CODE-n>`, in order, and
/// `<EOF>` at its end (so the snapshot shows the trailing newline).
fn redact_codes(text: &str) -> String {
    let v: Value = serde_json::from_str(text).unwrap();
    let mut out = text.to_owned();
    for (n, r) in v["requests"].as_array().unwrap().iter().enumerate() {
        let code = r["code"].as_str().unwrap();
        assert!(is_valid_code(code));
        out = out.replace(&format!("\"{code}\""), &format!("\"<CODE-{}>\"", n + 1));
    }
    out + "<EOF>"
}

#[test]
fn file_layout_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(T0);
    let store = clocked_store(dir.path(), &clock);
    let alice = meta(json!({"accountId": "ignored", "name": "Alice"}));
    created(store.upsert("default", "alice@im.wechat", alice).unwrap());
    clock.advance(ChronoDuration::seconds(61));
    let bob = created(
        store
            .upsert("Work Phone", "Bob@im.wechat", Map::new())
            .unwrap(),
    );
    clock.advance(ChronoDuration::milliseconds(1_500));
    created(
        store
            .upsert("default", "carol@im.wechat", Map::new())
            .unwrap(),
    );
    clock.advance(ChronoDuration::minutes(2));
    existing(
        store
            .upsert("default", "ALICE@im.wechat", Map::new())
            .unwrap(),
    );
    store.approve(&bob, None).unwrap().unwrap();

    let pending = fs::read_to_string(store.pending_path()).unwrap();
    assert!(
        pending.starts_with("{\n  \"version\": 1,\n  \"requests\": [\n    {\n"),
        "{pending}"
    );
    assert!(
        pending.ends_with("}\n") && !pending.ends_with("\n\n"),
        "{pending:?}"
    );
    insta::assert_snapshot!("pending_file", redact_codes(&pending));

    let allow = fs::read_to_string(store.allow_from_path("work-phone").unwrap()).unwrap();
    assert_eq!(
        allow,
        "{\n  \"version\": 1,\n  \"allowFrom\": [\n    \"Bob@im.wechat\"\n  ]\n}\n"
    );
    insta::assert_snapshot!("work_phone_allow_from_file", format!("{allow}<EOF>"));

    let mut names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "openclaw-weixin-pairing.json",
            "openclaw-weixin-work-phone-allowFrom.json"
        ]
    );
}

// ---------------------------------------------------------------------------
// 10. Crash mid-write

fn stray_temp(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap().to_owned();
    name.push(format!(".{}.tmp", uuid::Uuid::new_v4().simple()));
    path.with_file_name(name)
}

#[test]
fn stray_temp_files_are_ignored_and_the_target_stays_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let alice = created(
        store
            .upsert("default", "alice@im.wechat", Map::new())
            .unwrap(),
    );
    let before = fs::read(store.pending_path()).unwrap();

    // A crash before the rename: a garbage temp file and a half-written one.
    let garbage = stray_temp(&store.pending_path());
    fs::write(&garbage, b"\x00\xffnot json at all").unwrap();
    let half = stray_temp(&store.pending_path());
    fs::write(&half, &before[..before.len() / 2]).unwrap();
    let allow_half = stray_temp(&store.allow_from_path("default").unwrap());
    fs::write(&allow_half, b"{\"version\": 1, \"allowFrom\": [\"intru").unwrap();

    // The store reads the old file...
    let listed = store.list(None).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].code, alice);
    assert_eq!(fs::read(store.pending_path()).unwrap(), before);
    assert_eq!(store.allow_from("default").unwrap(), Vec::<String>::new());

    // ...and keeps working.
    let bob = created(
        store
            .upsert("default", "bob@im.wechat", Map::new())
            .unwrap(),
    );
    assert_ne!(bob, alice);
    store.approve(&alice, None).unwrap().unwrap();
    assert_eq!(store.allow_from("default").unwrap(), ["alice@im.wechat"]);
    assert_eq!(pending_ids(&store), ["bob@im.wechat"]);

    // The strays are left alone, untouched, and never mistaken for the targets.
    assert_eq!(fs::read(&garbage).unwrap(), b"\x00\xffnot json at all");
    assert_eq!(fs::read(&half).unwrap(), &before[..before.len() / 2]);
    assert_eq!(names_ending(dir.path(), ".tmp").len(), 3);
    assert_eq!(names_ending(dir.path(), ".lock"), Vec::<String>::new());
}

#[test]
fn failed_rename_leaves_no_temp_file_and_the_old_state() {
    let dir = tempfile::tempdir().unwrap();
    // The target is a (non-empty) directory: the rename fails.
    let target = dir.path().join("x.json");
    fs::create_dir(&target).unwrap();
    fs::write(target.join("keep"), b"kept").unwrap();
    let err = write_json(&target, &json!({"a": 1})).unwrap_err();
    match &err {
        FileError::Io { op, path, .. } => {
            assert_eq!(*op, "rename into");
            assert_eq!(path, &target);
        }
        other => panic!("expected Io, got {other:?}"),
    }
    assert!(target.is_dir());
    assert_eq!(fs::read(target.join("keep")).unwrap(), b"kept");
    assert_eq!(names_ending(dir.path(), ".tmp"), Vec::<String>::new());

    // An old file survives a failed write (the temp name is too long to create).
    let long = dir.path().join(format!("{}.json", "a".repeat(240)));
    write_json(&long, &json!({"old": true})).unwrap_err();
    fs::write(&long, b"{\"old\": true}\n").unwrap();
    assert!(write_json(&long, &json!({"new": true})).is_err());
    assert_eq!(
        read_json::<Value>(&long).unwrap(),
        Some(json!({"old": true}))
    );
    assert_eq!(names_ending(dir.path(), ".tmp"), Vec::<String>::new());

    // The store reports the failure and changes nothing.
    let store_dir = dir.path().join("creds");
    let store = store_in(&store_dir);
    let code = created(
        store
            .upsert("default", "alice@im.wechat", Map::new())
            .unwrap(),
    );
    let pending_before = fs::read(store.pending_path()).unwrap();
    let allow_path = store.allow_from_path("default").unwrap();
    fs::create_dir(&allow_path).unwrap();
    fs::write(allow_path.join("keep"), b"kept").unwrap();
    assert!(store.approve(&code, None).is_err());
    assert_eq!(
        fs::read(store.pending_path()).unwrap(),
        pending_before,
        "the request was dropped though the approval failed"
    );
    assert_eq!(store.list(None).unwrap()[0].code, code);
    assert_no_leftovers(&store_dir);
}
