//! `samlconf load --target FILE`: sign-ins against an SP we do not control, described by a
//! target file (`docs/targets.md`, read by [`crate::target`] as `samlconf run --target` reads it),
//! with the mock IdP in this process at the target's `idp_listen` (the fixed test key, which the
//! target trusts). Each sign-in goes through the runner's seam ([`ExternalSp`]) and is judged by
//! effect: the target's whoami in that browser names the user afterwards.

use std::path::Path;
use std::sync::Arc;

use super::AttemptResult;
use crate::driver::SignInOutcome;
use crate::sut::external::ExternalSp;
use crate::sut::{SignInStart, SpUnderTest};
use crate::target::Target;

/// A target file, loaded, and the SP it describes as the runner drives it.
pub struct LoadTarget {
    pub target: Target,
    sp: ExternalSp,
}

impl std::fmt::Debug for LoadTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadTarget")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// Loads the target file at `path` (fetching its metadata when it names it).
pub async fn read_target(path: &Path) -> Result<LoadTarget, String> {
    let target = Target::load(path).await?;
    Ok(LoadTarget {
        sp: ExternalSp::new(target.clone()),
        target,
    })
}

/// The mock IdP the target trusts, serving at its `idp_listen` until dropped.
pub struct TargetIdp {
    task: tokio::task::JoinHandle<()>,
}

impl TargetIdp {
    pub async fn start(target: &LoadTarget) -> Result<TargetIdp, String> {
        let target = &target.target;
        let listener = tokio::net::TcpListener::bind(&target.idp_listen)
            .await
            .map_err(|e| format!("the mock IdP cannot listen on {}: {e}", target.idp_listen))?;
        let base_url = target.idp_base_url();
        let config = mock_idp::server::IdpConfig {
            entity_id: format!("{base_url}/metadata"),
            base_url,
            service_providers: vec![target.known_sp()],
            users: mock_idp::users::demo_users(),
            default_profile: "valid".into(),
            deterministic: false,
            forbid_framing: false,
            want_authn_requests_signed: false,
        };
        config.check().map_err(|e| format!("mock IdP: {e}"))?;
        let keys = mock_idp::keys::IdpKeys::fixed_for_tests();
        let clock = Arc::new(plumbing::clock::SystemClock);
        let app = mock_idp::server::router(mock_idp::server::Idp::new(config, keys, clock));
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "the target's mock IdP stopped");
            }
        });
        Ok(TargetIdp { task })
    }
}

impl Drop for TargetIdp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One sign-in of `user` at the target in a fresh browser: SP-initiated when the file names a
/// `[start] login_url`, else IdP-initiated.
pub async fn sign_in(target: &LoadTarget, user: &str) -> AttemptResult {
    match try_sign_in(target, user).await {
        Ok(result) => result,
        Err(e) => AttemptResult::Broken(e),
    }
}

async fn try_sign_in(target: &LoadTarget, user: &str) -> Result<AttemptResult, String> {
    let sp = &target.sp;
    let browser = sp.browser()?;
    let outcome = if target.target.start.login_url.is_some() {
        let start = SignInStart {
            user,
            relay_state: None,
            choose_idp: None,
            test: false,
        };
        sp.sign_in(&browser, &browser, start).await?
    } else {
        let idp = target.target.idp_base_url();
        sp.sign_in_idp_initiated(&browser, &browser, &idp, user, None)
            .await?
    };
    Ok(match outcome {
        SignInOutcome::SignedIn { .. } => match sp.whoami(&browser).await? {
            // A whoami that tells no NameID (a cookie) says only that somebody is signed in.
            Some(me) if me.name_id.as_deref().is_none_or(|n| n == user) => AttemptResult::Accepted,
            Some(me) => {
                AttemptResult::Broken(format!("signed in as {}", me.name_id.unwrap_or_default()))
            }
            None => AttemptResult::Broken("accepted, but the whoami says nobody".into()),
        },
        SignInOutcome::Refused { code, status, .. } if code.is_empty() => {
            AttemptResult::Broken(format!(
                "nobody signed in; the SP answered {status}, a page no [error_map] entry matches"
            ))
        }
        SignInOutcome::Refused { code, .. } => AttemptResult::Refused(code),
        SignInOutcome::IdpRefused { status, .. } => {
            AttemptResult::Broken(format!("the mock IdP refused to answer ({status})"))
        }
        SignInOutcome::LinkPrompt { .. } | SignInOutcome::Tested { .. } => {
            AttemptResult::Broken("the target answered with a page the load does not drive".into())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_the_python3_saml_target() {
        let file =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/targets/python3-saml/target.toml");
        // Without its metadata URL (the app is not running): the file names the rest.
        let text = std::fs::read_to_string(file).unwrap();
        let text: String = text
            .lines()
            .filter(|l| !l.starts_with("metadata"))
            .map(|l| format!("{l}\n"))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("target.toml");
        std::fs::write(&path, text).unwrap();
        let target = read_target(&path).await.unwrap().target;
        assert_eq!(target.idp_listen, "127.0.0.1:8100");
        assert_eq!(
            target.start.login_url.as_deref(),
            Some("http://127.0.0.1:8101/login")
        );
        assert_eq!(target.whoami.json_pointer.as_deref(), Some("/name_id"));
        // The longest matching text wins.
        let page = "SAML refused: Signature validation failed. Found an invalid Signed Element";
        assert_eq!(
            target.code_for(page).as_deref(),
            Some("signature.reference_mismatch")
        );
    }
}
