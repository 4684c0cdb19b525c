//! Meta error answers classified: by the Graph error code and subcode, then the HTTP status and
//! what the usage headers say about the rate-limit budget and when access returns.

use super::wire::ErrorEnvelope;
use super::PLATFORM;
use crate::platforms::PlatformError;
use common::text::bounded;
use std::time::Duration;

/// What the usage headers say: the highest percentage of any budget, and when access returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    pub max_percent: Option<u64>,
    pub regain: Option<Duration>,
}

impl Usage {
    /// From `X-Business-Use-Case-Usage` (`{"<id>":[{"call_count":..,"total_time":..,
    /// "total_cputime":..,"estimated_time_to_regain_access":<minutes>}]}`), `X-App-Usage`
    /// (`{"call_count":..,"total_time":..,"total_cputime":..}`) and `X-Ad-Account-Usage`
    /// (`{"acc_id_util_pct":..,"reset_time_duration":<seconds>}`). Unreadable headers count as absent.
    pub fn from_headers(business: Option<&str>, app: Option<&str>, ad_account: Option<&str>) -> Usage {
        let parse = |h: Option<&str>| h.and_then(|h| serde_json::from_str::<serde_json::Value>(h).ok());
        let mut usage = Usage::default();
        let mut percent = |v: &serde_json::Value, keys: &[&str]| {
            for key in keys {
                if let Some(p) = v.get(*key).and_then(|p| p.as_u64()) {
                    usage.max_percent = Some(usage.max_percent.unwrap_or(0).max(p));
                }
            }
        };
        let mut regain_secs: Option<u64> = None;
        if let Some(serde_json::Value::Object(ids)) = parse(business) {
            for entries in ids.values() {
                for entry in entries.as_array().into_iter().flatten() {
                    percent(entry, &["call_count", "total_time", "total_cputime"]);
                    if let Some(minutes) = entry.get("estimated_time_to_regain_access").and_then(|m| m.as_u64()) {
                        // Saturating: the header is the platform's text; u64::MAX minutes must not overflow.
                        regain_secs = Some(regain_secs.unwrap_or(0).max(minutes.saturating_mul(60)));
                    }
                }
            }
        }
        if let Some(v) = parse(app) {
            percent(&v, &["call_count", "total_time", "total_cputime"]);
        }
        if let Some(v) = parse(ad_account) {
            percent(&v, &["acc_id_util_pct"]);
            if let Some(secs) = v.get("reset_time_duration").and_then(|s| s.as_u64()) {
                regain_secs = Some(regain_secs.unwrap_or(0).max(secs));
            }
        }
        usage.regain = regain_secs.filter(|s| *s > 0).map(Duration::from_secs);
        usage
    }

    pub fn budget_spent(&self) -> bool {
        self.max_percent.is_some_and(|p| p >= 100)
    }
}

/// A non-200 answer, classified.
pub fn classify_error(status: u16, body: &[u8], usage: &Usage, account: &str) -> PlatformError {
    let graph = serde_json::from_slice::<ErrorEnvelope>(body).ok().map(|e| e.error);
    let code = graph.as_ref().and_then(|g| g.code);
    let subcode = graph.as_ref().and_then(|g| g.error_subcode);
    let detail = match &graph {
        Some(g) => {
            let sub = subcode.map(|s| format!("/{s}")).unwrap_or_default();
            format!("HTTP {status}, {} code {}{sub}: {}", bounded(&g.kind, 60), code.map(|c| c.to_string()).unwrap_or_else(|| "?".into()), bounded(&g.message, 300))
        }
        None => format!("HTTP {status}, body is not a Graph error"),
    };
    let transient = graph.as_ref().is_some_and(|g| g.is_transient);
    match code {
        Some(4 | 17 | 32 | 613) | Some(80000..=80014) => PlatformError::RateLimited { platform: PLATFORM, detail, retry_after: usage.regain },
        Some(190 | 102) => PlatformError::InvalidCredentials { platform: PLATFORM, detail },
        Some(100) if subcode == Some(33) => PlatformError::UnknownAccount { platform: PLATFORM, account: account.to_string(), detail },
        Some(10 | 200..=299) => PlatformError::PermissionDenied { platform: PLATFORM, detail },
        _ if status == 429 || ((400..500).contains(&status) && usage.budget_spent()) => PlatformError::RateLimited { platform: PLATFORM, detail, retry_after: usage.regain },
        Some(1 | 2) => PlatformError::Unavailable { platform: PLATFORM, status, detail },
        _ if status >= 500 || transient => PlatformError::Unavailable { platform: PLATFORM, status, detail },
        _ => PlatformError::Rejected { platform: PLATFORM, status, detail },
    }
}
