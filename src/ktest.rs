//! Reading the report the `ktest` kernel prints after `run`:
//!
//! ```text
//! test NAME ... ok
//! test NAME ... FAILED: MESSAGE
//! ktest: N passed, M failed
//! ```
//!
//! A case whose line has no verdict (the kernel panicked or hung mid-case) counts as
//! failed, with the lines that followed it as the message. Lines that are neither
//! case lines nor the summary (boot noise, logs) are ignored.

/// One in-kernel test case and its verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub name: String,
    /// Ok, or the kernel's failure message.
    pub result: Result<(), String>,
}

/// Everything `ktest` reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Cases in the order they ran.
    pub cases: Vec<Case>,
    /// (passed, failed) from the summary line, if it was printed.
    pub summary: Option<(usize, usize)>,
}

impl Report {
    /// Cases that passed.
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.result.is_ok()).count()
    }

    /// Cases that failed.
    pub fn failed(&self) -> usize {
        self.cases.len() - self.passed()
    }

    /// Checks the summary line against the case lines; Err says what disagrees.
    pub fn check_summary(&self) -> Result<(), String> {
        let (passed, failed) = (self.passed(), self.failed());
        match self.summary {
            None => Err(format!(
                "no `ktest: N passed, M failed` line (saw {passed} passed, {failed} failed cases)"
            )),
            Some(summary) if summary != (passed, failed) => Err(format!(
                "summary says {} passed, {} failed; case lines say {passed} passed, {failed} failed",
                summary.0, summary.1
            )),
            Some(_) => Ok(()),
        }
    }
}

/// Parses ktest's output (carriage returns already removed).
pub fn parse(text: &str) -> Report {
    let lines: Vec<&str> = text.lines().collect();
    let mut report = Report::default();
    for (i, line) in lines.iter().enumerate() {
        if let Some(summary) = summary(line) {
            report.summary = Some(summary);
        } else if let Some((name, verdict)) = case(line) {
            let result = verdict_of(verdict).unwrap_or_else(|| {
                let rest = lines[i + 1..]
                    .iter()
                    .take_while(|l| case(l).is_none() && summary(l).is_none());
                // A verdict may arrive on a later line when the case printed logs.
                match rest.clone().find_map(|l| verdict_of(l.trim())) {
                    Some(result) => result,
                    None => Err(no_verdict(verdict, rest.copied().collect())),
                }
            });
            report.cases.push(Case {
                name: name.to_string(),
                result,
            });
        }
    }
    report
}

/// `test NAME ... REST` → (NAME, REST).
fn case(line: &str) -> Option<(&str, &str)> {
    let (name, rest) = line.strip_prefix("test ")?.split_once(" ...")?;
    Some((name.trim(), rest.trim()))
}

/// `ktest: N passed, M failed` → (N, M).
fn summary(line: &str) -> Option<(usize, usize)> {
    let (passed, failed) = line
        .trim()
        .strip_prefix("ktest: ")?
        .split_once(" passed, ")?;
    Some((
        passed.parse().ok()?,
        failed.strip_suffix(" failed")?.parse().ok()?,
    ))
}

/// `ok` or `FAILED: MESSAGE`; None for anything else.
fn verdict_of(text: &str) -> Option<Result<(), String>> {
    if text == "ok" {
        return Some(Ok(()));
    }
    let message = text.strip_prefix("FAILED")?;
    let message = message.trim_start_matches(':').trim();
    Some(Err(if message.is_empty() {
        "FAILED (no message)".to_string()
    } else {
        message.to_string()
    }))
}

/// The message for a case that never got a verdict.
fn no_verdict(same_line: &str, following: Vec<&str>) -> String {
    let mut printed: Vec<&str> = Some(same_line).into_iter().chain(following).collect();
    printed.retain(|l| !l.trim().is_empty());
    if printed.is_empty() {
        "no verdict: the kernel printed nothing more".to_string()
    } else {
        format!("no verdict; the kernel printed:\n{}", printed.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ok_and_failed_cases_and_the_summary_are_read() {
        let report = parse(
            "INFO : boot noise\nktest: ready\ntest frame::alloc ... ok\n\
             test heap::big ... FAILED: expected 4, got 5\nktest: 1 passed, 1 failed\n",
        );
        assert_eq!(report.cases.len(), 2);
        assert_eq!(report.cases[0].name, "frame::alloc");
        assert_eq!(report.cases[0].result, Ok(()));
        assert_eq!(report.cases[1].result, Err("expected 4, got 5".to_string()));
        assert_eq!(report.summary, Some((1, 1)));
        assert_eq!(report.check_summary(), Ok(()));
    }

    #[test]
    fn a_panic_mid_case_fails_that_case_with_the_panic_line() {
        let report = parse("test a ... ok\ntest b ... KERNEL PANIC: boom at x.rs:3\n");
        assert_eq!(report.cases[1].name, "b");
        let message = report.cases[1].result.clone().unwrap_err();
        assert!(
            message.contains("KERNEL PANIC: boom at x.rs:3"),
            "{message}"
        );
        assert!(report.check_summary().is_err());
    }

    #[test]
    fn logs_between_a_case_and_its_verdict_are_skipped() {
        let report =
            parse("test a ... \nsome log line\nok\ntest b ... ok\nktest: 2 passed, 0 failed\n");
        assert_eq!(report.passed(), 2);
        assert_eq!(report.check_summary(), Ok(()));
    }

    #[test]
    fn a_summary_that_disagrees_with_the_cases_is_caught() {
        let report = parse("test a ... ok\nktest: 2 passed, 0 failed\n");
        assert!(
            report
                .check_summary()
                .unwrap_err()
                .contains("summary says 2 passed")
        );
    }

    #[test]
    fn nothing_at_all_has_no_summary() {
        let report = parse("");
        assert!(report.cases.is_empty());
        assert!(report.check_summary().unwrap_err().contains("no `ktest:"));
    }
}
