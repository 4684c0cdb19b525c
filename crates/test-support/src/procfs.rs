//! Memory figures of a process from Linux's `/proc/<pid>/status`, for the tests and benches that
//! bound or report memory (`VmHWM`: the peak resident size, what Lambda compares with a function's
//! memory; `VmRSS`: resident now).

/// `field` (`VmHWM`, `VmRSS`, ...) of process `pid`, KiB; `None` without procfs (not Linux), once
/// the process is gone, or when the field is missing.
pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
    field_kib(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?, field)
}

/// `field` of a `/proc/<pid>/status` text, KiB.
pub fn field_kib(status: &str, field: &str) -> Option<u64> {
    let value = status.lines().find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))?;
    value.trim().strip_suffix("kB")?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_read_from_proc_status() {
        let status = "Name:\tcost-etl\nVmPeak:\t  812340 kB\nVmHWM:\t   41236 kB\nVmRSS:\t   39000 kB\n";
        assert_eq!(field_kib(status, "VmHWM"), Some(41_236));
        assert_eq!(field_kib(status, "VmRSS"), Some(39_000));
        assert_eq!(field_kib(status, "VmHW"), None, "a field is matched whole");
        assert_eq!(field_kib("Name:\tx\n", "VmHWM"), None);
        if std::path::Path::new("/proc/self/status").exists() {
            assert!(status_kib(std::process::id(), "VmHWM").is_some_and(|kib| kib > 0));
        }
    }
}
