//! At most `--concurrency` TCP connections to each origin, as a rule of the client rather than
//! the luck of timing.
//!
//! The client's pool (hyper-util's) races two futures for each request: a checkout of an idle
//! connection and a new connection. When a request starts while the connection of one that has
//! just ended is still on its way back to the pool, the new connection is started, the checkout
//! wins as soon as the old connection is back, and the new connection is finished in the
//! background and parked in the pool: one connection more than requests at once.
//!
//! [`Limit`] is a layer on the client's connector. A new connection to an origin that already
//! has `bound` open ones is not opened at once: it waits. If the pool hands the request an idle
//! connection meanwhile, the connect future is moved to a background task, which is not a
//! request ([`IN_REQUEST`] is not set there), and it gives up without opening anything. If the
//! wait lasts [`STALE_AFTER`], the count is stale (the server closed idle connections, which
//! the client does not report): it is corrected to the connections the requests in flight hold,
//! and the connection is opened when that is under the bound.
//!
//! The count goes down when relsync knows a connection is gone: a failed connect, a transport
//! failure or timeout, an answer not read to its end, `Connection: close`.

use std::collections::HashMap;
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use reqwest::Url;
use tokio::sync::Notify;

use super::Origin;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

tokio::task_local! {
    /// Set while [`super::Http`] sends a request: a connect polled without it runs in the
    /// background task the pool spawned after the request got a pooled connection.
    pub(super) static IN_REQUEST: ();
}

/// How long a connect waits for a connection to come back to the pool before the count is
/// taken to be stale.
pub(super) const STALE_AFTER: Duration = Duration::from_secs(1);

/// The connections of one origin, as far as the client knows.
#[derive(Debug, Default)]
struct Counts {
    /// Opened (or being opened) and not known to be closed.
    open: usize,
    /// Requests in flight.
    requests: usize,
    /// Requests waiting in [`Limit`] for a connection.
    waiting: usize,
}

#[derive(Debug)]
struct Shared {
    bound: usize,
    origins: Mutex<HashMap<String, Counts>>,
    changed: Notify,
}

/// The connection bound of one client: a connector layer, and what the requests tell it.
#[derive(Debug, Clone)]
pub struct Limit(Arc<Shared>);

impl Limit {
    /// At most `bound` connections to each origin (at least one).
    #[must_use]
    pub fn new(bound: usize) -> Self {
        Self(Arc::new(Shared {
            bound: bound.max(1),
            origins: Mutex::new(HashMap::new()),
            changed: Notify::new(),
        }))
    }

    fn counts(&self) -> MutexGuard<'_, HashMap<String, Counts>> {
        self.0
            .origins
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A request to `origin` is in flight until the guard is dropped.
    pub(super) fn request(&self, origin: Option<&Origin>) -> RequestGuard {
        let key = origin.map(ToString::to_string).unwrap_or_default();
        self.counts().entry(key.clone()).or_default().requests += 1;
        RequestGuard {
            limit: self.clone(),
            key,
        }
    }

    /// A connection to `origin` is known to be closed.
    pub(super) fn closed(&self, origin: Option<&Origin>) {
        let key = origin.map(ToString::to_string).unwrap_or_default();
        if let Some(c) = self.counts().get_mut(&key) {
            c.open = c.open.saturating_sub(1);
        }
        self.0.changed.notify_waiters();
    }

    /// Connections open to `origin`, as far as the client knows (for tests).
    #[cfg(test)]
    fn open(&self, origin: &str) -> usize {
        self.counts().get(origin).map_or(0, |c| c.open)
    }

    /// Waits until a connection to `key` may be opened and counts it; `Err` when the request
    /// that wanted it got a pooled connection meanwhile (the wait is polled outside it).
    async fn reserve(&self, key: &str) -> Result<(), BoxError> {
        let mut stale = tokio::time::Instant::now() + STALE_AFTER;
        let _waiting = Waiting::new(self, key);
        loop {
            // Registered before the count is read, so a change in between is not missed.
            let changed = self.0.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let mut counts = self.counts();
                let c = counts.entry(key.to_owned()).or_default();
                if c.open < self.0.bound {
                    c.open += 1;
                    return Ok(());
                }
                if tokio::time::Instant::now() >= stale {
                    // No connection came back for a while: those not held by a request are
                    // gone. The requests in flight that are not waiting hold one each.
                    let held = c.requests.saturating_sub(c.waiting);
                    if held < self.0.bound {
                        c.open = held + 1;
                        return Ok(());
                    }
                    stale = tokio::time::Instant::now() + STALE_AFTER;
                }
            }
            tokio::select! {
                () = &mut changed => {}
                () = tokio::time::sleep_until(stale) => {}
            }
        }
    }
}

/// Counts a request waiting for a connection while it lives.
struct Waiting<'a> {
    limit: &'a Limit,
    key: &'a str,
}

impl<'a> Waiting<'a> {
    fn new(limit: &'a Limit, key: &'a str) -> Self {
        limit.counts().entry(key.to_owned()).or_default().waiting += 1;
        Self { limit, key }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.limit.counts().get_mut(self.key) {
            c.waiting = c.waiting.saturating_sub(1);
        }
    }
}

/// A request in flight (see [`Limit::request`]).
pub(super) struct RequestGuard {
    limit: Limit,
    key: String,
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        if let Some(c) = self.limit.counts().get_mut(&self.key) {
            c.requests = c.requests.saturating_sub(1);
        }
        self.limit.0.changed.notify_waiters();
    }
}

/// The origin a connector request is for. The connector's request type only shows its URI
/// through `Debug` (`Unnameable(http://host:port/)`); should that change, all origins share
/// one count, which is stricter, never looser.
fn origin_of(dst: &impl Debug) -> String {
    let text = format!("{dst:?}");
    let inner = text
        .split_once('(')
        .and_then(|(_, rest)| rest.rsplit_once(')'))
        .map_or(text.as_str(), |(uri, _)| uri);
    Url::parse(inner)
        .ok()
        .and_then(|u| Origin::of(&u))
        .map(|o| o.to_string())
        .unwrap_or_default()
}

impl<S> tower_layer::Layer<S> for Limit {
    type Service = LimitService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        LimitService {
            inner,
            limit: self.clone(),
        }
    }
}

/// The connector wrapped by [`Limit`].
#[derive(Debug, Clone)]
pub struct LimitService<S> {
    inner: S,
    limit: Limit,
}

impl<S, R> tower_service::Service<R> for LimitService<S>
where
    S: tower_service::Service<R> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    R: Debug + Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: R) -> Self::Future {
        // The service that was polled ready is the one to call; a fresh clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let limit = self.limit.clone();
        let key = origin_of(&dst);
        // Connects made outside a request (none today) are counted but never held back.
        let for_request = IN_REQUEST.try_with(|()| ()).is_ok();
        Box::pin(async move {
            if for_request {
                OnlyInRequest(Box::pin(limit.reserve(&key))).await?;
            } else {
                let mut counts = limit.counts();
                counts.entry(key.clone()).or_default().open += 1;
            }
            match inner.call(dst).await {
                Ok(conn) => Ok(conn),
                Err(e) => {
                    if let Some(c) = limit.counts().get_mut(&key) {
                        c.open = c.open.saturating_sub(1);
                    }
                    limit.0.changed.notify_waiters();
                    Err(e.into())
                }
            }
        })
    }
}

/// Polls the wait only while it runs in the request's task; polled anywhere else, the pool has
/// given the request another connection and moved this connect to the background.
struct OnlyInRequest<F>(Pin<Box<F>>);

impl<F: Future<Output = Result<(), BoxError>>> Future for OnlyInRequest<F> {
    type Output = Result<(), BoxError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if IN_REQUEST.try_with(|()| ()).is_err() {
            return Poll::Ready(Err(
                "not needed: the request was given a pooled connection".into()
            ));
        }
        self.0.as_mut().poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_is_read_from_the_connectors_request() {
        // reqwest's `Unnameable(http::Uri)`: a `Uri` shows as its text.
        struct Unnameable(Url);
        impl Debug for Unnameable {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "Unnameable({})", self.0)
            }
        }
        let dst = Unnameable(Url::parse("http://127.0.0.1:8080/").unwrap());
        assert_eq!(origin_of(&dst), "http://127.0.0.1:8080");
        let dst = Unnameable(Url::parse("https://GitLab.example.com/").unwrap());
        assert_eq!(origin_of(&dst), "https://gitlab.example.com:443");
        assert_eq!(origin_of(&"no uri here"), "");
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn a_connect_past_the_bound_waits_for_a_closed_one() {
        rt().block_on(async {
            let limit = Limit::new(2);
            let o = "http://h:80";
            let origin = Origin::parse("http://h/").unwrap();
            let _r = (limit.request(Some(&origin)), limit.request(Some(&origin)));
            let _r3 = limit.request(Some(&origin));
            limit.reserve(o).await.unwrap();
            limit.reserve(o).await.unwrap();
            assert_eq!(limit.open(o), 2);
            let third = IN_REQUEST.scope((), OnlyInRequest(Box::pin(limit.reserve(o))));
            tokio::pin!(third);
            // Three requests hold or want a connection: the third waits, past the stale
            // delay too, as two connections are held by requests in flight.
            assert!(
                tokio::time::timeout(STALE_AFTER * 2, third.as_mut())
                    .await
                    .is_err()
            );
            limit.closed(Some(&origin));
            third.await.unwrap();
            assert_eq!(limit.open(o), 2);
        });
    }

    #[test]
    fn a_stale_count_is_corrected_after_a_wait() {
        rt().block_on(async {
            let limit = Limit::new(2);
            let o = "http://h:80";
            let origin = Origin::parse("http://h/").unwrap();
            limit.reserve(o).await.unwrap();
            limit.reserve(o).await.unwrap();
            // Both connections were closed by the server unseen; one request wants one.
            let _r = limit.request(Some(&origin));
            let started = tokio::time::Instant::now();
            IN_REQUEST
                .scope((), OnlyInRequest(Box::pin(limit.reserve(o))))
                .await
                .unwrap();
            assert!(started.elapsed() >= STALE_AFTER);
            assert_eq!(limit.open(o), 1);
        });
    }

    #[test]
    fn a_wait_moved_out_of_its_request_gives_up() {
        rt().block_on(async {
            let limit = Limit::new(1);
            let o = "http://h:80";
            limit.reserve(o).await.unwrap();
            let mut wait = Box::pin(OnlyInRequest(Box::pin(limit.reserve(o))));
            // Polled once inside the request: it waits.
            let polled = IN_REQUEST
                .scope((), futures_util::future::poll_immediate(wait.as_mut()))
                .await;
            assert!(polled.is_none());
            // Polled by a background task: it gives up and opens nothing.
            let e = wait.await.unwrap_err().to_string();
            assert!(e.contains("not needed"), "{e}");
            assert_eq!(limit.open(o), 1);
        });
    }
}
