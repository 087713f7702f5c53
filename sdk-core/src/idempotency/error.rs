//! The errors of [`Idempotency::run`](super::Idempotency::run) and of stores.

use std::{any::type_name, borrow::Cow, error::Error, fmt};

use crate::{ErrorType, errors::short_type_name};

/// Why [`Idempotency::run`](super::Idempotency::run) did not return the function's
/// response.
///
/// Each variant but [`Function`](Self::Function) has an [`ErrorType`] name, the same as
/// Powertools for AWS Lambda, for Lambda's `errorType` and a Step Functions `Catch` rule:
///
/// | variant | `errorType` |
/// |---|---|
/// | [`InProgress`](Self::InProgress) | `IdempotencyAlreadyInProgressError` |
/// | [`PayloadMismatch`](Self::PayloadMismatch) | `IdempotencyValidationError` |
/// | [`MissingKey`](Self::MissingKey) | `IdempotencyKeyError` |
/// | [`Store`](Self::Store) | `IdempotencyPersistenceLayerError` |
/// | [`Function`](Self::Function) | the short type name of `E` (`OrderError`) |
///
/// Its `Display` names the key by its hash only, never the key or the event.
///
/// ```
/// use serverless_sdk::{ErrorType, idempotency::IdempotencyError};
///
/// let err: IdempotencyError<std::io::Error> = IdempotencyError::MissingKey;
/// assert_eq!(err.error_type(), "IdempotencyKeyError");
///
/// // A Step Functions task can retry on `IdempotencyAlreadyInProgressError` and catch
/// // `IdempotencyValidationError`; the function's own errors keep their type's name.
/// let err: IdempotencyError<std::io::Error> = IdempotencyError::Function(std::io::Error::other("disk"));
/// assert_eq!(err.error_type(), "Error");
/// assert_eq!(err.to_string(), "disk");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum IdempotencyError<E> {
    /// Another attempt holds the key and has not finished (nor passed its in-progress
    /// expiry): retry later.
    InProgress {
        /// The SHA-256 of the key, hex.
        key_hash: String,
    },
    /// A record exists for the key, but the validated part of the event differs from the
    /// one stored with it: the key was reused for another request.
    PayloadMismatch {
        /// The SHA-256 of the key, hex.
        key_hash: String,
    },
    /// No key could be derived from the event: the key pointer names no value, the key
    /// closure returned `None`, or the value is `null`, `""`, `[]`, `{}` or only nulls.
    MissingKey,
    /// The store failed (see [`StoreError`] for what was being done). The function did not
    /// run, unless the error says the response could not be saved.
    Store(StoreError),
    /// The function ran and returned this error; its record was deleted, so a retry runs it
    /// again.
    Function(E),
}

impl<E> IdempotencyError<E> {
    /// Changes the function's error with `f`, leaving the other variants as they are.
    ///
    /// ```
    /// use serverless_sdk::idempotency::IdempotencyError;
    ///
    /// let err = IdempotencyError::Function(7_u8);
    /// let err = err.map_function(|code| format!("code {code}"));
    /// assert_eq!(err.to_string(), "code 7");
    /// ```
    pub fn map_function<F>(self, f: impl FnOnce(E) -> F) -> IdempotencyError<F> {
        match self {
            Self::InProgress { key_hash } => IdempotencyError::InProgress { key_hash },
            Self::PayloadMismatch { key_hash } => IdempotencyError::PayloadMismatch { key_hash },
            Self::MissingKey => IdempotencyError::MissingKey,
            Self::Store(e) => IdempotencyError::Store(e),
            Self::Function(e) => IdempotencyError::Function(f(e)),
        }
    }

    /// The error the function returned, if that is what this is.
    ///
    /// ```
    /// use serverless_sdk::idempotency::IdempotencyError;
    ///
    /// assert_eq!(IdempotencyError::Function("boom").function_error(), Some("boom"));
    /// assert_eq!(IdempotencyError::<&str>::MissingKey.function_error(), None);
    /// ```
    pub fn function_error(self) -> Option<E> {
        match self {
            Self::Function(e) => Some(e),
            _ => None,
        }
    }

    /// The `errorType` of the variants that are not the function's error.
    fn own_error_type(&self) -> Option<&'static str> {
        Some(match self {
            Self::InProgress { .. } => "IdempotencyAlreadyInProgressError",
            Self::PayloadMismatch { .. } => "IdempotencyValidationError",
            Self::MissingKey => "IdempotencyKeyError",
            Self::Store(_) => "IdempotencyPersistenceLayerError",
            Self::Function(_) => return None,
        })
    }

    /// Writes the message of the variants that are not the function's error.
    fn fmt_own(&self, f: &mut fmt::Formatter<'_>) -> Option<fmt::Result> {
        Some(match self {
            Self::InProgress { key_hash } => write!(
                f,
                "an execution with idempotency key hash {key_hash} is already in progress"
            ),
            Self::PayloadMismatch { key_hash } => write!(
                f,
                "the event does not match the one stored for idempotency key hash {key_hash}"
            ),
            Self::MissingKey => f.write_str("no idempotency key could be derived from the event"),
            Self::Store(e) => fmt::Display::fmt(e, f),
            Self::Function(_) => return None,
        })
    }

    /// This error as an `exception` for the `idempotency` span, with its `errorType` as
    /// the exception's type; `None` for the function's own error.
    pub(super) fn for_span(&self) -> Option<SpanError> {
        struct Own<'a, E>(&'a IdempotencyError<E>);
        impl<E> fmt::Display for Own<'_, E> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt_own(f).unwrap_or(Ok(()))
            }
        }
        let message = Own(self).to_string();
        Some(match self {
            Self::InProgress { .. } => {
                SpanError::InProgress(IdempotencyAlreadyInProgressError(message))
            }
            Self::PayloadMismatch { .. } => {
                SpanError::Mismatch(IdempotencyValidationError(message))
            }
            Self::MissingKey => SpanError::Key(IdempotencyKeyError(message)),
            Self::Store(_) => SpanError::Store(IdempotencyPersistenceLayerError(message)),
            Self::Function(_) => return None,
        })
    }
}

impl<E: fmt::Display> fmt::Display for IdempotencyError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Function(e) => fmt::Display::fmt(e, f),
            other => other.fmt_own(f).unwrap_or(Ok(())),
        }
    }
}

/// `E` needs only `Debug + Display`, so `lambda_runtime::Error`
/// (`Box<dyn Error + Send + Sync>`) works as the function's error.
impl<E: fmt::Debug + fmt::Display> Error for IdempotencyError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Self::Store(e) => Some(e),
            _ => None,
        }
    }
}

impl<E> ErrorType for IdempotencyError<E> {
    fn error_type(&self) -> Cow<'static, str> {
        match self.own_error_type() {
            Some(name) => Cow::Borrowed(name),
            None => Cow::Owned(short_type_name(type_name::<E>())),
        }
    }
}

/// A store's failure.
///
/// Stores build it from any error with [`StoreError::new`]; `Display` says what
/// [`Idempotency`](super::Idempotency) was doing, then the store's message.
///
/// ```
/// use serverless_sdk::idempotency::StoreError;
///
/// let err = StoreError::new(std::io::Error::other("connection reset"));
/// assert_eq!(err.to_string(), "the idempotency store failed: connection reset");
/// assert!(std::error::Error::source(&err).is_some());
/// ```
#[derive(Debug)]
pub struct StoreError {
    during: Option<&'static str>,
    source: Box<dyn Error + Send + Sync>,
}

impl StoreError {
    /// Wraps a store's error (or message: `StoreError::new("table not found")`).
    pub fn new(source: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        Self {
            during: None,
            source: source.into(),
        }
    }

    /// Says what was being done when the store failed.
    pub(super) fn during(mut self, what: &'static str) -> Self {
        self.during = Some(what);
        self
    }

    /// Whether the function ran and returned `Ok` but its response could not be saved: its
    /// record stays in progress until its in-progress expiry.
    ///
    /// ```
    /// use serverless_sdk::idempotency::StoreError;
    /// assert!(!StoreError::new("down").function_ran());
    /// ```
    #[must_use]
    pub fn function_ran(&self) -> bool {
        self.during == Some(SAVING)
    }
}

/// [`StoreError::during`]: writing the in-progress record.
pub(super) const CLAIMING: &str = "claiming the idempotency key";
/// [`StoreError::during`]: reading the record that holds the key.
pub(super) const READING: &str = "reading the idempotency record";
/// [`StoreError::during`]: the stored response does not deserialise.
pub(super) const REPLAYING: &str = "reading the stored response";
/// [`StoreError::during`]: saving the function's response.
pub(super) const SAVING: &str = "saving the function's response";

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.during {
            Some(what) => write!(
                f,
                "the idempotency store failed while {what}: {}",
                self.source
            ),
            None => write!(f, "the idempotency store failed: {}", self.source),
        }
    }
}

impl Error for StoreError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&*self.source)
    }
}

/// One exception type per `errorType`, so the span's `exception.type` reads the same as
/// the Lambda error.
macro_rules! span_errors {
    ($($name:ident),*) => {$(
        #[derive(Debug)]
        pub(super) struct $name(String);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Error for $name {}
    )*};
}
span_errors!(
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
    IdempotencyKeyError,
    IdempotencyPersistenceLayerError
);

/// An error recorded on the `idempotency` span.
pub(super) enum SpanError {
    InProgress(IdempotencyAlreadyInProgressError),
    Mismatch(IdempotencyValidationError),
    Key(IdempotencyKeyError),
    Store(IdempotencyPersistenceLayerError),
}

impl SpanError {
    /// Records this error on `span` (status ERROR and an `exception` event).
    pub(super) fn record(&self, span: &crate::spans::SpanGuard) {
        match self {
            Self::InProgress(e) => span.record_exception(e),
            Self::Mismatch(e) => span.record_exception(e),
            Self::Key(e) => span.record_exception(e),
            Self::Store(e) => span.record_exception(e),
        }
    }
}
