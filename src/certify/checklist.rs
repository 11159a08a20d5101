//! The checklist model: items with a status, a reason and a fix, grouped in sections. Its JSON
//! form (field names below) is documented in the README's "Certify an IdP setup" section and is
//! stable: `version` changes when a field changes meaning.

use serde::Serialize;
use time::OffsetDateTime;

/// An item's verdict. Ordered: the checklist's verdict is its worst item's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// One check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// Stable identifier, e.g. `metadata.certificate.0.validity`, `response.audience`.
    pub id: String,
    pub status: Status,
    /// What is checked, for people.
    pub title: String,
    /// What was found.
    pub reason: String,
    /// What to do about it (one sentence); `null` for a pass.
    pub fix: Option<String>,
}

impl Item {
    pub fn pass(
        id: impl Into<String>,
        title: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self::new(id, Status::Pass, title, reason, None)
    }

    pub fn warn(
        id: impl Into<String>,
        title: impl Into<String>,
        reason: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(id, Status::Warn, title, reason, Some(fix.into()))
    }

    pub fn fail(
        id: impl Into<String>,
        title: impl Into<String>,
        reason: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(id, Status::Fail, title, reason, Some(fix.into()))
    }

    /// `status` with a fix that is kept only when the status is not a pass.
    pub fn judged(
        id: impl Into<String>,
        status: Status,
        title: impl Into<String>,
        reason: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        let fix = (status != Status::Pass).then(|| fix.into());
        Self::new(id, status, title, reason, fix)
    }

    fn new(
        id: impl Into<String>,
        status: Status,
        title: impl Into<String>,
        reason: impl Into<String>,
        fix: Option<String>,
    ) -> Self {
        Item {
            id: id.into(),
            status,
            title: title.into(),
            reason: reason.into(),
            fix,
        }
    }
}

/// A group of items: `metadata` or `response`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Section {
    pub id: String,
    pub title: String,
    pub items: Vec<Item>,
}

impl Section {
    pub fn new(id: &str, title: &str, items: Vec<Item>) -> Self {
        Section {
            id: id.into(),
            title: title.into(),
            items,
        }
    }
}

/// How many items have each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
}

/// What was checked, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Context {
    pub metadata: String,
    pub response: Option<String>,
    /// The instant certificates and metadata were judged at.
    #[serde(with = "time::serde::rfc3339")]
    pub checked_at: OffsetDateTime,
    /// When the response was captured (its clock skew and validity are judged against this).
    #[serde(with = "time::serde::rfc3339::option")]
    pub captured_at: Option<OffsetDateTime>,
    /// `--now`, `file mtime` or `received by the SP`.
    pub captured_at_source: Option<String>,
    /// Whether an SP configuration was given (else the SP's identity came from the response).
    pub sp_config: bool,
}

/// The whole checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checklist {
    /// Format version of this JSON (1).
    pub version: u32,
    /// The worst status of any item.
    pub verdict: Status,
    pub counts: Counts,
    pub context: Context,
    pub sections: Vec<Section>,
}

impl Checklist {
    pub(crate) fn new(input: &super::Certification<'_>) -> Self {
        let response = input.response.as_ref();
        Checklist {
            version: 1,
            verdict: Status::Pass,
            counts: Counts::default(),
            context: Context {
                metadata: input.metadata_source.clone(),
                response: response.map(|r| r.source.clone()),
                checked_at: input.now,
                captured_at: response.map(|r| r.captured_at),
                captured_at_source: response.map(|r| r.captured_at_source.clone()),
                sp_config: input.sp_config.is_some(),
            },
            sections: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, section: Section) {
        for item in &section.items {
            self.verdict = self.verdict.max(item.status);
            match item.status {
                Status::Pass => self.counts.pass += 1,
                Status::Warn => self.counts.warn += 1,
                Status::Fail => self.counts.fail += 1,
            }
        }
        self.sections.push(section);
    }

    /// Every item, in order.
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.sections.iter().flat_map(|s| s.items.iter())
    }

    /// The item with this id.
    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items().find(|i| i.id == id)
    }
}
