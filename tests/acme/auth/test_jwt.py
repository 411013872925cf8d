"""The JWT policy itself: every check, each failure a 401 message naming what is wrong."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from token_issuer import AUDIENCE, ISSUER, Issuer, b64

from acme.auth import JwksFile, JwksUrl, JwtPolicy, Principal, Unauthenticated


def rejected(policy: JwtPolicy, header: str | None) -> str:
    with pytest.raises(Unauthenticated) as caught:
        policy.authenticate(header)
    return str(caught.value)


def test_a_valid_token_gives_its_subject_and_known_roles(issuer: Issuer) -> None:
    policy = issuer.policy()
    for alg in ("ES256", "RS256"):
        token = issuer.token(alg=alg, roles=["radiologist", "offline_access"])
        principal = policy.authenticate(f"Bearer {token}")
        assert principal == Principal("dr.house", frozenset({"radiologist"}), ISSUER)
    assert policy.allows(principal, "reports:sign") and not policy.allows(principal, "audit:read")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "no bearer token"),
        ("", "no bearer token"),
        ("Basic ZHI6cHc=", "scheme 'Basic'"),
        ("Bearer", "scheme 'Bearer'"),
        ("Bearer not-a-jwt", "expected header.payload.signature"),
        ("Bearer !!!.e30.x", "not base64url"),
        (f"Bearer {b64(b'[1]')}.e30.x", "header is not a JSON object"),
        ("Bearer " + "a" * 17000, "longer than"),
    ],
)
def test_missing_or_malformed_tokens(issuer: Issuer, header: str | None, message: str) -> None:
    assert message in rejected(issuer.policy(), header)


def test_expired_and_not_yet_valid_tokens(issuer: Issuer) -> None:
    now = int(time.time())
    policy = issuer.policy(clock_skew=30)
    expired = issuer.token(exp=now - 31, iat=now - 400, nbf=now - 400)
    assert "token expired at" in rejected(policy, f"Bearer {expired}")
    assert policy.authenticate(f"Bearer {issuer.token(exp=now - 20)}")  # within the skew
    early = issuer.token(nbf=now + 120)
    assert "not valid before" in rejected(policy, f"Bearer {early}")
    future = issuer.token(iat=now + 120)
    assert "issued in the future" in rejected(policy, f"Bearer {future}")
    assert "no exp claim" in rejected(policy, f"Bearer {issuer.token(exp=None)}")
    assert "NumericDate" in rejected(policy, f"Bearer {issuer.token(exp='tomorrow')}")


def test_wrong_issuer_or_audience(issuer: Issuer) -> None:
    policy = issuer.policy()
    wrong_iss = issuer.token(iss="https://evil.example/realms/radiology")
    assert "token issuer 'https://evil.example" in rejected(policy, f"Bearer {wrong_iss}")
    assert "ACME_AUTH_ISSUER" in rejected(policy, f"Bearer {wrong_iss}")
    wrong_aud = issuer.token(aud="account")
    assert f"does not include {AUDIENCE!r}" in rejected(policy, f"Bearer {wrong_aud}")
    assert policy.authenticate(f"Bearer {issuer.token(aud=AUDIENCE)}")  # a string aud is fine


def test_forged_signatures(issuer: Issuer) -> None:
    policy = issuer.policy()
    forger = ECKey.generate_key("P-256", parameters={"kid": "ec-1"})  # same kid, other key
    forged = issuer.token(forger)
    assert "signature does not verify with key 'ec-1'" in rejected(policy, f"Bearer {forged}")
    head, _payload, signature = issuer.token().split(".")
    tampered = f"{head}.{b64(json.dumps(issuer.claims(roles=['admin'])).encode())}.{signature}"
    assert "signature does not verify" in rejected(policy, f"Bearer {tampered}")
    assert "signature does not verify" in rejected(policy, f"Bearer {head}.{_payload}.")


def test_alg_none_and_hmac_are_refused_before_any_key_is_used(issuer: Issuer) -> None:
    policy = issuer.policy()
    for alg in ("none", "None", "NONE"):
        token = issuer.unsigned({"alg": alg, "kid": "ec-1"})
        assert f"token algorithm {alg!r} is not accepted" in rejected(policy, f"Bearer {token}")
    assert "algorithm None" in rejected(policy, f"Bearer {issuer.unsigned({'typ': 'JWT'})}")
    # the classic confusion attack: HS256 keyed with the public key's bytes
    unsigned = issuer.unsigned({"alg": "HS256", "kid": "rsa-1", "typ": "JWT"})[:-1]
    mac = hmac.new(issuer.rsa.as_pem(private=False), unsigned.encode(), hashlib.sha256).digest()
    hs = f"{unsigned}.{b64(mac)}"
    assert "'HS256' is not accepted" in rejected(policy, f"Bearer {hs}")
    crit = issuer.unsigned({"alg": "ES256", "kid": "ec-1", "crit": ["exp"]})
    assert "crit" in rejected(policy, f"Bearer {crit}")


def test_key_must_fit_the_algorithm(issuer: Issuer) -> None:
    policy = issuer.policy()
    mixed = issuer.unsigned({"alg": "RS256", "kid": "ec-1"})
    assert "key 'ec-1' of the JWKS file" in rejected(policy, f"Bearer {mixed}")
    issuer.publish(issuer.ec)
    no_kid = jwt.encode({"alg": "ES256"}, issuer.claims(), issuer.ec, algorithms=["ES256"])
    assert JwtPolicy(JwksFile(issuer.jwks), issuer=ISSUER, audience=AUDIENCE).authenticate(
        f"Bearer {no_kid}"
    )


def test_roles_claim_path_and_subject(issuer: Issuer) -> None:
    keycloak = issuer.policy(roles_claim="realm_access.roles")
    token = issuer.token(roles=None, realm_access={"roles": ["auditor", "uma_authorization"]})
    assert keycloak.authenticate(f"Bearer {token}").roles == {"auditor"}
    assert issuer.policy().authenticate(f"Bearer {token}").roles == frozenset()  # 403 later
    spaced = issuer.token(roles="clinician technologist")
    assert issuer.policy().authenticate(f"Bearer {spaced}").roles == {"clinician", "technologist"}
    assert "sub must name the caller" in rejected(issuer.policy(), f"Bearer {issuer.token(sub='')}")


def test_a_rotated_key_is_picked_up_from_the_file(issuer: Issuer, tmp_path: Path) -> None:
    clock = [1000.0]
    policy = JwtPolicy(
        JwksFile(issuer.jwks, clock=lambda: clock[0]), issuer=ISSUER, audience=AUDIENCE
    )
    assert policy.authenticate(f"Bearer {issuer.token()}")
    rotated = ECKey.generate_key("P-256", parameters={"kid": "ec-2"})
    issuer.publish(issuer.ec, rotated)
    clock[0] += 1  # too soon after the last read: unknown kids do not hammer the source
    assert "key 'ec-2' is not in the JWKS file" in rejected(
        policy, f"Bearer {issuer.token(rotated)}"
    )
    clock[0] += 60
    assert policy.authenticate(f"Bearer {issuer.token(rotated)}")
    missing = JwtPolicy(JwksFile(tmp_path / "none.json"), issuer=ISSUER, audience=AUDIENCE)
    assert "no such file" in rejected(missing, f"Bearer {issuer.token()}")


def test_jwks_url_is_cached_and_refetched_on_an_unknown_kid(issuer: Issuer) -> None:
    published = [issuer.ec]
    fetches: list[str] = []

    def provider(request: httpx.Request) -> httpx.Response:
        fetches.append(str(request.url))
        return httpx.Response(200, json={"keys": [k.as_dict(private=False) for k in published]})

    clock = [0.0]
    url = f"{ISSUER}/protocol/openid-connect/certs"
    keys = JwksUrl(
        url, max_age=300, client=httpx.Client(transport=httpx.MockTransport(provider)),
        clock=lambda: clock[0],
    )  # fmt: skip
    policy = JwtPolicy(keys, issuer=ISSUER, audience=AUDIENCE)
    for _ in range(3):
        policy.authenticate(f"Bearer {issuer.token()}")
    assert fetches == [url]
    published.append(issuer.rsa)
    clock[0] = 30
    policy.authenticate(f"Bearer {issuer.token(alg='RS256')}")  # unknown kid: refetched
    assert len(fetches) == 2
    clock[0] = 400
    policy.authenticate(f"Bearer {issuer.token()}")  # too old: refetched
    assert len(fetches) == 3


def test_an_unreachable_provider_is_a_401_naming_it_and_not_hammered(issuer: Issuer) -> None:
    attempts: list[str] = []

    def down(request: httpx.Request) -> httpx.Response:
        attempts.append(str(request.url))
        raise httpx.ConnectError("connection refused", request=request)

    clock = [0.0]
    keys = JwksUrl(
        "https://idp.example/certs", max_age=60,
        client=httpx.Client(transport=httpx.MockTransport(down)), clock=lambda: clock[0],
    )  # fmt: skip
    policy = JwtPolicy(keys, issuer=ISSUER, audience=AUDIENCE)
    for _ in range(3):
        message = rejected(policy, f"Bearer {issuer.token()}")
        assert "https://idp.example/certs: ConnectError" in message
    assert len(attempts) == 1
    clock[0] = 11
    rejected(policy, f"Bearer {issuer.token()}")
    assert len(attempts) == 2


def test_keys_already_held_survive_a_failed_refresh(issuer: Issuer) -> None:
    answers = [httpx.Response(200, json={"keys": [issuer.ec.as_dict(private=False)]})]

    def flaky(request: httpx.Request) -> httpx.Response:
        if answers:
            return answers.pop()
        return httpx.Response(503)

    clock = [0.0]
    keys = JwksUrl(
        "https://idp.example/certs", max_age=60,
        client=httpx.Client(transport=httpx.MockTransport(flaky)), clock=lambda: clock[0],
    )  # fmt: skip
    policy = JwtPolicy(keys, issuer=ISSUER, audience=AUDIENCE)
    assert policy.authenticate(f"Bearer {issuer.token()}")
    clock[0] = 120  # stale, and the provider answers 503: the held key still verifies
    assert policy.authenticate(f"Bearer {issuer.token()}")
