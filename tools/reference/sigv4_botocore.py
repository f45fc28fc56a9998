"""Independent SigV4 oracle for the tests: botocore's SigV4Auth signs the request described
on stdin (JSON) at a fixed time and prints the headers it adds, as JSON.

Input: {"method", "url", "headers": {name: value}, "body_hex", "access_key", "secret_key",
        "token" (or null), "region", "service", "time": "YYYYMMDDTHHMMSSZ"}
"""

import datetime
import json
import sys

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def main() -> None:
    spec = json.load(sys.stdin)
    fixed = datetime.datetime.strptime(spec["time"], "%Y%m%dT%H%M%SZ")
    # add_auth reads the clock through this module-level function.
    botocore.auth.get_current_datetime = lambda: fixed
    request = AWSRequest(
        method=spec["method"],
        url=spec["url"],
        headers=spec["headers"],
        data=bytes.fromhex(spec["body_hex"]),
    )
    credentials = Credentials(spec["access_key"], spec["secret_key"], spec["token"])
    botocore.auth.SigV4Auth(credentials, spec["service"], spec["region"]).add_auth(request)
    added = {
        name.lower(): value
        for name, value in request.headers.items()
        if name.lower() in ("authorization", "x-amz-date", "x-amz-security-token")
    }
    json.dump(added, sys.stdout)


if __name__ == "__main__":
    main()
