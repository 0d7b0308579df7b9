//! A host runtime double for tests (feature `testing`): [`RecordingRuntime`]
//! routes with a real [`RoutingConfig`], records every routed request,
//! recorded session, saved media file and dispatched message, and answers
//! dispatches from a script. Tests await "n dispatches" with
//! [`RecordingRuntime::wait_for_dispatches`] instead of sleeping.
//!
//! It lets a channel's tests check what reached the agent without a host.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use tokio::sync::watch;

use crate::inbound::InboundContext;
use crate::routing::{RouteResult, RoutingConfig};
use crate::runtime::{AgentReply, HostRuntime, RouteRequest, RuntimeError};
use crate::HostProfile;

/// A media file the double saved.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SavedMedia {
    /// Where it was written (under the double's media dir).
    pub path: PathBuf,
    /// The MIME type it was saved with.
    pub media_type: String,
    /// The original file name, if the channel gave one.
    pub original_name: Option<String>,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// Everything recorded, behind one lock.
#[derive(Default)]
struct Recorded {
    routes: Vec<RouteRequest>,
    sessions: Vec<InboundContext>,
    media: Vec<SavedMedia>,
    dispatched: Vec<InboundContext>,
    script: VecDeque<Result<Vec<AgentReply>, RuntimeError>>,
}

/// A [`HostRuntime`] double that records what reached the host.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use channel_contract::inbound::InboundContext;
/// use channel_contract::routing::RoutingConfig;
/// use channel_contract::runtime::{AgentReply, HostRuntime, RouteRequest};
/// use channel_contract::testing::RecordingRuntime;
/// use channel_contract::HostProfile;
///
/// let dir = std::env::temp_dir();
/// let double = Arc::new(RecordingRuntime::new(RoutingConfig::default(), HostProfile::Late, &dir));
/// double.push_replies(vec![AgentReply::text("pong")]);
/// let runtime: Arc<dyn HostRuntime> = double.clone();
/// let route = runtime.route(RouteRequest::new("openclaw-weixin", "acc", "a@im.wechat")).await.unwrap();
/// let ctx = InboundContext::new("openclaw-weixin", "acc", "a@im.wechat", "bot", "ping", route.session_key);
/// assert_eq!(runtime.dispatch(ctx).await.unwrap(), vec![AgentReply::text("pong")]);
/// assert_eq!(double.wait_for_dispatches(1).await[0].body, "ping");
/// # });
/// ```
pub struct RecordingRuntime {
    routing: RoutingConfig,
    profile: HostProfile,
    media_dir: PathBuf,
    recorded: Mutex<Recorded>,
    /// How many messages were dispatched so far.
    dispatch_count: watch::Sender<usize>,
}

impl std::fmt::Debug for RecordingRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordingRuntime")
            .field("profile", &self.profile)
            .field("media_dir", &self.media_dir)
            .field("dispatched", &*self.dispatch_count.borrow())
            .finish_non_exhaustive()
    }
}

impl RecordingRuntime {
    /// A double routing with `routing` as a `profile` host, saving media
    /// under `media_dir` (created on the first save).
    pub fn new(
        routing: RoutingConfig,
        profile: HostProfile,
        media_dir: impl Into<PathBuf>,
    ) -> Self {
        Self {
            routing,
            profile,
            media_dir: media_dir.into(),
            recorded: Mutex::new(Recorded::default()),
            dispatch_count: watch::channel(0).0,
        }
    }

    /// Queues the replies of the next dispatch that has none queued yet.
    /// With the queue empty, dispatch answers no replies.
    pub fn push_replies(&self, replies: Vec<AgentReply>) {
        self.lock().script.push_back(Ok(replies));
    }

    /// Queues a failure for the next dispatch (it is still recorded).
    pub fn push_dispatch_error(&self, error: RuntimeError) {
        self.lock().script.push_back(Err(error));
    }

    /// Every route request, in order.
    pub fn routes(&self) -> Vec<RouteRequest> {
        self.lock().routes.clone()
    }

    /// Every recorded session's context, in order.
    pub fn sessions(&self) -> Vec<InboundContext> {
        self.lock().sessions.clone()
    }

    /// Every saved media file, in order.
    pub fn saved_media(&self) -> Vec<SavedMedia> {
        self.lock().media.clone()
    }

    /// Every dispatched context, in order.
    pub fn dispatched(&self) -> Vec<InboundContext> {
        self.lock().dispatched.clone()
    }

    /// How many messages were dispatched.
    pub fn dispatch_count(&self) -> usize {
        *self.dispatch_count.borrow()
    }

    /// Waits until at least `n` messages were dispatched, then returns all
    /// dispatched contexts. Never sleeps; wrap it in a timeout in tests.
    pub async fn wait_for_dispatches(&self, n: usize) -> Vec<InboundContext> {
        let mut rx = self.dispatch_count.subscribe();
        // The sender lives in `self`, so waiting cannot fail; the guard it
        // returns is dropped at once so dispatches are never blocked on it.
        let _ = rx.wait_for(|count| *count >= n).await.map(|_| ());
        self.dispatched()
    }

    /// The record lock; every write is a plain push, so a poisoned lock is
    /// still consistent.
    fn lock(&self) -> MutexGuard<'_, Recorded> {
        self.recorded.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A safe file name for saved media: the original name's last path part with
/// characters outside `[A-Za-z0-9._-]` replaced, or `media.<ext>` from the
/// type.
fn media_file_name(seq: usize, media_type: &str, original_name: Option<&str>) -> String {
    let original = original_name
        .and_then(|n| Path::new(n.trim()).file_name())
        .map(|n| {
            n.to_string_lossy()
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                        c
                    } else {
                        '_'
                    }
                })
                .collect::<String>()
        })
        .map(|n| n.trim_start_matches('.').to_owned())
        .filter(|n| !n.is_empty());
    let name = original.unwrap_or_else(|| {
        let ext = match media_type.trim().to_ascii_lowercase().as_str() {
            "image/jpeg" | "image/jpg" => "jpg",
            "image/png" => "png",
            "image/gif" => "gif",
            "image/webp" => "webp",
            "video/mp4" => "mp4",
            "audio/silk" => "silk",
            "audio/mpeg" => "mp3",
            "text/plain" => "txt",
            "application/pdf" => "pdf",
            _ => "bin",
        };
        format!("media.{ext}")
    });
    format!("{seq:04}-{name}")
}

#[async_trait]
impl HostRuntime for RecordingRuntime {
    async fn route(&self, input: RouteRequest) -> Result<RouteResult, RuntimeError> {
        let result = self.routing.route(input.as_input(), self.profile);
        self.lock().routes.push(input);
        result.map_err(RuntimeError::from)
    }

    async fn record_inbound_session(&self, ctx: &InboundContext) -> Result<(), RuntimeError> {
        self.lock().sessions.push(ctx.clone());
        Ok(())
    }

    async fn save_media(
        &self,
        bytes: Vec<u8>,
        media_type: &str,
        original_name: Option<&str>,
    ) -> Result<PathBuf, RuntimeError> {
        let mut recorded = self.lock();
        let path = self.media_dir.join(media_file_name(
            recorded.media.len() + 1,
            media_type,
            original_name,
        ));
        std::fs::create_dir_all(&self.media_dir)
            .and_then(|()| std::fs::write(&path, &bytes))
            .map_err(|e| RuntimeError::Media(format!("write {}: {e}", path.display())))?;
        recorded.media.push(SavedMedia {
            path: path.clone(),
            media_type: media_type.to_owned(),
            original_name: original_name.map(str::to_owned),
            bytes,
        });
        Ok(path)
    }

    async fn dispatch(&self, ctx: InboundContext) -> Result<Vec<AgentReply>, RuntimeError> {
        let answer = {
            let mut recorded = self.lock();
            recorded.dispatched.push(ctx);
            recorded
                .script
                .pop_front()
                .unwrap_or_else(|| Ok(Vec::new()))
        };
        self.dispatch_count.send_modify(|count| *count += 1);
        answer
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::routing::{AgentEntry, MatchedBy};
    use crate::session::DmScope;

    fn double(dir: &Path) -> Arc<RecordingRuntime> {
        let routing = RoutingConfig {
            dm_scope: DmScope::PerChannelPeer,
            ..RoutingConfig::default()
        };
        Arc::new(RecordingRuntime::new(routing, HostProfile::Late, dir))
    }

    async fn ctx(runtime: &dyn HostRuntime, body: &str) -> InboundContext {
        let route = runtime
            .route(RouteRequest::new("openclaw-weixin", "acc", "A@im.wechat"))
            .await
            .expect("routes");
        InboundContext::new(
            "openclaw-weixin",
            "acc",
            "a@im.wechat",
            "bot@im.bot",
            body,
            route.session_key,
        )
    }

    #[tokio::test]
    async fn routes_records_and_answers_from_the_script() {
        let dir = tempfile::tempdir().expect("temp dir");
        let double = double(dir.path());
        let runtime: Arc<dyn HostRuntime> = double.clone();
        double.push_replies(vec![
            AgentReply::text("one"),
            AgentReply::media("/x.png", None),
        ]);
        double.push_dispatch_error(RuntimeError::Dispatch("agent crashed".into()));

        let first = ctx(runtime.as_ref(), "1").await;
        assert_eq!(
            first.session_key.as_str(),
            "agent:main:openclaw-weixin:direct:a@im.wechat"
        );
        runtime
            .record_inbound_session(&first)
            .await
            .expect("records");
        let replies = runtime.dispatch(first.clone()).await.expect("dispatches");
        assert_eq!(
            replies,
            vec![AgentReply::text("one"), AgentReply::media("/x.png", None)]
        );
        let second = ctx(runtime.as_ref(), "2").await;
        assert_eq!(
            runtime.dispatch(second.clone()).await,
            Err(RuntimeError::Dispatch("agent crashed".into()))
        );
        let third = ctx(runtime.as_ref(), "3").await;
        assert_eq!(runtime.dispatch(third.clone()).await, Ok(Vec::new()));

        assert_eq!(double.routes().len(), 3);
        assert_eq!(double.sessions(), vec![first.clone()]);
        assert_eq!(double.dispatched(), vec![first, second, third]);
        assert_eq!(double.dispatch_count(), 3);
    }

    #[tokio::test]
    async fn routing_errors_come_through() {
        let dir = tempfile::tempdir().expect("temp dir");
        let routing = RoutingConfig {
            agents: vec![
                AgentEntry {
                    id: "a".into(),
                    default: false,
                },
                AgentEntry {
                    id: "b".into(),
                    default: false,
                },
            ],
            ..RoutingConfig::default()
        };
        let late = RecordingRuntime::new(routing.clone(), HostProfile::Late, dir.path());
        let route = late
            .route(RouteRequest::new("openclaw-weixin", "acc", "x@im.wechat"))
            .await
            .expect("late hosts take the first agent");
        assert_eq!(
            (route.agent_id.as_str(), route.matched_by),
            ("a", MatchedBy::Default)
        );
        let newest = RecordingRuntime::new(routing, HostProfile::Newest, dir.path());
        let err = newest
            .route(RouteRequest::new("openclaw-weixin", "acc", "x@im.wechat"))
            .await
            .expect_err("newest hosts want a default");
        assert!(matches!(err, RuntimeError::Route(_)));
        assert_eq!(newest.routes().len(), 1);
    }

    #[tokio::test]
    async fn saves_media_under_its_dir() {
        let dir = tempfile::tempdir().expect("temp dir");
        let media_dir = dir.path().join("media");
        let double = double(&media_dir);
        let a = double
            .save_media(b"jpeg bytes".to_vec(), "image/jpeg", None)
            .await
            .expect("saves");
        let b = double
            .save_media(
                b"pdf".to_vec(),
                "application/pdf",
                Some("../../etc/Report 1.pdf"),
            )
            .await
            .expect("saves");
        assert_eq!(a, media_dir.join("0001-media.jpg"));
        assert_eq!(b, media_dir.join("0002-Report_1.pdf"));
        assert_eq!(std::fs::read(&a).expect("reads"), b"jpeg bytes");
        assert_eq!(std::fs::read(&b).expect("reads"), b"pdf");
        let saved = double.saved_media();
        assert_eq!(saved.len(), 2);
        assert_eq!(
            saved[1].original_name.as_deref(),
            Some("../../etc/Report 1.pdf")
        );
        assert_eq!(saved[1].media_type, "application/pdf");
    }

    #[tokio::test]
    async fn save_failures_are_media_errors() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, b"x").expect("writes");
        let double = double(&file);
        let err = double
            .save_media(b"x".to_vec(), "image/png", None)
            .await
            .expect_err("a file is no dir");
        assert!(matches!(err, RuntimeError::Media(_)), "{err:?}");
        assert!(double.saved_media().is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn waits_for_dispatches_without_sleeping() {
        let dir = tempfile::tempdir().expect("temp dir");
        let double = double(dir.path());
        assert!(double.wait_for_dispatches(0).await.is_empty());

        let waiter = {
            let double = double.clone();
            tokio::spawn(async move { double.wait_for_dispatches(3).await })
        };
        let runtime: Arc<dyn HostRuntime> = double.clone();
        let senders: Vec<_> = (0..3)
            .map(|i| {
                let runtime = runtime.clone();
                tokio::spawn(async move {
                    let c = ctx(runtime.as_ref(), &i.to_string()).await;
                    runtime.dispatch(c).await
                })
            })
            .collect();
        for s in senders {
            assert_eq!(s.await.expect("joins"), Ok(Vec::new()));
        }
        let got = tokio::time::timeout(Duration::from_secs(10), waiter)
            .await
            .expect("the waiter wakes")
            .expect("joins");
        assert_eq!(got.len(), 3);
        let mut bodies: Vec<String> = got.into_iter().map(|c| c.body).collect();
        bodies.sort();
        assert_eq!(bodies, ["0", "1", "2"]);
        // Already satisfied: returns at once.
        assert_eq!(double.wait_for_dispatches(2).await.len(), 3);
    }

    #[tokio::test]
    async fn a_waiter_started_first_wakes_on_the_nth_dispatch() {
        let dir = tempfile::tempdir().expect("temp dir");
        let double = double(dir.path());
        let runtime: Arc<dyn HostRuntime> = double.clone();
        let waiting = double.wait_for_dispatches(2);
        tokio::pin!(waiting);
        // Not ready before any dispatch.
        assert!(futures_poll_once(waiting.as_mut()).await.is_none());
        runtime
            .dispatch(ctx(runtime.as_ref(), "a").await)
            .await
            .expect("dispatches");
        assert!(futures_poll_once(waiting.as_mut()).await.is_none());
        runtime
            .dispatch(ctx(runtime.as_ref(), "b").await)
            .await
            .expect("dispatches");
        let got = tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .expect("wakes");
        assert_eq!(
            got.iter().map(|c| c.body.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
    }

    /// Polls a future once: `Some` if it was ready.
    async fn futures_poll_once<F: std::future::Future + Unpin>(mut f: F) -> Option<F::Output> {
        std::future::poll_fn(|cx| match std::pin::Pin::new(&mut f).poll(cx) {
            std::task::Poll::Ready(v) => std::task::Poll::Ready(Some(v)),
            std::task::Poll::Pending => std::task::Poll::Ready(None),
        })
        .await
    }
}
