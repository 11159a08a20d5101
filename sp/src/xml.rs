//! XML helpers for the messages the SP writes (AuthnRequest, LogoutRequest, LogoutResponse,
//! metadata): escaping of text and attribute values, and the SAML instant format.

use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

/// Escapes text for XML element content and for attribute values quoted with `"` or `'`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `xs:dateTime` in UTC with second precision, as IdPs and SPs commonly write it.
const SAML_INSTANT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// A SAML instant: `t` in UTC, to the second.
pub fn saml_instant(t: OffsetDateTime) -> String {
    // Never `to_offset`: it panics when the UTC form lies past year 9999.
    let t = crate::clock::utc(t);
    // Formatting fails only for a value that lacks a component the description names; an
    // OffsetDateTime has them all.
    t.format(SAML_INSTANT).unwrap_or_else(|_| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn instants_are_utc_seconds() {
        let t = datetime!(2026-03-04 05:06:07.890 +02:00);
        assert_eq!(saml_instant(t), "2026-03-04T03:06:07Z");
    }

    #[test]
    fn instants_at_the_ends_of_the_four_digit_range_keep_four_digits() {
        assert_eq!(
            saml_instant(crate::clock::EARLIEST_WRITABLE),
            "0000-01-01T00:00:00Z"
        );
        let last = datetime!(9999-12-31 23:59:59 -02:00);
        assert_eq!(saml_instant(last), "9999-12-31T23:59:59Z");
    }
}
