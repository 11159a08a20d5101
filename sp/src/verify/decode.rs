//! From transport encoding to bytes: base64 of the HTTP-POST binding (whitespace tolerated) and
//! the CLI's file input (raw XML, base64, or base64 of raw DEFLATE), all size-limited before and
//! after decoding.

use std::io::Read;

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::DEFAULT_MAX_RESPONSE_BYTES;
use crate::reason::{Reason, Rejection};

/// Standard alphabet; padding optional (some IdPs strip it).
const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes the `SAMLResponse` form value of the HTTP-POST binding, limited to
/// [`DEFAULT_MAX_RESPONSE_BYTES`] decoded bytes.
pub fn decode_post_binding(form_value: &str) -> Result<Vec<u8>, Rejection> {
    decode_post_binding_with_limit(form_value, DEFAULT_MAX_RESPONSE_BYTES)
}

/// [`decode_post_binding`] with an explicit limit (use `VerifyPolicy::max_response_bytes`).
pub fn decode_post_binding_with_limit(
    form_value: &str,
    max_bytes: usize,
) -> Result<Vec<u8>, Rejection> {
    // Refuse oversized input before allocating for it: 4 base64 chars per 3 bytes.
    let max_chars = max_bytes.div_ceil(3).saturating_mul(4);
    let mut compact = String::with_capacity(form_value.len().min(max_chars));
    for c in form_value.chars() {
        if c.is_ascii_whitespace() {
            continue;
        }
        if compact.len() >= max_chars {
            return Err(Rejection::new(
                Reason::InputExceedsSizeLimit,
                format!(
                    "encoded SAMLResponse exceeds {max_chars} base64 characters (limit {max_bytes} bytes decoded)"
                ),
            ));
        }
        compact.push(c);
    }
    if compact.is_empty() {
        return Err(Rejection::new(
            Reason::InputIsNotBase64,
            "SAMLResponse is empty",
        ));
    }
    let bytes = B64.decode(compact.as_bytes()).map_err(|e| {
        Rejection::new(
            Reason::InputIsNotBase64,
            format!("SAMLResponse is not valid base64: {e}"),
        )
    })?;
    check_size(bytes.len(), max_bytes)?;
    Ok(bytes)
}

fn check_size(len: usize, max_bytes: usize) -> Result<(), Rejection> {
    if len > max_bytes {
        return Err(Rejection::new(
            Reason::InputExceedsSizeLimit,
            format!("decoded response is {len} bytes, limit is {max_bytes}"),
        ));
    }
    Ok(())
}

/// Decodes a file given to the CLI: raw XML (starts with `<` after optional BOM/whitespace),
/// otherwise base64 of XML, otherwise base64 of raw-DEFLATEd XML (HTTP-Redirect encoding).
pub fn decode_file_input(bytes: &[u8]) -> Result<Vec<u8>, Rejection> {
    let max = DEFAULT_MAX_RESPONSE_BYTES;
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(body.len());
    if body.get(start) == Some(&b'<') {
        check_size(bytes.len(), max)?;
        return Ok(bytes.to_vec());
    }
    let text = std::str::from_utf8(body).map_err(|_| {
        Rejection::new(
            Reason::InputIsNotBase64,
            "input is neither XML (does not start with '<') nor base64 text",
        )
    })?;
    let decoded = decode_post_binding_with_limit(text, max)?;
    if decoded.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<')
        || decoded.starts_with(b"\xEF\xBB\xBF")
    {
        return Ok(decoded);
    }
    let mut inflated = Vec::new();
    let reader = flate2::read::DeflateDecoder::new(decoded.as_slice());
    match reader.take(max as u64 + 1).read_to_end(&mut inflated) {
        Ok(_) => {
            check_size(inflated.len(), max)?;
            Ok(inflated)
        }
        // Not DEFLATE either: hand the bytes on; the parser will say it is not XML.
        Err(_) => Ok(decoded),
    }
}
