//! Optional backup encryption with a passphrase: the age format (scrypt key
//! derivation, ChaCha20-Poly1305 in authenticated chunks), so an encrypted
//! backup can also be opened with the standard `age` tool if clinicdesk
//! is ever gone. The passphrase lives in its own file (`backup_passphrase_file`),
//! never in the configuration.

use std::fs::File;
use std::io::{self, BufReader};
use std::path::Path;

use age::secrecy::SecretString;
use anyhow::Context;

use crate::config::Config;

/// The extension of an encrypted backup (`clinicdesk-….sqlite3.age`).
pub const EXTENSION: &str = "age";

/// The configured passphrase, if backups are to be encrypted.
pub fn configured_passphrase(config: &Config) -> anyhow::Result<Option<SecretString>> {
    config
        .backup_passphrase_file
        .as_deref()
        .map(read_passphrase_file)
        .transpose()
}

/// The first line of `path`; it must not be empty.
pub fn read_passphrase_file(path: &Path) -> anyhow::Result<SecretString> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the backup passphrase file {}", path.display()))?;
    let passphrase = text.lines().next().unwrap_or_default().to_owned();
    anyhow::ensure!(
        !passphrase.is_empty(),
        "the backup passphrase file {} is empty",
        path.display()
    );
    Ok(SecretString::from(passphrase))
}

/// Whether `path` is an encrypted backup (by its name).
pub fn is_encrypted(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == EXTENSION)
}

/// Encrypts `plain` into `out` (created, fsynced).
pub fn encrypt_file(plain: &Path, out: &Path, passphrase: &SecretString) -> anyhow::Result<()> {
    let encryptor = age::Encryptor::with_user_passphrase(passphrase.clone());
    let mut output =
        File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut writer = encryptor.wrap_output(&mut output)?;
    io::copy(&mut File::open(plain)?, &mut writer)?;
    writer.finish()?;
    output.sync_all()?;
    Ok(())
}

/// Decrypts `encrypted` into `out`; a wrong passphrase is a clear error.
pub fn decrypt_file(encrypted: &Path, out: &Path, passphrase: &SecretString) -> anyhow::Result<()> {
    let input = BufReader::new(File::open(encrypted)?);
    let decryptor = age::Decryptor::new_buffered(input).map_err(|e| {
        anyhow::anyhow!(
            "{} is not an encrypted clinicdesk backup: {e}",
            encrypted.display()
        )
    })?;
    let identity = age::scrypt::Identity::new(passphrase.clone());
    let mut reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::DecryptionFailed
            | age::DecryptError::KeyDecryptionFailed
            | age::DecryptError::NoMatchingKeys => {
                anyhow::anyhow!("the passphrase does not open {}", encrypted.display())
            }
            other => anyhow::anyhow!("cannot decrypt {}: {other}", encrypted.display()),
        })?;
    let mut output =
        File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    io::copy(&mut reader, &mut output).with_context(|| {
        format!(
            "{} is damaged: its contents do not authenticate",
            encrypted.display()
        )
    })?;
    output.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_round_trips_with_its_passphrase_and_not_with_another() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (plain, sealed, opened) = (
            dir.path().join("p"),
            dir.path().join("p.age"),
            dir.path().join("o"),
        );
        std::fs::write(&plain, b"patient records").expect("write");
        let passphrase = SecretString::from("a long backup passphrase".to_owned());
        encrypt_file(&plain, &sealed, &passphrase).expect("encrypt");
        assert_ne!(std::fs::read(&sealed).expect("read"), b"patient records");

        let wrong = SecretString::from("another passphrase".to_owned());
        let refused = decrypt_file(&sealed, &opened, &wrong).expect_err("wrong passphrase");
        assert!(refused.to_string().contains("does not open"), "{refused}");

        decrypt_file(&sealed, &opened, &passphrase).expect("decrypt");
        assert_eq!(std::fs::read(&opened).expect("read"), b"patient records");
    }
}
