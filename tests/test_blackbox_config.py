"""blackbox_exporter's modules file, read as blackbox reads it: Debian's file in
place, a file using every option slawatch implements, each invalid case that
blackbox itself refuses (its config tests' cases, written here) refused naming
the same problem at file:line, and each option slawatch does not implement
refused by name."""
from __future__ import annotations

import base64
from pathlib import Path

import pytest

from app.contracts.yamlfile import RulesError
from app.probing.modules import build_target, load_modules

DEBIAN = Path("/etc/prometheus/blackbox.yml")


def load(tmp_path: Path, text: str):
    f = tmp_path / "blackbox.yml"
    f.write_text(text)
    return load_modules(f), f


@pytest.mark.peers  # scripts/install-peers.sh installs it (make test does); a missing file fails the test
def test_debians_modules_file_loads_in_place():
    modules = load_modules(DEBIAN)
    assert set(modules) == {"http_2xx", "http_post_2xx", "tcp_connect", "pop3s_banner", "grpc", "grpc_plain",
                            "ssh_banner", "irc_banner", "icmp", "icmp_ttl5"}
    http = build_target(modules["http_2xx"], "example.org")
    # blackbox's defaults: IPv6 preferred with fallback, any 2xx, redirects followed
    assert (http.url, http.ip_protocol, http.ip_fallback, http.valid_status, http.follow_redirects) == \
        ("http://example.org", "ip6", True, [], True)
    assert build_target(modules["http_post_2xx"], "127.0.0.1:80/").method == "POST"
    irc = build_target(modules["irc_banner"], "127.0.0.1:6667")
    assert [(s.expect, s.send) for s in irc.query_response] == [
        (None, "NICK prober"), (None, "USER prober prober prober :prober"), ("PING :([^ ]+)", "PONG ${1}"),
        ("^:[^ ]+ 001", None)]
    pop3s = build_target(modules["pop3s_banner"], "127.0.0.1:995")
    assert pop3s.tls is not None and pop3s.tls.verify and pop3s.query_response[0].expect == "(?:^)+OK"
    grpc = build_target(modules["grpc"], "127.0.0.1:50051")
    assert (grpc.tls is not None, grpc.ip_protocol) == (True, "ip4")
    assert build_target(modules["grpc_plain"], "127.0.0.1:50051").service == "service1"
    ttl5 = modules["icmp_ttl5"]
    assert (build_target(ttl5, "127.0.0.1").ttl, ttl5.timeout.total_seconds()) == (5, 5)


EVERY_OPTION = """
modules:
  http_every:
    prober: http
    timeout: 5s
    http:
      valid_status_codes: [200, 204]
      valid_http_versions: ["HTTP/1.1", "HTTP/2.0"]
      method: POST
      headers:
        Origin: example.com
        Accept-Encoding: gzip
      http_headers:
        Accept-Language:
          values: [en-US, zh-CN]
        X-Api-Key:
          secrets: [s3cret]
        X-From-File:
          files: [{secret_file}]
      body_size_limit: 1MB
      compression: gzip
      follow_redirects: false
      fail_if_ssl: false
      fail_if_not_ssl: true
      fail_if_body_matches_regexp: ["Could not connect to database"]
      fail_if_body_not_matches_regexp: ["Download the latest version here"]
      fail_if_header_matches:
        - header: Set-Cookie
          allow_missing: true
          regexp: '.*'
      fail_if_header_not_matches:
        - header: Access-Control-Allow-Origin
          regexp: '(\\*|example\\.com)'
      fail_if_body_json_matches_cel: 'body.status == "down"'
      fail_if_body_json_not_matches_cel: 'size(body.items) > 0'
      tls_config:
        insecure_skip_verify: false
        ca_file: {ca_file}
        server_name: mail.example.com
        min_version: TLS12
        max_version: TLS13
      basic_auth:
        username: prober
        password_file: {secret_file}
      proxy_url: http://squid:s3cret@127.0.0.1:3128
      no_proxy: 10.0.0.0/8,.internal.example,localhost:8080
      proxy_connect_header:
        X-Proxy-Tenant: [acme]
      skip_resolve_phase_with_proxy: true
      enable_http2: true
      enable_http3: false
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
      body: '{{"ping": 1}}'
  http_token:
    prober: http
    http:
      authorization:
        type: Bearer
        credentials_file: {secret_file}
      body_file: {secret_file}
      no_follow_redirects: true
  http_oauth2:
    prober: http
    http:
      oauth2:
        client_id: prober
        client_secret_file: {secret_file}
        scopes: [probe, read]
        token_url: https://127.0.0.1:8443/oauth/token
        endpoint_params:
          audience: mail
        tls_config:
          ca_file: {ca_file}
  tcp_every:
    prober: tcp
    timeout: 5s
    tcp:
      preferred_ip_protocol: ip6
      ip_protocol_fallback: true
      source_ip_address: "::1"
      query_response:
        - expect: "^220 ([^ ]+)"
          labels:
            - name: host
              value: "${{1}}"
        - send: "EHLO prober"
        - expect_bytes: "250"
        - send: "STARTTLS"
          starttls: true
      tls: false
      tls_config:
        ca_file: {ca_file}
        cert_file: {cert_file}
        key_file: {key_file}
  dns_every:
    prober: dns
    timeout: 5s
    dns:
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
      transport_protocol: tcp
      dns_over_tls: true
      tls_config:
        ca_file: {ca_file}
      query_name: example.com
      query_type: MX
      query_class: IN
      recursion_desired: false
      valid_rcodes: [NOERROR, NXDOMAIN]
      validate_answer_rrs:
        fail_if_matches_regexp: [".*127.0.0.1"]
        fail_if_all_match_regexp: [".*127.0.0.1"]
        fail_if_not_matches_regexp: ["example.com.\\t300\\tIN\\tMX\\t10 mx.example.com."]
        fail_if_none_matches_regexp: ["127.0.0.1"]
      validate_authority_rrs:
        fail_if_matches_regexp: [".*127.0.0.1"]
      validate_additional_rrs:
        fail_if_matches_regexp: [".*127.0.0.1"]
  icmp_every:
    prober: icmp
    timeout: 5s
    icmp:
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
      dont_fragment: true
      payload_size: 1200
      ttl: 5
  unix_every:
    prober: unix
    timeout: 5s
    unix:
      query_response:
        - expect: '^[+]OK'
          send: "QUIT"
          starttls: false
      tls: true
      tls_config:
        ca_file: {ca_file}
        server_name: app.example
  websocket_every:
    prober: websocket
    timeout: 5s
    websocket:
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
      http_config:
        basic_auth:
          username: prober
          password: s3cret
        tls_config:
          ca_file: {ca_file}
        enable_http2: false
        follow_redirects: false
      headers:
        Origin:
          values: [https://example.com]
        X-Api-Key:
          secrets: [k3y]
      query_response:
        - expect: "hello ([0-9]+)"
          send: "ack ${{1}}"
  grpc_every:
    prober: grpc
    timeout: 5s
    grpc:
      service: mail
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
      metadata:
        tenant: [acme]
      tls: true
      tls_config:
        ca_file: {ca_file}
        server_name: grpc.example.com
"""


def test_a_file_using_every_implemented_option_loads_with_blackboxs_meaning(tmp_path, ca):
    secret = tmp_path / "secret.txt"
    secret.write_text("from-a-file\n")
    ca_file, cert_file, key_file = tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    leaf = ca.issue_cert("client.example")
    leaf.cert_chain_pems[0].write_to_path(str(cert_file))
    leaf.private_key_pem.write_to_path(str(key_file))
    modules, _ = load(tmp_path, EVERY_OPTION.format(secret_file=secret, ca_file=ca_file, cert_file=cert_file,
                                                    key_file=key_file))
    http = build_target(modules["http_every"], "https://127.0.0.1:8443/")
    assert (http.method, http.valid_status, http.follow_redirects, http.body_size_limit, http.compression) == \
        ("POST", [200, 204], False, 1024 * 1024, "gzip")
    assert http.headers == {"Origin": "example.com", "Accept-Encoding": "gzip", "Accept-Language": "zh-CN"}
    assert {h.name: h.secret for h in http.secret_headers} == {"X-Api-Key": "s3cret", "X-From-File": "from-a-file"}
    assert http.authorization == "Basic " + base64.b64encode(b"prober:from-a-file").decode()
    assert (http.tls.server_name, http.tls.min_version, http.tls.ca_file) == ("mail.example.com", "TLS12",
                                                                              str(ca_file))
    assert (http.ip_protocol, http.ip_fallback, http.body, http.fail_if_not_ssl) == ("ip4", False, '{"ping": 1}',
                                                                                     True)
    assert http.proxy.model_dump() == {
        "url": "http://127.0.0.1:3128", "username": "squid", "password": "s3cret",
        "no_proxy": ["10.0.0.0/8", ".internal.example", "localhost:8080"],
        "connect_headers": [{"name": "X-Proxy-Tenant", "secret": "acme"}], "resolve_target": False}
    assert [http.proxy.bypassed(h, p) for h, p in (("10.1.2.3", 80), ("a.internal.example", 443),
                                                   ("localhost", 8080), ("localhost", 80), ("example.com", 443))] \
        == [True, True, True, False, False]
    token = build_target(modules["http_token"], "127.0.0.1")
    assert (token.authorization, token.body, token.follow_redirects) == ("Bearer from-a-file", "from-a-file\n",
                                                                         False)
    oauth2 = build_target(modules["http_oauth2"], "127.0.0.1/protected").oauth2
    assert (oauth2.client_id, oauth2.secret, oauth2.scopes, oauth2.endpoint_params, oauth2.tls.ca_file) == \
        ("prober", "from-a-file", ["probe", "read"], {"audience": "mail"}, str(ca_file))
    tcp = build_target(modules["tcp_every"], "[::1]:25")
    assert (tcp.host, tcp.port, tcp.tls, tcp.starttls.cert_file, tcp.source_ip) == ("::1", 25, None, str(cert_file),
                                                                                    "::1")
    assert tcp.query_response[0].labels[0].value == "${1}" and tcp.query_response[2].expect_bytes == "250"
    dns = build_target(modules["dns_every"], "127.0.0.1")
    assert (dns.port, dns.dns_over_tls, dns.type, dns.recursion_desired, dns.valid_rcodes) == \
        (853, True, "MX", False, ["NOERROR", "NXDOMAIN"])
    icmp = build_target(modules["icmp_every"], "127.0.0.1")
    assert (icmp.ttl, icmp.payload_size, icmp.ip_fallback, icmp.dont_fragment) == (5, 1200, False, True)
    unix = build_target(modules["unix_every"], "/run/app.sock")
    assert (unix.path, unix.tls.server_name, unix.query_response[0].expect) == ("/run/app.sock", "app.example",
                                                                                "^[+]OK")
    ws = build_target(modules["websocket_every"], "wss://127.0.0.1:8443/feed")
    assert (ws.headers, {h.name for h in ws.secret_headers}, ws.query_response[0].send, ws.tls.ca_file) == \
        ({"Origin": "https://example.com"}, {"X-Api-Key", "Authorization"}, "ack ${1}", str(ca_file))
    grpc = build_target(modules["grpc_every"], "127.0.0.1:50051")
    assert (grpc.service, grpc.metadata, grpc.tls.server_name) == ("mail", {"tenant": ["acme"]}, "grpc.example.com")


# blackbox_exporter's own refusals (config/config_test.go's cases), written here: (file, line, field, message)
BLACKBOX_REFUSES = [
    ("modules:\n  d:\n    prober: dns\n    dns:\n      query_name: x\n      invalid_extra_field: value\n",
     6, "modules.d.dns.invalid_extra_field", "unknown field"),
    ("modules:\n  p:\n    prober: http\n    http:\n      bearer_token: foo\n      bearer_token_file: /dev/null\n"
     "      basic_auth:\n        username: u\n        password: p\n",
     4, "modules.p.http", "at most one of bearer_token & bearer_token_file must be configured"),
    ("modules:\n  x:\n    prober: invalid\n", 3, "modules.x.prober",
     "prober 'invalid' is not valid (slawatch probes with: dns, grpc, http, icmp, imap, pop3, smtp, tcp, tls, unix, "
     "websocket)"),
    ("modules:\n  d:\n    prober: dns\n    dns:\n      query_type: A\n", 4, "modules.d.dns",
     "query name must be set for DNS module"),
    ("modules:\n  d:\n    prober: dns\n    dns:\n      query_name: x\n      query_class: X\n", 6,
     "modules.d.dns.query_class", "query class 'X' is not valid"),
    ("modules:\n  d:\n    prober: dns\n    dns:\n      query_name: x\n      query_type: X\n", 6,
     "modules.d.dns.query_type", "query type 'X' is not valid"),
    ("modules:\n  h:\n    prober: http\n    http:\n      fail_if_header_not_matches:\n"
     "        - header: Access-Control-Allow-Origin\n          allow_missing: false\n", 6,
     "modules.h.http.fail_if_header_not_matches[0]", "regexp must be set for HTTP header matchers"),
    ("modules:\n  h:\n    prober: http\n    http:\n      fail_if_header_matches:\n        - regexp: x\n", 6,
     "modules.h.http.fail_if_header_matches[0]", "header name must be set for HTTP header matchers"),
    ("modules:\n  h:\n    prober: http\n    http:\n      fail_if_body_matches_regexp: [':[']\n", 5,
     "modules.h.http.fail_if_body_matches_regexp[0]", '"Could not compile regular expression" regexp=":["'),
    ("modules:\n  h:\n    prober: http\n    http:\n      fail_if_body_not_matches_regexp: [':[']\n", 5,
     "modules.h.http.fail_if_body_not_matches_regexp[0]", '"Could not compile regular expression" regexp=":["'),
    ("modules:\n  h:\n    prober: http\n    http:\n      fail_if_header_matches:\n        - header: X\n"
     "          regexp: ':['\n", 7, "modules.h.http.fail_if_header_matches[0].regexp",
     '"Could not compile regular expression" regexp=":["'),
    ("modules:\n  h:\n    prober: http\n    http:\n      compression: gzip\n      headers:\n"
     "        Accept-Encoding: deflate\n", 4, "modules.h.http",
     'invalid configuration "Accept-Encoding: deflate", "compression: gzip"'),
    ("modules:\n  h:\n    prober: http\n    http:\n      compression: gzip\n      headers:\n"
     "        accEpt-enCoding: deflate\n", 4, "modules.h.http",
     'invalid configuration "accEpt-enCoding: deflate", "compression: gzip"'),
    ("modules:\n  h:\n    prober: http\n    http:\n      compression: gzip\n      headers:\n"
     "        Accept-Encoding: '*;q=0.0'\n", 4, "modules.h.http",
     'invalid configuration "Accept-Encoding: *;q=0.0", "compression: gzip"'),
    ("modules:\n  h:\n    prober: http\n    http:\n      enable_http3: true\n      enable_http2: true\n"
     "      valid_http_versions: [HTTP/1.1, HTTP/2.0, HTTP/3.0]\n", 4, "modules.h.http",
     "HTTP/3 and HTTP/2.0/1.1 cannot be used together - only HTTP/3.0 is allowed when enable_http3 is true"),
    ("modules:\n  h:\n    prober: http\n    http:\n      enable_http3: true\n", 4, "modules.h.http",
     "when enable_http3 is true, enable_http2 must be set to false"),
    ("modules:\n  h:\n    prober: http\n    http:\n      valid_http_versions: [HTTP/3.0]\n", 4, "modules.h.http",
     "HTTP/3 cannot be used as a valid HTTP version when enable_http3 is false"),
    ("modules:\n  i:\n    prober: icmp\n    icmp:\n      ttl: -1\n", 5, "modules.i.icmp.ttl",
     '"ttl" cannot be negative'),
    ("modules:\n  i:\n    prober: icmp\n    icmp:\n      ttl: 256\n", 5, "modules.i.icmp.ttl",
     '"ttl" cannot exceed 255'),
    ("modules:\n  t:\n    prober: tcp\n    tcp:\n      query_response:\n        - expect: ':['\n", 6,
     "modules.t.tcp.query_response[0].expect", '"Could not compile regular expression" regexp=":["'),
    ("modules:\n  u:\n    prober: unix\n    unix:\n      query_response:\n        - send: PING\n"
     "          expect: ':['\n", 7, "modules.u.unix.query_response[0].expect",
     '"Could not compile regular expression" regexp=":["'),
    ("modules:\n  t:\n    prober: tcp\n    tcp:\n      query_response:\n        - expect: 'a'\n"
     "          expect_bytes: 'a'\n", 6, "modules.t.tcp.query_response[0]",
     "expect and expect_bytes are mutually exclusive"),
    ("modules:\n  h:\n    prober: http\n    http:\n      body: a\n      body_file: /dev/null\n", 4, "modules.h.http",
     "setting body and body_file both are not allowed"),
    ("modules:\n  h:\n    prober: http\n    http:\n      no_proxy: 10.0.0.0/8\n", 4, "modules.h.http",
     "if no_proxy is configured, proxy_url must also be configured"),
    ("modules:\n  h:\n    prober: http\n    http:\n      proxy_from_environment: true\n"
     "      proxy_url: http://127.0.0.1:3128\n", 4, "modules.h.http",
     "if proxy_from_environment is configured, proxy_url must not be configured"),
    ("modules:\n  h:\n    prober: http\n    http:\n      proxy_connect_header:\n        X: [y]\n", 4,
     "modules.h.http", "if proxy_connect_header is configured, proxy_url or proxy_from_environment must also be "
     "configured"),
    ("modules:\n  h:\n    prober: http\n    http:\n      oauth2:\n        token_url: http://127.0.0.1/t\n", 4,
     "modules.h.http", "oauth2 client_id must be configured"),
    ("modules:\n  h:\n    prober: http\n    http:\n      oauth2:\n        client_id: x\n"
     "        token_url: http://127.0.0.1/t\n        client_secret: a\n        client_secret_file: /dev/null\n", 4,
     "modules.h.http", "at most one of oauth2 client_secret, client_secret_file & client_secret_ref must be "
     "configured using grant-type=client_credentials"),
    ("modules:\n  h:\n    prober: http\n    http:\n      authorization:\n        type: Basic\n", 4,
     "modules.h.http", 'authorization type cannot be set to "basic", use "basic_auth" instead'),
    ("modules:\n  h:\n    prober: http\n    http:\n      tls_config:\n        cert_file: /dev/null\n", 5,
     "modules.h.http.tls_config", "exactly one of key or key_file must be configured when a client certificate "
     "is configured"),
    ("modules:\n  h:\n    prober: http\n    http:\n      tls_config:\n        min_version: TLS13\n"
     "        max_version: TLS12\n", 5, "modules.h.http.tls_config", "tls_config.max_version must be greater than "
     "or equal to tls_config.min_version if both are specified"),
    ("modules:\n  w:\n    prober: websocket\n    websocket:\n      http_config:\n        bearer_token: t\n"
     "        basic_auth:\n          username: u\n", 5, "modules.w.websocket.http_config",
     "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured"),
    ("modules:\n  t:\n    prober: tcp\n    tcp:\n      source_ip_address: here\n", 5,
     "modules.t.tcp.source_ip_address", "'here' is not an IP address"),
    ("modules:\n  h:\n    prober: http\n    http:\n      fail_if_body_json_matches_cel: 'body.ok ==='\n", 5,
     "modules.h.http.fail_if_body_json_matches_cel", '"Could not compile CEL program" expression="body.ok ==="'),
    # RE2 has no look-ahead: blackbox cannot compile it, so neither does slawatch
    ("modules:\n  h:\n    prober: http\n    http:\n      fail_if_body_matches_regexp: ['a(?=b)']\n", 5,
     "modules.h.http.fail_if_body_matches_regexp[0]", '"Could not compile regular expression" regexp="a(?=b)"'),
]


@pytest.mark.parametrize("text, line, field, message", BLACKBOX_REFUSES,
                         ids=[c[3][:40] for c in BLACKBOX_REFUSES])
def test_what_blackbox_refuses_is_refused_naming_the_same_problem(tmp_path, text, line, field, message):
    with pytest.raises(RulesError) as e:
        load(tmp_path, text)
    assert str(e.value) == f"{tmp_path / 'blackbox.yml'}:{line}: {field}: {message}"


# what slawatch does not implement: refused by name, with the reason, never ignored
SLAWATCH_REFUSES = [  # (prober, its section, line, field, message)
    ("http", "oauth2:\n        client_id: x\n        token_url: http://127.0.0.1/t\n"
     "        grant_type: urn:ietf:params:oauth:grant-type:jwt-bearer", 8, "http.oauth2.grant_type",
     "not supported (only the client_credentials grant)"),
    ("http", "oauth2:\n        client_id: x\n        token_url: http://127.0.0.1/t\n"
     "        proxy_url: http://127.0.0.1:3128", 8, "http.oauth2.proxy_url",
     "not supported (a proxy for the token endpoint)"),
    ("http", "proxy_url: https://127.0.0.1:3128", 4, "http",
     "proxy_url: not supported ('https://127.0.0.1:3128': slawatch speaks to an http:// proxy, host and port)"),
    ("http", "enable_http3: true\n      enable_http2: false", 4, "http", "enable_http3: not supported (HTTP/3)"),
    ("icmp", "source_ip_address: 127.0.0.2", 5, "icmp.source_ip_address",
     "not supported (one socket, bound to no address, is shared by every ping)"),
    ("http", "basic_auth:\n        username: a\n        password_file: /nonexistent/pw", 7,
     "http.basic_auth.password_file", "cannot read /nonexistent/pw: No such file or directory"),
    # a line break in a header or the method would write a request of its own: never sent
    ("http", 'headers:\n        X-A: "a\\r\\nB: c"', 6, "http.headers.X-A",
     "String should match pattern '^[^\\r\\n\\x00]*$'"),
    ("http", 'method: "GET / HTTP/1.1\\r\\nX: y"', 5, "http.method",
     "String should match pattern '^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,20}$'"),
    ("grpc", "source_ip_address: 127.0.0.2", 5, "grpc.source_ip_address",
     "not supported (grpcio chooses the local address)"),
    ("grpc", "tls: true\n      tls_config:\n        insecure_skip_verify: true", 4, "grpc",
     "tls_config.insecure_skip_verify: not supported (grpcio's channels always verify)"),
]


@pytest.mark.parametrize("prober, section, line, field, message", SLAWATCH_REFUSES,
                         ids=[c[3] for c in SLAWATCH_REFUSES])
def test_what_slawatch_does_not_implement_is_refused_by_name(tmp_path, prober, section, line, field, message):
    with pytest.raises(RulesError) as e:
        load(tmp_path, f"modules:\n  m:\n    prober: {prober}\n    {prober}:\n      {section}\n")
    assert str(e.value) == f"{tmp_path / 'blackbox.yml'}:{line}: modules.m.{field}: {message}"


@pytest.mark.peers
def test_the_modules_file_reloads_as_blackboxs_does(tmp_path):
    """SIGHUP or ``POST /-/reload`` reads the file again; a bad one is refused with its
    file:line, the running set stays, and blackbox's reload gauge says so."""
    import os
    import signal

    from tests.peers.service import slawatch_run
    from tests.peers.util import wait_until

    f = tmp_path / "blackbox.yml"
    f.write_text("modules:\n  tcp_connect:\n    prober: tcp\n")
    with slawatch_run(tmp_path, PROBE_MODULES=str(f)) as sw, sw.api("admin") as admin:
        def gauge() -> str:
            text = admin.get("/metrics").text
            return next(line for line in text.splitlines()
                        if line.startswith("blackbox_exporter_config_last_reload_successful "))

        def known(module: str) -> bool:
            r = admin.get("/probe", params={"module": module, "target": "127.0.0.1:9"})
            return r.status_code == 200

        assert gauge().endswith(" 1.0") and known("tcp_connect") and not known("icmp")
        f.write_text("modules:\n  tcp_connect:\n    prober: tcp\n  icmp:\n    prober: icmp\n")
        os.kill(sw.pid, signal.SIGHUP)
        assert wait_until(lambda: known("icmp"), 10)
        f.write_text("modules:\n  icmp:\n    prober: icmp\n    icmp:\n      ttl: 300\n")
        r = admin.post("/-/reload")
        assert r.status_code == 422 and r.json()["detail"] == f'{f}:5: modules.icmp.icmp.ttl: "ttl" cannot exceed 255'
        assert gauge().endswith(" 0.0") and known("tcp_connect")  # the running set stays
        assert sw.api("noc").post("/-/reload").status_code == 403
        f.write_text("modules:\n  icmp:\n    prober: icmp\n")
        assert admin.post("/-/reload").json() == {"modules": ["icmp"]}
        assert gauge().endswith(" 1.0") and not known("tcp_connect")


@pytest.mark.parametrize("model, fields, reason", [
    ("probes.icmp.IcmpTarget", {"host": "127.0.0.1"}, "one socket, bound to no address, is shared by every ping"),
    ("probes.grpc.GrpcTarget", {"host": "127.0.0.1", "port": 50051}, "grpcio chooses the local address"),
])
def test_a_stored_target_cannot_ask_for_a_source_address_its_probe_cannot_bind(model, fields, reason):
    import importlib

    from pydantic import ValidationError
    module, _, name = model.rpartition(".")
    with pytest.raises(ValidationError) as e:
        getattr(importlib.import_module(module), name)(source_ip="127.0.0.2", **fields)
    assert e.value.errors()[0]["loc"] == ("source_ip",) and f"not supported ({reason})" in str(e.value)
