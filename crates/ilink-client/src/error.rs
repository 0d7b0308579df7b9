//! The crate's one error type: an [`Error`] carrying a matchable [`ErrorKind`].
//!
//! Callers decide what to do by matching on [`Error::kind`] (retry a transport
//! failure, pause the account on [`ErrorKind::StaleToken`], report an API error),
//! so the kinds are stable while the sources behind them may change.

use std::fmt;

/// The `ret`/`errcode` value with which iLink says a bot token is stale.
pub const STALE_TOKEN_CODE: i64 = -14;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong, for callers to match on.
///
/// Display texts name the failing value but never a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request never got an HTTP answer: connection refused, reset, DNS, TLS.
    #[error("transport failure")]
    Transport,
    /// The client-side timeout of the call ran out.
    #[error("timed out")]
    Timeout,
    /// The server answered with a non-2xx HTTP status.
    #[error("HTTP status {status}")]
    HttpStatus {
        /// The HTTP status code.
        status: u16,
        /// A short message from the server (`x-error-message` or the body), if any.
        message: Option<String>,
    },
    /// A 2xx reply whose body carried a non-zero `ret` or `errcode`.
    #[error("API error ret={ret:?} errcode={errcode:?} errmsg={errmsg:?}")]
    Api {
        /// The reply's `ret`, when present.
        ret: Option<i64>,
        /// The reply's `errcode`, when present.
        errcode: Option<i64>,
        /// The reply's `errmsg`, when present.
        errmsg: Option<String>,
    },
    /// `ret` or `errcode` was -14: the bot token is stale and only a new QR login cures it.
    #[error("bot token is stale (errcode -14): log in again")]
    StaleToken,
    /// The reply body was not the JSON this endpoint answers with.
    #[error("could not decode the reply: {0}")]
    Decode(String),
    /// A reply or download exceeded the size bound.
    #[error("body larger than the {limit}-byte bound")]
    TooLarge {
        /// The bound in bytes.
        limit: u64,
    },
    /// The getuploadurl reply carried neither `upload_full_url` nor `upload_param`.
    #[error("getuploadurl reply carries neither upload_full_url nor upload_param")]
    NoUploadUrl,
    /// The CDN accepted an upload but sent no `x-encrypted-param` header.
    #[error("CDN upload answered 200 without an x-encrypted-param header")]
    MissingEncryptedParam,
    /// A media key could not be parsed.
    #[error("bad media key: {0}")]
    Key(#[from] crate::crypto::KeyError),
    /// Media ciphertext could not be decrypted.
    #[error("media decryption failed: {0}")]
    Crypto(#[from] crate::crypto::CryptoError),
    /// A file, video or voice item came without a key.
    #[error("{0} media without an AES key")]
    MissingKey(&'static str),
    /// A media item carried neither `full_url` nor `encrypt_query_param`.
    #[error("media item has neither full_url nor encrypt_query_param")]
    NoMediaLocation,
    /// A URL was refused: bad scheme, or a non-public host other than the CDN's own.
    #[error("refused URL: {0}")]
    RefusedUrl(String),
    /// A URL or setting could not be used.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Reading or writing a local file failed.
    #[error("I/O error")]
    Io,
}

/// An error of an iLink call: a [`ErrorKind`] plus the endpoint and underlying cause.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    endpoint: Option<&'static str>,
    source: Option<BoxError>,
}

impl Error {
    /// An error of the given kind with no endpoint or source.
    pub fn new(kind: ErrorKind) -> Self {
        Self {
            kind,
            endpoint: None,
            source: None,
        }
    }

    /// The kind, to match on.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The endpoint (such as `getupdates` or `cdn upload`) the error came from, if known.
    pub fn endpoint(&self) -> Option<&'static str> {
        self.endpoint
    }

    /// True when the token is stale (`-14`) and the account needs a new QR login.
    pub fn is_stale_token(&self) -> bool {
        self.kind == ErrorKind::StaleToken
    }

    /// True for the kinds worth retrying as they are: transport failures, timeouts and 5xx.
    pub fn is_retryable(&self) -> bool {
        match &self.kind {
            ErrorKind::Transport | ErrorKind::Timeout => true,
            ErrorKind::HttpStatus { status, .. } => *status >= 500,
            _ => false,
        }
    }

    pub(crate) fn at(mut self, endpoint: &'static str) -> Self {
        self.endpoint = Some(endpoint);
        self
    }

    pub(crate) fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Maps a reqwest failure to a kind, keeping it as the source. The URL inside a
    /// reqwest error may carry a query with secrets, so it is stripped first.
    pub(crate) fn from_reqwest(err: reqwest::Error) -> Self {
        let kind = if err.is_timeout() {
            ErrorKind::Timeout
        } else if err.is_decode() {
            ErrorKind::Decode(err.to_string())
        } else {
            ErrorKind::Transport
        };
        Self::new(kind).with_source(err.without_url())
    }

    pub(crate) fn io(err: std::io::Error) -> Self {
        Self::new(ErrorKind::Io).with_source(err)
    }

    /// Builds the API-error kind from a reply's `ret`/`errcode`/`errmsg`, choosing
    /// [`ErrorKind::StaleToken`] for -14.
    pub(crate) fn api(ret: Option<i64>, errcode: Option<i64>, errmsg: Option<String>) -> Self {
        if ret == Some(STALE_TOKEN_CODE) || errcode == Some(STALE_TOKEN_CODE) {
            Self::new(ErrorKind::StaleToken)
        } else {
            Self::new(ErrorKind::Api {
                ret,
                errcode,
                errmsg,
            })
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.endpoint {
            Some(endpoint) => write!(f, "{endpoint}: {}", self.kind)?,
            None => write!(f, "{}", self.kind)?,
        }
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Self::new(kind)
    }
}

impl From<crate::crypto::KeyError> for Error {
    fn from(err: crate::crypto::KeyError) -> Self {
        Self::new(ErrorKind::Key(err))
    }
}

impl From<crate::crypto::CryptoError> for Error {
    fn from(err: crate::crypto::CryptoError) -> Self {
        Self::new(ErrorKind::Crypto(err))
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
