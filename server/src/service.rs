//! The tower [`Layer`] and [`Service`] that mount the server on axum, hyper or any tower
//! stack: requests under the Socket.IO path are answered here, every other request goes
//! through to the wrapped service.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use pin_project_lite::pin_project;
use tower_http::cors::{Cors, CorsLayer};
use tower_layer::Layer;
use tower_service::Service;

use crate::client::SioHandler;
use crate::engine::Engine;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The Socket.IO endpoint alone, as a service (CORS is applied around it).
#[derive(Clone)]
pub struct EngineService {
    engine: Arc<Engine<SioHandler>>,
}

impl<B> Service<Request<B>> for EngineService
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let engine = self.engine.clone();
        Box::pin(async move { Ok(engine.handle(req).await) })
    }
}

#[derive(Clone)]
enum Endpoint {
    Plain(EngineService),
    Cors(Box<Cors<EngineService>>),
}

/// A tower layer that adds the Socket.IO endpoint to a service; from
/// [`SocketIoBuilder::build_layer`](crate::SocketIoBuilder::build_layer).
#[derive(Clone)]
pub struct SocketIoLayer {
    endpoint: Endpoint,
    path: Arc<str>,
}

impl SocketIoLayer {
    pub(crate) fn new(engine: Arc<Engine<SioHandler>>, cors: Option<CorsLayer>) -> Self {
        let path: Arc<str> = Arc::from(engine.config.path.as_str());
        let svc = EngineService { engine };
        let endpoint = match cors {
            Some(cors) => Endpoint::Cors(Box::new(cors.layer(svc))),
            None => Endpoint::Plain(svc),
        };
        Self { endpoint, path }
    }
}

impl<S> Layer<S> for SocketIoLayer {
    type Service = SocketIoService<S>;

    fn layer(&self, inner: S) -> SocketIoService<S> {
        SocketIoService {
            inner,
            endpoint: self.endpoint.clone(),
            path: self.path.clone(),
        }
    }
}

/// The service made by [`SocketIoLayer`].
#[derive(Clone)]
pub struct SocketIoService<S> {
    inner: S,
    endpoint: Endpoint,
    path: Arc<str>,
}

impl<S, B, ResBody> Service<Request<B>> for SocketIoService<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<SioBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        if !req.uri().path().starts_with(&*self.path) {
            return ResponseFuture::Inner {
                fut: self.inner.call(req),
            };
        }
        let fut: BoxFuture<Response<Full<Bytes>>> = match &mut self.endpoint {
            Endpoint::Plain(svc) => {
                let fut = svc.call(req);
                Box::pin(async move { fut.await.unwrap_or_else(|never| match never {}) })
            }
            Endpoint::Cors(svc) => {
                let fut = svc.call(req);
                Box::pin(async move { fut.await.unwrap_or_else(|never| match never {}) })
            }
        };
        ResponseFuture::Sio { fut }
    }
}

pub use self::types::{ResponseFuture, SioBody};

mod types {
    // pin-project-lite cannot document the fields of enum variants.
    #![allow(missing_docs)]

    use super::*;

    pin_project! {
        /// The response future of [`SocketIoService`].
        #[project = ResponseFutureProj]
        pub enum ResponseFuture<F> {
            /// The wrapped service's response.
            Inner { #[pin] fut: F },
            /// A Socket.IO response.
            Sio { fut: BoxFuture<Response<Full<Bytes>>> },
        }
    }

    pin_project! {
        /// The response body of [`SocketIoService`]: the app's, or a Socket.IO one.
        #[project = SioBodyProj]
        pub enum SioBody<B> {
            /// The wrapped service's body.
            Inner { #[pin] body: B },
            /// A Socket.IO body.
            Sio { #[pin] body: Full<Bytes> },
        }
    }

    impl<F, ResBody, E> Future for ResponseFuture<F>
    where
        F: Future<Output = Result<Response<ResBody>, E>>,
    {
        type Output = Result<Response<SioBody<ResBody>>, E>;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            match self.project() {
                ResponseFutureProj::Inner { fut } => fut
                    .poll(cx)
                    .map(|r| r.map(|res| res.map(|body| SioBody::Inner { body }))),
                ResponseFutureProj::Sio { fut } => fut
                    .as_mut()
                    .poll(cx)
                    .map(|res| Ok(res.map(|body| SioBody::Sio { body }))),
            }
        }
    }

    impl<B> Body for SioBody<B>
    where
        B: Body<Data = Bytes>,
    {
        type Data = Bytes;
        type Error = B::Error;

        fn poll_frame(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
            match self.project() {
                SioBodyProj::Inner { body } => body.poll_frame(cx),
                SioBodyProj::Sio { body } => body
                    .poll_frame(cx)
                    .map(|f| f.map(|r| r.map_err(|never| match never {}))),
            }
        }

        fn is_end_stream(&self) -> bool {
            match self {
                SioBody::Inner { body } => body.is_end_stream(),
                SioBody::Sio { body } => body.is_end_stream(),
            }
        }

        fn size_hint(&self) -> SizeHint {
            match self {
                SioBody::Inner { body } => body.size_hint(),
                SioBody::Sio { body } => body.size_hint(),
            }
        }
    }
}
