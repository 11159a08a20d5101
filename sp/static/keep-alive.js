// The home page's session renewal (Flow Production Tracking). Every interval a passive AuthnRequest in a hidden
// iframe; if the IdP refuses to be framed (no answer within 10 s, or half the interval when that
// is shorter), a small renewal window instead; if pop-ups are blocked, the page's message asking
// to allow them. A failed renewal (reported by the ACS page) ends the session here too.
// The page passes its routes and texts as data- attributes of this script's element.
(() => {
  const data = document.currentScript.dataset;
  const intervalMs = Number(data.intervalSecs) * 1000;
  const status = document.getElementById("renewal-status");
  let pending = null;
  window.addEventListener("message", (event) => {
    if (event.origin !== location.origin || !event.data || event.data.samlconf !== "renewal") return;
    clearTimeout(pending);
    pending = null;
    if (!event.data.ok) location.href = "/?renewal_failed=" + encodeURIComponent(event.data.code || "");
  });
  function openRenewalWindow() {
    const popup = window.open(data.popupUrl, "samlconf-renewal", "width=420,height=260,left=0,top=10000");
    if (!popup) status.textContent = data.popupBlockedMessage;
  }
  function renew() {
    const frame = document.createElement("iframe");
    frame.hidden = true;
    frame.src = data.iframeUrl;
    document.body.appendChild(frame);
    // A framed answer takes well under this; none means the IdP refused to be framed.
    pending = setTimeout(() => { frame.remove(); openRenewalWindow(); }, Math.min(10000, intervalMs / 2));
    setTimeout(() => frame.remove(), 20000);
  }
  setInterval(renew, intervalMs);
  if ("BroadcastChannel" in window) {
    new BroadcastChannel("samlconf-session").onmessage = (event) => { if (event.data === "logout") location.href = "/"; };
  }
})();
