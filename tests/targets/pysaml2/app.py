#!/usr/bin/python3
"""A minimal SP on pysaml2 (Debian's python3-pysaml2, which verifies with the xmlsec1 command),
as an integrator would write it, for samlconf to test as a target it did not write.

    /usr/bin/python3 app.py --sp-base http://127.0.0.1:8111 --idp-base http://127.0.0.1:8110 \
        --idp-cert ../../../mock-idp/testdata/idp.crt

Routes: GET /login (SP-initiated, HTTP-Redirect), POST /acs (HTTP-POST), GET /logout (SP-initiated
SLO), GET /slo (LogoutRequest / LogoutResponse, HTTP-Redirect), GET /whoami (JSON; 401 when nobody
is signed in), GET /metadata (SP metadata with its signing certificate).

Standard library only (wsgiref) besides pysaml2, sessions in memory, one thread: a test target,
not a server to deploy.
"""

import argparse
import json
import os
import secrets
import sys
import tempfile
import urllib.parse
from wsgiref.simple_server import WSGIRequestHandler, make_server

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import create_metadata_string

HERE = os.path.dirname(os.path.abspath(__file__))
COOKIE = "sid"
SESSIONS = {}  # sid -> {"request_id": …} before sign-in, {"name_id", "attributes", …} after


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sp-base", default=os.environ.get("SP_BASE", "http://127.0.0.1:8111"))
    p.add_argument("--idp-base", default=os.environ.get("IDP_BASE", "http://127.0.0.1:8110"),
                   help="the mock IdP; its entity ID, SSO and SLO URLs follow unless given")
    p.add_argument("--idp-entity-id")
    p.add_argument("--idp-sso-url")
    p.add_argument("--idp-slo-url")
    p.add_argument("--idp-cert", default=os.environ.get("IDP_CERT"), required="IDP_CERT" not in os.environ,
                   help="PEM file of the IdP's signing certificate")
    return p.parse_args()


def idp_metadata(entity_id, sso_url, slo_url, cert_path):
    """The IdP's metadata, written from the arguments (the IdP need not be up when the app
    starts), as pysaml2 only takes IdP settings from metadata."""
    cert = "".join(l for l in open(cert_path).read().splitlines() if not l.startswith("-----"))
    return f"""<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"
    xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity_id}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data>
      <ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleLogoutService Binding="{BINDING_HTTP_REDIRECT}" Location="{slo_url}"/>
    <md:SingleSignOnService Binding="{BINDING_HTTP_REDIRECT}" Location="{sso_url}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"""


def sp_config(args):
    sp, idp = args.sp_base.rstrip("/"), args.idp_base.rstrip("/")
    metadata = tempfile.NamedTemporaryFile("w", suffix=".xml", prefix="pysaml2-idp-", delete=False)
    metadata.write(idp_metadata(args.idp_entity_id or idp + "/metadata", args.idp_sso_url or idp + "/sso",
                                args.idp_slo_url or idp + "/slo", args.idp_cert))
    metadata.close()
    config = SPConfig()
    config.load({
        "entityid": sp + "/metadata",
        "key_file": os.path.join(HERE, "sp.key"),
        "cert_file": os.path.join(HERE, "sp.crt"),
        "xmlsec_binary": "/usr/bin/xmlsec1",
        "metadata": {"local": [metadata.name]},
        "service": {"sp": {
            "endpoints": {
                "assertion_consumer_service": [(sp + "/acs", BINDING_HTTP_POST)],
                "single_logout_service": [(sp + "/slo", BINDING_HTTP_REDIRECT)],
            },
            "name_id_format": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
            # pysaml2's secure settings, as its documentation lists them: assertions must be
            # signed (the mock IdP, like Okta and Entra ID, signs the assertion, not the
            # Response), only answers to our own AuthnRequests, signed requests out.
            "want_assertions_signed": True,
            "want_response_signed": False,
            "allow_unsolicited": False,
            "authn_requests_signed": True,
            "logout_requests_signed": True,
            "logout_responses_signed": True,
            "signing_algorithm": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "digest_algorithm": "http://www.w3.org/2001/04/xmlenc#sha256",
        }},
        # Keep attributes under the names the IdP sends (pysaml2 drops names its converters lack).
        "allow_unknown_attributes": True,
        "accepted_time_diff": 60,  # seconds of clock skew tolerated
    })
    return config


class App:
    def __init__(self, args):
        self.config = sp_config(args)
        self.client = Saml2Client(config=self.config)
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
        except Exception as e:  # pysaml2 refuses by raising: a refusal, not a crash
            return self.reply("403 Forbidden", "SAML refused: %s: %s\n" % (type(e).__name__, e))

    # --- plumbing -------------------------------------------------------------------------

    def query(self):
        return dict(urllib.parse.parse_qsl(self.environ.get("QUERY_STRING", "")))

    def form(self):
        length = int(self.environ.get("CONTENT_LENGTH") or 0)
        body = self.environ["wsgi.input"].read(min(length, 1 << 20)).decode("utf-8", "replace")
        return dict(urllib.parse.parse_qsl(body))

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

    def send(self, http_info, headers=()):
        """pysaml2's HTTP-Redirect binding answer: a Location header."""
        location = dict(http_info["headers"])["Location"]
        self.start_response("302 Found", [("Location", location)] + list(headers))
        return [b""]

    # --- routes ---------------------------------------------------------------------------

    def login(self):
        request_id, info = self.client.prepare_for_authenticate(relay_state=self.landing)
        # The AuthnRequest ID, so that only an answer to it is accepted (InResponseTo).
        return self.send(info, [self.new_session({"request_id": request_id})])

    def acs(self):
        pending = self.session() or {}
        outstanding = {pending["request_id"]: self.landing} if "request_id" in pending else {}
        saml_response = self.form().get("SAMLResponse", "")
        response = self.client.parse_authn_request_response(saml_response, BINDING_HTTP_POST,
                                                            outstanding=outstanding)
        if response is None:
            return self.reply("403 Forbidden", "SAML refused: no valid response\n")
        cookie = self.new_session({
            "name_id": response.name_id,
            "session_index": [a.session_index for a in response.assertion.authn_statement],
            "attributes": response.get_identity(),
        })
        return self.reply("302 Found", "", headers=[("Location", "/whoami"), cookie])

    def whoami(self):
        s = self.session()
        if not s or "name_id" not in s:
            return self.reply("401 Unauthorized", json.dumps({"name_id": None}), "application/json")
        return self.reply("200 OK", json.dumps({"name_id": s["name_id"].text, "attributes": s["attributes"]}),
                          "application/json")

    def logout(self):
        s = self.session()
        if not s or "name_id" not in s:
            return self.reply("302 Found", "", headers=[("Location", "/whoami")])
        answers = self.client.global_logout(s["name_id"])
        for _entity_id, (_binding, http_info) in answers.items():
            return self.send(http_info)
        SESSIONS.pop(self.cookies.get(COOKIE, ""), None)
        return self.reply("302 Found", "", headers=[("Location", "/whoami")])

    def slo(self):
        s = self.session() or {}
        query = self.query()
        if "SAMLResponse" in query:
            response = self.client.parse_logout_request_response(query["SAMLResponse"], BINDING_HTTP_REDIRECT)
            if response is None:
                return self.reply("403 Forbidden", "SAML logout refused: no valid LogoutResponse\n")
            self.client.handle_logout_response(response)
            SESSIONS.pop(self.cookies.get(COOKIE, ""), None)
            return self.reply("302 Found", "", headers=[("Location", "/whoami")])
        # A LogoutRequest: pysaml2 ends the session only if it names this session's user, and
        # answers "Wrong user" otherwise.
        name_id = s.get("name_id")
        http_info = self.client.handle_logout_request(query.get("SAMLRequest", ""), name_id,
                                                      BINDING_HTTP_REDIRECT,
                                                      relay_state=query.get("RelayState", ""))
        if name_id is not None and not self.client.is_logged_in(name_id):
            SESSIONS.pop(self.cookies.get(COOKIE, ""), None)
        return self.send(http_info)

    def metadata(self):
        xml = create_metadata_string(None, config=self.config, valid=4)
        return self.reply("200 OK", xml.decode(), "application/samlmetadata+xml")


class QuietHandler(WSGIRequestHandler):
    def log_message(self, fmt, *args):  # one line per request on stderr, as the test shows it
        sys.stderr.write("pysaml2: %s\n" % (fmt % args))


def main():
    args = parse_args()
    base = urllib.parse.urlsplit(args.sp_base)
    server = make_server(base.hostname, base.port or 80, App(args), handler_class=QuietHandler)
    sys.stderr.write("pysaml2 SP listening on %s\n" % args.sp_base)
    sys.stderr.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
