//! Where a request came from: the client's address and the id the request
//! is given when it arrives. The request log answers the id as
//! `X-Request-Id`, and the audit trail keeps both beside what was done, so
//! a support call can quote the id. Base, so that identity (`auth`, whose
//! `Caller` carries an origin) and the trail (`audit`) both use it without
//! importing each other.

use std::net::IpAddr;

use rocket::request::{FromRequest, Outcome, Request};
use uuid::Uuid;

use crate::throttle::ClientAddr;

/// Where a request came from: the client (see `ClientAddr`) and the
/// request's id.
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    pub ip: IpAddr,
    pub request_id: Uuid,
}

impl Origin {
    pub fn of(req: &Request<'_>) -> Self {
        Self {
            ip: ClientAddr::of(req).0,
            request_id: RequestId::of(req).0,
        }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Origin {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        Outcome::Success(Self::of(req))
    }
}

/// The id of one request, made when it arrives.
#[derive(Debug, Clone, Copy)]
pub struct RequestId(pub Uuid);

impl RequestId {
    /// This request's id: made by the first to ask (the request log, which
    /// runs first), the same for everyone after.
    pub fn of(req: &Request<'_>) -> Self {
        *req.local_cache(|| Self(Uuid::new_v4()))
    }
}
