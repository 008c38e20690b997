//! A fault-injecting HTTP/1.1 proxy in front of moto: latency, throttling, 5xx and dropped
//! connections, and a count of calls per API action.
//!
//! ```no_run
//! # async fn example() {
//! use berth_test_support::{fault_proxy::{FaultConfig, FaultProxy}, moto::MotoServer};
//!
//! let moto = MotoServer::shared();
//! let proxy = FaultProxy::start(&moto.endpoint(), FaultConfig { throttle_rate: 0.2, ..FaultConfig::default() })
//!     .await
//!     .expect("proxy starts");
//! // Point the SDK at `proxy.endpoint()` instead of `moto.endpoint()`, run, then:
//! let stats = proxy.stats();
//! assert!(stats.calls("CreateVpc") >= 1);
//! # }
//! ```
//!
//! Built on hyper 1 (already in the dependency tree through the AWS SDK) rather than a
//! hand-rolled forwarder: request bodies arrive chunked or with a length, and keep-alive
//! connections carry several requests; hyper gets those right. Bodies are buffered whole
//! (moto's requests and responses are small) so the `Action=` parameter can be read.
//!
//! Faults are injected per request, drawn from a seeded generator (deterministic for one
//! request order): a throttling error in the protocol of the service named in the request's
//! SigV4 credential scope, an HTTP 500, or a connection closed without a response. Requests
//! to moto's own control API (`/moto-api/`) are never faulted or counted. The proxy runs on
//! the caller's tokio runtime and stops when dropped.

use std::{
    collections::BTreeMap,
    net::{Ipv4Addr, SocketAddr},
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{
    Request, Response, StatusCode, body::Incoming, header::HeaderValue, server::conn::http1,
    service::service_fn,
};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::{TokioExecutor, TokioIo},
};
use tokio::{net::TcpListener, task::JoinHandle};

/// What the proxy injects. Rates are probabilities per request, checked in this order:
/// drop, throttle, server error (so they add up; keep their sum at or below 1).
#[derive(Debug, Clone, PartialEq)]
pub struct FaultConfig {
    /// Answer with the service's throttling error.
    pub throttle_rate: f64,
    /// Answer HTTP 500 with the service's internal-error body.
    pub server_error_rate: f64,
    /// Close the connection without answering (after forwarding the request, so that, as
    /// with a real network fault, the call may or may not have taken effect).
    pub drop_rate: f64,
    /// Added before every answer.
    pub latency: Duration,
    /// Seeds the fault draws.
    pub seed: u64,
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self {
            throttle_rate: 0.0,
            server_error_rate: 0.0,
            drop_rate: 0.0,
            latency: Duration::ZERO,
            seed: 1,
        }
    }
}

/// What happened to the calls of one API action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ActionStats {
    /// Every call received.
    pub calls: u64,
    /// Forwarded and answered by moto.
    pub forwarded: u64,
    /// Answered with a throttling error.
    pub throttled: u64,
    /// Answered with HTTP 500.
    pub server_errors: u64,
    /// Connection closed without an answer.
    pub dropped: u64,
}

/// Calls per API action: `CreateVpc` for query APIs, `POST /2013-04-01/hostedzone` for REST
/// ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// By action.
    pub by_action: BTreeMap<String, ActionStats>,
}

impl ProxyStats {
    /// Calls received for `action` (0 when none).
    #[must_use]
    pub fn calls(&self, action: &str) -> u64 {
        self.by_action.get(action).map_or(0, |stats| stats.calls)
    }

    /// Calls received in total.
    #[must_use]
    pub fn total_calls(&self) -> u64 {
        self.by_action.values().map(|stats| stats.calls).sum()
    }

    /// Faults injected in total.
    #[must_use]
    pub fn total_faults(&self) -> u64 {
        self.by_action
            .values()
            .map(|stats| stats.throttled + stats.server_errors + stats.dropped)
            .sum()
    }
}

/// A running proxy; stops when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    address: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

#[derive(Debug)]
struct Shared {
    upstream: String,
    client: Client<HttpConnector, Full<Bytes>>,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    config: FaultConfig,
    random: fastrand::Rng,
    stats: ProxyStats,
}

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    Throttle,
    ServerError,
    Drop,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (e.g. `http://127.0.0.1:5000`) on a free loopback port.
    pub async fn start(upstream: &str, config: FaultConfig) -> std::io::Result<FaultProxy> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: Client::builder(TokioExecutor::new()).build_http(),
            state: Mutex::new(State {
                random: fastrand::Rng::with_seed(config.seed),
                config,
                stats: ProxyStats::default(),
            }),
        });
        let server = tokio::spawn(serve(listener, Arc::clone(&shared)));
        Ok(FaultProxy {
            address,
            shared,
            server,
        })
    }

    /// The URL to point clients at.
    #[must_use]
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The calls seen so far.
    #[must_use]
    pub fn stats(&self) -> ProxyStats {
        self.shared.lock().stats.clone()
    }

    /// Forgets the calls seen so far.
    pub fn reset_stats(&self) {
        self.shared.lock().stats = ProxyStats::default();
    }

    /// Changes the faults from now on (e.g. turn them off to verify).
    pub fn set_config(&self, config: FaultConfig) {
        let mut state = self.shared.lock();
        state.random = fastrand::Rng::with_seed(config.seed);
        state.config = config;
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panicking test thread must not hide the stats from the others.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Draws the fault for a call of `action` and counts it.
    fn decide(&self, action: &str) -> (Fault, Duration) {
        let mut state = self.lock();
        let draw = state.random.f64();
        let config = &state.config;
        let fault = if draw < config.drop_rate {
            Fault::Drop
        } else if draw < config.drop_rate + config.throttle_rate {
            Fault::Throttle
        } else if draw < config.drop_rate + config.throttle_rate + config.server_error_rate {
            Fault::ServerError
        } else {
            Fault::None
        };
        let latency = config.latency;
        let stats = state.stats.by_action.entry(action.to_owned()).or_default();
        stats.calls += 1;
        match fault {
            Fault::None => stats.forwarded += 1,
            Fault::Throttle => stats.throttled += 1,
            Fault::ServerError => stats.server_errors += 1,
            Fault::Drop => stats.dropped += 1,
        }
        (fault, latency)
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _peer)) = listener.accept().await else {
            continue;
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(Arc::clone(&shared), request));
            // A dropped connection ends here with the error the handler returned: expected.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The error that makes hyper close the connection without answering.
#[derive(Debug)]
struct DroppedConnection;

impl std::fmt::Display for DroppedConnection {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("connection dropped by the fault proxy")
    }
}

impl std::error::Error for DroppedConnection {}

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, DroppedConnection> {
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Err(DroppedConnection),
    };
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |path| path.as_str())
        .to_owned();
    if path.starts_with("/moto-api") {
        return Ok(forward(&shared, parts, body, &path).await);
    }
    let service = signing_service(&parts.headers).unwrap_or_default();
    let action = action_name(&parts.method, &path, &body);
    let (fault, latency) = shared.decide(&action);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match fault {
        Fault::None => Ok(forward(&shared, parts, body, &path).await),
        Fault::Throttle => Ok(throttling_error(&service)),
        Fault::ServerError => Ok(server_error(&service)),
        Fault::Drop => {
            // Let the call take effect, then lose the answer: the hardest case for callers.
            let _ = forward(&shared, parts, body, &path).await;
            Err(DroppedConnection)
        }
    }
}

async fn forward(
    shared: &Shared,
    mut parts: hyper::http::request::Parts,
    body: Bytes,
    path: &str,
) -> Response<Full<Bytes>> {
    let Ok(uri) = format!("{}{path}", shared.upstream).parse() else {
        return plain(StatusCode::BAD_GATEWAY, "bad upstream URI");
    };
    parts.uri = uri;
    // Keep the client's Host header: the SigV4 signature covers it.
    let request = Request::from_parts(parts, Full::new(body));
    match shared.client.request(request).await {
        Ok(response) => {
            let (parts, body) = response.into_parts();
            match body.collect().await {
                Ok(collected) => Response::from_parts(parts, Full::new(collected.to_bytes())),
                Err(_) => plain(StatusCode::BAD_GATEWAY, "upstream body failed"),
            }
        }
        Err(_) => plain(StatusCode::BAD_GATEWAY, "upstream unreachable"),
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response
}

/// The service in the SigV4 credential scope: `Credential=AKID/date/region/<service>/aws4_request`.
fn signing_service(headers: &hyper::HeaderMap) -> Option<String> {
    let authorization = headers.get(hyper::header::AUTHORIZATION)?.to_str().ok()?;
    let credential = authorization.split("Credential=").nth(1)?;
    let scope = credential.split([',', ' ']).next()?;
    scope.split('/').nth(3).map(str::to_owned)
}

/// `Action=` of a query API (form body or query string), else `METHOD /path`.
fn action_name(method: &hyper::Method, path: &str, body: &[u8]) -> String {
    let query = path.split_once('?').map_or("", |(_, query)| query);
    let form = std::str::from_utf8(body).unwrap_or_default();
    for pairs in [form, query] {
        if let Some(action) = pairs
            .split('&')
            .find_map(|pair| pair.strip_prefix("Action="))
        {
            return action.to_owned();
        }
    }
    let path_only = path.split_once('?').map_or(path, |(path, _)| path);
    format!("{method} {path_only}")
}

fn xml(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml"),
    );
    response
}

const REQUEST_ID: &str = "fault-proxy-0000";

/// The throttling error each service really sends.
fn throttling_error(service: &str) -> Response<Full<Bytes>> {
    match service {
        "ec2" => xml(
            StatusCode::SERVICE_UNAVAILABLE,
            ec2_error("RequestLimitExceeded", "Request limit exceeded."),
        ),
        "s3" => xml(
            StatusCode::SERVICE_UNAVAILABLE,
            s3_error("SlowDown", "Please reduce your request rate."),
        ),
        "route53" => xml(
            StatusCode::BAD_REQUEST,
            format!(
                "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>{REQUEST_ID}</RequestId></ErrorResponse>"
            ),
        ),
        // Auto Scaling, IAM, ELBv2, STS: the AWS query protocol's error shape.
        _ => xml(
            StatusCode::BAD_REQUEST,
            query_error("Sender", "Throttling", "Rate exceeded"),
        ),
    }
}

/// An internal error in each service's shape.
fn server_error(service: &str) -> Response<Full<Bytes>> {
    let body = match service {
        "ec2" => ec2_error("InternalError", "An internal error has occurred."),
        "s3" => s3_error(
            "InternalError",
            "We encountered an internal error. Please try again.",
        ),
        _ => query_error(
            "Receiver",
            "InternalFailure",
            "An internal error has occurred.",
        ),
    };
    xml(StatusCode::INTERNAL_SERVER_ERROR, body)
}

fn ec2_error(code: &str, message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>{REQUEST_ID}</RequestID></Response>"
    )
}

fn query_error(kind: &str, code: &str, message: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>{REQUEST_ID}</RequestId></ErrorResponse>"
    )
}

fn s3_error(code: &str, message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{REQUEST_ID}</RequestId></Error>"
    )
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A one-route upstream that answers every request with `ok`.
    async fn upstream() -> SocketAddr {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let service = service_fn(|_request: Request<Incoming>| async {
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        address
    }

    /// Sends one signed-looking EC2 query call; returns the raw response (empty if dropped).
    async fn call(proxy: &FaultProxy, action: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(proxy.address).await.unwrap();
        let body = format!("Action={action}&Version=2016-11-15");
        let request = format!(
            "POST / HTTP/1.1\r\nHost: {}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            proxy.address,
            body.len()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response).await;
        response
    }

    #[tokio::test]
    async fn forwards_and_counts_calls_per_action() {
        let upstream = upstream().await;
        let proxy = FaultProxy::start(&format!("http://{upstream}"), FaultConfig::default())
            .await
            .unwrap();
        assert!(call(&proxy, "CreateVpc").await.ends_with("ok"));
        call(&proxy, "CreateVpc").await;
        call(&proxy, "DescribeVpcs").await;
        let stats = proxy.stats();
        assert_eq!(stats.calls("CreateVpc"), 2);
        assert_eq!(stats.by_action["DescribeVpcs"].forwarded, 1);
        assert_eq!(stats.total_faults(), 0);
    }

    #[tokio::test]
    async fn injects_throttling_in_the_service_protocol() {
        let upstream = upstream().await;
        let config = FaultConfig {
            throttle_rate: 1.0,
            ..FaultConfig::default()
        };
        let proxy = FaultProxy::start(&format!("http://{upstream}"), config)
            .await
            .unwrap();
        let response = call(&proxy, "CreateVpc").await;
        assert!(response.starts_with("HTTP/1.1 503"), "{response}");
        assert!(
            response.contains("<Code>RequestLimitExceeded</Code>"),
            "{response}"
        );
        assert_eq!(proxy.stats().by_action["CreateVpc"].throttled, 1);
    }

    #[tokio::test]
    async fn drops_connections_and_injects_server_errors() {
        let upstream = upstream().await;
        let config = FaultConfig {
            drop_rate: 1.0,
            ..FaultConfig::default()
        };
        let proxy = FaultProxy::start(&format!("http://{upstream}"), config)
            .await
            .unwrap();
        assert_eq!(call(&proxy, "CreateVpc").await, "");
        proxy.set_config(FaultConfig {
            server_error_rate: 1.0,
            ..FaultConfig::default()
        });
        assert!(call(&proxy, "CreateVpc").await.starts_with("HTTP/1.1 500"));
        let stats = proxy.stats().by_action["CreateVpc"];
        assert_eq!((stats.dropped, stats.server_errors, stats.calls), (1, 1, 2));
    }

    #[test]
    fn names_query_and_rest_actions() {
        assert_eq!(
            action_name(&hyper::Method::POST, "/", b"Version=1&Action=CreateVpc"),
            "CreateVpc"
        );
        assert_eq!(
            action_name(
                &hyper::Method::GET,
                "/2013-04-01/hostedzone?maxitems=1",
                b""
            ),
            "GET /2013-04-01/hostedzone"
        );
    }
}
