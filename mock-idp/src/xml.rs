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

/// Escapes character data.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            // A literal CR would be normalised to LF by any parser, changing the value.
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes an attribute value (double-quoted), also safe for HTML attributes.
pub fn escape_attr(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Attribute-value normalisation would turn these into spaces.
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
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
        self.out.push_str(&escape_text(text));
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
                self.out.push_str(&escape_attr(value));
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
        assert_eq!(escape_text("a<b & c>d"), "a&lt;b &amp; c&gt;d");
        assert_eq!(
            escape_attr("\"x\" 'y' <z>\n"),
            "&quot;x&quot; &#39;y&#39; &lt;z&gt;&#10;"
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
