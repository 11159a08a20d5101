//! XML helpers for the messages the SP writes (AuthnRequest, LogoutRequest, LogoutResponse,
//! metadata): escaping of text and attribute values (also used for the HTML pages, which need the
//! same five escapes), and the SAML instant format.

use time::OffsetDateTime;

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

/// A SAML `xs:dateTime` in UTC with second precision, as IdPs and SPs commonly write it.
pub fn saml_instant(t: OffsetDateTime) -> String {
    // Never `to_offset`: it panics when the UTC form lies past year 9999.
    let t = crate::clock::utc(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
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
}
