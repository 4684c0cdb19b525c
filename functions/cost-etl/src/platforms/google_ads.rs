//! GoogleAds adapter (being written; see issue 7). Until then jobs for this platform are refused.

use super::{CostSource, PlatformError};
use crate::config::{Clients, Config};
use crate::job::{JobSpec, Platform};
use crate::normalize::CostRow;
use common::deadline::Deadline;
use futures::future::BoxFuture;

const PLATFORM: Platform = Platform::GoogleAds;

pub struct GoogleAdsAdapter {}

impl GoogleAdsAdapter {
    pub fn new(_config: &Config, _clients: &Clients) -> GoogleAdsAdapter {
        GoogleAdsAdapter {}
    }
}

impl CostSource for GoogleAdsAdapter {
    fn platform(&self) -> Platform {
        PLATFORM
    }

    fn fetch<'a>(&'a self, _job: &'a JobSpec, _deadline: Deadline) -> BoxFuture<'a, Result<Vec<CostRow>, PlatformError>> {
        Box::pin(async { Err(PlatformError::NotSupported { platform: PLATFORM }) })
    }
}
