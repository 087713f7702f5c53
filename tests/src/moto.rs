//! moto, the AWS service emulator, in server mode: the real AWS SDK clients talk to it in
//! the tests that need S3 or DynamoDB.
//!
//! [`Moto::start`] runs `python3 -m moto.server`. Where `python3` cannot import `moto.server`,
//! the kit provisions it first (see [`moto_python`]): once per cargo target directory it
//! creates a virtual environment `<target>/moto-venv` and installs [`MOTO_REQUIREMENT`] there
//! with pip, then runs moto with that interpreter. So the tests need nothing but Python 3 (and
//! the package registry) on a fresh machine.
//!
//! [`Moto::dynamodb`] calls a DynamoDB operation without an AWS client, and
//! [`Moto::create_idempotency_table`] makes the table `serverless_sdk::idempotency` documents,
//! for the idempotency suite and the examples that use it.

use std::{
    env,
    fs::{self, File},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{Arc, Mutex, OnceLock, PoisonError},
    time::Duration,
};

use aws_smithy_runtime_api::client::{
    http::{
        HttpConnector as HttpConnectorTrait, HttpConnectorFuture, SharedHttpClient,
        SharedHttpConnector, http_client_fn,
    },
    orchestrator::{HttpRequest, HttpResponse},
    result::ConnectorError,
};
use aws_smithy_types::body::SdkBody;
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;

/// The moto release the kit runs, as a pip requirement.
pub const MOTO_REQUIREMENT: &str = "moto[server]==5.2.5";

/// How to install what [`Moto::start`] runs into the default `python3` by hand.
pub const MOTO_INSTALL: &str = "python3 -m pip install 'moto[server]==5.2.5'";

/// The access key id [`Moto::function_env`] gives functions (moto checks no signature).
pub const ACCESS_KEY_ID: &str = "AKIDMOTOKIT";

/// The secret key [`Moto::function_env`] gives functions: a test that a function's secrets
/// stay out of its telemetry looks for it there.
pub const SECRET_ACCESS_KEY: &str = "moto-kit-SECRET-3f9a1c";

/// The interpreter everything starts from.
const PYTHON: &str = "python3";

/// Written into an install directory once the install in it has succeeded; it holds
/// [`MOTO_REQUIREMENT`]. A directory without it is a half-finished install, started anew.
const MARKER: &str = "serverless-sdk-tests-moto-installed";

/// A Python interpreter that can import `moto.server`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MotoPython {
    /// The interpreter to run.
    pub program: PathBuf,
    /// A directory to put on `PYTHONPATH`: where moto was installed with `pip install
    /// --target` (when no virtual environment could be made).
    pub pythonpath: Option<PathBuf>,
}

impl MotoPython {
    /// A command running this interpreter with its `PYTHONPATH`.
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        if let Some(path) = &self.pythonpath {
            command.env("PYTHONPATH", path);
        }
        command
    }

    /// Whether `import moto.server` works.
    fn imports_moto(&self) -> bool {
        self.command()
            .args(["-c", "import moto.server"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }
}

/// The interpreter to run moto with, provisioning moto if need be.
///
/// 1. `python3`, when it imports `moto.server` (as after [`MOTO_INSTALL`], which `.ci/run`
///    does).
/// 2. Otherwise the virtual environment `<target>/moto-venv`, `<target>` being the cargo
///    target directory of the running binary (`CARGO_TARGET_DIR` when absolute, else the
///    nearest ancestor of the executable holding cargo's `CACHEDIR.TAG`). It is made with
///    `python3 -m venv` and gets [`MOTO_REQUIREMENT`] from pip, once: later runs find its
///    completion marker and reuse it.
/// 3. Where `venv` is unavailable, `pip install --target <target>/moto-site` and `python3`
///    with that directory on `PYTHONPATH`.
///
/// An install is done once per process (concurrent callers wait for the first) and once per
/// target directory (concurrent processes take turns on a file lock, and each re-checks what
/// the one before it left); a half-finished install, without its completion marker, is removed
/// and made anew.
///
/// # Errors
///
/// A message saying what was tried and how to install moto by hand.
pub fn moto_python() -> Result<MotoPython, String> {
    static FOUND: OnceLock<Result<MotoPython, String>> = OnceLock::new();
    FOUND.get_or_init(provision).clone()
}

fn provision() -> Result<MotoPython, String> {
    let system = MotoPython {
        program: PathBuf::from(PYTHON),
        pythonpath: None,
    };
    if system.imports_moto() {
        return Ok(system);
    }
    let target = target_dir();
    let installs = [Install::Venv, Install::PipTarget];
    let finished = || {
        installs
            .iter()
            .find_map(|install| install.finished(&target))
    };
    if let Some(found) = finished() {
        return Ok(found);
    }
    fs::create_dir_all(&target)
        .map_err(|err| format!("cannot create {}: {err}", target.display()))?;
    let lock_path = target.join("moto-install.lock");
    let lock = File::create(&lock_path)
        .and_then(|file| file.lock().map(|()| file))
        .map_err(|err| format!("cannot lock {}: {err}", lock_path.display()))?;
    // Another process may have installed moto while this one waited for the lock.
    let result = match finished() {
        Some(found) => Ok(found),
        None => Install::Venv.run(&target).or_else(|venv_error| {
            Install::PipTarget.run(&target).map_err(|pip_error| {
                format!(
                    "`python3` cannot import moto.server, and installing {MOTO_REQUIREMENT} \
                     failed.\nIn a virtual environment: {venv_error}\nWith pip --target: \
                     {pip_error}\nInstall it yourself with: {MOTO_INSTALL}"
                )
            })
        }),
    };
    drop(lock);
    result
}

/// The two ways the kit installs moto under the target directory.
#[derive(Debug, Clone, Copy)]
enum Install {
    /// A virtual environment `moto-venv`.
    Venv,
    /// `pip install --target moto-site`, used through `PYTHONPATH`.
    PipTarget,
}

impl Install {
    fn dir(self, target: &Path) -> PathBuf {
        match self {
            Install::Venv => target.join("moto-venv"),
            Install::PipTarget => target.join("moto-site"),
        }
    }

    fn python(self, target: &Path) -> MotoPython {
        let dir = self.dir(target);
        match self {
            Install::Venv => MotoPython {
                program: if cfg!(windows) {
                    dir.join("Scripts").join("python.exe")
                } else {
                    dir.join("bin").join("python")
                },
                pythonpath: None,
            },
            Install::PipTarget => MotoPython {
                program: PathBuf::from(PYTHON),
                pythonpath: Some(dir),
            },
        }
    }

    /// The interpreter of a completed install of [`MOTO_REQUIREMENT`], if there is one.
    fn finished(&self, target: &Path) -> Option<MotoPython> {
        let marker = fs::read_to_string(self.dir(target).join(MARKER)).ok()?;
        (marker == MOTO_REQUIREMENT).then(|| self.python(target))
    }

    /// Installs moto afresh, and marks the install complete once it imports.
    fn run(self, target: &Path) -> Result<MotoPython, String> {
        let dir = self.dir(target);
        if dir.exists() {
            fs::remove_dir_all(&dir)
                .map_err(|err| format!("cannot remove {}: {err}", dir.display()))?;
        }
        let python = self.python(target);
        let pip = [
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ];
        match self {
            Install::Venv => {
                run(Command::new(PYTHON).args(["-m", "venv"]).arg(&dir))?;
                run(python.command().args(pip).arg(MOTO_REQUIREMENT))?;
            }
            Install::PipTarget => {
                run(Command::new(PYTHON)
                    .args(pip)
                    .arg("--target")
                    .arg(&dir)
                    .arg(MOTO_REQUIREMENT))?;
            }
        }
        if !python.imports_moto() {
            return Err(format!(
                "{} still cannot import moto.server after the install",
                python.program.display()
            ));
        }
        fs::write(dir.join(MARKER), MOTO_REQUIREMENT)
            .map_err(|err| format!("cannot mark {} complete: {err}", dir.display()))?;
        Ok(python)
    }
}

/// Runs `command` to completion; its stderr in the error if it fails.
fn run(command: &mut Command) -> Result<(), String> {
    let shown = format!("{command:?}");
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|err| format!("`{shown}` cannot run: {err}"))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    Err(format!(
        "`{shown}` failed ({}):\n{}",
        output.status,
        tail.join("\n")
    ))
}

/// The cargo target directory the running binary was built in: `CARGO_TARGET_DIR` when it is
/// an absolute path, else the nearest ancestor of the executable holding the `CACHEDIR.TAG`
/// cargo writes there, else a directory under the system's temporary directory.
fn target_dir() -> PathBuf {
    if let Some(dir) = env::var_os("CARGO_TARGET_DIR").map(PathBuf::from)
        && dir.is_absolute()
    {
        return dir;
    }
    env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.ancestors()
                .skip(1)
                .find(|dir| dir.join("CACHEDIR.TAG").is_file())
                .map(Path::to_path_buf)
        })
        .unwrap_or_else(|| env::temp_dir().join("serverless_sdk_tests"))
}

/// moto in server mode on a free port of 127.0.0.1, stopped when dropped.
#[derive(Debug)]
pub struct Moto {
    endpoint: String,
    _child: tokio::process::Child,
}

impl Moto {
    /// Starts `moto.server` with [`moto_python`] (provisioning moto if `python3` lacks it)
    /// and waits (up to 60 s) until it answers.
    ///
    /// # Errors
    ///
    /// A message saying why moto could not start and how to install it.
    pub async fn start() -> Result<Moto, String> {
        let python = tokio::task::spawn_blocking(moto_python)
            .await
            .map_err(|err| format!("provisioning moto failed: {err}"))??;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let mut child = tokio::process::Command::from(python.command())
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
                    "the AWS emulator cannot start: `{}` is not runnable ({e}).\n\
                     Install Python 3 and moto: {MOTO_INSTALL}",
                    python.program.display()
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

    /// The `AWS_*` variables that point a function's AWS SDK clients at this emulator:
    /// `AWS_ENDPOINT_URL`, and the credentials [`ACCESS_KEY_ID`] and [`SECRET_ACCESS_KEY`].
    /// The region is the kit's, which every function is given already.
    ///
    /// ```no_run
    /// # async fn demo(moto: &serverless_sdk_tests::moto::Moto) {
    /// let mut env = vec![("IDEMPOTENCY_TABLE", "idempotency".to_owned())];
    /// env.extend(moto.function_env());
    /// let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    /// let function =
    ///     serverless_sdk_tests::function::Function::binary("target/debug/orders", "orders", &env)
    ///         .await;
    /// # let _ = function;
    /// # }
    /// ```
    #[must_use]
    pub fn function_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY.to_owned()),
        ]
    }

    /// Calls the DynamoDB operation `operation` (`"CreateTable"`, `"Scan"`, …) with `input`
    /// as the AWS SDKs send it (the JSON protocol, `X-Amz-Target: DynamoDB_20120810.<operation>`)
    /// and returns moto's answer. The request is made in [`REGION`](crate::runtime_api::REGION),
    /// the region the kit gives functions, so a function process pointed at this emulator
    /// (`AWS_ENDPOINT_URL`) sees the same tables.
    ///
    /// ```no_run
    /// # async fn demo(moto: &serverless_sdk_tests::moto::Moto) -> Result<(), String> {
    /// let scan = moto.dynamodb("Scan", &serde_json::json!({ "TableName": "idempotency" })).await?;
    /// println!("{} items", scan["Count"]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// A message with the operation, and moto's status and answer when it is not a success.
    pub async fn dynamodb(&self, operation: &str, input: &Value) -> Result<Value, String> {
        // moto finds the service and the region in the credential scope; it checks no
        // signature.
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/20240101/{}/dynamodb/aws4_request, \
             SignedHeaders=host;x-amz-target, Signature=0",
            crate::runtime_api::REGION
        );
        let request = http::Request::post(format!("{}/", self.endpoint))
            .header(http::header::CONTENT_TYPE, "application/x-amz-json-1.0")
            .header("x-amz-target", format!("DynamoDB_20120810.{operation}"))
            .header(http::header::AUTHORIZATION, authorization)
            .body(http_body_util::Full::new(bytes::Bytes::from(
                input.to_string(),
            )))
            .map_err(|e| format!("DynamoDB {operation}: {e}"))?;
        let response = crate::client::send(request)
            .await
            .map_err(|e| format!("DynamoDB {operation}: moto did not answer: {e}"))?;
        let status = response.status();
        let body = String::from_utf8_lossy(response.body());
        if !status.is_success() {
            return Err(format!("DynamoDB {operation}: {status} {body}"));
        }
        serde_json::from_str(&body)
            .map_err(|e| format!("DynamoDB {operation}: an answer that is not JSON ({e}): {body}"))
    }

    /// Creates the table `serverless_sdk::idempotency` documents: a string partition key
    /// `id`, no sort key, on-demand billing, TTL on `expiration`.
    ///
    /// ```no_run
    /// # async fn demo(moto: &serverless_sdk_tests::moto::Moto) -> Result<(), String> {
    /// moto.create_idempotency_table("idempotency").await?;
    /// // then IDEMPOTENCY_TABLE=idempotency, AWS_ENDPOINT_URL=moto.endpoint() for the function
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Moto::dynamodb`] (a table of that name exists already, for one).
    pub async fn create_idempotency_table(&self, name: &str) -> Result<(), String> {
        self.create_idempotency_table_with(name, "id", "expiration")
            .await
    }

    /// [`Moto::create_idempotency_table`] with the partition key attribute `key` and the TTL
    /// attribute `ttl`, for a `DynamoDbStore` whose attributes are renamed.
    ///
    /// ```no_run
    /// # async fn demo(moto: &serverless_sdk_tests::moto::Moto) -> Result<(), String> {
    /// moto.create_idempotency_table_with("idempotency-renamed", "pk", "ttl").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Moto::dynamodb`].
    pub async fn create_idempotency_table_with(
        &self,
        name: &str,
        key: &str,
        ttl: &str,
    ) -> Result<(), String> {
        self.dynamodb(
            "CreateTable",
            &json!({
                "TableName": name,
                "KeySchema": [{ "AttributeName": key, "KeyType": "HASH" }],
                "AttributeDefinitions": [{ "AttributeName": key, "AttributeType": "S" }],
                "BillingMode": "PAY_PER_REQUEST",
            }),
        )
        .await?;
        self.dynamodb(
            "UpdateTimeToLive",
            &json!({
                "TableName": name,
                "TimeToLiveSpecification": { "Enabled": true, "AttributeName": ttl },
            }),
        )
        .await?;
        Ok(())
    }
}

/// The HTTP client the AWS SDK for Rust uses in tests: plain HTTP to the emulator (no TLS
/// stack in the test build), through `service` — a `hyper_util` client from
/// [`hyper_client`], or one wrapped in tower layers of your own (the SDK's CLIENT-span
/// layer, for instance).
///
/// ```no_run
/// let http = serverless_sdk_tests::moto::aws_http_client(serverless_sdk_tests::moto::hyper_client());
/// // aws_sdk_s3::config::Builder::new().http_client(http)…
/// # let _ = http;
/// ```
pub fn aws_http_client<S: HttpService>(service: S) -> SharedHttpClient {
    let connector = SharedHttpConnector::new(Connector(service));
    http_client_fn(move |_settings, _components| connector.clone())
}

/// A plain-HTTP `hyper_util` client for [`aws_http_client`].
#[must_use]
pub fn hyper_client() -> Client<HttpConnector, SdkBody> {
    Client::builder(TokioExecutor::new()).build_http()
}

#[derive(Clone, Debug)]
struct Connector<S>(S);

/// An HTTP client service the AWS SDK can send its requests through: what
/// [`aws_http_client`] takes.
pub trait HttpService:
    tower_service::Service<
        http::Request<SdkBody>,
        Response = http::Response<Self::Body>,
        Future: Send + 'static,
        Error: std::error::Error + Send + Sync + 'static,
    > + Clone
    + Send
    + Sync
    + std::fmt::Debug
    + 'static
{
    /// The body of its responses.
    type Body: http_body::Body<Data = bytes::Bytes, Error: std::error::Error + Send + Sync + 'static>
        + Send
        + Sync
        + 'static;
}

impl<S, B> HttpService for S
where
    S: tower_service::Service<http::Request<SdkBody>, Response = http::Response<B>>
        + Clone
        + Send
        + Sync
        + std::fmt::Debug
        + 'static,
    S::Future: Send + 'static,
    S::Error: std::error::Error + Send + Sync + 'static,
    B: http_body::Body<Data = bytes::Bytes> + Send + Sync + 'static,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    type Body = B;
}

impl<S: HttpService> HttpConnectorTrait for Connector<S> {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let mut service = self.0.clone();
        HttpConnectorFuture::new(async move {
            let request = request
                .try_into_http1x()
                .map_err(|e| ConnectorError::user(e.into()))?;
            std::future::poll_fn(|cx| service.poll_ready(cx))
                .await
                .map_err(|e| ConnectorError::io(e.into()))?;
            let response = service
                .call(request)
                .await
                .map_err(|e| ConnectorError::io(e.into()))?;
            HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                .map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}
