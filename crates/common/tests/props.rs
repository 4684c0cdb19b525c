//! Property tests of what `common` parses or shapes from outside text (proptest, 256 cases each;
//! `PROPTEST_CASES` overrides): bounded text, configuration getters, JSON secrets (feature
//! `lambda`, on in a workspace build), SQS queue ARNs and the invocation deadline.
//!
//! Nothing panics on any input; text meant for logs and errors is one printable line of bounded
//! length; and neither a configuration value nor a secret ever appears in an error.

use common::arn::{valid_queue_name, SqsQueueArn};
use common::config::{ConfigError, Env};
use common::deadline::{budget_from_epoch_ms, Deadline};
use common::text::{bounded, quote_bounded, truncate_bytes};
use proptest::prelude::*;
use test_support::strategies::{text};
use std::time::Duration;

/// A value as a deploy might set it, or as a typo or an attacker might.
fn setting_value() -> BoxedStrategy<String> {
    prop_oneof![
        text(200),
        "[ -~]{0,60}",
        "[ ]{0,2}[0-9]{0,25}[ ]{0,2}",
        "-?[0-9]{1,22}",
        "(true|false|yes|no|1|0|TRUE|Maybe)",
        "https?://[a-z0-9.:/@-]{0,40}/?",
        "\\{\"name\":\"[a-z]{0,8}\",\"count\":-?[0-9]{1,12}\\}",
    ]
    .boxed()
}

/// The shape the getters' tests read JSON settings and secrets into.
#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)]
struct Sample {
    name: String,
    count: u32,
}

/// Documents that hold `secret` somewhere: as the whole text, as a value of the right or the
/// wrong type, as a key, in an array, in broken JSON, in a URL.
fn documents_holding(secret: &str) -> Vec<String> {
    vec![
        secret.to_string(),
        format!("\"{secret}\""),
        format!("{{\"name\":\"{secret}\",\"count\":1}}"),
        format!("{{\"name\":\"n\",\"count\":\"{secret}\"}}"),
        format!("{{\"count\":{secret}}}"),
        format!("{{\"{secret}\":1}}"),
        format!("[\"{secret}\"]"),
        format!("[\"n\",\"{secret}\"]"),
        format!("{{\"name\":[\"{secret}\"],\"count\":2}}"),
        format!("{{\"name\":\"{secret}"),
        format!("http//{secret}"),
        format!("{secret}://host"),
    ]
}

/// Every getter of `env` on `var`; the errors they give.
fn getter_errors(env: &Env, var: &str) -> Vec<ConfigError> {
    [
        env.required(var).err(),
        env.parse_or::<u64>(var, 1, "a whole number").err(),
        env.parse_or::<u32>(var, 1, "a whole number").err(),
        env.parse_or::<i64>(var, 1, "a whole number").err(),
        env.parse_or::<usize>(var, 1, "a whole number").err(),
        env.parse_or::<f64>(var, 1.0, "a number").err(),
        env.bool_or(var, false).err(),
        env.seconds_or(var, Duration::from_secs(1)).err(),
        env.json_opt::<Sample>(var).err(),
        env.json_opt::<serde_json::Value>(var).err(),
        env.json_opt::<Vec<u8>>(var).err(),
        env.url_or(var, "https://default.example").err(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn bounded_text_is_one_printable_line_of_bounded_length(input in text(400), max in 0usize..300) {
        let out = bounded(&input, max);
        prop_assert!(!out.chars().any(char::is_control), "{:?}", out);
        // At most `max` characters kept, each escaped to at most 6 (`\u{9f}`), then `...`.
        prop_assert!(out.chars().count() <= max * 6 + 3);
        if input.chars().count() > max {
            prop_assert!(out.ends_with("..."), "{:?}", out);
        } else {
            let escaped: String = input.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect();
            prop_assert_eq!(out, escaped);
        }
    }

    #[test]
    fn quoted_text_is_one_printable_line_of_bounded_length(input in text(400), max in 0usize..300) {
        let out = quote_bounded(&input, max);
        prop_assert!(!out.chars().any(char::is_control), "{:?}", out);
        prop_assert!(out.starts_with('"'));
        // At most `max` characters, each escaped to at most 10 (`\u{10ffff}`), two quotes, `...`.
        prop_assert!(out.chars().count() <= max * 10 + 5);
        if input.chars().count() > max {
            prop_assert!(out.ends_with("\"..."), "{:?}", out);
        } else {
            prop_assert_eq!(out, format!("{input:?}"));
        }
    }

    #[test]
    fn truncated_text_is_a_prefix_on_a_character_boundary(input in text(400), max in 0usize..2000) {
        let out = truncate_bytes(&input, max);
        prop_assert!(out.len() <= max);
        prop_assert!(input.starts_with(out));
        if input.len() <= max {
            prop_assert_eq!(out, input.as_str());
        } else {
            // A character is at most 4 bytes: at most 3 of them were given up to the boundary.
            prop_assert!(out.len() + 4 > max, "{} of {} bytes kept, max {}", out.len(), input.len(), max);
        }
    }

    #[test]
    fn every_getter_takes_any_value_and_its_errors_name_the_variable(value in setting_value()) {
        let env = Env::from_pairs([("SETTING", value.as_str())]);
        let set = env.optional("SETTING");
        prop_assert_eq!(set.as_deref(), Some(value.trim()).filter(|v| !v.is_empty()));
        prop_assert_eq!(env.required("SETTING").ok(), set.clone());
        if let Ok(seconds) = env.seconds_or("SETTING", Duration::from_secs(7)) {
            let expected = set.as_deref().map_or(Some(7), |v| v.parse::<u64>().ok());
            prop_assert_eq!(Some(seconds.as_secs()), expected);
        }
        for err in getter_errors(&env, "SETTING") {
            let text = err.to_string();
            prop_assert_eq!(err.var.as_str(), "SETTING");
            prop_assert!(text.starts_with("configuration error: environment variable SETTING "), "{}", text);
            prop_assert!(!text.chars().any(char::is_control), "{:?}", text);
        }
    }

    #[test]
    fn a_configuration_value_never_reaches_an_error(secret in "s3cr3t-[A-Za-z0-9]{8,24}") {
        for document in documents_holding(&secret) {
            let env = Env::from_pairs([("SETTING", document.as_str())]);
            for err in getter_errors(&env, "SETTING") {
                prop_assert!(!err.to_string().contains(&secret), "{} echoes {}", err, document);
            }
        }
    }

    #[test]
    fn sqs_queue_arns_parse_to_parts_that_print_back_or_are_refused_in_one_line(
        raw in prop_oneof![
            text(120),
            "arn:[a-z-]{0,8}:sqs:[a-z0-9-]{0,12}:[0-9]{0,13}:[A-Za-z0-9_.-]{0,84}",
            "arn:aws:sqs:us-east-1:123456789012:[ -~]{0,20}",
        ],
    ) {
        match raw.parse::<SqsQueueArn>() {
            Ok(arn) => {
                prop_assert_eq!(arn.to_string(), raw.clone());
                prop_assert!(valid_queue_name(&arn.name));
                prop_assert!(!arn.account.is_empty() && arn.account.bytes().all(|b| b.is_ascii_digit()));
                prop_assert!(arn.queue_url().starts_with("https://sqs."));
                prop_assert_eq!(raw.parse::<SqsQueueArn>().ok(), Some(arn));
            }
            Err(err) => {
                prop_assert!(err.contains("is not an SQS queue ARN"), "{}", err);
                prop_assert!(!err.chars().any(char::is_control), "{:?}", err);
            }
        }
    }

    /// The deadline header is the runtime's text: any epoch value, any clock and any fallback
    /// give a deadline without overflow.
    #[test]
    fn any_deadline_header_gives_a_usable_deadline(
        deadline_ms in prop_oneof![any::<u64>(), 1_600_000_000_000u64..2_000_000_000_000, 0u64..1_000_000],
        now_ms in prop_oneof![any::<u64>(), 1_600_000_000_000u64..2_000_000_000_000],
        fallback_ms in prop_oneof![any::<u64>(), 0u64..1_000_000],
        margin_ms in any::<u64>(),
    ) {
        let fallback = Duration::from_millis(fallback_ms);
        let budget = budget_from_epoch_ms(deadline_ms, now_ms, fallback);
        prop_assert!(budget == fallback || budget <= Duration::from_millis(deadline_ms));
        let deadline = Deadline::after(budget);
        let left = deadline.remaining();
        prop_assert!(left <= budget);
        let _ = deadline.epoch_millis();
        let earlier = deadline.less(Duration::from_millis(margin_ms));
        prop_assert!(earlier.remaining() <= left);
        let _ = earlier.epoch_millis();
    }
}

#[cfg(feature = "lambda")]
mod secrets {
    use super::{documents_holding, text, Sample};
    use common::secrets::{parse_json, SecretError};
    use common::{ErrorClass, Retryable};
    use proptest::prelude::*;

    const SECRET_ID: &str = "pipeline/test/credentials";

    fn check(result: Result<Sample, SecretError>, secret: Option<&str>) -> Result<(), TestCaseError> {
        if let Err(err) = result {
            let text = err.to_string();
            prop_assert!(text.starts_with("secret pipeline/test/credentials is not the expected JSON: "), "{}", text);
            prop_assert!(!text.chars().any(char::is_control), "{:?}", text);
            prop_assert_eq!(err.class(), ErrorClass::Permanent);
            if let Some(secret) = secret {
                prop_assert!(!text.contains(secret), "{} echoes the secret", text);
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_secret_text_parses_or_is_refused_without_panicking(document in prop_oneof![text(300), "[ -~]{0,120}"]) {
            check(parse_json::<Sample>(SECRET_ID, &document), None)?;
            let _ = parse_json::<serde_json::Value>(SECRET_ID, &document);
        }

        #[test]
        fn a_secret_never_reaches_an_error(secret in "s3cr3t-[A-Za-z0-9]{8,24}") {
            for document in documents_holding(&secret) {
                check(parse_json::<Sample>(SECRET_ID, &document), Some(secret.as_str()))?;
                if let Err(err) = parse_json::<std::collections::HashMap<String, u32>>(SECRET_ID, &document) {
                    prop_assert!(!err.to_string().contains(&secret), "{}", err);
                }
            }
        }
    }
}
