//! [`DynamoDbStore`]: idempotency records in a DynamoDB table, written with conditional
//! expressions, the same layout as Powertools for AWS Lambda.

use std::{collections::HashMap, error::Error, fmt};

use aws_sdk_dynamodb::{
    Client,
    error::{DisplayErrorContext, SdkError},
    operation::put_item::PutItemError,
    types::{AttributeValue, ReturnValuesOnConditionCheckFailure},
};

use super::{
    error::StoreError,
    store::{PutOutcome, Record, RecordStatus, Store},
};

/// The condition of the in-progress write, as Powertools writes it: the key is free, or
/// its record expired, or its attempt is in progress past its in-progress expiry.
const CLAIM_CONDITION: &str = "attribute_not_exists(#id) OR #expiry < :now OR \
     (#status = :inprogress AND attribute_exists(#in_progress_expiry) AND \
     #in_progress_expiry < :now_in_millis)";

/// A [`Store`] in a DynamoDB table, through the AWS SDK for Rust client you pass in.
///
/// The table needs a string partition key (`id` unless renamed with
/// [`key_attr`](Self::key_attr)) and no sort key; enable TTL on `expiration` so DynamoDB
/// deletes expired records (see the [module docs](super) for the table definition). Each
/// attempt makes two calls: a conditional `PutItem` that claims the key (returning the
/// existing record in the same round trip when the condition fails), then `UpdateItem`
/// with the response, or `DeleteItem` if the function failed. `GetItem` (strongly
/// consistent) is used only when a store returned no record with a failed condition.
///
/// The function needs `dynamodb:PutItem`, `GetItem`, `UpdateItem` and `DeleteItem` on the
/// table.
///
/// ```no_run
/// use aws_sdk_dynamodb::config::{BehaviorVersion, Region};
/// use serverless_sdk::idempotency::{DynamoDbStore, Idempotency};
///
/// // Usually `aws_sdk_dynamodb::Client::new(&aws_config::load_defaults(..).await)` in `main`.
/// let config = aws_sdk_dynamodb::Config::builder()
///     .behavior_version(BehaviorVersion::latest())
///     .region(Region::new("eu-west-1"))
///     .build();
/// let store = DynamoDbStore::new(aws_sdk_dynamodb::Client::from_conf(config), "idempotency");
/// let idem = Idempotency::new(store).key_pointer("/orderId");
/// # let _ = idem;
/// ```
#[derive(Clone, Debug)]
pub struct DynamoDbStore {
    client: Client,
    table: String,
    attrs: Attributes,
}

/// The attribute names, Powertools' defaults unless renamed.
#[derive(Clone, Debug)]
struct Attributes {
    key: String,
    expiry: String,
    in_progress_expiry: String,
    status: String,
    data: String,
    validation: String,
}

impl Default for Attributes {
    fn default() -> Self {
        Self {
            key: "id".to_owned(),
            expiry: "expiration".to_owned(),
            in_progress_expiry: "in_progress_expiration".to_owned(),
            status: "status".to_owned(),
            data: "data".to_owned(),
            validation: "validation".to_owned(),
        }
    }
}

/// Setters of the attribute names, `$method(name)` renaming `Attributes::$field`, each with
/// its documentation.
macro_rules! attribute_setters {
    ($($(#[$doc:meta])* $method:ident => $field:ident;)*) => {
        $(
            $(#[$doc])*
            #[must_use]
            pub fn $method(mut self, name: impl Into<String>) -> Self {
                self.attrs.$field = name.into();
                self
            }
        )*
    };
}

impl DynamoDbStore {
    /// A store in `table`, through `client` (configured as you like: region, retries,
    /// the SDK's [`AwsSdkInterceptor`](crate::integrations::client::AwsSdkInterceptor) for CLIENT spans).
    ///
    /// ```
    /// # fn example(client: aws_sdk_dynamodb::Client) {
    /// let store = serverless_sdk::idempotency::DynamoDbStore::new(client, "idempotency");
    /// assert_eq!(store.table_name(), "idempotency");
    /// # }
    /// ```
    #[must_use]
    pub fn new(client: Client, table_name: impl Into<String>) -> Self {
        Self {
            client,
            table: table_name.into(),
            attrs: Attributes::default(),
        }
    }

    /// The table's name.
    ///
    /// ```
    /// # fn example(client: aws_sdk_dynamodb::Client) {
    /// let store = serverless_sdk::idempotency::DynamoDbStore::new(client, "t");
    /// assert_eq!(store.table_name(), "t");
    /// # }
    /// ```
    #[must_use]
    pub fn table_name(&self) -> &str {
        &self.table
    }

    attribute_setters! {
        /// The partition key attribute, a string (default `id`).
        ///
        /// ```
        /// # fn example(client: aws_sdk_dynamodb::Client) {
        /// let store = serverless_sdk::idempotency::DynamoDbStore::new(client, "t").key_attr("pk");
        /// # let _ = store;
        /// # }
        /// ```
        key_attr => key;

        /// The expiry attribute, a number of seconds since the Unix epoch: the table's TTL
        /// attribute (default `expiration`).
        ///
        /// ```
        /// # fn example(client: aws_sdk_dynamodb::Client) {
        /// let store = serverless_sdk::idempotency::DynamoDbStore::new(client, "t").expiry_attr("ttl");
        /// # let _ = store;
        /// # }
        /// ```
        expiry_attr => expiry;

        /// The in-progress expiry attribute, a number of milliseconds since the Unix epoch
        /// (default `in_progress_expiration`).
        ///
        /// ```
        /// # fn example(client: aws_sdk_dynamodb::Client) {
        /// let store = serverless_sdk::idempotency::DynamoDbStore::new(client, "t")
        ///     .in_progress_expiry_attr("lock_until");
        /// # let _ = store;
        /// # }
        /// ```
        in_progress_expiry_attr => in_progress_expiry;

        /// The status attribute, `INPROGRESS` or `COMPLETED` (default `status`).
        ///
        /// ```
        /// # fn example(client: aws_sdk_dynamodb::Client) {
        /// let store = serverless_sdk::idempotency::DynamoDbStore::new(client, "t").status_attr("state");
        /// # let _ = store;
        /// # }
        /// ```
        status_attr => status;

        /// The response attribute, the function's response as a JSON string (default `data`).
        ///
        /// ```
        /// # fn example(client: aws_sdk_dynamodb::Client) {
        /// let store = serverless_sdk::idempotency::DynamoDbStore::new(client, "t").data_attr("response");
        /// # let _ = store;
        /// # }
        /// ```
        data_attr => data;

        /// The payload validation hash attribute (default `validation`).
        ///
        /// ```
        /// # fn example(client: aws_sdk_dynamodb::Client) {
        /// let store = serverless_sdk::idempotency::DynamoDbStore::new(client, "t")
        ///     .validation_attr("payload_hash");
        /// # let _ = store;
        /// # }
        /// ```
        validation_attr => validation;
    }

    fn key(&self, key: &str) -> (String, AttributeValue) {
        (self.attrs.key.clone(), AttributeValue::S(key.to_owned()))
    }

    /// Reads a record from a DynamoDB item.
    fn record(&self, item: &HashMap<String, AttributeValue>) -> Result<Record, StoreError> {
        let a = &self.attrs;
        let string = |name: &str| match item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(s)) => Ok(Some(s.clone())),
            Some(_) => Err(malformed(name, "is not a string")),
        };
        let number = |name: &str| match item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::N(n)) => parse_number(n)
                .map(Some)
                .ok_or_else(|| malformed(name, "is not a non-negative number")),
            Some(_) => Err(malformed(name, "is not a number")),
        };
        let status = string(&a.status)?.ok_or_else(|| malformed(&a.status, "is missing"))?;
        Ok(Record {
            key: string(&a.key)?.ok_or_else(|| malformed(&a.key, "is missing"))?,
            status: RecordStatus::parse(&status)
                .ok_or_else(|| malformed(&a.status, "is neither INPROGRESS nor COMPLETED"))?,
            expiration: number(&a.expiry)?.ok_or_else(|| malformed(&a.expiry, "is missing"))?,
            in_progress_expiration: number(&a.in_progress_expiry)?,
            data: string(&a.data)?,
            validation: string(&a.validation)?,
        })
    }
}

/// A DynamoDB number as whole units: `1700000000`, or `1700000000.5` truncated.
fn parse_number(n: &str) -> Option<u64> {
    let whole = n.split_once('.').map_or(n, |(whole, _)| whole);
    whole.parse().ok()
}

fn number(n: u64) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

fn malformed(attribute: &str, problem: &str) -> StoreError {
    StoreError::new(format!(
        "malformed idempotency record: attribute `{attribute}` {problem}"
    ))
}

/// A failed DynamoDB call, with the SDK's full error context in its message (an
/// `SdkError` alone displays as little as "service error").
#[derive(Debug)]
struct DynamoDbError {
    operation: &'static str,
    message: String,
    source: Box<dyn Error + Send + Sync>,
}

impl fmt::Display for DynamoDbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DynamoDB {} failed: {}", self.operation, self.message)
    }
}

impl Error for DynamoDbError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&*self.source)
    }
}

fn sdk_error<E, R>(operation: &'static str, error: SdkError<E, R>) -> StoreError
where
    E: Error + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    StoreError::new(DynamoDbError {
        operation,
        message: DisplayErrorContext(&error).to_string(),
        source: Box::new(error),
    })
}

impl Store for DynamoDbStore {
    async fn put_in_progress(
        &self,
        record: &Record,
        now_ms: u64,
    ) -> Result<PutOutcome, StoreError> {
        let a = &self.attrs;
        let (key_name, key_value) = self.key(&record.key);
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(key_name, key_value)
            .item(&a.expiry, number(record.expiration))
            .item(
                &a.status,
                AttributeValue::S(record.status.as_str().to_owned()),
            );
        if let Some(t) = record.in_progress_expiration {
            put = put.item(&a.in_progress_expiry, number(t));
        }
        if let Some(v) = &record.validation {
            put = put.item(&a.validation, AttributeValue::S(v.clone()));
        }
        let result = put
            .condition_expression(CLAIM_CONDITION)
            .expression_attribute_names("#id", &a.key)
            .expression_attribute_names("#expiry", &a.expiry)
            .expression_attribute_names("#in_progress_expiry", &a.in_progress_expiry)
            .expression_attribute_names("#status", &a.status)
            .expression_attribute_values(":now", number(now_ms / 1000))
            .expression_attribute_values(":now_in_millis", number(now_ms))
            .expression_attribute_values(
                ":inprogress",
                AttributeValue::S(RecordStatus::InProgress.as_str().to_owned()),
            )
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(PutOutcome::Stored),
            Err(error) => match error.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    let existing = failed.item().map(|item| self.record(item)).transpose()?;
                    Ok(PutOutcome::Exists(existing))
                }
                _ => Err(sdk_error("PutItem", error)),
            },
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Record>, StoreError> {
        let (key_name, key_value) = self.key(key);
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(key_name, key_value)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        output.item().map(|item| self.record(item)).transpose()
    }

    async fn complete(&self, record: &Record) -> Result<(), StoreError> {
        let a = &self.attrs;
        let (key_name, key_value) = self.key(&record.key);
        let mut sets = vec!["#expiry = :expiry", "#status = :status"];
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(key_name, key_value)
            .expression_attribute_names("#expiry", &a.expiry)
            .expression_attribute_names("#status", &a.status)
            .expression_attribute_values(":expiry", number(record.expiration))
            .expression_attribute_values(
                ":status",
                AttributeValue::S(record.status.as_str().to_owned()),
            );
        if let Some(data) = &record.data {
            sets.push("#response_data = :response_data");
            update = update
                .expression_attribute_names("#response_data", &a.data)
                .expression_attribute_values(":response_data", AttributeValue::S(data.clone()));
        }
        if let Some(v) = &record.validation {
            sets.push("#validation_key = :validation_key");
            update = update
                .expression_attribute_names("#validation_key", &a.validation)
                .expression_attribute_values(":validation_key", AttributeValue::S(v.clone()));
        }
        update
            .update_expression(format!("SET {}", sets.join(", ")))
            .send()
            .await
            .map_err(|e| sdk_error("UpdateItem", e))?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let (key_name, key_value) = self.key(key);
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(key_name, key_value)
            .send()
            .await
            .map_err(|e| sdk_error("DeleteItem", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_parse_as_whole_units() {
        assert_eq!(parse_number("1700000000"), Some(1_700_000_000));
        assert_eq!(parse_number("1700000000.75"), Some(1_700_000_000));
        assert_eq!(parse_number("-1"), None);
        assert_eq!(parse_number("x"), None);
    }
}
