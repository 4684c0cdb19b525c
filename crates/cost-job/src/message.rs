//! [`JobMessage`]: the SQS body, a job plus how to treat an earlier completion of it.

use crate::error::JobError;
use crate::spec::{JobLimits, JobSpec};
use serde::{Deserialize, Serialize};

/// Longest job body we look at. SQS allows 256 KiB; a job is under 200 bytes, so anything near
/// the SQS limit is not a job and is refused before JSON parsing allocates for it.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// A job message: the job and how to treat an earlier completion of it.
///
/// `refresh: true` asks for the days to be fetched and replaced even when the same job already
/// completed (platforms restate recent days). It is not part of the [`JobSpec`] (the job, its
/// canonical text and S3 keys are the same either way); it gives the message its own idempotency
/// key (see [`crate::idempotency_key`]).
///
/// Serializes to the wire format: the job's fields, then `"refresh": true` only when set, so a
/// plain message is exactly [`JobSpec::canonical`]. Deserializing applies the default
/// [`JobLimits`] and every rule of [`JobMessage::parse_with`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobMessage {
    #[serde(flatten)]
    pub job: JobSpec,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub refresh: bool,
}

impl JobMessage {
    /// A plain message for `job`.
    pub fn new(job: JobSpec) -> JobMessage {
        JobMessage { job, refresh: false }
    }

    /// Parse an SQS body: the [`JobSpec`] rules plus the optional boolean `refresh`
    /// (absent or `null` is `false`; any other type is a permanent error).
    pub fn parse_with(body: &str, limits: &JobLimits) -> Result<JobMessage, JobError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(JobError::TooLarge { bytes: body.len() });
        }
        let value: serde_json::Value = serde_json::from_str(body).map_err(|e| JobError::NotJson { reason: common::config::json_error_without_values(&e) })?;
        JobMessage::from_value(&value, limits)
    }

    /// Parse an already decoded JSON value.
    pub fn from_value(value: &serde_json::Value, limits: &JobLimits) -> Result<JobMessage, JobError> {
        let object = value.as_object().ok_or(JobError::NotAnObject)?;
        let job = JobSpec::from_object(object, limits)?;
        Ok(JobMessage { job, refresh: parse_refresh(object)? })
    }

    /// The SQS body of this message.
    pub fn body(&self) -> String {
        serde_json::to_string(self).expect("a JobMessage always serializes")
    }
}

impl<'de> Deserialize<'de> for JobMessage {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        JobMessage::from_value(&value, &JobLimits::default()).map_err(serde::de::Error::custom)
    }
}

fn parse_refresh(object: &serde_json::Map<String, serde_json::Value>) -> Result<bool, JobError> {
    match object.get("refresh") {
        None | Some(serde_json::Value::Null) => Ok(false),
        Some(serde_json::Value::Bool(b)) => Ok(*b),
        Some(_) => Err(JobError::NotABoolean { field: "refresh" }),
    }
}
