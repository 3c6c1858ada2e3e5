//! HTTPS on the clinic's network. Patient data must not cross the LAN in
//! clear text, so a server reachable from other machines speaks TLS unless
//! someone explicitly asks for `--insecure-http`:
//!
//! - `--tls-cert`/`--tls-key`: the clinic's own certificate, always used;
//! - otherwise, on a non-loopback address (or with `tls = "on"`), a
//!   self-signed certificate for this machine's name and addresses, made
//!   once and kept in `<data dir>/tls/`; its SHA-256 fingerprint is printed
//!   so staff can check what their browser shows before trusting it;
//! - loopback (this machine only) stays plain HTTP unless `tls = "on"`.

use std::fs;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};

use anyhow::Context;
use sha2::{Digest, Sha256};

use crate::config::{self, Config, TlsMode};

/// How the server speaks to its clients.
#[derive(Debug, Clone)]
pub enum Transport {
    Plain {
        /// Serving other machines in clear text, as explicitly asked.
        insecure: bool,
    },
    Tls {
        cert: PathBuf,
        key: PathBuf,
        /// SHA-256 of the certificate, as browsers show it (`AB:CD:…`).
        fingerprint: String,
        /// Made by clinicdesk (self-signed) rather than given.
        generated: bool,
    },
}

impl Transport {
    pub fn is_tls(&self) -> bool {
        matches!(self, Self::Tls { .. })
    }
}

/// Decides the transport for `config`, making a certificate if one is
/// needed and none exists. Fails, before anything listens, when patient
/// data would go over the network in clear text without `--insecure-http`.
pub fn prepare(config: &Config) -> anyhow::Result<Transport> {
    let loopback = config.address.is_loopback();
    match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => {
            return Ok(Transport::Tls {
                fingerprint: fingerprint_of(cert)?,
                cert: cert.clone(),
                key: key.clone(),
                generated: false,
            })
        }
        (None, None) => {}
        _ => anyhow::bail!("give both --tls-cert and --tls-key, or neither"),
    }
    let wants_tls = match config.tls {
        TlsMode::On => true,
        TlsMode::Auto => !loopback && !config.insecure_http,
        TlsMode::Off => {
            anyhow::ensure!(
                loopback || config.insecure_http,
                "refusing to serve patient data in clear text on {}: other machines could read \
                 it on the network. Leave TLS on (the default), or pass --insecure-http if \
                 something else (a VPN, a TLS proxy) protects the connection.",
                config.address
            );
            false
        }
    };
    if !wants_tls {
        return Ok(Transport::Plain {
            insecure: !loopback,
        });
    }
    let (cert, key) = generated_paths(&config.data_dir);
    if !(cert.exists() && key.exists()) {
        generate(&config.data_dir, &config.address)?;
    }
    Ok(Transport::Tls {
        fingerprint: fingerprint_of(&cert)?,
        cert,
        key,
        generated: true,
    })
}

fn generated_paths(data_dir: &Path) -> (PathBuf, PathBuf) {
    let dir = data_dir.join("tls");
    (dir.join("cert.pem"), dir.join("key.pem"))
}

/// Makes a self-signed certificate valid for every name staff may type.
fn generate(data_dir: &Path, address: &IpAddr) -> anyhow::Result<()> {
    let dir = data_dir.join("tls");
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    config::restrict_to_owner(&dir, 0o700)?;
    let names = subject_names(address);
    let certified = rcgen::generate_simple_self_signed(names.clone())
        .context("cannot make a TLS certificate")?;
    let (cert, key) = generated_paths(data_dir);
    // The folder is private (0700) before the key is written into it.
    fs::write(&key, certified.signing_key.serialize_pem())?;
    config::restrict_to_owner(&key, 0o600)?;
    fs::write(&cert, certified.cert.pem())?;
    tracing::info!(names = %names.join(", "), "made a self-signed TLS certificate");
    Ok(())
}

/// This machine's name, `localhost`, loopback, the bound address and the
/// address other machines reach it at.
fn subject_names(address: &IpAddr) -> Vec<String> {
    let mut names = vec!["localhost".to_owned()];
    if let Some(host) = host_name() {
        names.push(host.clone());
        if !host.contains('.') {
            names.push(format!("{host}.local"));
        }
    }
    let mut ips = vec![
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
    ];
    if !address.is_unspecified() {
        ips.push(*address);
    }
    ips.extend(lan_address());
    for ip in ips {
        let text = ip.to_string();
        if !names.contains(&text) {
            names.push(text);
        }
    }
    names
}

fn host_name() -> Option<String> {
    let name = std::env::var("COMPUTERNAME")
        .ok()
        .or_else(|| fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .or_else(|| fs::read_to_string("/etc/hostname").ok())?;
    let name = name.trim().to_ascii_lowercase();
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    valid.then_some(name)
}

/// The address this machine uses towards the LAN: the local end of a UDP
/// "connection" to a private address (nothing is sent; works offline).
fn lan_address() -> Option<IpAddr> {
    let socket = UdpSocket::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))).ok()?;
    socket
        .connect(SocketAddr::from((Ipv4Addr::new(10, 255, 255, 255), 9)))
        .ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_unspecified() && !ip.is_loopback()).then_some(ip)
}

/// SHA-256 of the (first) certificate in a PEM file, `AB:CD:…`.
pub fn fingerprint_of(cert: &Path) -> anyhow::Result<String> {
    let text = fs::read_to_string(cert)
        .with_context(|| format!("cannot read the TLS certificate {}", cert.display()))?;
    let pem = pem::parse(text.as_bytes())
        .with_context(|| format!("{} is not a PEM certificate", cert.display()))?;
    let digest = Sha256::digest(pem.contents());
    Ok(digest
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_names_localhost_loopback_and_the_bound_address() {
        let names = subject_names(&IpAddr::V4(Ipv4Addr::new(192, 168, 1, 20)));
        for wanted in ["localhost", "127.0.0.1", "::1", "192.168.1.20"] {
            assert!(names.iter().any(|n| n == wanted), "{wanted} in {names:?}");
        }
    }

    #[test]
    fn a_made_certificate_has_the_fingerprint_of_its_der() {
        let dir = tempfile::tempdir().expect("temp dir");
        generate(dir.path(), &IpAddr::V4(Ipv4Addr::LOCALHOST)).expect("generated");
        let (cert, _) = generated_paths(dir.path());
        let fingerprint = fingerprint_of(&cert).expect("fingerprint");
        assert_eq!(fingerprint.len(), 32 * 3 - 1);
        assert!(fingerprint
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':'));
    }
}
