//! HTTP client of a runner's admin API: bearer token, timeouts, and errors that say which
//! runner failed how.

use std::time::Duration;

use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use shared::wire::ErrorBody;

use crate::exit::{CliError, REJECTED, UNREACHABLE};

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
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.map_err(|e| {
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
        })?;
        let status = resp.status();
        if status.is_success() {
            return resp.json().await.map_err(|e| {
                CliError::new(
                    REJECTED,
                    format!(
                        "{} answered {path} with something that is not a runner's status: {e}",
                        self.base
                    ),
                )
            });
        }
        let body = resp.text().await.unwrap_or_default();
        let msg = serde_json::from_str::<ErrorBody>(&body)
            .map(|b| b.message)
            .unwrap_or_else(|_| body.chars().take(300).collect());
        let hint = match status {
            StatusCode::UNAUTHORIZED => " (pass --token or set RUNNERCTL_TOKEN)",
            _ => "",
        };
        Err(CliError::new(
            REJECTED,
            format!("{} answered {path} with {status}: {msg}{hint}", self.base),
        ))
    }
}
