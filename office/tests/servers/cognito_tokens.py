#!/usr/bin/env python3
"""Mints a JWT for the office's Cognito sign-in tests, signed as moto's cognito-idp signs its
tokens (RS256, kid "dummy") with moto's own private key or with a fresh one.

Usage: python cognito_tokens.py moto|fresh < claims.json   (prints the token)

`moto`: the key moto signs every pool's tokens with (its jwks-private.json), for a token
that only its claims make wrong (expired, another issuer). `fresh`: a new RSA key under the
same kid, for a token whose signature is wrong.
"""
import json
import sys

from joserfc import jwk, jwt
from moto.utilities.utils import load_resource


def main():
    which = sys.argv[1] if len(sys.argv) > 1 else ""
    if which == "moto":
        key = jwk.RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))
    elif which == "fresh":
        key = jwk.RSAKey.generate_key(2048)
    else:
        sys.exit("usage: cognito_tokens.py moto|fresh < claims.json")
    claims = json.load(sys.stdin)
    print(jwt.encode({"kid": "dummy", "alg": "RS256"}, claims, key))


if __name__ == "__main__":
    main()
