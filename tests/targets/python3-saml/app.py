#!/usr/bin/python3
"""A minimal SP on python3-saml (OneLogin's toolkit, Debian's python3-onelogin-saml2), as an
integrator would write it, for samlconf to test as a target it did not write.

    /usr/bin/python3 app.py --sp-base http://127.0.0.1:8101 --idp-base http://127.0.0.1:8100 \
        --idp-cert ../../../mock-idp/testdata/idp.crt

Routes: GET /login (SP-initiated, HTTP-Redirect), POST /acs (HTTP-POST), GET /logout (SP-initiated
SLO), GET /slo (LogoutRequest / LogoutResponse, HTTP-Redirect), GET /whoami (JSON; 401 when nobody
is signed in), GET /metadata (SP metadata with its signing certificate).

Standard library only (wsgiref) besides the toolkit, sessions in memory, one thread: a test
target, not a server to deploy.
"""

import argparse
import json
import os
import secrets
import sys
import urllib.parse
from wsgiref.simple_server import WSGIRequestHandler, make_server

from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.logout_request import OneLogin_Saml2_Logout_Request
from onelogin.saml2.settings import OneLogin_Saml2_Settings

HERE = os.path.dirname(os.path.abspath(__file__))
COOKIE = "sid"
SESSIONS = {}  # sid -> {"request_id": …} before sign-in, {"name_id", "attributes", …} after


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sp-base", default=os.environ.get("SP_BASE", "http://127.0.0.1:8101"))
    p.add_argument("--idp-base", default=os.environ.get("IDP_BASE", "http://127.0.0.1:8100"),
                   help="the mock IdP; its entity ID, SSO and SLO URLs follow unless given")
    p.add_argument("--idp-entity-id")
    p.add_argument("--idp-sso-url")
    p.add_argument("--idp-slo-url")
    p.add_argument("--idp-cert", default=os.environ.get("IDP_CERT"), required="IDP_CERT" not in os.environ,
                   help="PEM file of the IdP's signing certificate")
    return p.parse_args()


def saml_settings(args):
    def pem_body(path):
        return "".join(l for l in open(path).read().splitlines() if not l.startswith("-----"))

    sp, idp = args.sp_base.rstrip("/"), args.idp_base.rstrip("/")
    return {
        # Strict mode: Destination, Recipient, Audience, InResponseTo, validity and
        # schema are checked (off, the toolkit only checks the signature).
        "strict": True,
        "debug": False,
        "sp": {
            "entityId": sp + "/metadata",
            "assertionConsumerService": {"url": sp + "/acs",
                                         "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"},
            "singleLogoutService": {"url": sp + "/slo",
                                    "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"},
            "NameIDFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
            "x509cert": pem_body(os.path.join(HERE, "sp.crt")),
            "privateKey": open(os.path.join(HERE, "sp.key")).read(),
        },
        "idp": {
            "entityId": args.idp_entity_id or idp + "/metadata",
            "singleSignOnService": {"url": args.idp_sso_url or idp + "/sso",
                                    "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"},
            "singleLogoutService": {"url": args.idp_slo_url or idp + "/slo",
                                    "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"},
            "x509cert": pem_body(args.idp_cert),
        },
        # The toolkit's documented secure settings. It has no option to refuse SHA-1 in version
        # 1.12 (rejectDeprecatedAlgorithm came in 1.15), so SHA-1 signatures are accepted.
        "security": {
            "wantAssertionsSigned": True,
            "wantMessagesSigned": False,  # the mock IdP, like Okta and Entra ID, signs the assertion
            "wantNameId": True,
            "wantAttributeStatement": False,
            "authnRequestsSigned": True,
            "logoutRequestSigned": True,
            "logoutResponseSigned": True,
            "signatureAlgorithm": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "digestAlgorithm": "http://www.w3.org/2001/04/xmlenc#sha256",
            "requestedAuthnContext": False,
        },
    }


class App:
    def __init__(self, args):
        self.settings = OneLogin_Saml2_Settings(saml_settings(args))
        self.base = urllib.parse.urlsplit(args.sp_base)
        self.landing = args.sp_base.rstrip("/") + "/whoami"

    def __call__(self, environ, start_response):
        self.environ, self.start_response = environ, start_response
        self.cookies = {}
        for part in environ.get("HTTP_COOKIE", "").split(";"):
            name, _, value = part.strip().partition("=")
            self.cookies[name] = value
        route = {
            ("GET", "/login"): self.login,
            ("POST", "/acs"): self.acs,
            ("GET", "/logout"): self.logout,
            ("GET", "/slo"): self.slo,
            ("GET", "/whoami"): self.whoami,
            ("GET", "/metadata"): self.metadata,
        }.get((environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")))
        if route is None:
            return self.reply("404 Not Found", "not found\n")
        try:
            return route()
        except Exception as e:  # the toolkit raises on malformed input: a refusal, not a crash
            return self.reply("400 Bad Request", "SAML refused: %s: %s\n" % (type(e).__name__, e))

    # --- plumbing -------------------------------------------------------------------------

    def request_data(self):
        data = {
            "https": "on" if self.base.scheme == "https" else "off",
            "http_host": self.base.netloc,
            "script_name": self.environ.get("PATH_INFO", ""),
            "get_data": dict(urllib.parse.parse_qsl(self.environ.get("QUERY_STRING", ""))),
            "post_data": {},
            # Redirect-binding signatures are checked over the query's bytes as sent, not over a
            # re-encoding of the decoded values.
            "query_string": self.environ.get("QUERY_STRING", ""),
            "validate_signature_from_qs": True,
        }
        if self.environ["REQUEST_METHOD"] == "POST":
            length = int(self.environ.get("CONTENT_LENGTH") or 0)
            body = self.environ["wsgi.input"].read(min(length, 1 << 20)).decode("utf-8", "replace")
            data["post_data"] = dict(urllib.parse.parse_qsl(body))
        return data

    def auth(self):
        return OneLogin_Saml2_Auth(self.request_data(), self.settings)

    def session(self):
        return SESSIONS.get(self.cookies.get(COOKIE, ""))

    def new_session(self, content):
        """A fresh session ID (never the one from before sign-in: no session fixation)."""
        SESSIONS.pop(self.cookies.get(COOKIE, ""), None)
        sid = secrets.token_urlsafe(24)
        SESSIONS[sid] = content
        return ("Set-Cookie", "%s=%s; Path=/; HttpOnly" % (COOKIE, sid))

    def reply(self, status, body, content_type="text/plain; charset=utf-8", headers=()):
        self.start_response(status, [("Content-Type", content_type)] + list(headers))
        return [body.encode()]

    def redirect(self, url, headers=()):
        self.start_response("302 Found", [("Location", url)] + list(headers))
        return [b""]

    # --- routes ---------------------------------------------------------------------------

    def login(self):
        auth = self.auth()
        url = auth.login(return_to=self.landing)
        # The AuthnRequest ID, so that the answer's InResponseTo is checked against it.
        return self.redirect(url, [self.new_session({"request_id": auth.get_last_request_id()})])

    def acs(self):
        pending = self.session() or {}
        auth = self.auth()
        auth.process_response(request_id=pending.get("request_id"))
        if auth.get_errors() or not auth.is_authenticated():
            return self.reply("403 Forbidden", "SAML response refused: %s: %s\n"
                              % (", ".join(auth.get_errors()), auth.get_last_error_reason()))
        cookie = self.new_session({
            "name_id": auth.get_nameid(),
            "name_id_format": auth.get_nameid_format(),
            "session_index": auth.get_session_index(),
            "attributes": auth.get_attributes(),
        })
        return self.redirect("/whoami", [cookie])

    def whoami(self):
        s = self.session()
        if not s or "name_id" not in s:
            return self.reply("401 Unauthorized", json.dumps({"name_id": None}), "application/json")
        return self.reply("200 OK", json.dumps({"name_id": s["name_id"], "attributes": s["attributes"]}),
                          "application/json")

    def logout(self):
        s = self.session()
        if not s or "name_id" not in s:
            return self.redirect("/whoami")
        auth = self.auth()
        url = auth.logout(return_to="/whoami", name_id=s["name_id"], session_index=s["session_index"],
                          name_id_format=s["name_id_format"])
        s["logout_request_id"] = auth.get_last_request_id()
        return self.redirect(url)

    def slo(self):
        s = self.session() or {}
        auth = self.auth()
        sid = self.cookies.get(COOKIE, "")
        query = self.request_data()["get_data"]

        def end_session():
            # A LogoutRequest ends this browser's session only if it names this session's user
            # (the toolkit verifies the message; whose session it is, is the application's call).
            if "SAMLRequest" in query:
                name_id = OneLogin_Saml2_Logout_Request.get_nameid(
                    OneLogin_Saml2_Logout_Request(self.settings, query["SAMLRequest"]).get_xml())
                if name_id != s.get("name_id"):
                    return
            SESSIONS.pop(sid, None)

        url = auth.process_slo(request_id=s.get("logout_request_id"), delete_session_cb=end_session)
        if auth.get_errors():
            return self.reply("403 Forbidden", "SAML logout refused: %s: %s\n"
                              % (", ".join(auth.get_errors()), auth.get_last_error_reason()))
        return self.redirect(url or "/whoami")

    def metadata(self):
        xml = self.settings.get_sp_metadata()
        errors = self.settings.validate_metadata(xml)
        if errors:
            return self.reply("500 Internal Server Error", "metadata: %s\n" % errors)
        return self.reply("200 OK", xml.decode() if isinstance(xml, bytes) else xml,
                          "application/samlmetadata+xml")


class QuietHandler(WSGIRequestHandler):
    def log_message(self, fmt, *args):  # one line per request on stderr, as the test shows it
        sys.stderr.write("python3-saml: %s\n" % (fmt % args))


def main():
    args = parse_args()
    base = urllib.parse.urlsplit(args.sp_base)
    server = make_server(base.hostname, base.port or 80, App(args), handler_class=QuietHandler)
    sys.stderr.write("python3-saml SP listening on %s\n" % args.sp_base)
    sys.stderr.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
