//! Started from the desktop: a double-click on `clinicdesk.exe` in Explorer,
//! or the Linux desktop launcher (whose `.desktop` file passes
//! `--open-browser`). Then the console window stays open with the address,
//! the setup link and the data directory, and the default browser opens at
//! the right page. Started from a terminal, a script, a test or a service,
//! clinicdesk never opens a browser unless told to.
//!
//! How a desktop start is recognised:
//! * Windows: Explorer gives a console program a new console window that
//!   only it is attached to (`GetConsoleProcessList` counts 1), and passes no
//!   arguments. From `cmd` or `PowerShell` the shell shares the console (2 or
//!   more); a service has none (0).
//! * Linux: nothing is guessed. A missing terminal plus `$DISPLAY` also
//!   describes cron jobs, CI and test harnesses, so only the launcher's
//!   explicit `--open-browser` opens one.

/// What is known about how this process was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Launch {
    /// `--open-browser` (`Some(true)`) or `--no-browser` (`Some(false)`).
    pub browser_flag: Option<bool>,
    /// Started with no argument at all, as Explorer starts a program.
    pub bare: bool,
    /// The console window belongs to this process alone (Windows only).
    pub own_console: bool,
}

impl Launch {
    /// Reads the facts from the process; `browser_flag` comes from the command line.
    pub fn detect(browser_flag: Option<bool>) -> Self {
        Self {
            browser_flag,
            bare: std::env::args_os().len() <= 1,
            own_console: own_console(),
        }
    }

    /// Double-clicked: a bare start in a console window of its own.
    pub fn from_explorer(&self) -> bool {
        self.bare && self.own_console
    }

    /// Whether to open the default browser once the server listens. An
    /// explicit flag decides; otherwise only a start from Explorer does.
    pub fn opens_browser(&self) -> bool {
        self.browser_flag.unwrap_or_else(|| self.from_explorer())
    }

    /// Whether to wait for Enter before exiting with an error, so a window
    /// the desktop opened does not vanish before its message can be read.
    /// (Reading a closed or redirected standard input returns at once.)
    pub fn waits_before_closing(&self) -> bool {
        self.from_explorer() || self.browser_flag == Some(true)
    }
}

/// The page a person should see first: the setup link while no admin
/// exists, else the sign-in page.
pub fn first_page(base: &str, setup_token: Option<&str>) -> String {
    match setup_token {
        Some(token) => format!("{base}/setup#{token}"),
        None => format!("{base}/login"),
    }
}

/// Opens `url` in the default browser (`$BROWSER` if set), off the caller's
/// thread: on Linux `xdg-open` may take a while. A failure is printed, not
/// fatal: the address is on the console anyway.
pub fn open_browser(url: String) {
    std::thread::spawn(move || {
        if let Err(e) = opener::open_browser(&url) {
            // The URL may hold the setup token: console only, never the log.
            tracing::warn!(error = %e, "could not open the browser");
            println!("Could not open the browser; open {url} yourself.");
        }
    });
}

/// Keeps a desktop-opened window on screen until Enter is pressed.
pub fn wait_for_enter() {
    println!("Press Enter to close this window.");
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}

/// Closing the console window, signing out or shutting Windows down stops
/// the server as Ctrl-C does (requests finished, database checkpointed).
/// Windows ends a console program as soon as its handler returns, or five
/// seconds after the event at the latest, so the handler starts Rocket's
/// shutdown and then waits for `main` to return and end the process.
#[cfg(windows)]
#[allow(unsafe_code)]
pub fn stop_on_close(shutdown: rocket::Shutdown) {
    use windows_sys::Win32::System::Console::SetConsoleCtrlHandler;
    if ON_CLOSE.set(shutdown).is_err() {
        return;
    }
    // SAFETY: `on_close` is a plain function that lives as long as the
    // process and touches nothing but the `OnceLock` set just above.
    let added = unsafe { SetConsoleCtrlHandler(Some(on_close), 1) };
    if added == 0 {
        tracing::warn!("closing the window will end clinicdesk without its shutdown checkpoint");
    }
}

/// Ctrl-C stays with Rocket; other platforms have signals for the rest.
#[cfg(not(windows))]
pub fn stop_on_close(_shutdown: rocket::Shutdown) {}

/// The one piece of process-wide state: a console handler is a bare
/// function pointer, so the shutdown handle it triggers has to be global.
#[cfg(windows)]
static ON_CLOSE: std::sync::OnceLock<rocket::Shutdown> = std::sync::OnceLock::new();

#[cfg(windows)]
extern "system" fn on_close(event: u32) -> windows_sys::core::BOOL {
    use windows_sys::Win32::System::Console::{
        CTRL_CLOSE_EVENT, CTRL_LOGOFF_EVENT, CTRL_SHUTDOWN_EVENT,
    };
    if !matches!(
        event,
        CTRL_CLOSE_EVENT | CTRL_LOGOFF_EVENT | CTRL_SHUTDOWN_EVENT
    ) {
        return 0; // Ctrl-C and Ctrl-Break: the next handler (Rocket's).
    }
    if let Some(shutdown) = ON_CLOSE.get() {
        shutdown.clone().notify();
    }
    // Returning would end the process now; `main` ends it once stopped.
    loop {
        std::thread::park();
    }
}

#[cfg(windows)]
#[allow(unsafe_code)]
fn own_console() -> bool {
    use windows_sys::Win32::System::Console::GetConsoleProcessList;
    let mut ids = [0u32; 2];
    // SAFETY: `ids` is valid for writes of `ids.len()` (2) process ids, the
    // count passed; the call writes no more than that and returns how many
    // processes share the console (0 when there is none).
    let count = unsafe { GetConsoleProcessList(ids.as_mut_ptr(), 2) };
    count == 1
}

#[cfg(not(windows))]
fn own_console() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn launch(browser_flag: Option<bool>, bare: bool, own_console: bool) -> Launch {
        Launch {
            browser_flag,
            bare,
            own_console,
        }
    }

    #[test]
    fn a_bare_start_in_a_console_of_its_own_is_a_double_click_and_opens_the_browser() {
        let explorer = launch(None, true, true);
        assert!(explorer.from_explorer());
        assert!(explorer.opens_browser());
        assert!(explorer.waits_before_closing());
    }

    #[test]
    fn a_terminal_a_script_or_a_service_opens_no_browser() {
        // cmd or PowerShell share the console; a Linux terminal has no Explorer.
        assert!(!launch(None, true, false).opens_browser());
        // Any argument means someone typed or scripted it.
        assert!(!launch(None, false, true).opens_browser());
        // A service or a test harness: arguments, no console.
        assert!(!launch(None, false, false).opens_browser());
        assert!(!launch(None, false, false).waits_before_closing());
    }

    #[test]
    fn the_flags_win_over_detection() {
        assert!(launch(Some(true), false, false).opens_browser());
        assert!(launch(Some(true), false, false).waits_before_closing());
        assert!(!launch(Some(false), true, true).opens_browser());
    }

    #[test]
    fn the_first_page_is_the_setup_link_until_an_admin_exists() {
        let base = "http://127.0.0.1:8000";
        assert_eq!(
            first_page(base, Some("abc")),
            "http://127.0.0.1:8000/setup#abc"
        );
        assert_eq!(first_page(base, None), "http://127.0.0.1:8000/login");
    }
}
