//! Custom errors for Step Functions: the seed's `CreateAccount` task. When the username is
//! taken, the function fails with `AccountAlreadyExistsException`, and Lambda reports
//! `{"errorType": "AccountAlreadyExistsException", "errorMessage": "Account is in use!"}`: the
//! error's short type name, as Python's simple class name, so the state machine's `Catch`
//! rule matches it and moves on to `SuggestAccountName`:
//!
//! ```json
//! {
//!   "StartAt": "CreateAccount",
//!   "States": {
//!     "CreateAccount": {
//!       "Type": "Task",
//!       "Resource": "arn:aws:lambda:us-east-1:123456789012:function:CreateAccount",
//!       "Next": "SendWelcomeEmail",
//!       "Catch": [
//!         { "ErrorEquals": ["AccountAlreadyExistsException"], "Next": "SuggestAccountName" }
//!       ]
//!     }
//!   }
//! }
//! ```
//!
//! Nothing in the handler mentions the name: `#[serverless_handler]` reports an `Err` with the
//! error type's short name. Implement `serverless_sdk::ErrorType` to choose another one (one
//! name per enum variant, say). An event that does not fit `NewAccount` fails with
//! `Runtime.UnmarshalError`, as AWS's own runtimes do.
//!
//! # Run it locally
//!
//! ```sh
//! cargo lambda watch                      # in one terminal, at the workspace root
//! cargo lambda invoke create_account --data-file tests/fixtures/create-account.json        # {"username":"carol","created":true}
//! cargo lambda invoke create_account --data-file tests/fixtures/create-account-taken.json  # errorType AccountAlreadyExistsException
//! ```
//!
//! # Telemetry
//!
//! The root span is named after the function, with `serverless.tag.username` and a child span
//! `db.username_taken` (plus `db.insert_account` on success). For a taken name:
//! `serverless.outcome = error:unhandled`, status ERROR, and an `exception` event with
//! `exception.type = AccountAlreadyExistsException`, `exception.message = Account is in use!`,
//! `exception.handled = false`.
//!
//! Build it for Lambda with `cargo lambda build --release --bin create_account`.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};
use serverless_sdk::{serverless_handler, span, tag_event};

/// The seed's `class AccountAlreadyExistsException(Exception)`.
#[derive(Debug, thiserror::Error)]
#[error("Account is in use!")]
struct AccountAlreadyExistsException;

/// The task's input.
#[derive(Debug, serde::Deserialize)]
struct NewAccount {
    username: String,
    email: String,
}

/// Usernames already in the accounts table.
const EXISTING: &[&str] = &["alice", "admin"];

#[serverless_handler]
async fn create_account(
    event: LambdaEvent<NewAccount>,
) -> Result<Value, AccountAlreadyExistsException> {
    let account = event.payload;
    tag_event("username", &account.username, None);
    if username_taken(&account.username).await {
        return Err(AccountAlreadyExistsException);
    }
    insert_account(&account).await;
    Ok(json!({ "username": account.username, "created": true }))
}

#[span("db.username_taken")]
async fn username_taken(username: &str) -> bool {
    EXISTING.contains(&username)
}

#[span("db.insert_account")]
async fn insert_account(account: &NewAccount) {
    let _row = (&account.username, &account.email);
}

#[tokio::main]
async fn main() -> Result<(), serverless_sdk::Error> {
    serverless_sdk::run(service_fn(create_account)).await
}
