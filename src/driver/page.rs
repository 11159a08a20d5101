//! What the driver reads from the HTML pages of the IdP and the SP, through an HTML parser
//! (`scraper`, on html5ever) rather than string searches: attribute quoting, entities and tag
//! shapes are then the parser's business, as they are a browser's.

use std::sync::LazyLock;

use scraper::{ElementRef, Html, Selector};

use super::PostForm;

fn selector(css: &'static str) -> Selector {
    // Only called on the literals below; a typo there fails every driver test at once.
    Selector::parse(css).unwrap_or_else(|e| panic!("invalid selector {css:?}: {e}"))
}

static FORM: LazyLock<Selector> = LazyLock::new(|| selector("form"));
static NAMED_INPUT: LazyLock<Selector> = LazyLock::new(|| selector("input[name]"));
static REASON_CODE: LazyLock<Selector> = LazyLock::new(|| selector("#reason-code"));
static LINK_FORM: LazyLock<Selector> = LazyLock::new(|| selector("form#link-form"));
static SAML_POST: LazyLock<Selector> = LazyLock::new(|| selector("form#saml-post"));

/// The first `<form>`'s action and its named `<input>` fields, as the browser would submit them:
/// what the HTTP-POST binding's auto-submit pages carry. `None` without a form or an action.
pub fn parse_post_form(html: &str) -> Option<PostForm> {
    Html::parse_document(html)
        .select(&FORM)
        .next()
        .and_then(post_form)
}

/// The IdP's auto-submitting answer (`<form id="saml-post">`) on a page.
pub(crate) fn saml_post_form(html: &str) -> Option<PostForm> {
    Html::parse_document(html)
        .select(&SAML_POST)
        .next()
        .and_then(post_form)
}

/// The first form posting to `action` (e.g. the SP's sign-out confirmation to `/logout`).
pub(crate) fn form_with_action(html: &str, action: &str) -> Option<PostForm> {
    Html::parse_document(html)
        .select(&FORM)
        .filter(|form| form.value().attr("action") == Some(action))
        .find_map(post_form)
}

/// The reason code the SP's failure page shows (`<code id="reason-code">`).
pub(crate) fn reason_code(html: &str) -> Option<String> {
    Html::parse_document(html)
        .select(&REASON_CODE)
        .next()
        .map(|code| code.text().collect())
}

/// Whether the page is the SP's account-linking prompt.
pub(crate) fn is_link_prompt(html: &str) -> bool {
    Html::parse_document(html)
        .select(&LINK_FORM)
        .next()
        .is_some()
}

fn post_form(form: ElementRef<'_>) -> Option<PostForm> {
    let action = form.value().attr("action")?.to_owned();
    let fields = form
        .select(&NAMED_INPUT)
        .filter_map(|input| {
            let input = input.value();
            Some((
                input.attr("name")?.to_owned(),
                input.attr("value").unwrap_or_default().to_owned(),
            ))
        })
        .collect();
    Some(PostForm { action, fields })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_auto_submit_form() {
        let html = r#"<html><body onload="x"><form method="post" action="http://sp.example/saml/acs?a=1&amp;b=2">
<input type="hidden" name="SAMLResponse" value="PHg+&#x2F;">
<input type='hidden' name='RelayState' value='/p?q=&quot;1&quot;'/>
<noscript><input type="submit" value="Continue"></noscript></form></body></html>"#;
        let form = parse_post_form(html).unwrap();
        assert_eq!(form.action, "http://sp.example/saml/acs?a=1&b=2");
        assert_eq!(form.field("SAMLResponse"), Some("PHg+/"));
        assert_eq!(form.field("RelayState"), Some("/p?q=\"1\""));
    }

    #[test]
    fn no_form_is_none() {
        assert!(parse_post_form("<p>login</p>").is_none());
    }

    #[test]
    fn picks_the_form_by_its_action() {
        let html = r#"<form action="/elsewhere"><input name="a" value="1"></form>
<form method="post" action="/logout"><input type="hidden" name="csrf_token" value="t&amp;k"></form>"#;
        let form = form_with_action(html, "/logout").unwrap();
        assert_eq!(form.fields, vec![("csrf_token".into(), "t&k".into())]);
        assert!(form_with_action(html, "/nowhere").is_none());
    }

    #[test]
    fn reads_the_reason_code_and_the_link_prompt() {
        let failure = r#"<div class="error"><p>No.</p><p>Reason code: <code id="reason-code">audience.mismatch</code></p></div>"#;
        assert_eq!(reason_code(failure).as_deref(), Some("audience.mismatch"));
        assert_eq!(reason_code("<p>fine</p>"), None);
        assert!(!is_link_prompt(failure));
        assert!(is_link_prompt(
            r#"<form method="post" action="/link" id="link-form"></form>"#
        ));
    }
}
