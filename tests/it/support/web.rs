//! A web chat visitor for tests: keeps the session cookie the server sets (by hand: reqwest's
//! cookie store would drop a `Secure` cookie over http) and sends it back.

use std::sync::Mutex;

use reqwest::StatusCode;
use serde_json::Value;

use super::TestApp;

/// One browser's worth of web chat: the session cookie, once the server has set one.
pub struct WebVisitor<'a> {
    app: &'a TestApp,
    /// `name=value` of the session cookie.
    cookie: Mutex<Option<String>>,
}

/// The `name=value` part of every `Set-Cookie` of `response`, with the whole header beside.
pub fn set_cookies(response: &reqwest::Response) -> Vec<(String, String)> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| {
            let pair = v.split(';').next().unwrap_or_default().trim().to_string();
            (pair, v.to_string())
        })
        .collect()
}

impl TestApp {
    /// A new visitor without a cookie.
    pub fn visitor(&self) -> WebVisitor<'_> {
        WebVisitor {
            app: self,
            cookie: Mutex::new(None),
        }
    }
}

impl WebVisitor<'_> {
    /// A visitor that sends `cookie` (`name=value`) as if the server had set it.
    pub fn with_cookie(mut self, cookie: &str) -> Self {
        self.cookie = Mutex::new(Some(cookie.to_string()));
        self
    }

    pub fn cookie(&self) -> Option<String> {
        self.cookie.lock().unwrap().clone()
    }

    /// The session id in the cookie (the part before the signature).
    pub fn session_id(&self) -> Option<String> {
        let cookie = self.cookie()?;
        let value = cookie.split_once('=')?.1;
        Some(value.split_once('.')?.0.to_string())
    }

    fn remember(&self, response: &reqwest::Response) {
        if let Some((pair, _)) = set_cookies(response)
            .into_iter()
            .find(|(pair, _)| pair.contains("rd_chat="))
        {
            *self.cookie.lock().unwrap() = Some(pair);
        }
    }

    async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        let mut request = self.app.client.post(self.app.url(path)).json(body);
        if let Some(cookie) = self.cookie() {
            request = request.header(reqwest::header::COOKIE, cookie);
        }
        let response = request.send().await.unwrap();
        self.remember(&response);
        response
    }

    /// `GET /` as this visitor.
    pub async fn open_page(&self) -> reqwest::Response {
        let mut request = self.app.client.get(self.app.url("/"));
        if let Some(cookie) = self.cookie() {
            request = request.header(reqwest::header::COOKIE, cookie);
        }
        let response = request.send().await.unwrap();
        self.remember(&response);
        response
    }

    pub async fn ask(&self, body: Value) -> reqwest::Response {
        self.post("/api/v1/ask", &body).await
    }

    pub async fn ask_json(&self, body: Value) -> Value {
        let response = self.ask(body).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// `POST /api/v1/feedback`: the status and the body.
    pub async fn feedback(&self, conversation_id: &Value, helpful: bool) -> (StatusCode, String) {
        let response = self
            .post(
                "/api/v1/feedback",
                &serde_json::json!({"conversation_id": conversation_id, "helpful": helpful}),
            )
            .await;
        (response.status(), response.text().await.unwrap())
    }
}
