//! Screens and media the browser is told to pretend: a phone's or a
//! tablet's width, and paper. The `WebDriver` protocol has no command for
//! either, so they go to Chromium's `DevTools` protocol through
//! chromedriver's `POST /session/<id>/goog/cdp/execute`.

use serde_json::{json, Value};

use super::Browser;

impl Browser {
    /// Runs the `DevTools` command `cmd` with `params`; fails the test when it is refused.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        let session = self.session.as_deref().expect("a WebDriver session id");
        let url = format!("{}/session/{session}/goog/cdp/execute", self.driver_url);
        let body = json!({ "cmd": cmd, "params": params });
        let answer = reqwest::Client::new()
            .post(&url)
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{cmd}: {e}"));
        let status = answer.status();
        let value: Value = answer.json().await.unwrap_or_default();
        assert!(status.is_success(), "{cmd} answered {status}: {value}");
        value["value"].clone()
    }

    /// Lays the page out as a touch screen `width` CSS pixels wide (a phone at 390,
    /// a tablet at 768), as tall as a phone held upright.
    pub async fn emulate_width(&self, width: u32) {
        let metrics = json!({
            "width": width, "height": 844, "deviceScaleFactor": 1, "mobile": true,
        });
        self.cdp("Emulation.setDeviceMetricsOverride", metrics)
            .await;
        let predicate = format!("return window.innerWidth === {width};");
        self.wait_until(&predicate, &format!("a {width} px wide window"))
            .await;
    }

    /// Applies the print stylesheet to the page on screen (`@media print`).
    pub async fn emulate_print(&self) {
        self.cdp("Emulation.setEmulatedMedia", json!({ "media": "print" }))
            .await;
        self.wait_until(
            "return window.matchMedia('print').matches;",
            "the print media applied",
        )
        .await;
    }
}
