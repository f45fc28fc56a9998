#!/usr/bin/env python3
"""moto server (S3 + SageMaker control plane + SageMaker Runtime) on 127.0.0.1 for the trainer's
tests, with the thin extensions moto 5.2 needs:
  * UpdateEndpoint (moto answers 500): the endpoint takes the new config's variants and is
    InService at once (moto's endpoints are);
  * InvokeEndpoint with a binary body (a JPEG): moto decodes every body as UTF-8 and answers
    500; here the raw body is kept and only its SHA-256 keys moto's result cache.

Usage: python moto_ext.py [PORT]   (0 or absent: a free port). Prints the port on stdout once
listening; exits when stdin closes (the test process ended) or on SIGTERM.
"""
import base64
import logging
import hashlib
import json
import sys

from moto.core.utils import utcnow
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import FakeEndpoint, SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse
from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

try:
    from moto.core.responses import ActionResult
except ImportError:  # pragma: no cover - other moto layouts
    from moto.core.common_types import ActionResult  # type: ignore


def update_endpoint(self, endpoint_name, endpoint_config_name):
    endpoint = self.endpoints.get(endpoint_name)
    if endpoint is None:
        arn = FakeEndpoint.arn_formatter(endpoint_name, self.account_id, self.region_name)
        raise ValidationError(message=f"Could not find endpoint '{arn}'.")
    config = self.describe_endpoint_config(endpoint_config_name)
    endpoint.endpoint_config_name = endpoint_config_name
    endpoint.production_variants = endpoint._process_production_variants(config["ProductionVariants"])
    endpoint.last_modified_time = utcnow()
    endpoint.endpoint_status = "InService"
    return endpoint


def update_endpoint_response(self):
    endpoint = self.sagemaker_backend.update_endpoint(
        self._get_param("EndpointName"), self._get_param("EndpointConfigName"))
    return ActionResult({"EndpointArn": endpoint.arn})


def invoke_endpoint_binary(self):
    params = self._get_params()
    unique_repr = {k: v for k, v in self.headers.items() if k.lower().startswith("x-amzn-sagemaker")}
    unique_repr["Accept"] = self.headers.get("Accept")
    raw = self.raw_body if isinstance(self.raw_body, bytes) else str(self.raw_body or "").encode()
    unique_repr["Body"] = hashlib.sha256(raw).hexdigest()
    body, content_type, variant, attributes = self.sagemakerruntime_backend.invoke_endpoint(
        endpoint_name=params.get("EndpointName"),
        unique_repr=base64.b64encode(json.dumps(unique_repr).encode("utf-8")))
    headers = {"Content-Type": content_type}
    if variant:
        headers["x-Amzn-Invoked-Production-Variant"] = variant
    if attributes:
        headers["X-Amzn-SageMaker-Custom-Attributes"] = attributes
    return 200, headers, body


SageMakerModelBackend.update_endpoint = update_endpoint
SageMakerRuntimeResponse.use_raw_body = True
SageMakerRuntimeResponse.invoke_endpoint = invoke_endpoint_binary
SageMakerResponse.update_endpoint = update_endpoint_response


def main():
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no per-request log lines
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    print(server.get_host_and_port()[1], flush=True)
    try:
        sys.stdin.read()
    except KeyboardInterrupt:
        pass
    server.stop()


if __name__ == "__main__":
    main()
