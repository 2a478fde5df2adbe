"""Credentials, rights and start-up rules of `celgate.auth`, in process (no server)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from celgate.auth import (
    ANONYMOUS,
    AuthConfigError,
    Authenticator,
    AuthSettings,
    BoundPrincipal,
    Caller,
    Forbidden,
    Rights,
    Unauthenticated,
    authorize,
    keys,
)
from celgate.auth.http_gate import HttpGate, UnsupportedMediaType, require_json
from celgate.auth.setup import is_loopback, plan
from celgate.v1 import decision_pb2 as pb

KEY = keys.generate()
APPROVER_KEY = keys.generate()
SETTINGS = {
    "callers": [
        {
            "id": "checkout",
            "key_sha256": keys.hash_key(KEY),
            "rights": {"principals": ["checkout-*"], "tenants": ["acme"], "actions": ["tool_call", "prompt"]},
        },
        {"id": "alice", "key_sha256": [keys.hash_key(APPROVER_KEY)], "roles": ["approver"]},
        {"id": "envoy", "mtls": ["spiffe://cluster.local/ns/gw/sa/envoy"], "rights": {"status": True}},
    ]
}


def authn(data: dict | None = None, anonymous: bool = False, **kw: object) -> Authenticator:
    return Authenticator(
        AuthSettings.from_dict(data if data is not None else SETTINGS), allow_anonymous=anonymous, **kw
    )


def test_keys_are_random_and_only_their_hash_is_configured() -> None:
    assert KEY.startswith("cg_") and len(KEY) == 46 and keys.generate() != KEY
    assert keys.is_hash(keys.hash_key(KEY)) and not keys.is_hash(KEY)
    with pytest.raises(AuthConfigError, match="hash of the key, never the key itself"):
        AuthSettings.from_dict({"callers": [{"id": "x", "key_sha256": KEY}]})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"callers": [{"id": "x"}]}, "needs a credential"),
        ({"callers": [{"key_sha256": "0" * 64}]}, "id: expected"),
        ({"callers": [{"id": "x", "mtls": "a", "rights": {"actions": ["launch"]}}]}, "unknown action 'launch'"),
        ({"callers": [{"id": "x", "mtls": "a", "rights": {"explain": "yes"}}]}, "explain: expected true or false"),
        ({"callers": [{"id": "x", "mtls": "a", "colour": 1}]}, "unknown setting 'colour'"),
        ({"callers": [{"id": "a", "key_sha256": "0" * 64}, {"id": "b", "key_sha256": "0" * 64}]}, "share a key"),
        ({"jwt": {"jwks": "x.json", "issuer": "i"}}, "audience: required"),
        ({"jwt": {"jwks": "x", "issuer": "i", "audience": "a", "algorithms": ["HS256"]}}, "asymmetric"),
        ({"nope": 1}, "unknown setting 'nope'"),
    ],
)
def test_bad_settings_name_the_setting(data: dict, message: str) -> None:
    with pytest.raises(AuthConfigError, match=message):
        AuthSettings.from_dict(data)


def test_api_keys_name_their_caller_and_everything_else_is_refused() -> None:
    a = authn()
    caller = a.authenticate(f"Bearer {KEY}")
    assert caller.id == "checkout" and not caller.anonymous and caller.roles == frozenset()
    assert a.authenticate(f"bearer  {APPROVER_KEY} ").is_approver
    assert a.authenticate(f"Bearer {KEY}") is caller  # cached
    for header, message in [
        (None, "no credential"),
        ("", "no credential"),
        (f"Bearer {keys.generate()}", "unknown API key"),
        (f"Basic {KEY}", "expected `Bearer"),
        ("Bearer", "expected `Bearer"),
        ("Bearer a.b.c", "unknown API key"),  # no JWKS configured: a JWT-shaped token is just unknown
    ]:
        with pytest.raises(Unauthenticated, match=message):
            a.authenticate(header)


def test_client_certificates_name_a_configured_caller_or_one_named_after_them() -> None:
    a = authn()
    assert a.authenticate(None, ("spiffe://cluster.local/ns/gw/sa/envoy", "envoy")).rights.status
    other = a.authenticate(None, ("spiffe://x/other", "other"))
    assert other.id == "spiffe://x/other" and other.rights == Rights() and not other.anonymous
    assert a.authenticate(f"Bearer {KEY}", ("spiffe://x/other",)).id == "checkout"  # a bearer names the caller


def test_anonymous_only_where_allowed() -> None:
    assert authn({}, anonymous=True).authenticate(None) == ANONYMOUS
    with pytest.raises(Unauthenticated):
        authn({}, anonymous=False).authenticate(None)
    limited = authn({"anonymous_rights": {"explain": False}}, anonymous=True).authenticate(None)
    assert limited.anonymous and not limited.rights.explain and not limited.rights.status


CHECKOUT = Caller(
    "checkout", rights=Rights(principals=("checkout-*",), tenants=("acme",), actions=frozenset({"tool_call"}))
)


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        ({"action": "tool_call", "principal": {"id": "checkout-7", "tenant": "acme"}}, None),
        ({"action": "tool_call", "principal": {"id": "admin", "tenant": "acme"}}, "principal.id"),
        ({"action": "tool_call", "principal": {"id": "checkout-7", "tenant": "globex"}}, "principal.tenant"),
        ({"action": "tool_call", "principal": {"id": "checkout-7"}}, "principal.tenant"),
        ({"action": "tool_call"}, "principal.id"),
        ({"action": "prompt", "principal": {"id": "checkout-7", "tenant": "acme"}}, "action"),
        ({"action": "tool_call", "principal": {"id": "checkout-7", "tenant": "acme"}, "explain": True}, "explain"),
        ({"action": "tool_call", "principal": "nonsense"}, "principal.id"),
    ],
)
def test_rights_bound_principal_tenant_action_and_explain(request_: dict, field: str | None) -> None:
    proto = pb.CheckRequest(**{k: v for k, v in request_.items() if k != "principal"})
    if isinstance(request_.get("principal"), dict):
        proto.principal.CopyFrom(pb.Principal(**request_["principal"]))
    for form in (request_, proto):
        if field is None:
            assert authorize(CHECKOUT, form) is form
        else:
            with pytest.raises(Forbidden) as e:
                authorize(CHECKOUT, form)
            assert e.value.field == field and "checkout" in e.value.message


def test_principal_roles_right() -> None:
    caller = Caller("agent", rights=Rights(principal_roles=("user", "viewer")))
    authorize(caller, {"action": "prompt", "principal": {"id": "u", "roles": ["user"]}})
    with pytest.raises(Forbidden, match="may not assert principal role 'admin'"):
        authorize(caller, {"action": "prompt", "principal": {"id": "u", "roles": ["user", "admin"]}})


def test_a_bound_principal_replaces_the_bodys() -> None:
    caller = Caller("u7", rights=Rights(principals=("nobody",)), principal=BoundPrincipal("u7", ("user",), "acme"))
    body = {"action": "prompt", "principal": {"id": "admin", "roles": ["admin"], "attributes": {"team": "x"}}}
    out = authorize(caller, body)
    assert out["principal"] == {"id": "u7", "roles": ["user"], "tenant": "acme", "attributes": {"team": "x"}}
    assert body["principal"]["id"] == "admin"  # the caller's dict is not changed
    proto = pb.CheckRequest(action="prompt", principal=pb.Principal(id="admin", roles=["admin"], tenant="globex"))
    out = authorize(caller, proto)
    assert (out.principal.id, list(out.principal.roles), out.principal.tenant) == ("u7", ["user"], "acme")


def test_unrestricted_callers_pay_nothing() -> None:
    request = {"action": "prompt", "explain": True}
    assert authorize(ANONYMOUS, request) is request


# -- JWT ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> tuple[RSAKey, Path]:
    key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    other = ECKey.generate_key("P-256", parameters={"kid": "k2"})
    path = tmp_path_factory.mktemp("jwks") / "jwks.json"
    path.write_text(json.dumps({"keys": [key.as_dict(private=False), other.as_dict(private=False)]}))
    return key, path


def token(key: object, **claims: object) -> str:
    now = int(time.time())
    base = {"iss": "https://id.example", "aud": "celgate", "sub": "u7", "exp": now + 300, "iat": now}
    base.update(claims)
    base = {k: v for k, v in base.items() if v is not None}
    return jwt.encode({"alg": "RS256", "kid": "k1"}, base, key)


def jwt_authn(path: Path, **extra: object) -> Authenticator:
    conf = {"jwks": str(path), "issuer": "https://id.example", "audience": "celgate", **extra}
    return authn({"jwt": conf})


def test_jwts_are_verified_and_mapped(signer: tuple[RSAKey, Path]) -> None:
    key, path = signer
    a = jwt_authn(path, claims={"roles": "realm.roles"}, rights={"explain": True})
    caller = a.authenticate("Bearer " + token(key, realm={"roles": ["approver", "user"]}, tenant="acme"))
    assert caller.id == "u7" and caller.is_approver and caller.rights.explain
    assert caller.principal == BoundPrincipal("u7", ("approver", "user"), "acme")
    unbound = jwt_authn(path, principal_from_credential=False).authenticate("Bearer " + token(key))
    assert unbound.principal is None


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"iss": "https://evil.example"}, "iss"),
        ({"aud": "someone-else"}, "aud"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"exp": None}, "exp"),
        ({"sub": None}, "'sub'"),
    ],
)
def test_bad_jwts_are_refused(signer: tuple[RSAKey, Path], claims: dict, message: str) -> None:
    key, path = signer
    with pytest.raises(Unauthenticated, match=message):
        jwt_authn(path).authenticate("Bearer " + token(key, **claims))


def test_forged_jwts_are_refused(signer: tuple[RSAKey, Path]) -> None:
    key, path = signer
    a = jwt_authn(path)
    stranger = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    good = token(key)
    header, payload, sig = good.split(".")
    import base64

    unsigned = base64.urlsafe_b64encode(b'{"alg":"none","kid":"k1"}').rstrip(b"=").decode()
    for bad in (token(stranger), f"{unsigned}.{payload}.", f"{header}.{payload}.{sig[:-4]}AAAA", "a.b.c"):
        with pytest.raises(Unauthenticated, match="JWT rejected"):
            a.authenticate("Bearer " + bad)


def test_a_jwt_is_cached_no_longer_than_it_is_valid(signer: tuple[RSAKey, Path]) -> None:
    key, path = signer
    now = [time.time()]
    conf = {"jwks": str(path), "issuer": "https://id.example", "audience": "celgate"}
    a = Authenticator(AuthSettings.from_dict({"jwt": conf}), allow_anonymous=False, clock=lambda: now[0])
    exp = int(now[0]) + 5
    t = "Bearer " + token(key, exp=exp)
    assert a.authenticate(t).id == "u7"
    assert a._cache[t][1] == exp  # the cache (60 s) gives up at the token's expiry
    now[0] = exp + 100  # later: verified again (within the 30 s leeway on the real clock, so still valid)
    a.authenticate(t)
    assert a._cache[t][1] == exp


# -- start-up rules and the HTTP gate --------------------------------------------------------


def test_anonymous_callers_only_on_loopback_unless_asked_for() -> None:
    local = plan(None, hosts=[("grpc-addr", "127.0.0.1"), ("http-addr", "::1")])
    assert local.allow_anonymous and local.loopback_only
    with pytest.raises(AuthConfigError, match=r"refusing to listen beyond loopback \(http-addr 0.0.0.0\)"):
        plan(None, hosts=[("grpc-addr", "localhost"), ("http-addr", "0.0.0.0")])
    assert plan(None, hosts=[("http-addr", "0.0.0.0")], insecure_allow_anonymous=True).allow_anonymous
    keyed = plan(SETTINGS, hosts=[("http-addr", "0.0.0.0")])
    assert not keyed.allow_anonymous
    assert not plan(None, hosts=[("h", "10.0.0.1")], tls_cert="c", tls_key="k", tls_client_ca="ca").allow_anonymous
    with pytest.raises(AuthConfigError, match="set both"):
        plan(None, hosts=[], tls_cert="c")
    assert is_loopback("127.0.0.2") and is_loopback("[::1]") and not is_loopback("example.com")


def scope(path: str, method: str = "GET", **headers: str) -> dict:
    return {
        "type": "http",
        "path": path,
        "method": method,
        "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()],
        "state": {},
    }


def test_http_gate() -> None:
    gate = HttpGate(authn())
    assert gate.authenticate(scope("/healthz")) is None and gate.authenticate(scope("/readyz")) is None
    with pytest.raises(Unauthenticated):
        gate.authenticate(scope("/v1/status"))
    with pytest.raises(Forbidden, match="needs the 'status' right"):
        gate.authenticate(scope("/v1/status", authorization=f"Bearer {KEY}"))
    with pytest.raises(Forbidden, match="'metrics' right"):
        gate.authenticate(scope("/metrics", authorization=f"Bearer {KEY}"))
    s = scope("/v1/check", "POST", authorization=f"Bearer {KEY}", content_type="application/json; charset=utf-8")
    assert gate.authenticate(s).id == "checkout" and s["state"]["celgate.caller"].id == "checkout"
    require_json(s)
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        with pytest.raises(UnsupportedMediaType, match="expected Content-Type: application/json"):
            require_json(scope("/v1/check", "POST", content_type=ctype))
    with pytest.raises(UnsupportedMediaType, match="got none"):
        require_json(scope("/v1/check", "POST"))


def test_jwks_from_a_url_and_rotation(signer: tuple[RSAKey, Path]) -> None:
    """A JWKS served over HTTP (a real loopback server): a token signed by a key added later is
    accepted once the refresher has fetched the new set, prompted by the unknown key id."""
    import http.server
    import threading

    from celgate.auth import jwt as auth_jwt

    key, _ = signer
    new_key = RSAKey.generate_key(2048, parameters={"kid": "k9"})
    served = {"keys": [key.as_dict(private=False)]}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(served).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
        clock = [1000.0]
        source = auth_jwt.JwksSource(url, refresh_seconds=3600, clock=lambda: clock[0])
        conf = {"jwks": url, "issuer": "https://id.example", "audience": "celgate"}
        a = Authenticator(AuthSettings.from_dict({"jwt": conf}), allow_anonymous=False, jwks=source)
        assert a.authenticate("Bearer " + token(key)).id == "u7"
        now = int(time.time())
        claims = {"iss": "https://id.example", "aud": "celgate", "sub": "u8", "exp": now + 300}
        rotated = jwt.encode({"alg": "RS256", "kid": "k9"}, claims, new_key)
        with pytest.raises(Unauthenticated):
            a.authenticate("Bearer " + rotated)
        served["keys"].append(new_key.as_dict(private=False))
        clock[0] += 31  # past the re-fetch rate limit: the next unknown kid asks for a refresh
        with pytest.raises(Unauthenticated):
            a.authenticate("Bearer " + rotated)
        source.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                assert a.authenticate("Bearer " + rotated).id == "u8"
                break
            except Unauthenticated:
                time.sleep(0.05)
        else:
            raise AssertionError("the rotated key set was never fetched")
        source.stop()
        with pytest.raises(auth_jwt.JwksError, match="JSONDecodeError"):  # start-up fails loudly on a bad set
            auth_jwt.load_key_set(str(Path(__file__)))
    finally:
        server.shutdown()


def test_reflection_is_for_authenticated_callers_beyond_loopback() -> None:
    """With --insecure-allow-anonymous (not loopback-only), anonymous callers get no reflection but
    still reach the services; health stays open. A real gRPC server on a loopback port."""
    from concurrent import futures

    import grpc
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc

    from celgate.auth.grpc_gate import AuthInterceptor

    interceptor = AuthInterceptor(authn(SETTINGS, anonymous=True), mutual_tls=False, anonymous_reflection=False)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), interceptors=[interceptor])
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    names = (health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME)
    reflection.enable_server_reflection(names, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            ask = reflection_pb2.ServerReflectionRequest(list_services="")
            stub = reflection_pb2_grpc.ServerReflectionStub(ch)
            with pytest.raises(grpc.RpcError) as e:
                list(stub.ServerReflectionInfo(iter([ask]), timeout=10))
            assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
            keyed = list(stub.ServerReflectionInfo(iter([ask]), metadata=[("authorization", f"Bearer {KEY}")]))
            assert keyed[0].list_services_response.service
            health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=10)
    finally:
        server.stop(None)
