//! The stateful part of the deploy stack (queues, tables, bucket), created on moto exactly as
//! serverless.yml defines it: `serverless print` resolves the stage's configuration, its
//! CloudFormation resources of the stateful types are deployed as one stack through moto's
//! CloudFormation, and the physical names come back from the stack. Functions, roles and alarms
//! are left out: the functions run natively under the emulator instead.

use serde_json::{json, Value};
use std::process::Command;
use std::time::{Duration, Instant};

/// Resource types that hold data and that the functions use.
const STATEFUL_TYPES: &[&str] = &["AWS::SQS::Queue", "AWS::DynamoDB::Table", "AWS::S3::Bucket"];

/// Physical names of the resources the functions are configured with.
#[derive(Debug, Clone)]
pub struct Stack {
    pub jobs_queue_url: String,
    pub dlq_url: String,
    pub idempotency_table: String,
    pub restart_state_table: String,
    pub output_bucket: String,
    /// `maxReceiveCount` of the jobs queue's redrive policy.
    pub max_receive_count: u32,
    /// The jobs queue's visibility timeout in seconds.
    pub visibility_timeout: u32,
}

/// The resolved service configuration of `stage`, from `serverless print`.
pub fn serverless_print(stage: &str) -> Result<Value, String> {
    let root = test_support::tools::workspace_root();
    let out = Command::new("npx")
        .args(["--no-install", "serverless", "print", "--stage", stage, "--format", "json"])
        .current_dir(&root)
        .env("SLS_TELEMETRY_DISABLED", "1")
        .env("SLS_NOTIFICATIONS_MODE", "off")
        .output()
        .map_err(|e| format!("cannot run npx serverless print ({e}); run `bash scripts/install-tools.sh`"))?;
    if !out.status.success() {
        return Err(format!("serverless print failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("serverless print gave no JSON: {e}"))
}

/// A CloudFormation template with only the stateful resources of the printed configuration.
pub fn stateful_template(printed: &Value) -> Result<Value, String> {
    let resources = printed
        .pointer("/resources/Resources")
        .and_then(Value::as_object)
        .ok_or("serverless.yml has no resources.Resources")?;
    let kept: serde_json::Map<String, Value> = resources
        .iter()
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str).is_some_and(|t| STATEFUL_TYPES.contains(&t)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for needed in ["JobsQueue", "DeadLetterQueue", "IdempotencyTable", "RestartStateTable", "OutputBucket"] {
        if !kept.contains_key(needed) {
            return Err(format!("serverless.yml has no stateful resource {needed}"));
        }
    }
    Ok(json!({ "AWSTemplateFormatVersion": "2010-09-09", "Resources": kept }))
}

/// Deploy the stateful resources of `stage` to the AWS endpoint of `config`.
pub async fn create(config: &aws_config::SdkConfig, stage: &str) -> Result<Stack, String> {
    let printed = serverless_print(stage)?;
    let template = stateful_template(&printed)?;
    let jobs = &template["Resources"]["JobsQueue"]["Properties"];
    let max_receive_count = jobs.pointer("/RedrivePolicy/maxReceiveCount").and_then(Value::as_u64).unwrap_or(5) as u32;
    let visibility_timeout = jobs.get("VisibilityTimeout").and_then(Value::as_u64).unwrap_or(30) as u32;

    let cfn = aws_sdk_cloudformation::Client::new(config);
    let name = format!("pipeline-functions-{stage}-data");
    cfn.create_stack()
        .stack_name(&name)
        .template_body(template.to_string())
        .send()
        .await
        .map_err(|e| format!("CreateStack {name}: {}", aws_sdk_cloudformation::error::DisplayErrorContext(e)))?;

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let stacks = cfn.describe_stacks().stack_name(&name).send().await.map_err(|e| format!("DescribeStacks: {e}"))?;
        let status = stacks.stacks().first().and_then(|s| s.stack_status()).map(|s| s.as_str().to_string()).unwrap_or_default();
        if status == "CREATE_COMPLETE" {
            break;
        }
        if status.ends_with("FAILED") || status.contains("ROLLBACK") || Instant::now() > deadline {
            return Err(format!("stack {name} did not create: {status}"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let resources = cfn.describe_stack_resources().stack_name(&name).send().await.map_err(|e| format!("DescribeStackResources: {e}"))?;
    let physical = |logical: &str| -> Result<String, String> {
        resources
            .stack_resources()
            .iter()
            .find(|r| r.logical_resource_id() == Some(logical))
            .and_then(|r| r.physical_resource_id())
            .map(String::from)
            .ok_or_else(|| format!("stack {name} has no {logical}"))
    };
    Ok(Stack {
        jobs_queue_url: physical("JobsQueue")?,
        dlq_url: physical("DeadLetterQueue")?,
        idempotency_table: physical("IdempotencyTable")?,
        restart_state_table: physical("RestartStateTable")?,
        output_bucket: physical("OutputBucket")?,
        max_receive_count,
        visibility_timeout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_stateful_resources() {
        let printed = json!({"resources": {"Resources": {
            "JobsQueue": {"Type": "AWS::SQS::Queue"}, "DeadLetterQueue": {"Type": "AWS::SQS::Queue"},
            "IdempotencyTable": {"Type": "AWS::DynamoDB::Table"}, "RestartStateTable": {"Type": "AWS::DynamoDB::Table"},
            "OutputBucket": {"Type": "AWS::S3::Bucket"}, "CostEtlRole": {"Type": "AWS::IAM::Role"},
            "DlqAlarm": {"Type": "AWS::CloudWatch::Alarm"}
        }}});
        let template = stateful_template(&printed).unwrap();
        let mut names: Vec<_> = template["Resources"].as_object().unwrap().keys().cloned().collect();
        names.sort();
        assert_eq!(names, ["DeadLetterQueue", "IdempotencyTable", "JobsQueue", "OutputBucket", "RestartStateTable"]);
    }

    #[test]
    fn a_missing_resource_is_named() {
        let printed = json!({"resources": {"Resources": {"JobsQueue": {"Type": "AWS::SQS::Queue"}}}});
        assert_eq!(stateful_template(&printed).unwrap_err(), "serverless.yml has no stateful resource DeadLetterQueue");
    }
}
