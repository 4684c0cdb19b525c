//! Unit tests of the restart policy: the built-in rules on real traces, `RESTART_POLICY` and
//! its errors, glob matching.

use super::*;

fn judge(text: &str) -> Judgement {
    Policy::builtin().judge(&Trace::parse(text))
}

#[test]
fn root_cause_decides_before_wrappers() {
    let j = judge(
        "org.apache.kafka.connect.errors.DataException: Failed to deserialize data for topic t to Avro
\tat x.Y.z(Y.java:1)
Caused by: org.apache.kafka.common.errors.SerializationException: Error retrieving Avro schema for id 3
Caused by: java.net.SocketTimeoutException: Read timed out
\t... 3 more",
    );
    assert_eq!(j.action, Action::Restart);
    assert_eq!(j.rule, "network-fault");
    assert_eq!(j.root_cause.as_deref(), Some("java.net.SocketTimeoutException: Read timed out"));
}

#[test]
fn poison_records_are_skipped() {
    let j = judge(
        "org.apache.kafka.connect.errors.ConnectException: Tolerance exceeded in error handler
Caused by: org.apache.kafka.connect.errors.DataException: Converting byte[] to Kafka Connect data failed due to serialization error
Caused by: org.apache.kafka.common.errors.SerializationException: Unknown magic byte!",
    );
    assert_eq!((j.action, j.rule.as_str()), (Action::Skip, "poison-serialization"));
    let j = judge("org.apache.kafka.connect.errors.DataException: JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain additional fields.");
    assert_eq!(j.action, Action::Skip);
    assert_eq!(judge("Unknown magic byte!").rule, "poison-magic-byte");
}

#[test]
fn configuration_and_credentials_are_skipped() {
    assert_eq!(judge("org.apache.kafka.common.config.ConfigException: Missing required configuration \"connection.url\"").rule, "config");
    assert_eq!(judge("org.apache.kafka.common.errors.SaslAuthenticationException: Authentication failed").rule, "kafka-authentication");
    assert_eq!(judge("org.apache.kafka.common.errors.SslAuthenticationException: SSL handshake failed").action, Action::Skip);
    assert_eq!(judge("org.apache.kafka.common.errors.TopicAuthorizationException: Not authorized to access topics: [orders]").rule, "kafka-authorization");
    let es = "org.apache.kafka.connect.errors.ConnectException: Failed to execute bulk request
Caused by: org.elasticsearch.ElasticsearchStatusException: method [POST], host [http://es:9200], URI [/_bulk], status line [HTTP/1.1 403 Forbidden]
{\"error\":{\"type\":\"security_exception\",\"reason\":\"action [indices:data/write/bulk] is unauthorized\"},\"status\":403}";
    assert_eq!(judge(es).rule, "elasticsearch-security");
}

#[test]
fn elasticsearch_bulk_failures_depend_on_their_cause() {
    let malformed = "org.apache.kafka.connect.errors.ConnectException: Bulk request failed: [{\"type\":\"mapper_parsing_exception\",\"reason\":\"failed to parse field [price]\"}]";
    assert_eq!(judge(malformed).rule, "elasticsearch-malformed-document");
    let overloaded = "org.apache.kafka.connect.errors.ConnectException: Bulk request failed
Caused by: org.elasticsearch.ElasticsearchStatusException: status line [HTTP/1.1 429 Too Many Requests] {\"type\":\"es_rejected_execution_exception\"}";
    assert_eq!(judge(overloaded).rule, "elasticsearch-overloaded");
    let gateway = "org.apache.kafka.connect.errors.ConnectException: Failed to execute bulk request due to 'org.elasticsearch.client.ResponseException: method [POST], host [http://es:9200], URI [/_bulk], status line [HTTP/1.1 503 Service Unavailable]'";
    assert_eq!(judge(gateway).rule, "http-gateway");
    let refused = "org.apache.kafka.connect.errors.ConnectException: Failed to execute bulk request
Caused by: java.net.ConnectException: Connection refused";
    assert_eq!(judge(refused).rule, "network-fault");
    assert_eq!(judge("org.apache.kafka.connect.errors.ConnectException: Bulk request failed").rule, "elasticsearch-bulk-failed");
}

#[test]
fn connect_exception_is_not_the_socket_one() {
    let j = judge("org.apache.kafka.connect.errors.ConnectException: something unexpected");
    assert_eq!((j.action, j.rule.as_str(), j.matched), (Action::Restart, "default", None));
    assert_eq!(judge("org.apache.kafka.connect.errors.RetriableException: try later").rule, "retriable");
    assert_eq!(judge("org.apache.kafka.common.errors.TimeoutException: Expiring 3 record(s)").rule, "retriable");
    assert_eq!(judge("").rule, "default");
}

#[test]
fn custom_rules_extend_or_replace() {
    let p = Policy::from_json(r#"[{"name":"acme-quota","message":"Quota EXCEEDED (daily)","action":"skip"}]"#).unwrap();
    assert_eq!(p.rules[0].name, "acme-quota");
    assert_eq!(p.rules.len(), Policy::builtin().rules.len() + 1);
    let j = p.judge(&Trace::parse("java.net.SocketTimeoutException: quota exceeded (daily)"));
    assert_eq!((j.action, j.rule.as_str()), (Action::Skip, "acme-quota"), "custom rules come first");

    let p = Policy::from_json(r#"{"mode":"replace","default":"skip","rules":[{"exception":["*.BoomException","Other*"],"action":"restart"}]}"#).unwrap();
    assert_eq!(p.rules.len(), 1);
    assert_eq!(p.default_action, Action::Skip);
    assert_eq!(p.judge(&Trace::parse("com.acme.BoomException: x")).rule, "custom-1");
    assert_eq!(p.judge(&Trace::parse("x.OtherThingException")).action, Action::Restart);
    assert_eq!(p.judge(&Trace::parse("java.net.SocketTimeoutException")).action, Action::Skip);

    let p = Policy::from_json(r#"{"default":"skip"}"#).unwrap();
    assert_eq!(p.rules.len(), Policy::builtin().rules.len());
    assert_eq!(p.judge(&Trace::parse("com.acme.Weird")).action, Action::Skip);
}

#[test]
fn bad_policies_say_which_rule_and_why() {
    let err = |text: &str| Policy::from_json(text).unwrap_err().0;
    assert!(err(r#"[{"action":"skip"}]"#).contains("rule 1 (custom-1): needs `exception`"));
    assert!(err(r#"[{"name":"x","message_regex":"(unclosed","action":"skip"}]"#).starts_with("rule 1 (x): `message_regex` is not a valid"));
    assert!(err(r#"[{"message":"a","action":"restrat"}]"#).contains("is not a valid policy"));
    assert!(err(r#"[{"mesage":"a","action":"skip"}]"#).contains("is not a valid policy"));
    assert!(err(r#"[{"message":"a","message_regex":"b","action":"skip"}]"#).contains("not both"));
    assert!(err("not json").contains("expected an array of rules"));
}

#[test]
fn glob_matching() {
    assert!(glob_match("*AuthorizationException", "TopicAuthorizationException"));
    assert!(glob_match("a*b*c", "axxbyyc"));
    assert!(!glob_match("a*b*c", "axxbyy"));
    assert!(glob_match("*", ""));
    assert!(!glob_match("Exact", "Exactly"));
}

#[test]
fn the_built_in_policy_compiles_no_regular_expression() {
    for rule in &Policy::builtin().rules {
        assert!(!matches!(rule.message, Some(MessageMatch::Regex(_))), "{} compiles a regex at cold start", rule.name);
    }
    let custom = Policy::from_json(r#"[{"name":"plain","message":"Quota","action":"skip"},{"name":"pattern","message_regex":"quota [0-9]+","action":"skip"},{"name":"umlaut","message":"Überlast","action":"skip"}]"#).unwrap();
    let kinds: Vec<(&str, bool)> = custom.rules[..3].iter().map(|r| (r.name.as_str(), matches!(r.message, Some(MessageMatch::Regex(_))))).collect();
    assert_eq!(kinds, [("plain", false), ("pattern", true), ("umlaut", true)], "only patterns, and text whose case folds beyond ASCII, are compiled");
    let j = custom.judge(&Trace::parse("com.acme.Busy: ÜBERLAST im Cluster"));
    assert_eq!(j.rule, "umlaut", "Unicode case folding kept for text that is not ASCII");
}

/// The built-in message matchers against the regular expressions they replace
/// (`HTTP/[0-9.]+ 40[13]\b`, `\b50[234] (Bad Gateway|Service Unavailable|Gateway Time-?out)`, ...).
#[test]
fn built_in_message_matchers_match_like_the_expressions_they_replace() {
    let rule_of = |message: &str| judge(&format!("com.acme.SinkException: {message}")).rule;
    for (message, rule) in [
        ("status line [HTTP/1.1 403 Forbidden]", "elasticsearch-security"),
        ("status line [http/2 401 Unauthorized]", "elasticsearch-security"),
        ("HTTP/1.1 403", "elasticsearch-security"),
        ("{\"type\":\"Security_Exception\"}", "elasticsearch-security"),
        ("HTTP/1.1 429 Too Many Requests", "elasticsearch-overloaded"),
        ("too many requests, slow down", "elasticsearch-overloaded"),
        ("HTTP/1.0 503 Service Unavailable", "http-gateway"),
        ("upstream said: 502 Bad Gateway", "http-gateway"),
        ("(504 Gateway Time-out)", "http-gateway"),
        ("504 gateway timeout", "http-gateway"),
        ("503 Gateway Timeout", "http-gateway"),
        ("Connection RESET by peer", "network-message"),
        ("read TIMED OUT", "network-message"),
        ("unknown MAGIC byte!", "poison-magic-byte"),
        ("requires \"schema\" and \"payload\" fields", "poison-json-envelope"),
        ("[{\"type\":\"MAPPER_PARSING_EXCEPTION\"}]", "elasticsearch-malformed-document"),
        ("failed to execute BULK request", "elasticsearch-bulk-failed"),
    ] {
        assert_eq!(rule_of(message), rule, "{message}");
    }
    for message in [
        "HTTP/1.1 4031 Forbidden",     // `\b` after the code
        "HTTP/1.1 403_x",               // `_` is a word character
        "HTTP/1.1 403é",                // so is a letter of any script
        "HTTP/ 403 Forbidden",          // a version is required
        "HTTP/1.1  403 Forbidden",      // one space
        "HTTPS/1.1 403 Forbidden",      // not `HTTP/`
        "HTTP/1.1 404 Not Found",
        "x502 Bad Gateway",             // `\b` before the code
        "_503 Service Unavailable",
        "5030 Service Unavailable",
        "505 Bad Gateway",
        "HTTP/1.1 500 Internal Server Error",
    ] {
        assert_eq!(rule_of(message), "default", "{message}");
    }
    // A status line after a cut-off one still counts.
    assert_eq!(rule_of("HTTP/ then HTTP/2.0 504 Gateway Timeout"), "http-gateway");
    assert_eq!(rule_of("HTTP/1.1 503"), "http-gateway", "at the end of the message");
}

#[test]
fn glob_matching_compares_whole_characters() {
    assert!(glob_match("*Ünicode*", "SomeÜnicodeException"));
    assert!(glob_match("é*", "é"));
    assert!(!glob_match("é", "e"));
    assert!(glob_match("a*é*z", "abécéz"));
    assert!(!glob_match("*é", "éa"));
}
