//! HTTP client of a runner's admin API: bearer token, timeouts, and errors that say which
//! runner failed how.

use std::time::Duration;

use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use shared::wire::ErrorBody;

use crate::exit::{CONFLICT, CliError, NOT_FOUND, REJECTED, UNREACHABLE};

pub struct Admin {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Admin {
    pub fn new(url: &str, token: Option<String>) -> Result<Admin, CliError> {
        let base = url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(CliError::usage(format!(
                "--url {url}: expected the runner's admin URL, e.g. http://127.0.0.1:7070"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(3))
            .build()
            .map_err(|e| CliError::new(crate::exit::FAILURE, e.to_string()))?;
        Ok(Admin { base, token, http })
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, CliError> {
        self.call(self.http.get(format!("{}{path}", self.base)), path)
            .await
    }

    /// POSTs `body` as JSON.
    pub async fn post<T: DeserializeOwned, B: serde::Serialize>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, CliError> {
        self.call(
            self.http.post(format!("{}{path}", self.base)).json(body),
            path,
        )
        .await
    }

    pub async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T, CliError> {
        self.call(self.http.delete(format!("{}{path}", self.base)), path)
            .await
    }

    /// POSTs raw bytes (an export), with a timeout fit for big bodies.
    pub async fn post_bytes<T: DeserializeOwned>(
        &self,
        path: &str,
        body: bytes::Bytes,
    ) -> Result<T, CliError> {
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .timeout(Duration::from_secs(600))
            .header(reqwest::header::CONTENT_TYPE, "application/x-ndjson")
            .body(body);
        self.call(req, path).await
    }

    /// GETs a raw body (an export).
    pub async fn get_bytes(&self, path: &str) -> Result<bytes::Bytes, CliError> {
        let req = self
            .http
            .get(format!("{}{path}", self.base))
            .timeout(Duration::from_secs(600));
        let resp = self.send(req).await?;
        let status = resp.status();
        if status.is_success() {
            return resp.bytes().await.map_err(|e| {
                CliError::new(REJECTED, format!("{} broke off {path}: {e}", self.base))
            });
        }
        Err(self.error(resp, path).await)
    }

    /// The admin URL this client talks to.
    pub fn url(&self) -> &str {
        &self.base
    }

    async fn send(&self, mut req: reqwest::RequestBuilder) -> Result<reqwest::Response, CliError> {
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        req.send().await.map_err(|e| {
            let why = if e.is_timeout() {
                "timed out".to_string()
            } else if e.is_connect() {
                "connection refused or unreachable".to_string()
            } else {
                e.to_string()
            };
            CliError::new(
                UNREACHABLE,
                format!("cannot reach the runner at {}: {why}; is it running, and is this its RUNNER_ADMIN_ADDR?", self.base),
            )
        })
    }

    async fn call<T: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
        path: &str,
    ) -> Result<T, CliError> {
        let resp = self.send(req).await?;
        let status = resp.status();
        if status.is_success() {
            return resp.json().await.map_err(|e| {
                CliError::new(
                    REJECTED,
                    format!(
                        "{} answered {path} with something this runnerctl does not understand: {e} (versions differ?)",
                        self.base
                    ),
                )
            });
        }
        Err(self.error(resp, path).await)
    }

    async fn error(&self, resp: reqwest::Response, path: &str) -> CliError {
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        let parsed = serde_json::from_str::<ErrorBody>(&body).ok();
        let msg = parsed
            .as_ref()
            .map(|b| b.message.clone())
            .unwrap_or_else(|| body.chars().take(300).collect());
        let hint = match status {
            StatusCode::UNAUTHORIZED => " (pass --token or set RUNNERCTL_TOKEN)",
            _ => "",
        };
        let code = match status {
            StatusCode::NOT_FOUND => NOT_FOUND,
            StatusCode::CONFLICT => CONFLICT,
            _ => REJECTED,
        };
        CliError::new(
            code,
            format!("{} answered {path} with {status}: {msg}{hint}", self.base),
        )
    }
}
