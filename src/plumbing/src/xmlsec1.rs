//! The `xmlsec1` command (Debian package `xmlsec1`) for the integration tests of both crates: an
//! implementation of XML-DSig and XML-Enc independent of the mock IdP's and the SP's own code, so
//! that tests sign, encrypt, verify and decrypt with it and compare.
//!
//! These helpers only run the command; which IDs, keys and nodes to use is the caller's choice.
//! Each call writes its input to a fresh temporary directory, removed when it returns. A missing
//! `xmlsec1` panics, which fails the test with the package to install.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

/// `--enabled-key-data` without `x509`: a certificate inside the message is never used to verify
/// it, only the key given on the command line.
const KEYS_NOT_FROM_THE_MESSAGE: [&str; 2] = ["--enabled-key-data", "rsa,ecdsa,dsa,key-name"];

/// Runs `xmlsec1 ARGS FILE` where FILE holds `xml`. `Ok` holds its standard output (the signed,
/// encrypted or decrypted document), `Err` its standard output and error.
pub fn run<S: AsRef<OsStr>>(args: &[S], xml: &str) -> Result<String, String> {
    let dir = temp_dir();
    let input = dir.path().join("in.xml");
    write(&input, xml);
    let mut command = Command::new("xmlsec1");
    command.args(args).arg(&input);
    output_of(command)
}

/// Verifies the signature selected by `node_xpath` (else the first in document order) with the
/// public key of `cert` only; `id_attrs` are the `--id-attr:ID` element names (`ns:Element`).
pub fn verify(
    xml: &str,
    cert: &Path,
    id_attrs: &[&str],
    node_xpath: Option<&str>,
) -> Result<(), String> {
    let mut args: Vec<&OsStr> = vec!["--verify".as_ref(), "--pubkey-cert-pem".as_ref()];
    args.push(cert.as_os_str());
    push_id_attrs(&mut args, id_attrs);
    args.extend(KEYS_NOT_FROM_THE_MESSAGE.map(OsStr::new));
    if let Some(xpath) = node_xpath {
        args.extend([OsStr::new("--node-xpath"), OsStr::new(xpath)]);
    }
    run(&args, xml).map(|_| ())
}

/// Signs the `ds:Signature` template selected by `node_xpath` (else the first) with the private
/// key `key` and its certificate `cert`. Panics (failing the test) when `xmlsec1` refuses.
pub fn sign(
    xml: &str,
    key: &Path,
    cert: &Path,
    id_attrs: &[&str],
    node_xpath: Option<&str>,
) -> String {
    let keyspec = format!("{},{}", key.display(), cert.display());
    let mut args: Vec<&OsStr> = vec!["--sign".as_ref(), "--privkey-pem".as_ref()];
    args.push(keyspec.as_ref());
    push_id_attrs(&mut args, id_attrs);
    if let Some(xpath) = node_xpath {
        args.extend([OsStr::new("--node-xpath"), OsStr::new(xpath)]);
    }
    run(&args, xml)
        .unwrap_or_else(|out| panic!("xmlsec1 --sign failed: {out}\n--- input ---\n{xml}"))
}

/// Decrypts the first `xenc:EncryptedData` in document order with the private key `key`.
pub fn decrypt(xml: &str, key: &Path) -> Result<String, String> {
    let args: [&OsStr; 3] = ["--decrypt".as_ref(), "--privkey-pem".as_ref(), key.as_ref()];
    run(&args, xml)
}

/// Encrypts `data` (a standalone element) into the `xenc:EncryptedData` template `template`, to
/// the certificate `cert`, with a fresh session key of kind `session_key` (`aes-128`, `aes-256`…).
/// Panics (failing the test) when `xmlsec1` refuses.
pub fn encrypt(template: &str, data: &str, cert: &Path, session_key: &str) -> String {
    let dir = temp_dir();
    let data_file = dir.path().join("data.xml");
    write(&data_file, data);
    let args: [&OsStr; 7] = [
        "--encrypt".as_ref(),
        "--pubkey-cert-pem".as_ref(),
        cert.as_ref(),
        "--session-key".as_ref(),
        session_key.as_ref(),
        "--xml-data".as_ref(),
        data_file.as_ref(),
    ];
    run(&args, template).unwrap_or_else(|out| panic!("xmlsec1 --encrypt failed: {out}"))
}

fn push_id_attrs<'a>(args: &mut Vec<&'a OsStr>, id_attrs: &[&'a str]) {
    for element in id_attrs {
        args.extend(["--id-attr:ID".as_ref(), OsStr::new(*element)]);
    }
}

fn output_of(mut command: Command) -> Result<String, String> {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run xmlsec1 ({e}); install the Debian package xmlsec1"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"))
}

fn write(path: &Path, contents: &str) {
    std::fs::write(path, contents)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}
