//! Running a function process against a [`RuntimeApi`].

use super::RuntimeApi;
use crate::lock;
use std::{
    ffi::OsStr,
    io,
    path::Path,
    process::{ExitStatus, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::{
    io::{AsyncBufReadExt, AsyncRead, BufReader},
    process::{Child, Command},
    sync::Notify,
    time::Instant,
};

/// Variables a function process inherits from the test's environment; everything else is
/// cleared so that, as on Lambda, the function sees only what its test gives it.
pub const INHERITED_ENV_VARS: &[&str] = &[
    "PATH",
    "HOME",
    "TMPDIR",
    "LANG",
    "RUST_LOG",
    "NO_COLOR",
    "LD_LIBRARY_PATH",
    "DYLD_FALLBACK_LIBRARY_PATH",
    "SYSTEMROOT",
    "LLVM_PROFILE_FILE",
    "CARGO_LLVM_COV",
    "CARGO_LLVM_COV_TARGET_DIR",
];

/// Set (to the test's name) in a test binary re-executed by [`RuntimeApi::function_test_command`].
pub const FUNCTION_CHILD_ENV: &str = "SERVERLESS_SDK_TESTS_FUNCTION_CHILD";

/// When set to `1` in the test's environment, [`FunctionProcess`] also copies every output line
/// to the test's stderr, prefixed with the process id.
const ECHO_ENV: &str = "SERVERLESS_SDK_TESTS_ECHO";

/// Whether this process is the child that [`RuntimeApi::function_test_command`] started for
/// `test_name`: that test should then run the Lambda runtime loop instead of its test body.
///
/// ```no_run
/// use serverless_sdk_tests::runtime_api::is_function_child;
///
/// #[test]
/// fn echo_function() {
///     if !is_function_child("echo_function") {
///         return; // An ordinary test run: nothing to do.
///     }
///     // ... build a tokio runtime and run `lambda_runtime::run(...)` here.
/// }
/// ```
pub fn is_function_child(test_name: &str) -> bool {
    std::env::var_os(FUNCTION_CHILD_ENV).is_some_and(|name| name == OsStr::new(test_name))
}

impl RuntimeApi {
    /// A command running `program` as the function `function_name` against this server: a
    /// cleared environment except [`INHERITED_ENV_VARS`], plus [`RuntimeApi::function_env`];
    /// stdin null, stdout and stderr piped, killed on drop.
    pub fn function_command(&self, program: &Path, function_name: &str) -> Command {
        let mut command = Command::new(program);
        command.env_clear();
        for &name in INHERITED_ENV_VARS {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        command
            .envs(self.function_env(function_name))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// A [`RuntimeApi::function_command`] that re-executes the current test binary to run only
    /// the test `test_name` (its path within the test crate, e.g. `echo_function` or
    /// `functions::echo`), with [`FUNCTION_CHILD_ENV`] set so that [`is_function_child`] tells
    /// the test to act as the function.
    ///
    /// This runs a handler defined in a test under the real `lambda_runtime`, in its own process:
    /// `lambda_runtime` reads its configuration from environment variables, which a test must
    /// not modify in its own, multi-threaded process.
    ///
    /// # Errors
    ///
    /// If the path of the current executable is unknown.
    pub fn function_test_command(
        &self,
        test_name: &str,
        function_name: &str,
    ) -> io::Result<Command> {
        let executable = std::env::current_exe()?;
        let mut command = self.function_command(&executable, function_name);
        command
            .args([
                test_name,
                "--exact",
                "--nocapture",
                "--quiet",
                "--test-threads=1",
            ])
            .env(FUNCTION_CHILD_ENV, test_name);
        Ok(command)
    }

    /// Spawns [`RuntimeApi::function_command`] as a [`FunctionProcess`].
    ///
    /// # Errors
    ///
    /// If the process cannot be started.
    pub fn spawn_function(
        &self,
        program: &Path,
        function_name: &str,
    ) -> io::Result<FunctionProcess> {
        FunctionProcess::spawn(self.function_command(program, function_name))
    }
}

/// A running function process whose stdout and stderr are collected line by line.
///
/// Lines are decoded lossily as UTF-8 without their line terminator. Set
/// `SERVERLESS_SDK_TESTS_ECHO=1` to also copy them to the test's stderr while debugging.
/// The process is killed when this is dropped (if its command had `kill_on_drop`, which
/// [`RuntimeApi::function_command`] sets and [`FunctionProcess::spawn`] enforces).
#[derive(Debug)]
pub struct FunctionProcess {
    child: tokio::sync::Mutex<Child>,
    id: Option<u32>,
    stdout: Arc<Output>,
    stderr: Arc<Output>,
}

impl FunctionProcess {
    /// Spawns `command` with stdout and stderr piped and `kill_on_drop`, and starts collecting
    /// its output. Must be called within a tokio runtime.
    ///
    /// # Errors
    ///
    /// If the process cannot be started.
    pub fn spawn(mut command: Command) -> io::Result<FunctionProcess> {
        command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn()?;
        let id = child.id();
        let echo = std::env::var_os(ECHO_ENV).is_some_and(|value| value == "1");
        let stdout = collected(child.stdout.take(), echo.then(|| format!("[{id:?} out]")));
        let stderr = collected(child.stderr.take(), echo.then(|| format!("[{id:?} err]")));
        Ok(FunctionProcess {
            child: tokio::sync::Mutex::new(child),
            id,
            stdout,
            stderr,
        })
    }

    /// The OS process id, as of spawning.
    pub fn id(&self) -> Option<u32> {
        self.id
    }

    /// The stdout lines so far.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout.lines()
    }

    /// The stderr lines so far.
    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr.lines()
    }

    /// The SDK's own reports on stderr so far: the lines that are JSON objects with
    /// `"source": "serverless_sdk"` (each with a `kind`, a `level` and a `message`), parsed.
    pub fn sdk_reports(&self) -> Vec<serde_json::Value> {
        self.stderr
            .lines()
            .iter()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|report| report["source"] == "serverless_sdk")
            .collect()
    }

    /// The stdout so far, lines joined with `\n` (e.g. for
    /// [`parse_json_lines`](crate::otlp::parse_json_lines)).
    pub fn stdout_text(&self) -> String {
        self.stdout.lines().join("\n")
    }

    /// The stderr so far, lines joined with `\n`.
    pub fn stderr_text(&self) -> String {
        self.stderr.lines().join("\n")
    }

    /// The stdout so far, then the stderr so far ([`FunctionProcess::stdout_text`] and
    /// [`FunctionProcess::stderr_text`] joined with `\n`): all the process wrote, e.g. to
    /// check that a secret is nowhere in it.
    pub fn output_text(&self) -> String {
        format!("{}\n{}", self.stdout_text(), self.stderr_text())
    }

    /// Waits up to `timeout` for a stdout line matching `predicate` (including lines already
    /// seen) and returns it; `None` on timeout or if stdout closes without one.
    pub async fn wait_for_stdout(
        &self,
        predicate: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> Option<String> {
        self.stdout
            .wait_for_line(&predicate, Instant::now() + timeout)
            .await
    }

    /// Waits up to `timeout` for the process to exit, then (within the same timeout, at most
    /// two more seconds) for its output to be fully collected. `None` if it is still running.
    pub async fn wait_exit(&self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        let status = {
            let mut child = tokio::time::timeout_at(deadline, self.child.lock())
                .await
                .ok()?;
            tokio::time::timeout_at(deadline, child.wait())
                .await
                .ok()?
                .ok()?
        };
        let drain_deadline = deadline.min(Instant::now() + Duration::from_secs(2));
        self.stdout.wait_closed(drain_deadline).await;
        self.stderr.wait_closed(drain_deadline).await;
        Some(status)
    }

    /// Kills the process (SIGKILL on Unix) and reaps it; `Ok` if it had already exited.
    ///
    /// # Errors
    ///
    /// If the process cannot be signalled or waited for.
    pub async fn kill(&self) -> io::Result<()> {
        let mut child = self.child.lock().await;
        if child.try_wait()?.is_some() {
            return Ok(());
        }
        child.kill().await
    }

    /// Asks the process to stop with SIGTERM (what Lambda sends at shutdown), without waiting;
    /// follow with [`FunctionProcess::wait_exit`]. `Ok` if it had already exited.
    ///
    /// # Errors
    ///
    /// If `kill -TERM` cannot be run or fails.
    #[cfg(unix)]
    pub async fn terminate(&self) -> io::Result<()> {
        let mut child = self.child.lock().await;
        let (None, Some(id)) = (child.try_wait()?, child.id()) else {
            return Ok(());
        };
        let status = Command::new("kill")
            .args(["-TERM", &id.to_string()])
            .stdin(Stdio::null())
            .status()
            .await?;
        if status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "kill -TERM {id} failed: {status}"
            )))
        }
    }
}

/// The collected lines of one output stream.
#[derive(Debug, Default)]
struct Output {
    state: Mutex<OutputState>,
    changed: Notify,
}

#[derive(Debug, Default)]
struct OutputState {
    lines: Vec<String>,
    closed: bool,
}

impl Output {
    fn push(&self, line: String) {
        lock(&self.state).lines.push(line);
        self.changed.notify_waiters();
    }

    fn close(&self) {
        lock(&self.state).closed = true;
        self.changed.notify_waiters();
    }

    fn lines(&self) -> Vec<String> {
        lock(&self.state).lines.clone()
    }

    /// Waits until `check` returns `Some`, or until `deadline`.
    async fn wait_until<T>(
        &self,
        deadline: Instant,
        check: impl Fn(&OutputState) -> Option<T>,
    ) -> Option<T> {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            // Register before checking, so a change in between is not missed.
            changed.as_mut().enable();
            if let Some(found) = check(&lock(&self.state)) {
                return Some(found);
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return check(&lock(&self.state));
            }
        }
    }

    async fn wait_for_line(
        &self,
        predicate: &dyn Fn(&str) -> bool,
        deadline: Instant,
    ) -> Option<String> {
        self.wait_until(deadline, |state| {
            match state.lines.iter().find(|line| predicate(line)) {
                Some(line) => Some(Some(line.clone())),
                None if state.closed => Some(None),
                None => None,
            }
        })
        .await
        .flatten()
    }

    async fn wait_closed(&self, deadline: Instant) -> bool {
        self.wait_until(deadline, |state| state.closed.then_some(()))
            .await
            .is_some()
    }
}

/// The lines of `pipe`, collected as they come (see [`collect_lines`]); closed at once when
/// there is no pipe.
fn collected(
    pipe: Option<impl AsyncRead + Unpin + Send + 'static>,
    echo_prefix: Option<String>,
) -> Arc<Output> {
    let output = Arc::new(Output::default());
    match pipe {
        Some(pipe) => collect_lines(pipe, Arc::clone(&output), echo_prefix),
        None => output.close(),
    }
    output
}

/// Reads `pipe` line by line into `output` until EOF.
fn collect_lines(
    pipe: impl AsyncRead + Unpin + Send + 'static,
    output: Arc<Output>,
    echo_prefix: Option<String>,
) {
    tokio::spawn(async move {
        let mut reader = BufReader::new(pipe);
        let mut buffer = Vec::new();
        loop {
            buffer.clear();
            match reader.read_until(b'\n', &mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buffer);
                    let line = line.trim_end_matches(['\n', '\r']).to_owned();
                    if let Some(prefix) = &echo_prefix {
                        eprintln!("{prefix} {line}");
                    }
                    output.push(line);
                }
            }
        }
        output.close();
    });
}
