//! Namespace URIs, escaping, and a small indenting XML writer. Minted XML is built as text so
//! every byte (prefixes, attribute order, whitespace) is chosen here and snapshots stay stable.

/// SAML 2.0 protocol namespace (`samlp:`).
pub const PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
/// SAML 2.0 assertion namespace (`saml:`).
pub const ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
/// SAML 2.0 metadata namespace (`md:`).
pub const METADATA_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
/// XML-DSig namespace (`ds:`).
pub const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";

/// Escapes `text` for anywhere in a document: character data and attribute values (quoted
/// with `"` or `'`), in XML and in HTML alike.
///
/// Tab, LF and CR become character references: attribute-value normalisation would turn them
/// into spaces, and a parser turns a literal CR into LF. The other control characters XML 1.0
/// forbids (and U+FFFE, U+FFFF) are replaced by U+FFFD: no escape can carry them, and minting
/// must not fail on a knob's or a user's text.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(&mut out, text);
    out
}

/// [`escape`], appended to `out`. Most text needs no escape at all (IDs, URLs, timestamps,
/// base64), so one byte scan decides, and such text is copied whole.
pub fn escape_into(out: &mut String, text: &str) {
    // 0xEF leads every UTF-8 sequence of U+F000–U+FFFF, which includes U+FFFE and U+FFFF.
    let plain = !text
        .bytes()
        .any(|b| b < 0x20 || matches!(b, b'&' | b'<' | b'>' | b'"' | b'\'' | 0xEF));
    if plain {
        out.push_str(text);
        return;
    }
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
}

/// An attribute; `None` values are left out, which is how "omit X" knobs are written.
pub type Attr<'a> = (&'a str, Option<&'a str>);

/// Writes elements one a line, indented, or with no whitespace at all when `compact`.
pub struct XmlWriter {
    out: String,
    depth: usize,
    compact: bool,
}

impl XmlWriter {
    /// A writer whose output starts with the XML declaration.
    pub fn new(compact: bool) -> XmlWriter {
        XmlWriter {
            out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
            depth: 0,
            compact,
        }
    }

    /// `<name attrs>`; children follow until [`XmlWriter::end`].
    pub fn start(&mut self, name: &str, attrs: &[Attr<'_>]) {
        self.open_tag(name, attrs);
        self.out.push('>');
        self.depth += 1;
    }

    /// `</name>`.
    pub fn end(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.newline();
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    /// `<name attrs/>`.
    pub fn empty(&mut self, name: &str, attrs: &[Attr<'_>]) {
        self.open_tag(name, attrs);
        self.out.push_str("/>");
    }

    /// `<name attrs>text</name>` on one line.
    pub fn text(&mut self, name: &str, attrs: &[Attr<'_>], text: &str) {
        self.open_tag(name, attrs);
        self.out.push('>');
        escape_into(&mut self.out, text);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    /// The document, ending with a newline.
    pub fn finish(mut self) -> String {
        self.out.push('\n');
        self.out
    }

    fn open_tag(&mut self, name: &str, attrs: &[Attr<'_>]) {
        self.newline();
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in attrs {
            if let Some(value) = value {
                self.out.push(' ');
                self.out.push_str(key);
                self.out.push_str("=\"");
                escape_into(&mut self.out, value);
                self.out.push('"');
            }
        }
    }

    fn newline(&mut self) {
        if !self.compact {
            self.out.push('\n');
            for _ in 0..self.depth {
                self.out.push_str("  ");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(escape("a<b & c>d"), "a&lt;b &amp; c&gt;d");
        assert_eq!(
            escape("\"x\" 'y' <z>\n"),
            "&quot;x&quot; &#39;y&#39; &lt;z&gt;&#10;"
        );
    }

    #[test]
    fn whitespace_survives_normalisation_and_forbidden_characters_are_replaced() {
        assert_eq!(escape("a\tb\r\nc"), "a&#9;b&#13;&#10;c");
        assert_eq!(
            escape("x\u{0}y\u{1b}z\u{ffff}"),
            "x\u{fffd}y\u{fffd}z\u{fffd}"
        );
        assert_eq!(escape("é \u{7f} 😀"), "é \u{7f} 😀");
        // The byte scan's slow path for U+F000–U+FFFF keeps all but the two non-characters.
        assert_eq!(
            escape("\u{f000}\u{fffd}\u{fffe}"),
            "\u{f000}\u{fffd}\u{fffd}"
        );
        let mut w = XmlWriter::new(true);
        w.text("a", &[("v", Some("1\n2"))], "3\n\u{8}");
        assert_eq!(
            w.finish(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><a v=\"1&#10;2\">3&#10;\u{fffd}</a>\n"
        );
    }

    #[test]
    fn writer_indents_and_omits_none_attributes() {
        let mut w = XmlWriter::new(false);
        w.start("a", &[("x", Some("1")), ("y", None)]);
        w.text("b", &[], "t&");
        w.empty("c", &[]);
        w.end("a");
        assert_eq!(
            w.finish(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a x=\"1\">\n  <b>t&amp;</b>\n  <c/>\n</a>\n"
        );
        let mut w = XmlWriter::new(true);
        w.start("a", &[]);
        w.empty("c", &[]);
        w.end("a");
        assert_eq!(
            w.finish(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><a><c/></a>\n"
        );
    }
}
