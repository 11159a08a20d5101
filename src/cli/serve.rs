//! `samlconf serve`: the mock IdP and the reference SP on loopback, ready for a person.

use std::path::PathBuf;
use std::process::ExitCode;

use samlconf::harness::{Pair, PairOptions};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Port of the mock IdP.
    #[arg(long, default_value_t = 9000)]
    idp_port: u16,
    /// Port of the reference SP.
    #[arg(long, default_value_t = 8000)]
    sp_port: u16,
    /// SP configuration file (TOML, see sp/config.example.toml); its [idp] section is replaced
    /// by the mock IdP's. Default: the demo configuration.
    #[arg(long)]
    config: Option<PathBuf>,
    /// A product preset for the SP (generic, flow-production-tracking, shotgun, decisions,
    /// ontrackio): that product's documented defaults; options in --config still win.
    #[arg(long)]
    preset: Option<String>,
    /// Where the IdP's and the SP's signing keys and the SP's database live.
    #[arg(long, default_value = ".samlconf")]
    state_dir: PathBuf,
    /// The SP's store: a SQLite file, or a postgres:// URL that several `serve` processes share
    /// (a cluster behind one address). Overrides --config's [sp] database. Default: sp.sqlite in
    /// --state-dir (or --config's [sp] database).
    #[arg(long, value_name = "PATH|URL")]
    database: Option<String>,
    /// Live mode: no mock IdP; the reference SP trusts this real IdP's metadata (file or
    /// http(s):// URL) and shows the checklist of the last response it received at
    /// /certify/last. --config's [idp] section is replaced by the metadata's.
    #[arg(long, value_name = "FILE|URL")]
    idp_metadata: Option<String>,
    /// Serve both over HTTPS with a certificate authority made for this run (its certificate is
    /// written to STATE_DIR/run-ca.pem; import it, or start Chromium with the printed flag).
    #[arg(long)]
    https: bool,
    /// The host name in the SP's URLs (e.g. `localhost`, so that the IdP at 127.0.0.1 is on
    /// another site and browsers apply cross-site cookie rules). Default: 127.0.0.1.
    #[arg(long, value_name = "HOST")]
    sp_host: Option<String>,
}

pub fn run(args: ServeArgs) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("samlconf serve: cannot start the async runtime: {e}");
            return ExitCode::from(super::EXIT_USAGE);
        }
    };
    runtime.block_on(async move {
        if let Err(e) = std::fs::create_dir_all(&args.state_dir) {
            eprintln!("samlconf serve: cannot create {}: {e}", args.state_dir.display());
            return ExitCode::from(super::EXIT_USAGE);
        }
        let preset = match args.preset.as_deref().map(sp::config::Preset::from_name) {
            None => None,
            Some(Ok(preset)) => Some(preset),
            Some(Err(e)) => {
                eprintln!("samlconf serve: --preset: {e}");
                return ExitCode::from(super::EXIT_USAGE);
            }
        };
        let sp_config = match &args.config {
            Some(path) => match sp::config::SpConfig::load_with_preset(path, preset) {
                Ok(mut config) => {
                    if let Some(database) = &args.database {
                        config.sp.database = database.clone();
                    }
                    Some(config)
                }
                Err(e) => {
                    eprintln!("samlconf serve: {e}");
                    return ExitCode::from(super::EXIT_USAGE);
                }
            },
            None => None,
        };
        if let Some(source) = &args.idp_metadata {
            return live(&args, source, sp_config).await;
        }
        let database = args.database.clone().unwrap_or_else(|| {
            args.state_dir.join("sp.sqlite").to_string_lossy().into_owned()
        });
        let options = PairOptions {
            idp_port: args.idp_port,
            sp_port: args.sp_port,
            sp_config,
            sp_tweak: None,
            database,
            idp_state_dir: Some(args.state_dir.join("idp")),
            sp_state_dir: Some(args.state_dir.join("sp")),
            virtual_start: None,
            // Without --config, the preset goes under the demo configuration.
            sp_overrides: preset.filter(|_| args.config.is_none()).map(|preset| {
                let mut sp = toml::Table::new();
                sp.insert("preset".into(), toml::Value::String(preset.name().into()));
                toml::Table::from_iter([("sp".to_owned(), toml::Value::Table(sp))])
            }),
            https: args.https,
            sp_host: args.sp_host.clone(),
            ..Default::default()
        };
        let pair = match Pair::start(options).await {
            Ok(pair) => pair,
            Err(e) => {
                eprintln!("samlconf serve: {e}");
                return ExitCode::from(super::EXIT_USAGE);
            }
        };
        let e = &pair.endpoints;
        println!("samlconf is serving on loopback:\n");
        println!("  reference SP   {}/            <- open this and sign in", e.sp_base_url);
        println!("                 {}/saml/metadata", e.sp_base_url);
        println!("  mock IdP       {}/metadata", e.idp_base_url);
        println!("                 {}/_control/profiles  (knob presets)", e.idp_base_url);
        println!();
        println!("  demo users: alice@example.com (admin), bob@example.com (member),");
        println!("              carol@example.com (editor via Entra GUID), dave@example.com, erin@example.com (no access)");
        if let Some(ca) = &pair.tls {
            let path = args.state_dir.join("run-ca.pem");
            match std::fs::write(&path, &ca.ca_cert_pem) {
                Ok(()) => println!("  HTTPS: this run's CA certificate is {}", path.display()),
                Err(e) => eprintln!("samlconf serve: cannot write {}: {e}", path.display()),
            }
            println!(
                "         Chromium: --user-data-dir=<a fresh dir> --ignore-certificate-errors-spki-list={}",
                ca.server_spki_sha256
            );
        }
        println!("  state: {}  — stop with Ctrl-C", args.state_dir.display());
        tokio::select! {
            _ = pair.wait() => {}
            _ = tokio::signal::ctrl_c() => { println!("\nstopping"); }
        }
        ExitCode::SUCCESS
    })
}

/// `serve --idp-metadata`: the reference SP alone, against a real IdP.
async fn live(args: &ServeArgs, source: &str, sp_config: Option<sp::config::SpConfig>) -> ExitCode {
    use samlconf::certify::{input, live};
    let fail = |e: String| {
        eprintln!("samlconf serve: {e}");
        ExitCode::from(super::EXIT_USAGE)
    };
    let metadata_xml = match input::read_metadata(source).await {
        Ok(xml) => xml,
        Err(e) => return fail(e),
    };
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", args.sp_port)).await {
        Ok(l) => l,
        Err(e) => return fail(format!("cannot listen on 127.0.0.1:{}: {e}", args.sp_port)),
    };
    let options = live::LiveOptions {
        metadata_xml,
        metadata_source: source.to_owned(),
        sp_config,
        state_dir: args.state_dir.clone(),
        database: args.database.clone(),
    };
    let running = match live::start(options, listener).await {
        Ok(running) => running,
        Err(e) => return fail(e),
    };
    let config = running.sp.config();
    println!(
        "samlconf is serving the reference SP against {}:\n",
        running.idp_entity_id
    );
    println!("  register at your IdP:  entity ID  {}", config.entity_id());
    println!("                         ACS URL    {}", config.acs_url());
    println!(
        "                         metadata   {}/saml/metadata",
        running.sp_base_url
    );
    println!("  then sign in:          {}/login", running.sp_base_url);
    println!(
        "  and read the checklist {}/certify/last",
        running.sp_base_url
    );
    println!();
    println!(
        "  the last response is kept in memory only; state: {}  — stop with Ctrl-C",
        args.state_dir.display()
    );
    tokio::select! {
        _ = running.wait() => {}
        _ = tokio::signal::ctrl_c() => { println!("\nstopping"); }
    }
    ExitCode::SUCCESS
}
