//! Headless Chromium for one test: `chromedriver` started on a port of its own choosing, one
//! WebDriver session with a fresh profile, and the page helpers the tests share. Drop kills
//! chromedriver's process group (chromedriver and the Chromium it started).
//!
//! The helpers panic with what they were looking for: they are test support.

use std::io::{BufRead as _, BufReader};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::eventually;

/// The window every test and screenshot sees.
pub const WINDOW: (u32, u32) = (1280, 900);

/// How long chromedriver may take to start and answer `/status`.
const DRIVER_START: Duration = Duration::from_secs(20);

/// How long a page may take to show what a test waits for.
pub const PAGE_TIMEOUT: Duration = Duration::from_secs(20);

/// A browser session and the chromedriver behind it.
pub struct Browser {
    client: Client,
    base_url: String,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and opens a headless Chromium whose relative addresses are under
    /// `base_url`.
    pub async fn open(base_url: &str) -> Self {
        let chromium = on_path("chromium");
        let chromedriver = on_path("chromedriver");
        let mut driver = Command::new(&chromedriver)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            // Its own group, so drop can end it and every Chromium process it started.
            .process_group(0)
            .spawn()
            .expect("start chromedriver");
        let port = driver_port(&mut driver);
        let driver_url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        eventually("chromedriver to answer /status", DRIVER_START, || async {
            let status: Value = http
                .get(format!("{driver_url}/status"))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            (status["value"]["ready"] == true).then_some(())
        })
        .await;

        let profile = tempfile::tempdir().expect("a temp dir for the browser profile");
        let args = vec![
            "--headless=new".to_owned(),
            // The tests run as root, where Chromium's sandbox cannot start.
            "--no-sandbox".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-gpu".to_owned(),
            "--no-first-run".to_owned(),
            "--hide-scrollbars".to_owned(),
            format!("--window-size={},{}", WINDOW.0, WINDOW.1),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": chromium, "args": args }),
        );
        let client = ClientBuilder::rustls()
            .expect("a WebDriver client")
            .capabilities(capabilities)
            .connect(&driver_url)
            .await
            .expect("open a Chromium session through chromedriver");
        Self {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
            driver,
            _profile: profile,
        }
    }

    /// Sizes the window so that the page itself (the viewport) is `width`×`height`: what a
    /// screenshot shows.
    pub async fn set_viewport(&self, width: u32, height: u32) {
        let frame = self
            .js("return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight];")
            .await;
        let extra = |i: usize| u32::try_from(frame[i].as_u64().unwrap_or(0)).unwrap_or(0);
        self.client
            .set_window_size(width + extra(0), height + extra(1))
            .await
            .expect("resize the window");
    }

    /// The WebDriver client, for what the helpers do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Opens `path` (under the base address, or an absolute address) and waits for it to load.
    /// The old document is marked first and the new one waited for: opening the address the
    /// browser is already on can return before the old page is gone, and typing into it then
    /// would be lost.
    pub async fn goto(&self, path: &str) {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base_url)
        };
        self.js("window.antpathOldPage = true;").await;
        self.client
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
        self.wait_for_next_page().await;
    }

    /// Signs in through the sign-in form, as a person types it.
    pub async fn sign_in(&self, email: &str, password: &str) {
        self.goto("/sign-in").await;
        self.type_into("#email", email).await;
        self.type_into("#password", password).await;
        self.click_through("form[action='/sign-in'] button[type=submit]")
            .await;
    }

    /// Types `text` into the field `css`, after clearing it.
    pub async fn type_into(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("clear a field");
        field
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Clicks the element `css`.
    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// The element `css`, waiting up to [`PAGE_TIMEOUT`] for it to appear.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        eventually(
            &format!("an element {css} on {}", self.path().await),
            PAGE_TIMEOUT,
            || async { self.client.find(Locator::Css(css)).await.ok() },
        )
        .await
    }

    /// Clicks `css`, a link or a form's button that leads to another page, and waits until
    /// that page has loaded (a click returns before the navigation it starts has finished).
    pub async fn click_through(&self, css: &str) {
        self.js("window.antpathOldPage = true;").await;
        self.click(css).await;
        self.wait_for_next_page().await;
    }

    /// Like [`Browser::click_through`], for the element the XPath `xpath` names (for "the
    /// button in the row whose first cell says …").
    pub async fn click_through_xpath(&self, xpath: &str) {
        self.js("window.antpathOldPage = true;").await;
        let element = eventually(&format!("an element {xpath}"), PAGE_TIMEOUT, || async {
            self.client.find(Locator::XPath(xpath)).await.ok()
        })
        .await;
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {xpath}: {e}"));
        self.wait_for_next_page().await;
    }

    /// Waits until the document that [`Browser::click_through`] marked has been replaced and
    /// the new one has loaded.
    async fn wait_for_next_page(&self) {
        let script =
            "return document.readyState === 'complete' && window.antpathOldPage === undefined;";
        eventually("the next page to load", PAGE_TIMEOUT, || async {
            let loaded = self.client.execute(script, Vec::new()).await.ok()?;
            (loaded == Value::Bool(true)).then_some(())
        })
        .await;
    }

    /// The session's CSRF token, read from the page's forms (every signed-in page has the
    /// sign-out form).
    pub async fn csrf(&self) -> String {
        self.attr("input[name=csrf]", "value")
            .await
            .expect("a csrf field on the page")
    }

    /// Signs out with the header's button.
    pub async fn sign_out(&self) {
        self.click_through("form[action='/sign-out'] button[type=submit]")
            .await;
    }

    /// Whether an element `css` is on the page now (no waiting).
    pub async fn has(&self, css: &str) -> bool {
        !self.all(css).await.is_empty()
    }

    /// The visible texts of every element `css` on the page now.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut texts = Vec::new();
        for element in self
            .client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_default()
        {
            texts.push(element.text().await.unwrap_or_default());
        }
        texts
    }

    async fn all(&self, css: &str) -> Vec<fantoccini::elements::Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_default()
    }

    /// The visible text of the element `css`, waiting for it to appear. Found and read in
    /// one try, so a page that reloads in between (a run's page does, once, when the run
    /// ends) is read again rather than failing on a stale element.
    pub async fn text(&self, css: &str) -> String {
        eventually(&format!("the text of {css}"), PAGE_TIMEOUT, || async {
            let element = self.client.find(Locator::Css(css)).await.ok()?;
            element.text().await.ok()
        })
        .await
    }

    /// The attribute `name` of the element `css` (`None` when it has none), waiting for the
    /// element like [`Browser::text`].
    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        eventually(&format!("the {name} of {css}"), PAGE_TIMEOUT, || async {
            let element = self.client.find(Locator::Css(css)).await.ok()?;
            element.attr(name).await.ok()
        })
        .await
    }

    /// The whole page's visible text.
    pub async fn page_text(&self) -> String {
        self.text("body").await
    }

    /// The current address's path (and query).
    pub async fn path(&self) -> String {
        let url = self
            .client
            .current_url()
            .await
            .expect("the current address");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// The HTTP status of the response that made the current page (Chromium's navigation
    /// timing entry).
    pub async fn status(&self) -> u16 {
        let status = self
            .js("return performance.getEntriesByType('navigation')[0].responseStatus;")
            .await;
        status
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or_else(|| panic!("no response status for the page: {status}"))
    }

    /// Runs `script` in the page; what it returns.
    pub async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("run a script in the page: {e}"))
    }

    /// Runs `script` in the page, or `None` when it could not run (the page was between two
    /// documents): for polling a page that may reload.
    pub async fn try_js(&self, script: &str) -> Option<Value> {
        self.client.execute(script, Vec::new()).await.ok()
    }

    /// Sends a urlencoded POST of `fields` to `path` from the page, with the browser's cookies,
    /// not following redirects, as a forged form would; the response's status (0 for a
    /// redirect, which `fetch` reports as opaque).
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> u16 {
        let fields: serde_json::Map<String, Value> = fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
            .collect();
        let script = "const [path, fields, done] = arguments; \
            fetch(path, { method: 'POST', body: new URLSearchParams(fields), redirect: 'manual', \
              credentials: 'same-origin' }) \
            .then(r => done(r.status), e => done(String(e)));";
        let status = self
            .client
            .execute_async(script, vec![Value::from(path), Value::Object(fields)])
            .await
            .unwrap_or_else(|e| panic!("POST {path} from the page: {e}"));
        status
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or_else(|| panic!("POST {path} from the page failed: {status}"))
    }

    /// The status of a GET of `path` from the page, with the browser's cookies, not following
    /// redirects (0 for a redirect).
    pub async fn get_status(&self, path: &str) -> u16 {
        let script = "const [path, done] = arguments; \
            fetch(path, { redirect: 'manual', credentials: 'same-origin' }) \
            .then(r => done(r.status), e => done(String(e)));";
        let status = self
            .client
            .execute_async(script, vec![Value::from(path)])
            .await
            .unwrap_or_else(|e| panic!("GET {path} from the page: {e}"));
        status
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or_else(|| panic!("GET {path} from the page failed: {status}"))
    }

    /// The value of the browser's cookie `name` for the current site.
    pub async fn cookie(&self, name: &str) -> String {
        self.client
            .get_named_cookie(name)
            .await
            .unwrap_or_else(|e| panic!("the cookie {name}: {e}"))
            .value()
            .to_owned()
    }

    /// Writes a PNG of the window to `path`.
    pub async fn screenshot(&self, path: &Path) {
        let png = self.client.screenshot().await.expect("a screenshot");
        std::fs::write(path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// Ends the browser session (Chromium closes); chromedriver stops on drop.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The group id is chromedriver's pid (it leads its own group).
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .status();
        let _ = self.driver.wait();
    }
}

/// Reads chromedriver's start line for the port it chose, then keeps draining its output so
/// it never blocks on a full pipe.
fn driver_port(driver: &mut Child) -> u16 {
    let stdout = driver.stdout.take().expect("chromedriver's stdout");
    let mut lines = BufReader::new(stdout).lines();
    let port = loop {
        let line = lines
            .next()
            .and_then(Result::ok)
            .expect("chromedriver exited before saying its port");
        if let Some(rest) = line.split("started successfully on port ").nth(1) {
            break rest
                .trim_end_matches('.')
                .parse::<u16>()
                .unwrap_or_else(|_| panic!("a port in chromedriver's line: {line}"));
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    port
}

/// The executable `name` on `PATH`; panics with how to install it.
fn on_path(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{name} is not installed: the dashboard's browser tests need Chromium and \
                 ChromeDriver (scripts/setup installs both: apt-get install chromium chromium-driver)"
            )
        })
}
