//! The Java stack trace Kafka Connect puts in a FAILED task's `trace`, parsed into its chain
//! of causes.
//!
//! Restart decisions look at exception classes and messages, and the deepest `Caused by:` matters
//! most (a `DataException` whose root cause is a socket time-out is a network fault, not a poison
//! record). The trace comes from a remote worker, so parsing is bounded and never fails: text
//! that is not a stack trace becomes a single cause without a class.

use common::text::truncate_bytes;

/// Traces longer than this are cut before parsing; real ones are a few KiB.
pub const MAX_TRACE_BYTES: usize = 256 * 1024;
/// Causes beyond this depth are ignored (Java itself caps cyclic chains, a hostile input may not).
pub const MAX_CAUSES: usize = 64;
/// Longest message kept per cause.
const MAX_MESSAGE_BYTES: usize = 8 * 1024;

/// One exception of the chain: `class: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// Fully qualified class name, e.g. `java.net.SocketTimeoutException`; empty when the
    /// header line does not start with a class name.
    pub class: String,
    /// The message, continuation lines joined with `\n`; empty when the exception has none.
    pub message: String,
}

impl Cause {
    /// The class name without its package: `SocketTimeoutException`.
    pub fn simple_class(&self) -> &str {
        self.class.rsplit(['.', '$']).next().unwrap_or(&self.class)
    }

    /// `class: message`, the first line only, for reports and logs.
    pub fn summary(&self) -> String {
        let first_line = self.message.lines().next().unwrap_or("");
        let first_line = truncate_bytes(first_line, 300);
        match (self.class.is_empty(), first_line.is_empty()) {
            (true, _) => first_line.to_string(),
            (false, true) => self.class.clone(),
            (false, false) => format!("{}: {}", self.class, first_line),
        }
    }
}

/// The chain of causes, outermost first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Trace {
    pub causes: Vec<Cause>,
}

impl Trace {
    /// Parse a Java stack trace as printed by `Throwable.printStackTrace`.
    ///
    /// Frames (`at ...`), `... N more` and `Suppressed:` blocks are dropped; `Caused by:` starts
    /// the next cause. Lines that are none of these continue the current message (exception
    /// messages may span lines, e.g. Elasticsearch bulk errors).
    pub fn parse(text: &str) -> Trace {
        let text = truncate_bytes(text, MAX_TRACE_BYTES);
        let mut causes: Vec<Cause> = Vec::new();
        // Inside a `Suppressed:` block nothing belongs to the main chain until the next
        // `Caused by:` at the outermost indentation.
        let mut in_suppressed = false;
        let mut in_frames = false;
        for raw in text.lines() {
            let line = raw.trim_end();
            let trimmed = line.trim_start();
            let indented = line.len() != trimmed.len();
            if let Some(rest) = trimmed.strip_prefix("Caused by:") {
                if indented {
                    // A cause of a suppressed exception.
                    continue;
                }
                in_suppressed = false;
                in_frames = false;
                if causes.len() >= MAX_CAUSES {
                    break;
                }
                causes.push(parse_header(rest.trim()));
                continue;
            }
            if trimmed.starts_with("Suppressed:") {
                in_suppressed = true;
                continue;
            }
            if in_suppressed {
                continue;
            }
            if is_frame(trimmed) {
                in_frames = true;
                continue;
            }
            if causes.is_empty() {
                if trimmed.is_empty() {
                    continue;
                }
                causes.push(parse_header(trimmed));
                continue;
            }
            if in_frames {
                // Text after frames that is not a new cause: ignore (e.g. a log suffix).
                continue;
            }
            let current = causes.last_mut().expect("a cause exists");
            if current.message.len() < MAX_MESSAGE_BYTES {
                if !current.message.is_empty() {
                    current.message.push('\n');
                }
                current.message.push_str(trimmed);
            }
        }
        for cause in &mut causes {
            if cause.message.len() > MAX_MESSAGE_BYTES {
                cause.message = truncate_bytes(&cause.message, MAX_MESSAGE_BYTES).to_string();
            }
        }
        Trace { causes }
    }

    /// The deepest cause: the one that matters most.
    pub fn root_cause(&self) -> Option<&Cause> {
        self.causes.last()
    }

    /// Causes from the root outwards, the order in which the policy judges them.
    pub fn deepest_first(&self) -> impl Iterator<Item = &Cause> {
        self.causes.iter().rev()
    }
}

fn is_frame(trimmed: &str) -> bool {
    trimmed.starts_with("at ") || (trimmed.starts_with("... ") && trimmed.ends_with(" more"))
}

/// Split `a.b.C: message` into class and message. The class part must look like a Java class
/// name (no spaces, at least one dot or an `Exception`/`Error` suffix); otherwise the whole
/// line is the message.
fn parse_header(line: &str) -> Cause {
    let (head, message) = match line.find(": ") {
        Some(i) => (&line[..i], line[i + 2..].to_string()),
        None => (line.trim_end_matches(':'), String::new()),
    };
    if looks_like_class(head) {
        Cause { class: head.to_string(), message: truncate_bytes(&message, MAX_MESSAGE_BYTES).to_string() }
    } else {
        Cause { class: String::new(), message: truncate_bytes(line, MAX_MESSAGE_BYTES).to_string() }
    }
}

fn looks_like_class(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 512
        && s.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '$' | '_'))
        && s.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && (s.contains('.') || s.ends_with("Exception") || s.ends_with("Error") || s.ends_with("Throwable"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real trace of the Confluent Elasticsearch sink whose Schema Registry lookup timed out.
    pub const SCHEMA_REGISTRY_TIMEOUT: &str = "org.apache.kafka.connect.errors.ConnectException: Tolerance exceeded in error handler
\tat org.apache.kafka.connect.runtime.errors.RetryWithToleranceOperator.execAndHandleError(RetryWithToleranceOperator.java:206)
\tat org.apache.kafka.connect.runtime.errors.RetryWithToleranceOperator.execute(RetryWithToleranceOperator.java:132)
\tat org.apache.kafka.connect.runtime.WorkerSinkTask.convertAndTransformRecord(WorkerSinkTask.java:496)
\tat java.base/java.lang.Thread.run(Thread.java:829)
Caused by: org.apache.kafka.connect.errors.DataException: Failed to deserialize data for topic orders to Avro: 
\tat io.confluent.connect.avro.AvroConverter.toConnectData(AvroConverter.java:124)
\tat org.apache.kafka.connect.runtime.WorkerSinkTask.lambda$convertAndTransformRecord$3(WorkerSinkTask.java:496)
\t... 13 more
Caused by: org.apache.kafka.common.errors.SerializationException: Error retrieving Avro value schema for id 42
\tat io.confluent.kafka.serializers.AbstractKafkaAvroDeserializer$DeserializationContext.schemaFromRegistry(AbstractKafkaAvroDeserializer.java:333)
\t... 17 more
Caused by: java.net.SocketTimeoutException: Read timed out
\tat java.base/java.net.SocketInputStream.socketRead0(Native Method)
\tat java.base/java.net.SocketInputStream.read(SocketInputStream.java:168)
\t... 30 more
";

    #[test]
    fn parses_the_caused_by_chain_outermost_first() {
        let trace = Trace::parse(SCHEMA_REGISTRY_TIMEOUT);
        let classes: Vec<&str> = trace.causes.iter().map(|c| c.class.as_str()).collect();
        assert_eq!(
            classes,
            [
                "org.apache.kafka.connect.errors.ConnectException",
                "org.apache.kafka.connect.errors.DataException",
                "org.apache.kafka.common.errors.SerializationException",
                "java.net.SocketTimeoutException",
            ]
        );
        assert_eq!(trace.causes[0].message, "Tolerance exceeded in error handler");
        let root = trace.root_cause().unwrap();
        assert_eq!(root.simple_class(), "SocketTimeoutException");
        assert_eq!(root.summary(), "java.net.SocketTimeoutException: Read timed out");
        assert_eq!(trace.deepest_first().next().unwrap().class, "java.net.SocketTimeoutException");
    }

    #[test]
    fn multi_line_messages_are_kept_and_frames_dropped() {
        let text = "org.apache.kafka.connect.errors.ConnectException: Bulk request failed: [{\"type\":\"mapper_parsing_exception\",
\"reason\":\"failed to parse field [price] of type [long]\"}]
\tat io.confluent.connect.elasticsearch.ElasticsearchClient.handleResponse(ElasticsearchClient.java:590)
\t... 5 more
";
        let trace = Trace::parse(text);
        assert_eq!(trace.causes.len(), 1);
        assert!(trace.causes[0].message.contains("mapper_parsing_exception"));
        assert!(trace.causes[0].message.contains("failed to parse field [price]"));
        assert!(!trace.causes[0].message.contains("ElasticsearchClient.java"));
        assert_eq!(trace.causes[0].summary(), "org.apache.kafka.connect.errors.ConnectException: Bulk request failed: [{\"type\":\"mapper_parsing_exception\",");
    }

    #[test]
    fn suppressed_blocks_are_not_part_of_the_chain() {
        let text = "java.io.IOException: outer
\tat A.b(A.java:1)
\tSuppressed: java.lang.IllegalStateException: while closing
\t\tat C.d(C.java:2)
\t\tCaused by: java.lang.RuntimeException: deep suppressed
Caused by: java.net.ConnectException: Connection refused
\tat E.f(E.java:3)
";
        let trace = Trace::parse(text);
        let classes: Vec<&str> = trace.causes.iter().map(|c| c.class.as_str()).collect();
        assert_eq!(classes, ["java.io.IOException", "java.net.ConnectException"]);
        assert_eq!(trace.root_cause().unwrap().message, "Connection refused");
    }

    #[test]
    fn classes_without_message_and_inner_classes() {
        let trace = Trace::parse("org.apache.kafka.common.errors.TimeoutException\nCaused by: com.example.Outer$InnerException: boom\n");
        assert_eq!(trace.causes[0].message, "");
        assert_eq!(trace.causes[0].summary(), "org.apache.kafka.common.errors.TimeoutException");
        assert_eq!(trace.causes[1].simple_class(), "InnerException");
    }

    #[test]
    fn text_that_is_not_a_trace_becomes_a_classless_cause() {
        let trace = Trace::parse("Task was killed: out of memory, see worker log\n");
        assert_eq!(trace.causes.len(), 1);
        assert_eq!(trace.causes[0].class, "");
        assert_eq!(trace.causes[0].message, "Task was killed: out of memory, see worker log");
        assert!(Trace::parse("").causes.is_empty());
        assert!(Trace::parse("\n\n").root_cause().is_none());
    }

    #[test]
    fn hostile_input_is_bounded() {
        let mut text = String::from("java.lang.Exception: start\n");
        for i in 0..10_000 {
            text.push_str(&format!("Caused by: java.lang.Exception: level {i}\n"));
        }
        let trace = Trace::parse(&text);
        assert_eq!(trace.causes.len(), MAX_CAUSES);
        let long = format!("java.lang.Exception: {}", "é".repeat(MAX_TRACE_BYTES));
        let trace = Trace::parse(&long);
        assert!(trace.causes[0].message.len() <= MAX_MESSAGE_BYTES);
    }
}
