// What the ACS answers to a renewal, inside the iframe or the renewal window: it reports to the
// page that asked; a renewal window stays open (Flow Production Tracking) and closes when the user signs out.
// A failed renewal carries its reason code in this script element's data-code attribute.
(() => {
  const code = document.currentScript.dataset.code;
  const message = code === undefined
    ? { samlconf: "renewal", ok: true }
    : { samlconf: "renewal", ok: false, code: code };
  if (window.parent !== window) window.parent.postMessage(message, location.origin);
  if (window.opener) window.opener.postMessage(message, location.origin);
  if ("BroadcastChannel" in window) {
    new BroadcastChannel("samlconf-session").onmessage = (event) => { if (event.data === "logout") window.close(); };
  }
})();
