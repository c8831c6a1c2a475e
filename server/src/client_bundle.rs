//! Serving the browser client from the app that hosts the server, as Node's `socket.io`
//! serves `/socket.io/socket.io.js`: the wasm-pack output of `sio-client`
//! (`sio_client.js`, `sio_client_bg.wasm`) or any other directory of static files.

use std::convert::Infallible;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use http::header::{CACHE_CONTROL, X_CONTENT_TYPE_OPTIONS};
use http::{HeaderValue, Request, Response};
use tower_http::compression::{Compression, CompressionBody};
use tower_http::services::ServeDir;
use tower_http::services::fs::ServeFileSystemResponseBody;
use tower_http::set_header::SetResponseHeader;
use tower_service::Service;

/// The files a page needs to run the wasm client: the ES module and the module it loads.
pub const CLIENT_FILES: [&str; 2] = ["sio_client.js", "sio_client_bg.wasm"];

/// A directory of static files served with their MIME types (`application/wasm` for
/// `.wasm`, `text/javascript` for `.js`), gzip or brotli compression when the browser asks
/// for it, `Last-Modified` revalidation, `X-Content-Type-Options: nosniff` and a
/// `Cache-Control` header.
///
/// Mount it wherever pages import the client from, e.g. `/pkg/`:
///
/// ```no_run
/// use axum::Router;
/// use sio_server::{ClientBundle, SocketIo};
///
/// # async fn run() -> std::io::Result<()> {
/// let (layer, _io) = SocketIo::builder().build_layer();
/// let app = Router::new()
///     // A page does `import init, { io } from "/pkg/sio_client.js"`.
///     .nest_service("/pkg", ClientBundle::new("client-wasm/pkg").into_service())
///     .layer(layer);
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// axum::serve(listener, app).await
/// # }
/// ```
///
/// The service answers any request body type, so it also works outside axum:
///
/// ```
/// use http::{Request, header};
/// use sio_server::ClientBundle;
/// use tower_service::Service;
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = std::env::temp_dir().join(format!("sio-bundle-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// std::fs::write(dir.join("sio_client_bg.wasm"), b"\0asm\x01\0\0\0")?;
///
/// let bundle = ClientBundle::new(&dir);
/// assert!(!bundle.is_built()); // sio_client.js is missing
/// let mut svc = bundle.into_service();
/// let res = svc.call(Request::get("/sio_client_bg.wasm").body(())?).await?;
/// assert_eq!(res.status(), 200);
/// assert_eq!(res.headers()[header::CONTENT_TYPE], "application/wasm");
/// assert_eq!(res.headers()[header::CACHE_CONTROL], "no-cache");
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ClientBundle {
    dir: PathBuf,
    cache_control: HeaderValue,
}

impl ClientBundle {
    /// Serves the files under `dir` (`client-wasm/pkg` once `scripts/build-client.sh` has
    /// run). Directory requests get their `index.html`; paths never leave `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            // The bundle's file names carry no content hash: a rebuilt client must not be
            // served stale, and revalidating is a 304 without a body.
            cache_control: HeaderValue::from_static("no-cache"),
        }
    }

    /// Sets the `Cache-Control` header of every response, e.g.
    /// `public, max-age=31536000, immutable` when the files are served under a versioned
    /// path.
    pub fn cache_control(mut self, value: HeaderValue) -> Self {
        self.cache_control = value;
        self
    }

    /// The directory served.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the directory holds the wasm client ([`CLIENT_FILES`]), so an app can say at
    /// start-up that the bundle still has to be built.
    pub fn is_built(&self) -> bool {
        CLIENT_FILES.iter().all(|f| self.dir.join(f).is_file())
    }

    /// The tower service answering `GET`/`HEAD` requests with the files; mount it with
    /// axum's `Router::nest_service`.
    pub fn into_service(self) -> ClientBundleService {
        let files = Compression::new(ServeDir::new(self.dir));
        let cached = SetResponseHeader::overriding(files, CACHE_CONTROL, self.cache_control);
        let inner = SetResponseHeader::overriding(
            cached,
            X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        ClientBundleService { inner }
    }
}

type Inner = SetResponseHeader<SetResponseHeader<Compression<ServeDir>, HeaderValue>, HeaderValue>;

/// The response body of a [`ClientBundleService`]: the file, compressed or not.
pub type ClientBundleBody = CompressionBody<ServeFileSystemResponseBody>;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The service made by [`ClientBundle::into_service`].
#[derive(Clone)]
pub struct ClientBundleService {
    inner: Inner,
}

impl std::fmt::Debug for ClientBundleService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBundleService")
            .finish_non_exhaustive()
    }
}

impl<B> Service<Request<B>> for ClientBundleService
where
    B: Send + 'static,
{
    type Response = Response<ClientBundleBody>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Service::<Request<B>>::poll_ready(&mut self.inner, cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        Box::pin(self.inner.call(req))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use http::header::{
        ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, IF_MODIFIED_SINCE, LAST_MODIFIED,
    };
    use http::{HeaderMap, StatusCode};
    use http_body_util::BodyExt;

    use super::*;

    /// A fresh directory with a fake bundle (big enough to be worth compressing).
    struct Fixture(PathBuf);

    impl Fixture {
        fn new() -> Self {
            static N: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "sio-bundle-test-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(dir.join("sub")).unwrap();
            std::fs::write(dir.join("sio_client.js"), "export default 1;\n".repeat(100)).unwrap();
            std::fs::write(dir.join("sio_client_bg.wasm"), [0u8; 4096]).unwrap();
            std::fs::write(dir.join("sub/index.html"), "<!doctype html><p>hi</p>").unwrap();
            Fixture(dir)
        }
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    async fn get(
        svc: &mut ClientBundleService,
        path: &str,
        headers: &[(http::HeaderName, &str)],
    ) -> (StatusCode, HeaderMap, Vec<u8>) {
        let mut req = Request::get(path);
        for (k, v) in headers {
            req = req.header(k, *v);
        }
        let res = svc.call(req.body(()).unwrap()).await.unwrap();
        let (parts, body) = res.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes().to_vec();
        (parts.status, parts.headers, bytes)
    }

    #[tokio::test]
    async fn wasm_and_js_have_their_mime_types_and_cache_headers() {
        let fx = Fixture::new();
        let bundle = ClientBundle::new(&fx.0);
        assert!(bundle.is_built());
        let mut svc = bundle.into_service();

        let (status, headers, body) = get(&mut svc, "/sio_client_bg.wasm", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[CONTENT_TYPE], "application/wasm");
        assert_eq!(headers[CACHE_CONTROL], "no-cache");
        assert_eq!(headers[X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(headers.contains_key(LAST_MODIFIED));
        assert!(!headers.contains_key(CONTENT_ENCODING));
        assert_eq!(body.len(), 4096);

        let (status, headers, _) = get(&mut svc, "/sio_client.js", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[CONTENT_TYPE], "text/javascript");
    }

    #[tokio::test]
    async fn compresses_when_asked() {
        let fx = Fixture::new();
        let mut svc = ClientBundle::new(&fx.0).into_service();
        for (accept, encoding) in [("gzip", "gzip"), ("br", "br"), ("br, gzip", "br")] {
            let (status, headers, body) = get(
                &mut svc,
                "/sio_client_bg.wasm",
                &[(ACCEPT_ENCODING, accept)],
            )
            .await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(headers[CONTENT_ENCODING], encoding);
            assert_eq!(headers[CONTENT_TYPE], "application/wasm");
            assert!(body.len() < 4096, "{accept}: {} bytes", body.len());
        }
    }

    #[tokio::test]
    async fn revalidation_is_a_304() {
        let fx = Fixture::new();
        let mut svc = ClientBundle::new(&fx.0).into_service();
        let (_, headers, _) = get(&mut svc, "/sio_client.js", &[]).await;
        let modified = headers[LAST_MODIFIED].to_str().unwrap().to_owned();
        let (status, headers, body) = get(
            &mut svc,
            "/sio_client.js",
            &[(IF_MODIFIED_SINCE, &modified)],
        )
        .await;
        assert_eq!(status, StatusCode::NOT_MODIFIED);
        assert_eq!(headers[CACHE_CONTROL], "no-cache");
        assert!(body.is_empty());
    }

    #[tokio::test]
    async fn index_missing_files_and_escapes() {
        let fx = Fixture::new();
        let mut svc = ClientBundle::new(&fx.0)
            .cache_control(HeaderValue::from_static("public, max-age=60"))
            .into_service();
        let (status, headers, body) = get(&mut svc, "/sub/", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[CONTENT_TYPE], "text/html");
        assert_eq!(headers[CACHE_CONTROL], "public, max-age=60");
        assert_eq!(body, b"<!doctype html><p>hi</p>");

        let (status, ..) = get(&mut svc, "/nope.js", &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // A path climbing out of the directory is never served.
        let (status, ..) = get(&mut svc, "/../Cargo.toml", &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, ..) = get(&mut svc, "/sub/%2e%2e/%2e%2e/Cargo.toml", &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[test]
    fn is_built_needs_both_files() {
        let fx = Fixture::new();
        std::fs::remove_file(fx.0.join("sio_client.js")).unwrap();
        assert!(!ClientBundle::new(&fx.0).is_built());
        assert!(!ClientBundle::new(fx.0.join("missing")).is_built());
    }
}
