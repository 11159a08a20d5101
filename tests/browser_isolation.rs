//! The browser pool reuses a Chromium for one scenario after another (starting one costs more
//! than most scenarios): a reused browser must keep nothing of the scenario before it — no
//! cookie (the SP's session, the IdP's, a script's), no storage, no window, no `window.name`, no
//! entry of its network log.

use samlconf::driver::SignInOutcome;
use samlconf::driver::browser::{BrowserDriver, BrowserOptions, Chromedriver};
use samlconf::harness::{Pair, PairOptions};

/// What a browser left behind, looked at from the SP's home page.
async fn traces(browser: &BrowserDriver, sp: &str) -> (Vec<String>, serde_json::Value, usize) {
    browser
        .visit(&format!("{sp}/"))
        .await
        .expect("the SP's home page");
    let mut cookies = browser.cookie_names().await.expect("cookies");
    cookies.sort();
    let storage = browser
        .execute(
            "return { local: localStorage.getItem('left'), session: sessionStorage.getItem('left'), \
             name: window.name };",
        )
        .await
        .expect("storage");
    let windows = browser.windows().await.expect("windows");
    (cookies, storage, windows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_browser_keeps_nothing_of_the_last_scenario() {
    let chromedriver = Chromedriver::start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let pair = Pair::start(PairOptions::default())
        .await
        .expect("start the pair");
    let sp = pair.endpoints.sp_base_url.clone();
    let options = BrowserOptions::default();

    let first = BrowserDriver::start(&chromedriver, &sp, options)
        .await
        .unwrap();
    let outcome = first.sign_in("/login", "bob").await.unwrap();
    assert!(
        matches!(outcome, SignInOutcome::SignedIn { .. }),
        "{outcome:?}"
    );
    first
        .execute(
            "document.cookie = 'left=1; max-age=3600; path=/'; localStorage.setItem('left', '1'); \
             sessionStorage.setItem('left', '1'); window.name = 'left'; window.open('/', 'other');",
        )
        .await
        .unwrap();
    first.read_wire().await.unwrap();
    assert!(
        !first.posted_forms().is_empty(),
        "the IdP's answer was posted"
    );
    // What the checks below must not find again, found here (so that they can fail).
    let (cookies, storage, windows) = traces(&first, &sp).await;
    assert!(
        ["left", "mockidp_session"]
            .iter()
            .all(|name| cookies.iter().any(|c| c == name))
            && cookies.len() >= 3,
        "the SP's session, the IdP's and the script's cookie: {cookies:?}"
    );
    assert_eq!(storage["local"], "1");
    assert_eq!(storage["session"], "1");
    assert_eq!(storage["name"], "left");
    assert_eq!(windows, 2);
    let used = first.session_id().await.unwrap();
    drop(first);

    // The pool hands out a spare first; held, the next ones are taken until the used Chromium
    // comes back from its reset.
    let mut held = Vec::new();
    let reused = loop {
        assert!(held.len() < 6, "the pool never reused a Chromium");
        let next = BrowserDriver::start(&chromedriver, &sp, options)
            .await
            .unwrap();
        if next.session_id().await.unwrap() == used {
            break next;
        }
        held.push(next);
    };
    assert_eq!(reused.me().await.unwrap(), None, "signed out at the SP");
    reused.read_wire().await.unwrap();
    assert_eq!(reused.posted_forms(), vec![], "the log was drained");
    let (cookies, storage, windows) = traces(&reused, &sp).await;
    assert_eq!(cookies, Vec::<String>::new());
    assert_eq!(
        storage,
        serde_json::json!({ "local": null, "session": null, "name": "" })
    );
    assert_eq!(windows, 1);
    // A person's sign-in goes through the IdP's login page again (no IdP session was kept).
    let outcome = reused.sign_in("/login", "alice").await.unwrap();
    match outcome {
        SignInOutcome::SignedIn { me, .. } => assert_eq!(me["email"], "alice@example.com"),
        other => panic!("{other:?}"),
    }
    drop((reused, held));
    chromedriver.shutdown().await;
}

/// A scenario can end while its page is still loading (a renewal frame or window on its way, a
/// server that accepted the connection and never answers): chromedriver makes every command on a
/// loading window wait for the load, up to its page-load timeout (300 s unless set), CDP
/// commands too, so a reset that starts with a command on that window hangs, and with it the
/// next scenario waiting for the session (scenario 5.3's 60 s timeout). The reset must not wait
/// for the load: the Chromium comes back, clean, at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_left_loading_a_page_is_reset_without_waiting_for_the_load() {
    use std::time::{Duration, Instant};

    let chromedriver = Chromedriver::start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let pair = Pair::start(PairOptions::default())
        .await
        .expect("start the pair");
    let sp = pair.endpoints.sp_base_url.clone();
    let options = BrowserOptions::default();
    // Accepts connections and never answers; says when the browser's request arrived.
    let hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hole_url = format!("http://{}/never", hole.local_addr().unwrap());
    let (arrived, mut arrival) = tokio::sync::mpsc::channel(4);
    let holding = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((connection, _)) = hole.accept().await {
            held.push(connection);
            let _ = arrived.try_send(());
        }
    });

    let first = BrowserDriver::start(&chromedriver, &sp, options)
        .await
        .unwrap();
    first.visit(&format!("{sp}/")).await.unwrap();
    let used = first.session_id().await.unwrap();
    // Once the script has returned (chromedriver waits for a navigation the script starts).
    first
        .execute(&format!(
            "setTimeout(() => {{ location.href = {hole_url:?}; }}, 300);"
        ))
        .await
        .unwrap();
    arrival.recv().await.expect("the browser's request");
    drop(first);

    let started = Instant::now();
    let mut held = Vec::new();
    let reused = loop {
        assert!(
            held.len() < 4,
            "the Chromium left loading never came back from its reset"
        );
        let next = tokio::time::timeout(
            Duration::from_secs(30),
            BrowserDriver::start(&chromedriver, &sp, options),
        )
        .await
        .expect("a browser within 30 s")
        .unwrap();
        if next.session_id().await.unwrap() == used {
            break next;
        }
        held.push(next);
    };
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "the reset waited for the load: {:?}",
        started.elapsed()
    );
    assert_eq!(reused.windows().await.unwrap(), 1);
    let outcome = reused.sign_in("/login", "alice").await.unwrap();
    assert!(
        matches!(outcome, SignInOutcome::SignedIn { .. }),
        "{outcome:?}"
    );
    drop((reused, held));
    chromedriver.shutdown().await;
    holding.abort();
}
