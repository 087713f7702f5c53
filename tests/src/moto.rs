//! moto, the AWS service emulator, in server mode: the real AWS SDK clients talk to it in
//! the tests that need S3 or DynamoDB.

use std::{
    process::Stdio,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use tokio::io::AsyncBufReadExt;

/// How to install what [`Moto::start`] runs.
pub const MOTO_INSTALL: &str = "python3 -m pip install 'moto[server]==5.2.5'";

/// moto in server mode on a free port of 127.0.0.1, stopped when dropped.
#[derive(Debug)]
pub struct Moto {
    endpoint: String,
    _child: tokio::process::Child,
}

impl Moto {
    /// Starts `python3 -m moto.server` and waits (up to 60 s) until it answers.
    ///
    /// # Errors
    ///
    /// A message saying why moto could not start and how to install it.
    pub async fn start() -> Result<Moto, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let mut child = tokio::process::Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                format!(
                    "the AWS emulator cannot start: `python3` is not runnable ({e}).\n\
                     Install Python 3 and moto: {MOTO_INSTALL}"
                )
            })?;
        // moto logs every request on stderr: keep reading it so it never blocks.
        let log = Arc::new(Mutex::new(String::new()));
        if let Some(stderr) = child.stderr.take() {
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let mut lines = tokio::io::BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut log = log.lock().unwrap_or_else(PoisonError::into_inner);
                    if log.len() < 64 * 1024 {
                        log.push_str(&line);
                        log.push('\n');
                    }
                }
            });
        }
        let output = || log.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let endpoint = format!("http://127.0.0.1:{port}");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                tokio::time::sleep(Duration::from_millis(200)).await;
                return Err(format!(
                    "the AWS emulator (moto) exited with {status} before serving.\n\
                     Install it with: {MOTO_INSTALL}\nIts output:\n{}",
                    output()
                ));
            }
            let ready = crate::client::get(&format!("{endpoint}/moto-api/"))
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return Ok(Moto {
                    endpoint,
                    _child: child,
                });
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!(
                    "the AWS emulator (moto) did not answer on {endpoint} within 60 s.\nIts output:\n{}",
                    output()
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The emulator's base URL, for `endpoint_url` / `AWS_ENDPOINT_URL`.
    #[must_use]
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}
