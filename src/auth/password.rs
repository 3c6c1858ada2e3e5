//! Passwords: argon2id with OWASP parameters (19 MiB, 2 iterations, 1 lane —
//! argon2's defaults), and the strength rule every password must meet.
//!
//! Hashing costs tens of milliseconds of CPU and 19 MiB, so the async
//! functions here run it on threads of its own (`Hasher`), never on a
//! worker.

use std::sync::{mpsc, Arc, LazyLock, Mutex};
use std::time::Duration;

use rocket::tokio::sync::{oneshot, Semaphore, SemaphorePermit};

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;

use crate::error::ApiError;

/// Longest password accepted, in bytes (argon2 itself has no useful limit,
/// but the strength estimator's cost grows with length).
const MAX_BYTES: usize = 256;
const MIN_CHARS: usize = 8;

/// A hash of a random string, verified against when the account does not
/// exist so that "no such user" takes as long as "wrong password".
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash(&uuid::Uuid::new_v4().to_string()).unwrap_or_default());

/// The PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) for `password`.
pub fn hash(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("cannot hash a password: {e}"))
}

/// Whether `password` matches `phc`. A damaged hash never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

/// Runs argon2 off the async workers, on a few threads of its own. Each hash
/// holds 19 MiB. On Tokio's blocking pool every login could land on another
/// thread, and glibc keeps a freed 19 MiB block in that thread's arena for
/// reuse: the benchmark's bursts of 50 logins grew the server to 1.1–1.6 GiB
/// that it never gave back. On a fixed set of threads the memory stays at
/// about one block a thread. A request waits for a free thread up to `wait`,
/// then gets `503 busy`. Managed by Rocket; the threads end when it drops.
pub struct Hasher {
    permits: Semaphore,
    wait: Duration,
    jobs: Mutex<mpsc::Sender<Job>>,
}

type Job = Box<dyn FnOnce() + Send>;

impl Hasher {
    /// A hashing thread for every two cores (at least one): a burst of
    /// logins leaves the other half of the machine to everyone else's
    /// requests (with one a core, reads' p99 grew 4–7× during the
    /// benchmark's bursts). One thread still verifies tens of logins a second.
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Self::with_limits((cores / 2).max(1), Duration::from_secs(5))
    }

    pub fn with_limits(threads: usize, wait: Duration) -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads {
            let queue = Arc::clone(&queue);
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || loop {
                    // The guard is dropped before the job runs, so the
                    // other threads can take the next one.
                    let next = queue.lock().map(|queue| queue.recv());
                    match next {
                        Ok(Ok(job)) => job(),
                        // Every sender is gone: the server has stopped.
                        _ => return,
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password hashing thread");
            }
        }
        Self {
            permits: Semaphore::new(threads),
            wait,
            jobs: Mutex::new(jobs),
        }
    }

    async fn permit(&self) -> Result<SemaphorePermit<'_>, ApiError> {
        match rocket::tokio::time::timeout(self.wait, self.permits.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => {
                tracing::warn!("password hashing is saturated; a request was turned away");
                Err(ApiError::Busy {
                    retry_after: self.wait.as_secs().max(1),
                    detail: "The server is busy signing people in.",
                })
            }
        }
    }

    /// Runs `f` on a hashing thread once one is free.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let _permit = self.permit().await?;
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move || {
            // The request may have gone away meanwhile; nobody to tell.
            let _ = answer.send(f());
        });
        let sent = self
            .jobs
            .lock()
            .map_err(|_| ())
            .and_then(|jobs| jobs.send(job).map_err(|_| ()));
        let lost = || ApiError::Internal(anyhow::anyhow!("the password hashing threads are gone"));
        sent.map_err(|()| lost())?;
        answered.await.map_err(|_| lost())
    }

    /// `hash`, on a hashing thread.
    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        self.run(move || hash(&password))
            .await?
            .map_err(ApiError::Internal)
    }

    /// `verify`, on a hashing thread; with no stored hash, spends the same
    /// time on a dummy hash and answers `false`.
    pub async fn verify(&self, password: String, phc: Option<String>) -> Result<bool, ApiError> {
        self.run(move || match phc {
            Some(phc) => verify(&password, &phc),
            None => {
                verify(&password, &DUMMY_HASH);
                false
            }
        })
        .await
    }
}

impl Default for Hasher {
    fn default() -> Self {
        Self::new()
    }
}

/// The strength rule: 8+ characters, at most 256 bytes, not the email or the
/// name, and not guessable (zxcvbn score 2 or more: common passwords, keyboard
/// walks and dictionary words with digits are refused). The message says why.
pub fn check_strength(password: &str, email: &str, name: Option<&str>) -> Result<(), String> {
    if password.chars().count() < MIN_CHARS {
        return Err(format!("Choose a longer password: at least {MIN_CHARS} characters, such as three or four unrelated words."));
    }
    if password.len() > MAX_BYTES {
        return Err(format!("Choose a shorter password: at most {MAX_BYTES} bytes (about {MAX_BYTES} plain letters)."));
    }
    let lowered = password.to_lowercase();
    let local_part = email.split('@').next().unwrap_or(email);
    if lowered == email.to_lowercase()
        || lowered == local_part.to_lowercase()
        || name.is_some_and(|n| lowered == n.trim().to_lowercase())
    {
        return Err("Choose a password that is not your email or your name.".into());
    }
    let mut inputs = vec![email, local_part];
    inputs.extend(name);
    let estimate = zxcvbn::zxcvbn(password, &inputs);
    if (estimate.score() as u8) < 2 {
        let hint = estimate
            .feedback()
            .and_then(zxcvbn::feedback::Feedback::warning)
            .map(|w| format!(" {w}"))
            .unwrap_or_default();
        return Err(format!("This password is too easy to guess.{hint}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_and_nothing_else() {
        let phc = hash("correct horse battery 9").expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("correct horse battery 9", &phc));
        assert!(!verify("correct horse battery 8", &phc));
        assert!(!verify("anything", "not a hash"));
    }

    #[rocket::async_test]
    async fn past_its_bound_the_hasher_turns_work_away_instead_of_queueing_forever() {
        let hasher = Hasher::with_limits(1, Duration::from_millis(50));
        let _held = hasher.permit().await.expect("the one permit");
        let turned_away = hasher.verify("anything".into(), None).await;
        assert!(
            matches!(turned_away, Err(ApiError::Busy { .. })),
            "{turned_away:?}"
        );
    }

    #[rocket::async_test]
    async fn hashes_run_on_the_hashers_own_threads_and_verify() {
        let hasher = Hasher::with_limits(2, Duration::from_secs(5));
        let thread = hasher
            .run(|| std::thread::current().name().map(str::to_owned))
            .await
            .expect("ran");
        assert!(thread.is_some_and(|name| name.starts_with("argon2-")));
        let phc = hasher
            .hash("correct horse battery 9".into())
            .await
            .expect("hash");
        let right = hasher.verify("correct horse battery 9".into(), Some(phc.clone()));
        let wrong = hasher.verify("correct horse battery 8".into(), Some(phc));
        assert_eq!(
            (right.await.ok(), wrong.await.ok()),
            (Some(true), Some(false))
        );
    }

    #[test]
    fn weak_passwords_are_refused_with_a_reason() {
        for weak in [
            "short",
            "password123",
            "qwertyuiop",
            "12345678",
            "ada@clinic.test",
        ] {
            assert!(
                check_strength(weak, "ada@clinic.test", Some("Ada")).is_err(),
                "{weak}"
            );
        }
        assert!(check_strength(&"x".repeat(257), "ada@clinic.test", None).is_err());
        assert!(check_strength("correct horse battery 9", "ada@clinic.test", Some("Ada")).is_ok());
    }
}
