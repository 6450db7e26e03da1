//! The accept loop: connections with header, idle and progress deadlines and a cap on how
//! many are open (axum's `serve` has none of these), and the graceful stop.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant as Deadline, Sleep};

/// How long a connection may take, and how many there may be (`[server]`).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// To send a request's headers: from the connection's start, or from the first byte of a
    /// further request on a kept-alive connection.
    pub header_read: Duration,
    /// Between requests on a kept-alive connection; also how long a response may make no
    /// progress because the client does not read it.
    pub idle: Duration,
    pub max_connections: usize,
}

/// The deadline `serve` was told to finish by; now when the sender is gone.
pub(super) async fn stop_deadline(stopping: &mut watch::Receiver<Option<Deadline>>) -> Deadline {
    match stopping.wait_for(Option::is_some).await {
        Ok(deadline) => deadline.unwrap_or_else(Deadline::now),
        Err(_) => Deadline::now(),
    }
}

/// Accepts connections on `listener` (at most `limits.max_connections` at once; further ones
/// wait in the listen queue) and serves `app` on each, until `stopping` carries a deadline:
/// then stops accepting, lets open connections finish their requests, and closes what is
/// still open at the deadline.
pub(super) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    mut stopping: watch::Receiver<Option<Deadline>>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut connections = JoinSet::new();
    let deadline = loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            deadline = stop_deadline(&mut stopping) => break deadline,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) if is_connection_error(&err) => continue,
                Err(err) => {
                    // e.g. out of file descriptors: wait rather than spin
                    tracing::warn!(error = %err, "accepting a connection failed; retrying in a second");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        deadline = stop_deadline(&mut stopping) => break deadline,
                    }
                }
            },
            deadline = stop_deadline(&mut stopping) => break deadline,
        };
        while connections.try_join_next().is_some() {}
        let _ = stream.set_nodelay(true);
        connections.spawn(serve_connection(
            stream,
            peer,
            app.clone(),
            limits,
            stopping.clone(),
            slot,
        ));
    };
    drop(listener);
    let drained = tokio::time::timeout_at(deadline, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            connections = connections.len(),
            "connections still open at the end of the grace period were closed"
        );
        connections.shutdown().await;
    }
}

fn is_connection_error(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// One connection: HTTP/1.1 with keep-alive, the connection clock of [`TimedStream`], the
/// peer address for `ConnectInfo<SocketAddr>` (as `into_make_service_with_connect_info`
/// gives it), and a graceful end when the server stops.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: ConnectionLimits,
    mut stopping: watch::Receiver<Option<Deadline>>,
    _slot: OwnedSemaphorePermit,
) {
    let clock = Arc::new(ConnectionClock::new());
    let io = TokioIo::new(TimedStream::new(stream, clock.clone(), limits));
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        clock.request_started();
        let guard = RequestGuard(clock.clone());
        request.extensions_mut().insert(ConnectInfo(peer));
        let mut app = app.clone();
        async move {
            let response = tower::Service::call(&mut app, request.map(Body::new))
                .await
                .unwrap_or_else(|never: Infallible| match never {});
            Ok::<_, Infallible>(response.map(|inner| TrackedBody {
                inner,
                _guard: guard,
            }))
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        _ = async { stop_deadline(&mut stopping).await; } => {
            // finish the request in progress (if any), then close
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(err) = result {
        tracing::debug!(error = %err, "a connection ended with an error");
    }
}

/// What one connection is doing, shared by its socket ([`TimedStream`]) and its requests:
/// which deadline the socket is held to.
#[derive(Debug)]
struct ConnectionClock {
    state: std::sync::Mutex<ClockState>,
}

#[derive(Debug)]
struct ClockState {
    /// Requests handed to the router whose response is not yet written.
    in_flight: usize,
    /// Waiting for a request's headers (from the start, or since its first byte), rather
    /// than idle between requests.
    awaiting_head: bool,
    /// When the current wait began.
    since: Deadline,
    /// The connection's task, parked on a read without a deadline while a request was in
    /// flight: woken when the request finishes, so the read is held to the idle deadline.
    reader: Option<std::task::Waker>,
}

impl ConnectionClock {
    fn new() -> ConnectionClock {
        ConnectionClock {
            state: std::sync::Mutex::new(ClockState {
                in_flight: 0,
                awaiting_head: true,
                since: Deadline::now(),
                reader: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ClockState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// When a read that finds no data gives up: `None` while a request is being handled (its
    /// body and answer have deadlines of their own; `waker` is woken when it finishes).
    fn read_deadline(
        &self,
        limits: &ConnectionLimits,
        waker: &std::task::Waker,
    ) -> Option<Deadline> {
        let mut state = self.lock();
        if state.in_flight > 0 {
            if !state.reader.as_ref().is_some_and(|w| w.will_wake(waker)) {
                state.reader = Some(waker.clone());
            }
            None
        } else if state.awaiting_head {
            Some(state.since + limits.header_read)
        } else {
            Some(state.since + limits.idle)
        }
    }

    /// Bytes arrived: on an idle connection, a request has begun and its headers are due.
    fn bytes_arrived(&self) {
        let mut state = self.lock();
        if state.in_flight == 0 && !state.awaiting_head {
            state.awaiting_head = true;
            state.since = Deadline::now();
        }
    }

    fn request_started(&self) {
        let mut state = self.lock();
        state.in_flight += 1;
        state.awaiting_head = false;
    }

    fn request_finished(&self) {
        let mut state = self.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        if state.in_flight == 0 {
            state.awaiting_head = false;
            state.since = Deadline::now();
            // hyper may not read again before data arrives: make it, so the idle timer starts
            if let Some(reader) = state.reader.take() {
                drop(state);
                reader.wake();
            }
        }
    }
}

/// Marks its request finished when dropped: hyper drops the response body once it is
/// written (or the connection is gone).
struct RequestGuard(Arc<ConnectionClock>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// A response body that carries its request's [`RequestGuard`].
struct TrackedBody {
    inner: Body,
    _guard: RequestGuard,
}

impl hyper::body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The socket under one connection, held to its [`ConnectionClock`]: a read that waits past
/// the header or idle deadline fails (hyper then closes the connection), and so does a write
/// the client has not accepted a byte of for `limits.idle`.
///
/// This is not hyper's `header_read_timeout`: hyper (1.x) starts that timer whenever it waits
/// for a request's head, idle time on a kept-alive connection included, so it would close
/// idle connections after the header timeout and leave `idle_timeout_seconds` meaningless.
/// Here the two waits are told apart.
struct TimedStream {
    stream: TcpStream,
    clock: Arc<ConnectionClock>,
    limits: ConnectionLimits,
    read_timer: Pin<Box<Sleep>>,
    write_timer: Pin<Box<Sleep>>,
    write_stalled: bool,
}

impl TimedStream {
    fn new(stream: TcpStream, clock: Arc<ConnectionClock>, limits: ConnectionLimits) -> Self {
        TimedStream {
            stream,
            clock,
            limits,
            read_timer: Box::pin(tokio::time::sleep(limits.header_read)),
            write_timer: Box::pin(tokio::time::sleep(limits.idle)),
            write_stalled: false,
        }
    }

    /// A write made no progress: fails once it has made none for `limits.idle`.
    fn stalled<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        if !self.write_stalled {
            self.write_stalled = true;
            let deadline = Deadline::now() + self.limits.idle;
            self.write_timer.as_mut().reset(deadline);
        }
        match self.write_timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client does not read the response",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn wrote<T>(
        &mut self,
        result: Poll<io::Result<T>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<T>> {
        match result {
            Poll::Pending => self.stalled(cx),
            ready => {
                self.write_stalled = false;
                ready
            }
        }
    }
}

impl AsyncRead for TimedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.clock.bytes_arrived();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            Poll::Pending => {
                let Some(deadline) = this.clock.read_deadline(&this.limits, cx.waker()) else {
                    return Poll::Pending;
                };
                if this.read_timer.deadline() != deadline {
                    this.read_timer.as_mut().reset(deadline);
                }
                match this.read_timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client sent no complete request in time",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl AsyncWrite for TimedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.wrote(result, cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.wrote(result, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.stream).poll_flush(cx);
        this.wrote(result, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
