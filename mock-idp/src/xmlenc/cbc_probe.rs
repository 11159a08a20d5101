//! Knob `cbc_oracle_probe`: rewrites an EncryptedAssertion's AES-CBC ciphertext as the CBC format
//! oracle attack does (Jager and Somorovsky, "How to Break XML Encryption", CCS 2011).
//!
//! The attacker never knows the session key: it flips IV and ciphertext bytes and watches whether
//! the SP's answer changes. The mock IdP knows the key (it chose it), so it can produce directly
//! the plaintexts those flips lead to: bad padding, a well-padded plaintext that is not XML, one
//! with an entity reference, one that is not UTF-8, one whose root is not an Assertion, and a
//! well-formed one whose signed content changed (what a flip that still parses yields). An SP
//! that answers any two of them differently is a decryption oracle.

use base64::Engine as _;
use openssl::symm::{Cipher, Crypter, Mode};

use super::EncryptError;
use crate::knobs::{CbcOracleProbe, DataEncryption};

/// AES's block (and CBC IV) size.
const BLOCK: usize = 16;
const OPEN: &str = "<xenc:CipherValue>";
const CLOSE: &str = "</xenc:CipherValue>";

/// `xml` with its (first) EncryptedAssertion's content ciphertext, encrypted with `data` under
/// `key`, tampered with as `probe` says.
pub(super) fn tamper(
    xml: &str,
    probe: CbcOracleProbe,
    data: DataEncryption,
    key: &[u8],
) -> Result<String, EncryptError> {
    let start = xml
        .find("<saml:EncryptedAssertion")
        .ok_or_else(|| failed("find the EncryptedAssertion"))?;
    let end = start
        + xml[start..]
            .find("</xenc:EncryptedData>")
            .ok_or_else(|| failed("find the EncryptedData's end"))?;
    let mut out = xml.to_owned();
    if probe == CbcOracleProbe::GcmRelabelledAsCbc {
        // The data EncryptionMethod is the EncryptedData's first child, before any EncryptedKey.
        let from = format!("Algorithm=\"{}\"", data.uri());
        let at = start
            + xml[start..end]
                .find(&from)
                .ok_or_else(|| failed("find the data EncryptionMethod"))?;
        let to = format!("Algorithm=\"{}\"", cbc_of_same_size(data).uri());
        out.replace_range(at..at + from.len(), &to);
        return Ok(out);
    }
    // The content CipherValue is the EncryptedData's last one (the EncryptedKey's comes first).
    let value_start = start
        + xml[start..end]
            .rfind(OPEN)
            .ok_or_else(|| failed("find the content CipherValue"))?
        + OPEN.len();
    let value_end = value_start
        + xml[value_start..end]
            .find(CLOSE)
            .ok_or_else(|| failed("find the content CipherValue's end"))?;
    let text: String = xml[value_start..value_end]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let engine = base64::engine::general_purpose::STANDARD;
    let bytes = engine
        .decode(text)
        .map_err(|e| failed(&format!("decode the CipherValue ({e})")))?;
    let cipher = cbc_cipher(data)?;
    let tampered = tampered_ciphertext(bytes, probe, cipher, key)?;
    out.replace_range(value_start..value_end, &engine.encode(tampered));
    Ok(out)
}

/// `iv || ciphertext` changed as `probe` says.
fn tampered_ciphertext(
    mut bytes: Vec<u8>,
    probe: CbcOracleProbe,
    cipher: Cipher,
    key: &[u8],
) -> Result<Vec<u8>, EncryptError> {
    if bytes.len() < 2 * BLOCK || bytes.len() % BLOCK != 0 {
        return Err(failed("read the ciphertext: not IV and whole blocks"));
    }
    let padded = decrypt_unpadded(cipher, key, &bytes)?;
    // XML Encryption's padding: the last byte is the padding's length (1..=16), with the
    // other padding bytes arbitrary.
    let pad = padded.last().copied().unwrap_or(0);
    let plaintext = padded
        .len()
        .checked_sub(usize::from(pad))
        .filter(|_| (1..=BLOCK as u8).contains(&pad))
        .map(|len| &padded[..len])
        .ok_or_else(|| failed("read the padding xmlsec wrote"))?;
    let chosen = match probe {
        // Flipping IV bit 0 flips the plaintext's first byte: `<` (0x3C) becomes `=` (0x3D).
        CbcOracleProbe::IvFlipped => {
            bytes[0] ^= 0x01;
            return Ok(bytes);
        }
        // A flip in the block before the last one lands on the padding length byte: 0xFF.
        CbcOracleProbe::LastBlockFlipped => {
            let at = bytes.len() - BLOCK - 1;
            bytes[at] ^= pad ^ 0xFF;
            return Ok(bytes);
        }
        CbcOracleProbe::NotXml => {
            b"samlconf cbc_oracle_probe: a well-padded plaintext that is not XML".to_vec()
        }
        CbcOracleProbe::EntityReference => before_end_tag(plaintext, b"&samlconf;"),
        CbcOracleProbe::NotUtf8 => before_end_tag(plaintext, b"\xFF\xFE"),
        CbcOracleProbe::WrongRoot => [b"<saml:Advice>", plaintext, b"</saml:Advice>"].concat(),
        CbcOracleProbe::ContentAltered => before_first_end_tag(plaintext, b"x"),
        CbcOracleProbe::GcmRelabelledAsCbc => return Ok(bytes),
    };
    encrypt_padded(cipher, key, &chosen)
}

/// `plaintext` with `insert` just before its last end tag (inside the root element).
fn before_end_tag(plaintext: &[u8], insert: &[u8]) -> Vec<u8> {
    let at = plaintext
        .windows(2)
        .rposition(|w| w == b"</")
        .unwrap_or(plaintext.len());
    [&plaintext[..at], insert, &plaintext[at..]].concat()
}

/// `plaintext` with `insert` just before its first end tag (the end of the first leaf's text).
fn before_first_end_tag(plaintext: &[u8], insert: &[u8]) -> Vec<u8> {
    let at = plaintext
        .windows(2)
        .position(|w| w == b"</")
        .unwrap_or(plaintext.len());
    [&plaintext[..at], insert, &plaintext[at..]].concat()
}

fn cbc_of_same_size(data: DataEncryption) -> DataEncryption {
    match data {
        DataEncryption::Aes256Gcm | DataEncryption::Aes256Cbc => DataEncryption::Aes256Cbc,
        DataEncryption::Aes128Gcm | DataEncryption::Aes128Cbc => DataEncryption::Aes128Cbc,
    }
}

fn cbc_cipher(data: DataEncryption) -> Result<Cipher, EncryptError> {
    match data {
        DataEncryption::Aes128Cbc => Ok(Cipher::aes_128_cbc()),
        DataEncryption::Aes256Cbc => Ok(Cipher::aes_256_cbc()),
        DataEncryption::Aes128Gcm | DataEncryption::Aes256Gcm => Err(failed(
            "tamper with CBC: the assertion was encrypted with GCM",
        )),
    }
}

/// Decrypts `iv || ciphertext` without removing the padding.
fn decrypt_unpadded(cipher: Cipher, key: &[u8], bytes: &[u8]) -> Result<Vec<u8>, EncryptError> {
    let (iv, body) = bytes.split_at(BLOCK);
    let run = || -> Result<Vec<u8>, openssl::error::ErrorStack> {
        let mut crypter = Crypter::new(cipher, Mode::Decrypt, key, Some(iv))?;
        crypter.pad(false);
        let mut out = vec![0u8; body.len() + BLOCK];
        let mut len = crypter.update(body, &mut out)?;
        len += crypter.finalize(&mut out[len..])?;
        out.truncate(len);
        Ok(out)
    };
    run().map_err(|e| failed(&format!("decrypt the ciphertext ({e})")))
}

/// `iv || ciphertext` of `plaintext` under a fresh IV, PKCS#7-padded (a valid XML Encryption
/// padding).
fn encrypt_padded(cipher: Cipher, key: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, EncryptError> {
    let mut iv = [0u8; BLOCK];
    rand::fill(&mut iv);
    let body = openssl::symm::encrypt(cipher, key, Some(&iv), plaintext)
        .map_err(|e| failed(&format!("encrypt the chosen plaintext ({e})")))?;
    Ok([&iv[..], &body].concat())
}

fn failed(what: &str) -> EncryptError {
    EncryptError::CbcProbe(what.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(probe: CbcOracleProbe) -> Vec<u8> {
        let key = [7u8; 16];
        let cipher = Cipher::aes_128_cbc();
        let original = encrypt_padded(cipher, &key, b"<saml:Assertion>x</saml:Assertion>").unwrap();
        let tampered = tampered_ciphertext(original, probe, cipher, &key).unwrap();
        decrypt_unpadded(cipher, &key, &tampered).unwrap()
    }

    #[test]
    fn each_probe_yields_the_plaintext_fault_it_is_named_for() {
        let unpad = |p: Vec<u8>| {
            let pad = usize::from(*p.last().unwrap());
            p[..p.len() - pad].to_vec()
        };
        assert_eq!(
            unpad(round_trip(CbcOracleProbe::IvFlipped)),
            b"=saml:Assertion>x</saml:Assertion>"
        );
        assert_eq!(
            round_trip(CbcOracleProbe::LastBlockFlipped).last(),
            Some(&0xFF),
            "the padding length byte"
        );
        assert_eq!(
            unpad(round_trip(CbcOracleProbe::EntityReference)),
            b"<saml:Assertion>x&samlconf;</saml:Assertion>"
        );
        assert_eq!(
            unpad(round_trip(CbcOracleProbe::NotUtf8)),
            b"<saml:Assertion>x\xFF\xFE</saml:Assertion>"
        );
        assert_eq!(
            unpad(round_trip(CbcOracleProbe::WrongRoot)),
            b"<saml:Advice><saml:Assertion>x</saml:Assertion></saml:Advice>"
        );
        assert_eq!(
            unpad(round_trip(CbcOracleProbe::ContentAltered)),
            b"<saml:Assertion>xx</saml:Assertion>"
        );
        assert!(!unpad(round_trip(CbcOracleProbe::NotXml)).contains(&b'<'));
    }
}
