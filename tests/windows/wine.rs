//! A fresh Wine prefix for the test, with the stand-in `bcryptprimitives.dll`
//! (see `bcryptprimitives.c`); its wineserver is ended when dropped.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// `wineboot -i` makes a prefix in about 20 s; a busy machine may need more.
const PREFIX_PATIENCE: Duration = Duration::from_secs(240);

/// Where `.ci/dist windows` leaves the executable (or `CLINICDESK_EXE`).
pub fn exe() -> PathBuf {
    let exe = std::env::var_os("CLINICDESK_EXE").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("dist/clinicdesk.exe"),
        PathBuf::from,
    );
    assert!(
        exe.is_file(),
        "no Windows build at {}: build it first with `bash .ci/dist windows` \
         (or point CLINICDESK_EXE at a clinicdesk.exe)",
        exe.display()
    );
    exe
}

/// A Wine prefix of our own, ready to run `clinicdesk.exe`.
pub struct Wine {
    loader: PathBuf,
    exe: PathBuf,
    prefix: tempfile::TempDir,
    session: Option<std::process::Child>,
}

impl Wine {
    /// Makes the prefix and installs the stand-in DLL. Panics, saying what
    /// to install, when Wine or MinGW is missing.
    pub fn prepare() -> Self {
        let exe = exe();
        // Debian's `wine` wrapper only execs this (and warns about wine32 first).
        let loader = [
            Path::new("/usr/lib/wine/wine64"),
            Path::new("/usr/bin/wine64"),
        ]
        .into_iter()
        .find(|p| p.is_file())
        .map_or_else(|| PathBuf::from("wine"), Path::to_path_buf);
        require(
            &loader,
            "--version",
            "wine (apt-get install --no-install-recommends wine wine64)",
        );
        require(
            Path::new("x86_64-w64-mingw32-gcc"),
            "--version",
            "MinGW (apt-get install gcc-mingw-w64-x86-64)",
        );
        let mut wine = Self {
            loader,
            exe,
            prefix: tempfile::tempdir().expect("temp dir for the Wine prefix"),
            session: None,
        };

        let mut boot = wine.tool("wineboot");
        boot.arg("-i");
        run_to_end(boot, "wineboot -i (making the Wine prefix)");
        // Until the boot's wineserver (and its services.exe) are gone: a
        // second service manager in one prefix answers for half the calls.
        let mut ended = wine.tool("wineserver");
        ended.arg("-w");
        run_to_end(ended, "wineserver -w");
        // Then one persistent wineserver for the whole test: one started by
        // clinicdesk.exe itself would inherit (and hold open) its output pipes.
        let mut server = wine.tool("wineserver");
        server.arg("-p");
        run_to_end(server, "wineserver -p");

        let system32 = wine.prefix.path().join("drive_c/windows/system32");
        assert!(system32.is_dir(), "wineboot made no {}", system32.display());
        let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/windows");
        let mut gcc = Command::new("x86_64-w64-mingw32-gcc");
        gcc.args(["-shared", "-O2", "-s", "-o"])
            .arg(system32.join("bcryptprimitives.dll"))
            .arg(here.join("bcryptprimitives.c"))
            .arg(here.join("bcryptprimitives.def"))
            .arg("-ladvapi32");
        run_to_end(
            gcc,
            "x86_64-w64-mingw32-gcc (the stand-in bcryptprimitives.dll)",
        );

        // A Windows session kept open by an idle cmd.exe. The first process
        // of a session starts services.exe and the other system processes,
        // which would inherit (and hold open) clinicdesk.exe's output pipes
        // if it were that process; and Wine ends them with the session's
        // last process, then boots them afresh (starting every automatic
        // service, the service database locked meanwhile) with the next.
        let mut idle = Command::new(&wine.loader);
        idle.arg("cmd.exe");
        wine.isolate(&mut idle);
        let idle = idle
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("wine cmd.exe starts");
        wine.session = Some(idle);
        // Returns once the session is up (its system processes started).
        let mut ready = Command::new(&wine.loader);
        ready.args(["cmd.exe", "/c", "ver"]);
        wine.isolate(&mut ready);
        run_to_end(ready, "wine cmd.exe /c ver");
        wine
    }

    /// `clinicdesk.exe args` under this prefix, isolated from the caller's `CLINICDESK_*`.
    pub fn clinicdesk<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(&self.loader);
        command.arg(&self.exe).args(args);
        self.isolate(&mut command);
        for (var, _) in std::env::vars_os() {
            if var.to_string_lossy().starts_with("CLINICDESK_") {
                command.env_remove(var);
            }
        }
        // Never a browser, whatever the detection says (the flag wins).
        command.env_remove("BROWSER");
        command
    }

    /// The prefix on the Linux side (`drive_c/...` is `C:\...`).
    pub fn prefix(&self) -> &Path {
        self.prefix.path()
    }

    fn tool(&self, name: &str) -> Command {
        let mut command = Command::new(name);
        self.isolate(&mut command);
        command
    }

    fn isolate(&self, command: &mut Command) {
        command
            .env("WINEPREFIX", self.prefix.path())
            .env("WINEDEBUG", "-all")
            // No Mono or Gecko installer prompts (nothing may be downloaded).
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY");
    }
}

impl Drop for Wine {
    fn drop(&mut self) {
        if let Some(mut idle) = self.session.take() {
            let _ = idle.kill();
            let _ = idle.wait();
        }
        // Ends this prefix's wineserver and every Windows process in it.
        let _ = self
            .tool("wineserver")
            .arg("-k")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The Windows form of a Linux path: Wine maps `/` to drive `Z:`.
pub fn windows_path(path: &Path) -> String {
    format!("Z:{}", path.display()).replace('/', "\\")
}

fn require(program: &Path, arg: &str, what: &str) {
    let found = Command::new(program)
        .arg(arg)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "the Windows smoke test needs {what}; `{}` did not run",
        program.display()
    );
}

/// Runs `command` to its end (output discarded) within `PREFIX_PATIENCE`.
fn run_to_end(mut command: Command, what: &str) {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let pid = child.id();
    let (done, finished) = mpsc::channel();
    thread::spawn(move || {
        let _ = done.send(child.wait());
    });
    match finished.recv_timeout(PREFIX_PATIENCE) {
        Ok(Ok(status)) => assert!(status.success(), "{what} failed: {status}"),
        Ok(Err(e)) => panic!("{what}: {e}"),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("{what} did not finish within {PREFIX_PATIENCE:?}");
        }
    }
}
