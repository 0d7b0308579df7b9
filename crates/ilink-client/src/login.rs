//! QR login as a flow object: fetch a QR code, poll its status, handle every
//! status of the spec's table, and end in a [`LoginOutcome`].
//!
//! The flow keeps no files: saving the account is the caller's job.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::client::{IlinkClient, QrCode};
use crate::error::Result;
use crate::redact::redact_token;
use crate::wire::{QrStatus, QrStatusReply};

/// Settings of one login.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoginOptions {
    /// Pause between status polls (1 s).
    pub poll_interval: Duration,
    /// The whole login gives up after this long (480 s).
    pub overall_timeout: Duration,
    /// QR codes in all, the first included, before giving up (3).
    pub max_qr_codes: u32,
    /// A fetched QR code is reused only while younger than this (5 min).
    pub session_freshness: Duration,
    /// Tokens of the last 10 accounts of the index, last first, so the server can
    /// answer `binded_redirect` for a bot already bound here.
    pub local_token_list: Vec<String>,
}

impl Default for LoginOptions {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            overall_timeout: Duration::from_secs(480),
            max_qr_codes: 3,
            session_freshness: Duration::from_secs(5 * 60),
            local_token_list: Vec::new(),
        }
    }
}

impl LoginOptions {
    /// Options with the given `local_token_list` and the defaults otherwise.
    pub fn with_local_tokens(local_token_list: Vec<String>) -> Self {
        Self {
            local_token_list,
            ..Self::default()
        }
    }
}

/// What the person logging in sees and answers.
pub trait LoginPrompt: Send {
    /// A QR code to show; `number` counts the codes of this login from 1.
    fn show_qr(&mut self, qr: &QrCode, number: u32);

    /// A status change worth telling the person about (scanned, redirected, ...).
    fn on_status(&mut self, _status: &QrStatus) {}

    /// The phone shows digits to type. `attempt` counts from 1; a second ask
    /// means the last code was wrong. `None` cancels the login.
    fn verify_code(&mut self, attempt: u32) -> impl Future<Output = Option<String>> + Send;
}

/// The credentials a confirmed login gives.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoginSuccess {
    /// The bot token (never log it whole).
    pub bot_token: String,
    /// The account id, `ilink_bot_id` (`…@im.bot`).
    pub account_id: String,
    /// The API base to use from now on, when the server named one.
    pub base_url: Option<String>,
    /// The WeChat user who scanned: the account's owner.
    pub user_id: Option<String>,
}

impl std::fmt::Debug for LoginSuccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginSuccess")
            .field("bot_token", &redact_token(&self.bot_token))
            .field("account_id", &self.account_id)
            .field("base_url", &self.base_url)
            .field("user_id", &self.user_id)
            .finish()
    }
}

/// How a login ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoginOutcome {
    /// Confirmed on the phone: save the account.
    Confirmed(LoginSuccess),
    /// `binded_redirect`: this bot is already bound to this gateway; nothing new to save.
    AlreadyBound,
    /// Every allowed QR code expired or was blocked.
    QrLimitReached {
        /// How many codes were shown.
        codes: u32,
    },
    /// The overall timeout ran out.
    TimedOut,
    /// The prompt gave no verify code.
    Cancelled,
    /// The server confirmed without the fields a login needs.
    Failed {
        /// What was missing.
        reason: String,
    },
}

/// One QR login in progress. Create it, optionally [`LoginFlow::start`] it to
/// show the first code early, then [`LoginFlow::wait`] for the outcome.
#[derive(Debug)]
pub struct LoginFlow {
    client: IlinkClient,
    options: LoginOptions,
    qr: Option<QrCode>,
    fetched_at: Option<Instant>,
    codes_shown: u32,
    poll_base: Option<String>,
    pending_code: Option<String>,
    verify_attempts: u32,
}

enum Step {
    Poll { pause: bool },
    Done(LoginOutcome),
}

impl LoginFlow {
    /// A login through `client` (which needs no token).
    pub fn new(client: IlinkClient, options: LoginOptions) -> Self {
        Self {
            client,
            options,
            qr: None,
            fetched_at: None,
            codes_shown: 0,
            poll_base: None,
            pending_code: None,
            verify_attempts: 0,
        }
    }

    /// The QR code being polled, if one was fetched.
    pub fn current_qr(&self) -> Option<&QrCode> {
        self.qr.as_ref()
    }

    /// How many QR codes this login has fetched.
    pub fn codes_shown(&self) -> u32 {
        self.codes_shown
    }

    /// The base status polls go to after an IDC redirect, if any.
    pub fn poll_base(&self) -> Option<&str> {
        self.poll_base.as_deref()
    }

    /// Whether the current QR code is younger than the freshness window.
    pub fn is_fresh(&self) -> bool {
        self.fetched_at
            .is_some_and(|t| t.elapsed() < self.options.session_freshness)
    }

    /// Fetches the first QR code (or returns the current one while fresh).
    pub async fn start(&mut self) -> Result<&QrCode> {
        if !self.is_fresh() || self.qr.is_none() {
            self.fetch_qr().await?;
        }
        self.qr.as_ref().ok_or_else(|| {
            crate::Error::new(crate::ErrorKind::Decode("no QR code was fetched".into()))
        })
    }

    async fn fetch_qr(&mut self) -> Result<()> {
        let qr = self
            .client
            .get_bot_qrcode(&self.options.local_token_list)
            .await?;
        self.codes_shown += 1;
        self.fetched_at = Some(Instant::now());
        self.poll_base = None;
        self.pending_code = None;
        info!(number = self.codes_shown, "fetched a login QR code");
        self.qr = Some(qr);
        Ok(())
    }

    /// Polls until the login ends. Errors only when a QR code cannot be fetched;
    /// failed polls count as `wait`, as the spec says.
    pub async fn wait<P: LoginPrompt>(&mut self, prompt: &mut P) -> Result<LoginOutcome> {
        let deadline = Instant::now() + self.options.overall_timeout;
        // A code fetched by `start` was handed to the caller there; `wait` shows
        // only the codes it fetches itself.
        if self.qr.is_none() || !self.is_fresh() {
            if let Some(outcome) = self.refresh(prompt).await? {
                return Ok(outcome);
            }
        }
        loop {
            let Some(qr) = self.qr.clone() else {
                return Ok(LoginOutcome::Failed {
                    reason: "no QR code".into(),
                });
            };
            let poll = self.client.get_qrcode_status(
                self.poll_base.as_deref(),
                &qr.qrcode,
                self.pending_code.as_deref(),
            );
            let reply = match tokio::time::timeout_at(deadline, poll).await {
                Err(_) => return Ok(LoginOutcome::TimedOut),
                Ok(Ok(reply)) => reply,
                Ok(Err(e)) => {
                    debug!(error = %e, "status poll failed; counting it as wait");
                    QrStatusReply {
                        status: QrStatus::Wait,
                        ..QrStatusReply::default()
                    }
                }
            };
            match self.on_reply(reply, prompt).await? {
                Step::Done(outcome) => return Ok(outcome),
                Step::Poll { pause: false } => {}
                Step::Poll { pause: true } => {
                    if tokio::time::timeout_at(
                        deadline,
                        tokio::time::sleep(self.options.poll_interval),
                    )
                    .await
                    .is_err()
                    {
                        return Ok(LoginOutcome::TimedOut);
                    }
                }
            }
        }
    }

    async fn on_reply<P: LoginPrompt>(
        &mut self,
        reply: QrStatusReply,
        prompt: &mut P,
    ) -> Result<Step> {
        let status = reply.status.clone();
        debug!(status = status.as_str(), "QR status");
        Ok(match status {
            QrStatus::Wait => Step::Poll { pause: true },
            QrStatus::Scaned => {
                self.pending_code = None;
                prompt.on_status(&status);
                Step::Poll { pause: true }
            }
            QrStatus::NeedVerifycode => {
                self.verify_attempts += 1;
                prompt.on_status(&status);
                match prompt.verify_code(self.verify_attempts).await {
                    Some(code) => {
                        self.pending_code = Some(code.trim().to_owned());
                        Step::Poll { pause: false }
                    }
                    None => Step::Done(LoginOutcome::Cancelled),
                }
            }
            QrStatus::VerifyCodeBlocked | QrStatus::Expired => {
                prompt.on_status(&status);
                match self.refresh(prompt).await? {
                    Some(outcome) => Step::Done(outcome),
                    None => Step::Poll { pause: false },
                }
            }
            QrStatus::ScanedButRedirect => {
                prompt.on_status(&status);
                match reply.redirect_host.as_deref().map(str::trim) {
                    Some(host) if !host.is_empty() => {
                        let current = self.poll_base.as_deref().unwrap_or(self.client.base_url());
                        let scheme = current.split("://").next().unwrap_or("https");
                        info!(redirect_host = host, "IDC redirect");
                        self.poll_base = Some(format!("{scheme}://{host}"));
                    }
                    _ => warn!("scaned_but_redirect without redirect_host; keeping the host"),
                }
                Step::Poll { pause: false }
            }
            QrStatus::BindedRedirect => {
                prompt.on_status(&status);
                Step::Done(LoginOutcome::AlreadyBound)
            }
            QrStatus::Confirmed => {
                prompt.on_status(&status);
                let nonempty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
                match (nonempty(reply.bot_token), nonempty(reply.ilink_bot_id)) {
                    (Some(bot_token), Some(account_id)) => {
                        Step::Done(LoginOutcome::Confirmed(LoginSuccess {
                            bot_token,
                            account_id,
                            base_url: nonempty(reply.baseurl),
                            user_id: nonempty(reply.ilink_user_id),
                        }))
                    }
                    (None, _) => Step::Done(LoginOutcome::Failed {
                        reason: "confirmed without bot_token".into(),
                    }),
                    (_, None) => Step::Done(LoginOutcome::Failed {
                        reason: "confirmed without ilink_bot_id".into(),
                    }),
                }
            }
            QrStatus::Unknown(other) => {
                debug!(status = other, "unknown QR status ignored");
                Step::Poll { pause: true }
            }
        })
    }

    /// Fetches the next QR code, or ends the login when the limit is reached.
    async fn refresh<P: LoginPrompt>(&mut self, prompt: &mut P) -> Result<Option<LoginOutcome>> {
        if self.codes_shown >= self.options.max_qr_codes {
            return Ok(Some(LoginOutcome::QrLimitReached {
                codes: self.codes_shown,
            }));
        }
        self.fetch_qr().await?;
        if let Some(qr) = &self.qr {
            prompt.show_qr(qr, self.codes_shown);
        }
        Ok(None)
    }
}

/// Runs a whole login: fetch, show, poll, outcome.
pub async fn login<P: LoginPrompt>(
    client: &IlinkClient,
    options: LoginOptions,
    prompt: &mut P,
) -> Result<LoginOutcome> {
    LoginFlow::new(client.clone(), options).wait(prompt).await
}
