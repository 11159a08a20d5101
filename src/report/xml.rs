//! A small pretty-printer for the SAML messages shown in reports (the templates and
//! `quick-junit` escape what they show).

/// Levels past this one are indented no further: a hostile message nested thousands deep
/// (scenario 7.182) would otherwise grow quadratically, to hundreds of megabytes in the report.
/// Real SAML messages nest a dozen levels.
const MAX_INDENT_DEPTH: usize = 40;

/// Indents an XML document, one element a line, keeping text-only elements on one line. Not a
/// parser: anything it does not understand is passed through as it is. The input is not trusted
/// and the output is escaped by whoever shows it.
pub fn pretty_xml(xml: &str) -> String {
    let mut tokens = Vec::new();
    let mut rest = xml.trim();
    while !rest.is_empty() {
        if rest.starts_with('<') {
            let end = if rest.starts_with("<!--") {
                rest.find("-->").map(|i| i + 3)
            } else if rest.starts_with("<![CDATA[") {
                rest.find("]]>").map(|i| i + 3)
            } else {
                tag_end(rest)
            };
            let Some(end) = end else {
                tokens.push(rest.to_owned());
                break;
            };
            tokens.push(rest[..end].to_owned());
            rest = &rest[end..];
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            let text = rest[..end].trim();
            if !text.is_empty() {
                tokens.push(text.to_owned());
            }
            rest = &rest[end..];
        }
    }
    let mut out = String::new();
    let mut depth: usize = 0;
    let mut i = 0;
    while i < tokens.len() {
        let token = &tokens[i];
        let indent = "  ".repeat(depth.min(MAX_INDENT_DEPTH));
        let is_tag = token.starts_with('<');
        let is_end = token.starts_with("</");
        let is_special = token.starts_with("<?") || token.starts_with("<!");
        let self_closing = token.ends_with("/>");
        if is_end {
            depth = depth.saturating_sub(1);
            out.push_str(&"  ".repeat(depth.min(MAX_INDENT_DEPTH)));
            out.push_str(token);
            out.push('\n');
        } else if is_tag && !is_special && !self_closing {
            // <a>text</a> on one line.
            if i + 2 < tokens.len()
                && !tokens[i + 1].starts_with('<')
                && tokens[i + 2].starts_with("</")
            {
                out.push_str(&format!(
                    "{indent}{token}{}{}\n",
                    tokens[i + 1],
                    tokens[i + 2]
                ));
                i += 3;
                continue;
            }
            out.push_str(&indent);
            out.push_str(token);
            out.push('\n');
            depth += 1;
        } else {
            out.push_str(&indent);
            out.push_str(token);
            out.push('\n');
        }
        i += 1;
    }
    out
}

/// The end of the tag at the start of `text` (one past `>`), skipping `>` inside quoted values.
fn tag_end(text: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(i + 1),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indents_compact_xml() {
        let xml = r#"<?xml version="1.0"?><r a="1>2"><b>text</b><c/><d><e>x</e></d></r>"#;
        assert_eq!(
            pretty_xml(xml),
            "<?xml version=\"1.0\"?>\n<r a=\"1>2\">\n  <b>text</b>\n  <c/>\n  <d>\n    <e>x</e>\n  </d>\n</r>\n"
        );
    }

    /// A hostile message (scenario 7.182 nests 10,000 elements in 70 KB) must not grow
    /// quadratically in the report: indentation stops deepening past a depth no real SAML
    /// message reaches, so the output stays within a constant of the input per element.
    #[test]
    fn deep_nesting_is_indented_only_so_far() {
        let depth = 10_000;
        let xml = format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth));
        let pretty = pretty_xml(&xml);
        let widest = pretty.lines().map(str::len).max().unwrap_or_default();
        assert_eq!(widest, 2 * MAX_INDENT_DEPTH + "</a>".len(), "{widest}");
        assert_eq!(pretty.lines().count(), 2 * depth);
        // Within the cap, every level still indents by two spaces.
        assert!(pretty.starts_with("<a>\n  <a>\n    <a>\n"));
    }

    #[test]
    fn passes_garbage_through() {
        assert_eq!(pretty_xml("not xml"), "not xml\n");
        assert_eq!(pretty_xml("<unclosed"), "<unclosed\n");
    }
}
