//! The browser harness for the UI tests: a private `chromedriver` on a free
//! loopback port driving a headless Debian Chromium with a fresh profile.
//! Dropping a `Browser` ends the browser session (Chromium exits) and kills
//! chromedriver, also when the test panicked.

mod driver;
mod emulate;

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::Value;

use self::driver::{capabilities, delete_session, start_driver, Setup};
use crate::helpers::TestApp;

/// The page-level message area of the UI.
const ALERT: &str = r#"[data-role="alert"]"#;

/// How long any wait for the page may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(30);

/// A headless Chromium driven through chromedriver; see the module docs.
pub struct Browser {
    pub client: Client,
    /// `http://127.0.0.1:<port>` of the test's server (or its alias, see `start_as`).
    pub base: String,
    /// Where Chromium saves downloads.
    downloads: PathBuf,
    driver: Child,
    driver_url: String,
    session: Option<String>,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the session makes chromedriver close Chromium; killing chromedriver
        // alone could leave the browser running. Both are best effort.
        if let Some(session) = &self.session {
            delete_session(&self.driver_url, session);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    /// Starts chromedriver and Chromium for the server of `app`.
    pub async fn start(app: &TestApp) -> Browser {
        Self::launch(app.base.clone(), None).await
    }

    /// Like `start`, but the browser reaches the server as `http://<host>:<port>`:
    /// Chromium resolves `host` to 127.0.0.1, so to the page it is not loopback.
    pub async fn start_as(app: &TestApp, host: &str) -> Browser {
        let port = app.base.rsplit(':').next().expect("a port in the base URL");
        Self::launch(format!("http://{host}:{port}"), Some(host)).await
    }

    async fn launch(base: String, alias: Option<&str>) -> Browser {
        let profile = tempfile::tempdir().expect("temp Chromium profile");
        let log = profile.path().join("chromedriver.log");
        let log_file = std::fs::File::create(&log).expect("chromedriver log file");
        let downloads = profile.path().join("downloads");
        std::fs::create_dir(&downloads).expect("create the downloads folder");

        let (mut driver, driver_url) = start_driver(&log_file, &log).await;

        let setup = Setup {
            profile: &profile.path().join("profile"),
            downloads: &downloads,
            alias,
        };
        let connected = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities(&setup))
            .connect(&driver_url)
            .await;
        let client = match connected {
            Ok(client) => client,
            Err(error) => {
                let _ = driver.kill();
                let _ = driver.wait();
                let output = std::fs::read_to_string(&log).unwrap_or_default();
                panic!("no WebDriver session: {error}; chromedriver log: {output}");
            }
        };
        let session = client.session_id().await.ok().flatten();
        Browser {
            client,
            base,
            downloads,
            driver,
            driver_url,
            session,
            _profile: profile,
        }
    }

    /// Opens `path` (which starts with `/`) of the test's server.
    pub async fn open(&self, path: &str) {
        let url = format!("{}{path}", self.base);
        self.client
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
        self.watch_page().await;
    }

    /// Reloads the current page.
    pub async fn reload(&self) {
        self.client.refresh().await.expect("reload");
        self.watch_page().await;
    }

    /// Records every message the page-level alert area shows, so a wait sees a
    /// message even when a later one (such as the admin's backup warning) replaces it
    /// fast; and every Content-Security-Policy violation from now on.
    async fn watch_page(&self) {
        self.js(&format!(
            "if (!window.__cspViolations) {{
               window.__cspViolations = [];
               document.addEventListener('securitypolicyviolation', (e) =>
                 window.__cspViolations.push(`${{e.violatedDirective}} ${{e.blockedURI}}`));
             }}
             const area = document.querySelector({ALERT});
             if (area && !window.__alertLog) {{
               window.__alertLog = [];
               const note = () => {{
                 if (!area.hidden && area.textContent) window.__alertLog.push(area.textContent);
               }};
               new MutationObserver(note).observe(area,
                 {{ childList: true, subtree: true, characterData: true, attributes: true }});
               note();
             }}",
            ALERT = js_string(ALERT)
        ))
        .await;
    }

    /// The Content-Security-Policy violations reported since the page was loaded.
    pub async fn csp_violations(&self) -> Vec<String> {
        let found = self.js("return window.__cspViolations || [];").await;
        serde_json::from_value(found).expect("a list of violations")
    }

    /// Waits until the page-level alert shows a message containing `text` (now, or
    /// since the last message this method matched).
    pub async fn wait_for_alert(&self, text: &str) {
        let predicate = format!(
            "const text = {text};
             const log = window.__alertLog || [];
             const seen = log.findIndex((message) => message.includes(text));
             if (seen >= 0) {{ log.splice(0, seen + 1); return true; }}
             const area = document.querySelector({ALERT});
             return !!area && !area.hidden && area.textContent.includes(text);",
            text = js_string(text),
            ALERT = js_string(ALERT)
        );
        self.wait_until(&predicate, &format!("the message {text:?}"))
            .await;
    }

    /// The path (and fragment) of the current URL.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("current URL");
        let mut path = url.path().to_owned();
        if let Some(fragment) = url.fragment() {
            path.push('#');
            path.push_str(fragment);
        }
        path
    }

    /// Waits for an element matching the CSS `selector`, or fails the test.
    pub async fn wait_for(&self, selector: &str) -> Element {
        let found = self
            .client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(selector))
            .await;
        self.ok(found, || format!("no element `{selector}`")).await
    }

    /// Waits for an element matching `selector` whose text contains `text`.
    pub async fn wait_for_in(&self, selector: &str, text: &str) -> Element {
        let index = format!(
            "return [...document.querySelectorAll({sel})].findIndex((e) => e.textContent.includes({txt}))",
            sel = js_string(selector),
            txt = js_string(text)
        );
        self.wait_until(
            &format!("{index} >= 0;"),
            &format!("`{selector}` containing {text:?}"),
        )
        .await;
        let found = self.js(&format!("{index};")).await.as_u64();
        let all = self.all(selector).await;
        match found.and_then(|i| all.into_iter().nth(usize::try_from(i).ok()?)) {
            Some(element) => element,
            None => {
                self.fail(&format!("`{selector}` containing {text:?} vanished"))
                    .await
            }
        }
    }

    /// Waits until the JavaScript function body `predicate` returns a truthy value,
    /// polling inside the page; `what` names the condition in the failure message.
    pub async fn wait_until(&self, predicate: &str, what: &str) {
        let script = format!(
            "const done = arguments[arguments.length - 1];
             const ready = () => {{ try {{ {predicate} }} catch (e) {{ return false; }} }};
             const start = Date.now();
             const tick = () => {{
               if (ready()) done(true);
               else if (Date.now() - start > {limit}) done(false);
               else setTimeout(tick, 50);
             }};
             tick();",
            limit = PATIENCE.as_millis() - 2_000
        );
        // The default script timeout (30 s) is longer than the in-page limit.
        let met = self.client.execute_async(&script, vec![]).await;
        let met = self.ok(met, || format!("waiting for {what}")).await;
        if met != true {
            self.fail(&format!(
                "gave up waiting for {what} (timed out, or the page went away)"
            ))
            .await;
        }
    }

    /// Waits until no element matches `selector`.
    pub async fn wait_gone(&self, selector: &str) {
        let predicate = format!("return !document.querySelector({});", js_string(selector));
        self.wait_until(&predicate, &format!("`{selector}` to disappear"))
            .await;
    }

    /// Every element matching `selector` now (no waiting).
    pub async fn all(&self, selector: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(selector))
            .await
            .unwrap_or_default()
    }

    /// Whether an element matching `selector` exists now (no waiting).
    pub async fn exists(&self, selector: &str) -> bool {
        !self.all(selector).await.is_empty()
    }

    /// Whether a displayed element matching `selector` exists now (no waiting).
    pub async fn visible(&self, selector: &str) -> bool {
        for element in self.all(selector).await {
            if element.is_displayed().await.unwrap_or(false) {
                return true;
            }
        }
        false
    }

    /// Asserts that the visible page text does not contain `text`.
    pub async fn assert_page_lacks(&self, text: &str, why: &str) {
        let page = self.page_text().await;
        assert!(
            !page.contains(text),
            "{why}: {text:?} is on the page:\n{page}"
        );
    }

    /// Asserts that no element matches `selector` now.
    pub async fn assert_absent(&self, selector: &str, why: &str) {
        assert!(!self.exists(selector).await, "{why}: `{selector}` exists");
    }

    /// Waits for `selector`, clears it and types `value` into it.
    pub async fn fill(&self, selector: &str, value: &str) {
        let field = self.wait_for(selector).await;
        let cleared = field.clear().await;
        self.ok(cleared, || format!("clear `{selector}`")).await;
        let typed = field.send_keys(value).await;
        self.ok(typed, || format!("type into `{selector}`")).await;
    }

    /// Waits for a `<select>` matching `selector` and picks the option with `value`.
    pub async fn select(&self, selector: &str, value: &str) {
        let field = self.wait_for(selector).await;
        let selected = field.select_by_value(value).await;
        self.ok(selected, || format!("select {value:?} in `{selector}`"))
            .await;
    }

    /// Sets the value of the form control `selector` by script and fires `input` and
    /// `change`, for controls that typing cannot fill portably (such as `type=date`).
    pub async fn set_value(&self, selector: &str, value: &str) {
        self.wait_for(selector).await;
        let script = format!(
            "const el = document.querySelector({});
             el.value = {};
             el.dispatchEvent(new Event('input', {{ bubbles: true }}));
             el.dispatchEvent(new Event('change', {{ bubbles: true }}));",
            js_string(selector),
            js_string(value)
        );
        self.js(&script).await;
    }

    /// Waits until the list table `table[data-list=NAME]` has finished loading
    /// (`ready`, `empty` or `error`) and returns that state.
    pub async fn wait_for_list(&self, name: &str) -> String {
        let selector = format!("table[data-list=\"{name}\"]");
        let predicate = format!(
            "const t = document.querySelector({}); return t && t.dataset.state && t.dataset.state !== 'loading';",
            js_string(&selector)
        );
        self.wait_until(&predicate, &format!("the {name} list to load"))
            .await;
        let state = self
            .js(&format!(
                "return document.querySelector({}).dataset.state;",
                js_string(&selector)
            ))
            .await;
        state.as_str().unwrap_or_default().to_owned()
    }

    /// The `data-id` of every row of the list table `table[data-list=NAME]` now.
    pub async fn row_ids(&self, name: &str) -> Vec<String> {
        let script = format!(
            "return [...document.querySelectorAll('table[data-list=\"{name}\"] tbody tr[data-id]')].map(r => r.dataset.id);"
        );
        let ids = self.js(&script).await;
        ids.as_array()
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| id.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Signs in through the login form and waits for the patients list.
    pub async fn sign_in(&self, email: &str, password: &str) {
        let form = r#"form[data-form="login"]"#;
        self.open("/login").await;
        self.fill_in(form, "email", email).await;
        self.fill_in(form, "password", password).await;
        self.submit(form).await;
        self.wait_for(r#"header.topbar:not([hidden]) [data-role="whoami"]"#)
            .await;
        // Staff and admins land on Today (once its board has loaded), a
        // `user` on the patients list; these tests start from the list.
        self.wait_until(
            "return location.pathname === '/patients' || !!document.querySelector('.board:not([data-state=\"loading\"])');",
            "the home screen after signing in",
        )
        .await;
        if self.path().await != "/patients" {
            self.nav("patients").await;
        }
        self.wait_for_list("patients").await;
    }

    /// Presses `key` on the element that has the keyboard focus.
    pub async fn press(&self, key: Key) {
        let focused = self.client.active_element().await;
        let focused = self
            .ok(focused, || "find the focused element".to_owned())
            .await;
        let pressed = focused.send_keys(&key).await;
        self.ok(pressed, || format!("press {key:?}")).await;
    }

    /// Fills the control named `name` in the form matching `form`.
    pub async fn fill_in(&self, form: &str, name: &str, value: &str) {
        self.fill(&format!("{form} [name=\"{name}\"]"), value).await;
    }

    /// Clicks the submit button of the form matching `form`.
    pub async fn submit(&self, form: &str) {
        self.click(&format!("{form} button[type=\"submit\"]")).await;
    }

    /// Clicks the main navigation link of `section` (`patients`, `doctors`, ...).
    /// On a phone-sized window the menu is folded: it is opened first, as a person would.
    pub async fn nav(&self, section: &str) {
        let link = format!("a[data-nav=\"{section}\"]");
        self.wait_for(&link).await;
        if !self.visible(&link).await && self.visible(r#"[data-action="menu"]"#).await {
            self.act("menu").await;
        }
        self.click(&link).await;
    }

    /// Clicks the (first) control with `data-action="ACTION"`.
    pub async fn act(&self, action: &str) {
        self.click(&format!("[data-action=\"{action}\"]")).await;
    }

    /// Waits for `selector` and clicks it.
    pub async fn click(&self, selector: &str) {
        let element = self.wait_for(selector).await;
        let clicked = element.click().await;
        self.ok(clicked, || format!("click `{selector}`")).await;
    }

    /// The text of the first element matching `selector` (waiting for it).
    pub async fn text(&self, selector: &str) -> String {
        let element = self.wait_for(selector).await;
        element.text().await.unwrap_or_default()
    }

    /// The visible text of the whole page now.
    pub async fn page_text(&self) -> String {
        let text = self
            .client
            .execute(
                "return document.body ? document.body.innerText : '';",
                vec![],
            )
            .await
            .expect("read the page text");
        text.as_str().unwrap_or_default().to_owned()
    }

    /// Runs a JavaScript function body in the page and returns its result.
    pub async fn js(&self, script: &str) -> Value {
        let result = self.client.execute(script, vec![]).await;
        self.ok(result, || format!("script failed: {script}")).await
    }

    /// Every key and value of `localStorage` and `sessionStorage` as one JSON object.
    pub async fn web_storage(&self) -> Value {
        self.js(
            "const dump = (s) => Object.fromEntries(Object.keys(s).map((k) => [k, s.getItem(k)]));
             return { local: dump(window.localStorage), session: dump(window.sessionStorage) };",
        )
        .await
    }

    /// The text of an open `alert`/`confirm`/`prompt` dialog, if one is open.
    pub async fn open_dialog(&self) -> Option<String> {
        match self.client.get_alert_text().await {
            Ok(text) => Some(text),
            Err(e) if e.is_no_such_alert() => None,
            Err(e) => self.fail(&format!("asking for an alert: {e}")).await,
        }
    }

    /// Waits until Chromium has finished saving a download; returns its file name and text.
    ///
    /// The file system cannot be watched from the page, so this polls the folder
    /// (every 50 ms, like `wait_until` polls the page) until a finished file is there.
    pub async fn wait_for_download(&self) -> (String, String) {
        let (name, bytes) = self.wait_for_download_bytes().await;
        match String::from_utf8(bytes) {
            Ok(text) => (name, text),
            Err(_) => self.fail(&format!("the download {name} is not text")).await,
        }
    }

    /// Like `wait_for_download`, for a file that is not text (a backup).
    pub async fn wait_for_download_bytes(&self) -> (String, Vec<u8>) {
        let mut tick = rocket::tokio::time::interval(Duration::from_millis(50));
        let found = rocket::tokio::time::timeout(PATIENCE, async {
            loop {
                tick.tick().await;
                if let Some(done) = finished_download(&self.downloads) {
                    return done;
                }
            }
        })
        .await;
        match found {
            Ok((name, text)) => (name, text),
            Err(_) => self.fail("no download finished").await,
        }
    }

    /// Saves a PNG of the viewport as `target/ui-screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("take a screenshot");
        let folder = screenshot_dir();
        std::fs::create_dir_all(&folder).expect("create the screenshot folder");
        std::fs::write(folder.join(format!("{name}.png")), png).expect("save the screenshot");
    }

    /// The value of `result`, or a failed test naming `what` and the error.
    async fn ok<T>(&self, result: Result<T, CmdError>, what: impl FnOnce() -> String) -> T {
        match result {
            Ok(value) => value,
            Err(error) => self.fail(&format!("{}: {error}", what())).await,
        }
    }

    /// Fails the test with `message`, the current URL and the page's visible text.
    pub async fn fail(&self, message: &str) -> ! {
        let url = self
            .client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default();
        let text = self
            .client
            .execute(
                "return document.body ? document.body.innerText : '';",
                vec![],
            )
            .await
            .map_or_else(
                |e| format!("(unreadable: {e})"),
                |t| t.as_str().unwrap_or_default().to_owned(),
            );
        panic!("{message}\nURL: {url}\npage text:\n{text}")
    }
}

/// The first download in `folder` that Chromium has finished (no `.crdownload`
/// part file left), with its text.
fn finished_download(folder: &Path) -> Option<(String, Vec<u8>)> {
    let names: Vec<String> = std::fs::read_dir(folder)
        .ok()?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect();
    // Chromium writes a download first to a hidden `.org.chromium.*` temp
    // file, then to `*.crdownload`, then renames it: only a plain name with
    // neither beside it is complete.
    let partial = |name: &String| name.ends_with(".crdownload") || name.starts_with('.');
    if names.iter().any(partial) {
        return None;
    }
    let name = names.into_iter().next()?;
    let bytes = std::fs::read(folder.join(&name)).ok()?;
    Some((name, bytes))
}

/// `target/ui-screenshots` (under `CARGO_TARGET_DIR` when that is set).
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"),
        PathBuf::from,
    );
    target.join("ui-screenshots")
}

/// `text` as a JavaScript string literal.
pub fn js_string(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

/// The selector of the row for record `id` in the list table `list`.
pub fn row(list: &str, id: &str) -> String {
    format!("table[data-list=\"{list}\"] tr[data-id=\"{id}\"]")
}
