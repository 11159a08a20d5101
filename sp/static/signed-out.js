// Logout closes the renewal window (Flow Production Tracking): tell every page of this site, the popup included.
if ("BroadcastChannel" in window) new BroadcastChannel("samlconf-session").postMessage("logout");
