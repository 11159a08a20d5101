//! What one scenario runs on: the mock IdP the runner drives (with its extra IdPs and the virtual
//! clock, where there are), and the SP under test behind [`SpUnderTest`]. Either a fresh pair
//! (the reference SP in process), or a fresh mock IdP at a target's `idp_listen` beside an SP we
//! do not control.

use mock_idp::server::Idp;
use tokio::task::JoinHandle;

use super::{DriverKind, START};
use crate::harness::{ExtraIdp, HarnessError, Pair, PairOptions};
use crate::scenario::Scenario;
use crate::sut::SpUnderTest;
use crate::sut::external::ExternalSp;
use crate::sut::reference::ReferenceSp;
use crate::target::Target;

/// The running servers of one scenario; dropping it stops them.
pub(super) struct Stage {
    pub(super) sp: Box<dyn SpUnderTest>,
    pub(super) idp: Idp,
    pub(super) idp_base_url: String,
    pub(super) idp_entity_id: String,
    pub(super) extra_idps: Vec<ExtraIdp>,
    /// The virtual clock the IdP reads, and the SP too when it is the reference SP.
    pub(super) clock: Option<plumbing::clock::ManualClock>,
    servers: Servers,
}

enum Servers {
    Pair(Box<Pair>),
    Idp(JoinHandle<()>),
}

impl Drop for Servers {
    fn drop(&mut self) {
        if let Servers::Idp(task) = self {
            task.abort();
        }
    }
}

impl Stage {
    /// The reference SP's pair (its second node, second workspace, certificate authority);
    /// `None` against a target.
    pub(super) fn pair(&self) -> Option<&Pair> {
        match &self.servers {
            Servers::Pair(pair) => Some(pair),
            Servers::Idp(_) => None,
        }
    }

    /// A fresh pair for `scenario`, its browsers played by `driver`: the reference SP configured
    /// as the scenario says.
    pub(super) async fn reference(
        scenario: &Scenario,
        driver: &DriverKind,
        weaknesses: &sp::weakness::Weaknesses,
    ) -> Result<Stage, HarnessError> {
        let pair = Pair::start(PairOptions {
            // In a browser the SP and the IdP are different sites, so cross-site cookie rules apply:
            // with `--cross-site`, and always over HTTPS (where the cookies that must cross sites
            // can be `SameSite=None; Secure`, and the SameSite scenarios need two sites).
            sp_host: match driver {
                DriverKind::Browser { cross_site, .. } => *cross_site || scenario.https,
                DriverKind::Http => false,
            }
            .then(|| "localhost".to_owned()),
            sp_weaknesses: weaknesses.clone(),
            virtual_start: Some(START),
            sp_overrides: scenario.sp_overrides_root(),
            extra_idp_users: scenario.idp_users.clone(),
            extra_idps: scenario.extra_idps.iter().map(|e| e.options()).collect(),
            https: scenario.https,
            second_node: scenario.second_node,
            workspace2: scenario
                .workspace2
                .as_ref()
                .map(crate::scenario::sp_overrides_root),
            ..Default::default()
        })
        .await?;
        Ok(Stage {
            sp: Box::new(ReferenceSp::new(
                pair.sp.clone(),
                &pair.endpoints.sp_base_url,
                pair.tls.as_ref().map(|ca| ca.ca_cert_pem.clone()),
                START - time::Duration::days(31),
            )),
            idp: pair.idp.clone(),
            idp_base_url: pair.endpoints.idp_base_url.clone(),
            idp_entity_id: pair.endpoints.idp_entity_id(),
            extra_idps: pair.extra_idps.clone(),
            clock: pair.clock.clone(),
            servers: Servers::Pair(Box::new(pair)),
        })
    }

    /// A fresh mock IdP at the target's `idp_listen` (its fixed test keys, its demo directory
    /// with the scenario's users), knowing the target as its SP. Its clock starts at the real
    /// time, which the target reads: the runner moves no clock of the target.
    pub(super) async fn target(target: &Target, scenario: &Scenario) -> Result<Stage, String> {
        let listener = bind_retrying(&target.idp_listen).await?;
        let idp_base_url = target.idp_base_url();
        let idp_entity_id = format!("{idp_base_url}/metadata");
        let mut users = mock_idp::users::demo_users();
        for user in &scenario.idp_users {
            users.retain(|u| u.login != user.login);
            users.push(user.clone());
        }
        let config = mock_idp::server::IdpConfig {
            entity_id: idp_entity_id.clone(),
            base_url: idp_base_url.clone(),
            service_providers: vec![target.known_sp()],
            users,
            default_profile: "valid".into(),
            deterministic: false,
            forbid_framing: false,
            want_authn_requests_signed: false,
        };
        config.check().map_err(|e| format!("mock IdP: {e}"))?;
        let clock = plumbing::clock::ManualClock::new(time::OffsetDateTime::now_utc());
        let idp = Idp::new(
            config,
            mock_idp::keys::IdpKeys::fixed_for_tests(),
            std::sync::Arc::new(clock.clone()),
        );
        let app = mock_idp::server::router(idp.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "mock IdP server stopped");
            }
        });
        Ok(Stage {
            sp: Box::new(ExternalSp::new(target.clone())),
            idp,
            idp_base_url,
            idp_entity_id,
            extra_idps: Vec::new(),
            clock: Some(clock),
            servers: Servers::Idp(task),
        })
    }
}

/// Binds `addr`, retrying briefly: the previous scenario's IdP has just let go of it.
async fn bind_retrying(addr: &str) -> Result<tokio::net::TcpListener, String> {
    let mut last = String::new();
    for _ in 0..50 {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => return Ok(listener),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    Err(format!("cannot listen on {addr}: {last}"))
}
